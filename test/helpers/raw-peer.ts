/**
 * RawPeer: a scriptable WebSocket server for client tests, built directly on `node:net` (or
 * `node:tls`) and on test/helpers/frames.ts, never on sockwise's own handshake or engine, so the
 * client is checked against a second reading of RFC 6455 rather than against itself.
 *
 * It parses the upgrade request and records it byte for byte, answers as the test chooses (a
 * correct 101, a wrong accept key, any subprotocol or extensions, an HTTP error, a redirect,
 * arbitrary bytes, or silence), decodes the client's masked frames, and lets the test write
 * anything back: well-formed frames, broken ones, raw bytes, a Close or none, a half-close, a
 * plain TCP close or a reset.
 *
 * ```ts
 * const peer = await RawPeer.start();
 * t.after(() => peer.stop());
 * const ws = new WebSocket(peer.url);
 * const frame = await peer.nextFrame();            // the client's first frame, unmasked
 * peer.sendFrame({ opcode: OP.text, payload: "hi" });
 * peer.close(1000, "bye");                          // a Close frame (TCP stays open)
 * ```
 *
 * Every wait is bounded by a timeout ({@link WAIT_MS} by default) and fails with a message
 * saying what was awaited.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { OP, buildFrame, closeBody, type FrameSpec } from "./frames.js";

/**
 * Multiplies every default wait, for slow machines: `SOCKWISE_TEST_TIME_SCALE=3 npm test`.
 */
export const TIME_SCALE = Math.max(1, Number(process.env["SOCKWISE_TEST_TIME_SCALE"] ?? "1") || 1);

/** The default bound on any wait in the helpers, in milliseconds. */
export const WAIT_MS = 3000 * TIME_SCALE;

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2). */
export function acceptFor(key: string): string {
  return createHash("sha1")
    .update(key + GUID, "latin1")
    .digest("base64");
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Settles like `promise`, or rejects with "timed out waiting for <what>" after `ms`.
 */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `predicate` every few milliseconds until it holds; rejects after `ms`. */
export async function waitUntil(
  predicate: () => boolean,
  what: string,
  ms = WAIT_MS,
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(2);
  }
}

/** The upgrade request as the peer received it. */
export interface RecordedRequest {
  /** The whole head, decoded as latin1, including the final blank line. */
  readonly raw: string;
  readonly method: string;
  /** The request target, e.g. `/chat?x=1`. */
  readonly target: string;
  readonly version: string;
  /** Every header line, in order, name as sent, value trimmed. */
  readonly headers: readonly (readonly [string, string])[];
  /** All values of a header (name compared case-insensitively). */
  values(name: string): string[];
  /** The single value of a header; throws if it was sent more than once. */
  header(name: string): string | undefined;
}

/** How the peer answers the upgrade request. */
export type HandshakeReply =
  | {
      readonly type: "accept";
      /** A `Sec-WebSocket-Protocol` value to send. */
      readonly protocol?: string;
      /** A `Sec-WebSocket-Extensions` value to send. */
      readonly extensions?: string;
      /** Send this accept value instead of the correct one. */
      readonly accept?: string;
      /** More header lines, after the standard ones. */
      readonly headers?: readonly (readonly [string, string])[];
      /** Bytes written in the same write as the 101, right after the head (SPEC.md F27). */
      readonly then?: Uint8Array;
    }
  | {
      /** An HTTP error or redirect: the head (and body), then the peer ends TCP. */
      readonly type: "status";
      readonly status: number;
      readonly statusText?: string;
      readonly headers?: readonly (readonly [string, string])[];
      readonly body?: string;
    }
  | {
      /** Exactly these bytes; the connection stays open (then the test drives it). */
      readonly type: "raw";
      readonly bytes: Uint8Array | string;
    }
  | { readonly type: "silence" };

/** A correct 101 with the given extras. */
export function accept(
  options: Omit<Extract<HandshakeReply, { type: "accept" }>, "type"> = {},
): HandshakeReply {
  return { type: "accept", ...options };
}

/** Options of {@link RawPeer.start}. */
export interface RawPeerOptions {
  /** Decides the answer to each upgrade request (default: a correct 101). May be async. */
  readonly respond?: (
    request: RecordedRequest,
    connection: PeerConnection,
  ) => HandshakeReply | Promise<HandshakeReply>;
  /**
   * When the client half-closes (FIN), end our side too, as an ordinary server does (default
   * true). Turn it off to keep the connection half-open.
   */
  readonly endOnEof?: boolean;
  /**
   * Behave like a polite server when the client closes: echo its Close (unless we sent one)
   * and end TCP (default false: the test scripts the closing handshake itself).
   */
  readonly replyToClose?: boolean;
  /** Serve TLS with this key and certificate (`wss:`). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/** A frame as the client sent it. */
export interface ReceivedFrame {
  readonly fin: boolean;
  /** The three RSV bits, RSV1 = 4. */
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  /** The mask key, when masked. */
  readonly maskKey: Uint8Array | undefined;
  /** The payload, unmasked. */
  readonly payload: Uint8Array;
  /** The header bytes exactly as received (mask key included). */
  readonly header: Uint8Array;
}

/** The payload of a frame as UTF-8 text (lone bytes become U+FFFD). */
export function frameText(frame: ReceivedFrame): string {
  return Buffer.from(frame.payload).toString("utf8");
}

/** The code (1005 when absent) and reason of a Close frame's body. */
export function parseCloseFrame(frame: ReceivedFrame): {
  readonly code: number;
  readonly reason: string;
} {
  if (frame.opcode !== OP.close) throw new Error(`frame opcode ${frame.opcode} is not a Close`);
  const body = frame.payload;
  if (body.length === 0) return { code: 1005, reason: "" };
  if (body.length === 1) throw new Error("a 1-byte Close body");
  return {
    code: (body[0]! << 8) | body[1]!,
    reason: Buffer.from(body.subarray(2)).toString("utf8"),
  };
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void };

/** A FIFO of values with bounded waits for the next one. */
class Mailbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: Waiter<T>[] = [];
  #closedReason: string | undefined;

  put(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(item);
    else this.#items.push(item);
  }

  /** No more items will come: pending and later waits fail at once with `reason`. */
  end(reason: string): void {
    this.#closedReason ??= reason;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error(reason));
  }

  get size(): number {
    return this.#items.length;
  }

  next(what: string, ms: number): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    if (this.#closedReason !== undefined) {
      return Promise.reject(new Error(`${what}: ${this.#closedReason}`));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(new Error(`${what}: ${error.message}`));
        },
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.#waiters.push(waiter);
    });
  }
}

/** One client connection accepted by a {@link RawPeer}. */
export class PeerConnection {
  readonly socket: Socket;
  /** Every frame decoded so far, in order (also those already taken by {@link nextFrame}). */
  readonly frames: ReceivedFrame[] = [];
  /** Set once the request head has arrived. */
  request: RecordedRequest | undefined;
  /** Bytes the client sent after its request head but before we answered (SPEC.md F16). */
  bytesBeforeResponse = 0;
  /** Whether the client sent FIN. */
  hasEnded = false;
  /** Whether the socket is fully closed. */
  isClosed = false;
  /** The socket error, if any (e.g. ECONNRESET when the client reset the connection). */
  error: Error | undefined;
  /** A frame the decoder could not make sense of (e.g. a length over 2^53). */
  decodeError: Error | undefined;

  readonly #mailbox = new Mailbox<ReceivedFrame>();
  readonly #ended: Promise<void>;
  readonly #closed: Promise<void>;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #answered = false;
  #head = "";
  readonly #replyToClose: boolean;
  #hasSentClose = false;

  /** @internal */
  constructor(
    socket: Socket,
    options: RawPeerOptions,
    onRequest: (connection: PeerConnection) => void,
  ) {
    this.socket = socket;
    const endOnEof = options.endOnEof ?? true;
    this.#replyToClose = options.replyToClose ?? false;
    socket.setNoDelay(true);
    this.#ended = new Promise((resolve) => {
      socket.on("end", () => {
        this.hasEnded = true;
        this.#mailbox.end("the client ended the connection");
        if (endOnEof && !socket.writableEnded) socket.end();
        resolve();
      });
    });
    this.#closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.isClosed = true;
        this.#mailbox.end("the connection closed");
        resolve();
      });
    });
    socket.on("error", (error) => {
      this.error ??= error;
    });
    socket.on("data", (chunk: Buffer) => {
      if (this.request === undefined) {
        // The head is ASCII; latin1 keeps every byte as one character.
        this.#head += chunk.toString("latin1");
        const end = this.#head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const rest = Buffer.from(this.#head.slice(end + 4), "latin1");
        this.request = parseRequest(this.#head.slice(0, end + 4));
        this.#head = "";
        if (rest.length > 0) this.#push(rest);
        onRequest(this);
        return;
      }
      this.#push(chunk);
    });
  }

  /** The next frame from the client, unmasked. Fails if none arrives within `ms`. */
  nextFrame(ms = WAIT_MS): Promise<ReceivedFrame> {
    return this.#mailbox.next("the next frame from the client", ms);
  }

  /** Resolves if no frame arrives within `ms`; rejects with the frame otherwise. */
  async expectNoFrame(ms: number): Promise<void> {
    if (this.#mailbox.size > 0) throw new Error("a frame has already arrived");
    const frame = await this.#mailbox.next("", ms).then(
      (f) => f,
      () => undefined,
    );
    if (frame !== undefined) {
      throw new Error(`expected no frame, got opcode ${frame.opcode} (${frame.payload.length} B)`);
    }
  }

  /** Frames decoded but not yet taken by {@link nextFrame}. */
  get pendingFrames(): number {
    return this.#mailbox.size;
  }

  /** Resolves when the client sends FIN (or the socket closes). */
  waitForEnd(ms = WAIT_MS): Promise<void> {
    return withTimeout(Promise.race([this.#ended, this.#closed]), "the client's FIN", ms);
  }

  /** Resolves when the socket is fully closed. */
  waitForClose(ms = WAIT_MS): Promise<void> {
    return withTimeout(this.#closed, "the TCP connection to close", ms);
  }

  /** Writes raw bytes (a string is written as latin1). */
  sendRaw(bytes: Uint8Array | string): void {
    this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  /** Writes one frame, unmasked unless `maskKey` is given. */
  sendFrame(spec: FrameSpec): void {
    if (spec.opcode === OP.close) this.#hasSentClose = true;
    this.sendRaw(buildFrame(spec));
  }

  /** Writes a complete text message. */
  sendText(text: string): void {
    this.sendFrame({ opcode: OP.text, payload: text });
  }

  /** Writes a complete binary message. */
  sendBinary(bytes: Uint8Array): void {
    this.sendFrame({ opcode: OP.binary, payload: bytes });
  }

  /**
   * Writes a Close frame: empty without a code, else the code and the reason (a string is
   * UTF-8 encoded, bytes are written as they are). TCP stays open.
   */
  close(code?: number, reason: string | Uint8Array = ""): void {
    this.sendFrame({ opcode: OP.close, payload: closeBody(code, reason) });
  }

  /**
   * Writes a Close frame, then FIN: what a server does once both Close frames are exchanged
   * (RFC 6455 §7.1.1, SPEC.md L11), so the client need not wait for TCP to end.
   */
  closeAndEnd(code?: number, reason: string | Uint8Array = ""): void {
    this.close(code, reason);
    this.socket.end();
  }

  /** Half-closes: sends FIN, keeps reading. */
  end(): void {
    this.socket.end();
  }

  /** Closes TCP at once (FIN, nothing more is read). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Resets TCP (RST). */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  /** @internal Writes the answer to the request. */
  answer(reply: HandshakeReply): void {
    if (this.#answered) throw new Error("the request was already answered");
    this.#answered = true;
    const request = this.request!;
    switch (reply.type) {
      case "silence":
        return;
      case "raw":
        this.sendRaw(reply.bytes);
        return;
      case "status": {
        const body = reply.body ?? "";
        const head = [
          `HTTP/1.1 ${reply.status} ${reply.statusText ?? "Nope"}`,
          ...(reply.headers ?? []).map(([n, v]) => `${n}: ${v}`),
          `Content-Length: ${Buffer.byteLength(body)}`,
          "Connection: close",
        ].join("\r\n");
        this.socket.end(Buffer.from(`${head}\r\n\r\n${body}`, "latin1"));
        return;
      }
      case "accept": {
        const key = request.header("Sec-WebSocket-Key") ?? "";
        const lines = [
          "HTTP/1.1 101 Switching Protocols",
          "Upgrade: websocket",
          "Connection: Upgrade",
          `Sec-WebSocket-Accept: ${reply.accept ?? acceptFor(key)}`,
        ];
        if (reply.protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${reply.protocol}`);
        if (reply.extensions !== undefined) {
          lines.push(`Sec-WebSocket-Extensions: ${reply.extensions}`);
        }
        for (const [name, value] of reply.headers ?? []) lines.push(`${name}: ${value}`);
        const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
        this.socket.write(reply.then === undefined ? head : Buffer.concat([head, reply.then]));
        return;
      }
    }
  }

  #push(chunk: Buffer): void {
    if (!this.#answered) this.bytesBeforeResponse += chunk.length;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    try {
      this.#decode();
    } catch (error) {
      this.decodeError = error as Error;
      this.#mailbox.end(`undecodable input: ${(error as Error).message}`);
      this.socket.destroy();
    }
  }

  /** Copies the first `n` buffered bytes without consuming them. */
  #peek(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const chunk of this.#chunks) {
      const take = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns the first `n` buffered bytes. */
  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.#chunks[0]!;
        const take = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, take);
        filled += take;
        if (take === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(take);
      }
    }
    this.#buffered -= n;
    return out;
  }

  #decode(): void {
    for (;;) {
      if (this.#buffered < 2) return;
      const start = this.#peek(2);
      const b0 = start[0]!;
      const b1 = start[1]!;
      const masked = (b1 & 0x80) !== 0;
      const len7 = b1 & 0x7f;
      const headerBytes = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      if (this.#buffered < headerBytes) return;
      const header = this.#peek(headerBytes);
      let length: number;
      if (len7 === 126) length = header.readUInt16BE(2);
      else if (len7 === 127) {
        const big = header.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`frame length ${big}`);
        length = Number(big);
      } else length = len7;
      if (this.#buffered < headerBytes + length) return;
      this.#take(headerBytes);
      // A private copy: the chunks may be views of one another.
      const payload = Buffer.from(this.#take(length));
      const maskKey = masked ? header.subarray(headerBytes - 4, headerBytes) : undefined;
      if (maskKey !== undefined) unmask(payload, maskKey);
      const frame: ReceivedFrame = {
        fin: (b0 & 0x80) !== 0,
        rsv: (b0 >> 4) & 0x7,
        opcode: b0 & 0x0f,
        masked,
        maskKey: maskKey === undefined ? undefined : Uint8Array.from(maskKey),
        payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.length),
        header: Uint8Array.from(header),
      };
      this.frames.push(frame);
      this.#mailbox.put(frame);
      if (frame.opcode === OP.close && this.#replyToClose && !this.socket.writableEnded) {
        if (!this.#hasSentClose) this.sendFrame({ opcode: OP.close, payload: frame.payload });
        this.socket.end();
      }
    }
  }
}

function unmask(payload: Buffer, key: Uint8Array): void {
  const k0 = key[0]!;
  const k1 = key[1]!;
  const k2 = key[2]!;
  const k3 = key[3]!;
  const n = payload.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    payload[i] = payload[i]! ^ k0;
    payload[i + 1] = payload[i + 1]! ^ k1;
    payload[i + 2] = payload[i + 2]! ^ k2;
    payload[i + 3] = payload[i + 3]! ^ k3;
  }
  for (; i < n; i++) payload[i] = payload[i]! ^ key[i & 3]!;
}

function parseRequest(raw: string): RecordedRequest {
  const lines = raw.slice(0, -4).split("\r\n");
  const [method = "", target = "", version = ""] = (lines[0] ?? "").split(" ");
  const headers = lines.slice(1).map((line): readonly [string, string] => {
    const colon = line.indexOf(":");
    return colon < 0 ? [line, ""] : [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  const values = (name: string): string[] =>
    headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
  return {
    raw,
    method,
    target,
    version,
    headers,
    values,
    header(name) {
      const all = values(name);
      if (all.length > 1) throw new Error(`the request has ${all.length} ${name} headers`);
      return all[0];
    },
  };
}

/**
 * A WebSocket server on 127.0.0.1 (a free port) for one test. The shortcut methods
 * ({@link nextFrame}, {@link sendFrame}, …) act on the most recent connection.
 */
export class RawPeer {
  readonly #server: Server;
  readonly #options: RawPeerOptions;
  readonly #mailbox = new Mailbox<PeerConnection>();
  /** Every connection whose request head arrived, in order. */
  readonly connections: PeerConnection[] = [];
  /** Every TCP connection accepted, including those that never sent a request. */
  readonly sockets: Socket[] = [];
  /** The most recent connection with a request, if any. */
  current: PeerConnection | undefined;
  /** The TLS server name (SNI) each TLS connection asked for (`false` when it sent none). */
  readonly servernames: (string | false)[] = [];
  /**
   * The ALPN protocol each TLS connection agreed on (`false` when the client offered none); the
   * peer offers `h2` first, then `http/1.1`.
   */
  readonly alpnProtocols: (string | false)[] = [];
  #port = 0;
  readonly #rawSockets = new Set<Socket>();

  private constructor(options: RawPeerOptions) {
    this.#options = options;
    const onSocket = (socket: Socket): void => {
      this.sockets.push(socket);
      if (options.tls !== undefined) {
        this.servernames.push((socket as TLSSocket).servername ?? false);
        this.alpnProtocols.push((socket as TLSSocket).alpnProtocol ?? false);
      }
      new PeerConnection(socket, options, (connection) => {
        this.connections.push(connection);
        this.current = connection;
        this.#mailbox.put(connection);
        void this.#answer(connection);
      });
    };
    this.#server =
      options.tls === undefined
        ? createNetServer({ allowHalfOpen: true }, onSocket)
        : createTlsServer(
            {
              key: options.tls.key,
              cert: options.tls.cert,
              allowHalfOpen: true,
              ALPNProtocols: ["h2", "http/1.1"],
            },
            onSocket,
          );
    // Every raw TCP connection, including TLS ones that never complete their handshake (a
    // client that refuses our certificate), so that stop() can end them all.
    this.#server.on("connection", (socket: Socket) => {
      this.#rawSockets.add(socket);
      socket.on("close", () => this.#rawSockets.delete(socket));
    });
    this.#server.on("tlsClientError", () => {
      // A client that refuses our certificate: nothing to record beyond the failed connection.
    });
  }

  /** Starts a peer listening on 127.0.0.1 on a free port. */
  static async start(options: RawPeerOptions = {}): Promise<RawPeer> {
    const peer = new RawPeer(options);
    await new Promise<void>((resolve, reject) => {
      peer.#server.once("error", reject);
      peer.#server.listen(0, "127.0.0.1", () => resolve());
    });
    peer.#port = (peer.#server.address() as { port: number }).port;
    return peer;
  }

  /** The port the peer listens on. */
  get port(): number {
    return this.#port;
  }

  /** `ws://127.0.0.1:<port>/` (or `wss:`), with an optional path and query. */
  get url(): string {
    return this.urlFor("/");
  }

  /** The peer's URL with the given path (and query). */
  urlFor(path: string): string {
    const scheme = this.#options.tls === undefined ? "ws" : "wss";
    return `${scheme}://127.0.0.1:${this.#port}${path}`;
  }

  /** The next connection whose request arrives (in arrival order). */
  nextConnection(ms = WAIT_MS): Promise<PeerConnection> {
    return this.#mailbox.next("a connection with an upgrade request", ms);
  }

  /** The most recent connection, waiting for the first one if there is none yet. */
  async connection(ms = WAIT_MS): Promise<PeerConnection> {
    if (this.current !== undefined) return this.current;
    return this.nextConnection(ms);
  }

  /** The request of the most recent connection (waiting for one). */
  async request(ms = WAIT_MS): Promise<RecordedRequest> {
    return (await this.connection(ms)).request!;
  }

  /** The next frame on the most recent connection (waiting for a connection). */
  async nextFrame(ms = WAIT_MS): Promise<ReceivedFrame> {
    return (await this.connection(ms)).nextFrame(ms);
  }

  /** Writes one frame on the most recent connection. */
  sendFrame(spec: FrameSpec): void {
    this.#requireCurrent().sendFrame(spec);
  }

  /** Writes raw bytes on the most recent connection. */
  sendRaw(bytes: Uint8Array | string): void {
    this.#requireCurrent().sendRaw(bytes);
  }

  /** Writes a text message on the most recent connection. */
  sendText(text: string): void {
    this.#requireCurrent().sendText(text);
  }

  /** Writes a binary message on the most recent connection. */
  sendBinary(bytes: Uint8Array): void {
    this.#requireCurrent().sendBinary(bytes);
  }

  /** Writes a Close frame on the most recent connection (see {@link PeerConnection.close}). */
  close(code?: number, reason: string | Uint8Array = ""): void {
    this.#requireCurrent().close(code, reason);
  }

  /** Writes a Close frame and FIN on the most recent connection. */
  closeAndEnd(code?: number, reason: string | Uint8Array = ""): void {
    this.#requireCurrent().closeAndEnd(code, reason);
  }

  /** Half-closes the most recent connection. */
  end(): void {
    this.#requireCurrent().end();
  }

  /** Closes the most recent connection's TCP at once. */
  destroy(): void {
    this.#requireCurrent().destroy();
  }

  /** Stops listening and destroys every connection. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    for (const socket of this.#rawSockets) socket.destroy();
    await withTimeout(
      new Promise<void>((resolve) => this.#server.close(() => resolve())),
      "the peer's server to close",
    );
  }

  #requireCurrent(): PeerConnection {
    if (this.current === undefined) throw new Error("the peer has no connection yet");
    return this.current;
  }

  async #answer(connection: PeerConnection): Promise<void> {
    const respond = this.#options.respond ?? (() => accept());
    let reply: HandshakeReply;
    try {
      reply = await respond(connection.request!, connection);
    } catch (error) {
      connection.decodeError = error as Error;
      connection.destroy();
      return;
    }
    if (!connection.socket.destroyed) connection.answer(reply);
  }
}
