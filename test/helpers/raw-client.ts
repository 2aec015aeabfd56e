/**
 * RawClient: a scriptable WebSocket client for server tests, built directly on `node:net` and on
 * test/helpers/frames.ts, never on sockwise's own handshake or engine, so the server is checked
 * against a second reading of RFC 6455 rather than against itself.
 *
 * It writes any request head (a correct upgrade, a broken one, half of one), parses the server's
 * HTTP answer, decodes the server's frames, and writes anything back: masked or unmasked frames,
 * broken frames, raw bytes, a Close or none. It can stop reading (to build backpressure), and
 * it records whether the server half-closed (FIN) or dropped the connection.
 *
 * ```ts
 * const client = await RawClient.open(port);
 * await client.upgrade("/chat");               // a valid request; expects the 101
 * client.sendText("hi");                       // masked, as RFC 6455 §5.3 requires
 * const frame = await client.nextFrame();      // the server's first frame
 * client.sendClose(1000, "bye");
 * assert.deepEqual(await client.nextClose(), { code: 1000, reason: "bye" });
 * ```
 *
 * Every wait is bounded ({@link WAIT_MS} by default) and fails saying what was awaited.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { OP, buildFrame, closeBody, type FrameSpec } from "./frames.js";
import { WAIT_MS, withTimeout } from "./server-harness.js";

/** A valid `Sec-WebSocket-Key` (the RFC 6455 §1.3 example). */
export const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** Its `Sec-WebSocket-Accept` (RFC 6455 §1.3). */
export const SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** The header lines of a valid upgrade request for `path`, as [name, value] pairs. */
export function upgradeHeaders(
  port: number,
  extra: readonly (readonly [string, string])[] = [],
): [string, string][] {
  return [
    ["Host", `127.0.0.1:${port}`],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", SAMPLE_KEY],
    ["Sec-WebSocket-Version", "13"],
    ...extra.map(([name, value]): [string, string] => [name, value]),
  ];
}

/** Serializes a request head: `GET /path HTTP/1.1`, the headers, the blank line. */
export function requestHead(
  requestLine: string,
  headers: readonly (readonly [string, string])[],
): string {
  return `${requestLine}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
}

/** An HTTP response as the client read it. */
export interface RawResponse {
  readonly status: number;
  readonly statusText: string;
  /** Header fields in order, names as sent. */
  readonly headers: readonly (readonly [string, string])[];
  /** The first value of a header (case-insensitive), or undefined. */
  header(name: string): string | undefined;
  /** The body (for a non-101), read up to Content-Length, decoded as UTF-8. */
  readonly body: string;
  /** The head exactly as received (latin1). */
  readonly raw: string;
}

/** A frame the server sent, decoded. */
export interface RawFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payload: Buffer;
}

/** Decodes a Close frame's body. */
export function parseClose(frame: RawFrame): { code: number; reason: string } {
  if (frame.opcode !== OP.close)
    throw new Error(`expected a Close frame, got opcode ${frame.opcode}`);
  if (frame.payload.length === 0) return { code: 1005, reason: "" };
  return {
    code: frame.payload.readUInt16BE(0),
    reason: frame.payload.subarray(2).toString("utf8"),
  };
}

/** Options of {@link RawClient.open}. */
export interface RawClientOptions {
  readonly host?: string;
  /** Keep our side open after the server's FIN (default false: end it, as Node does). */
  readonly allowHalfOpen?: boolean;
  /** Bound on every wait (default {@link WAIT_MS}). */
  readonly waitMs?: number;
}

/** A raw TCP client speaking (or abusing) the WebSocket protocol to a server under test. */
export class RawClient {
  readonly socket: Socket;
  readonly #waitMs: number;
  #buffer: Buffer = Buffer.alloc(0);
  #upgraded = false;
  #frames: RawFrame[] = [];
  #waiters: (() => void)[] = [];
  #ended = false;
  #closed = false;
  #error: Error | undefined;
  #endAt: number | undefined;
  #closedAt: number | undefined;
  /** Total bytes received from the server (head and frames). */
  receivedBytes = 0;

  private constructor(socket: Socket, waitMs: number) {
    this.socket = socket;
    this.#waitMs = waitMs;
    socket.on("data", (chunk: Buffer) => {
      this.receivedBytes += chunk.length;
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      if (this.#upgraded) this.#decodeFrames();
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#endAt = performance.now();
      this.#wake();
    });
    socket.on("error", (error) => {
      this.#error ??= error;
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#closedAt = performance.now();
      this.#wake();
    });
  }

  /** Opens a TCP connection to the server. */
  static open(port: number, options: RawClientOptions = {}): Promise<RawClient> {
    const waitMs = options.waitMs ?? WAIT_MS;
    return withTimeout(
      new Promise<RawClient>((resolve, reject) => {
        const socket = connect({
          port,
          host: options.host ?? "127.0.0.1",
          allowHalfOpen: options.allowHalfOpen ?? false,
        });
        socket.once("connect", () => {
          socket.off("error", reject);
          resolve(new RawClient(socket, waitMs));
        });
        socket.once("error", reject);
      }),
      `TCP connect to port ${port}`,
      waitMs,
    );
  }

  /** Opens a connection and completes a valid upgrade; fails unless the server answers 101. */
  static async connect(
    port: number,
    path = "/",
    extra: readonly (readonly [string, string])[] = [],
    options: RawClientOptions = {},
  ): Promise<RawClient> {
    const client = await RawClient.open(port, options);
    const response = await client.upgrade(path, extra);
    if (response.status !== 101) {
      client.destroy();
      throw new Error(`expected 101, got ${response.status}: ${response.body}`);
    }
    return client;
  }

  /** Whether the server half-closed its side (FIN received). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the TCP connection is gone. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The socket error seen, if any (e.g. ECONNRESET). */
  get error(): Error | undefined {
    return this.#error;
  }

  /** `performance.now()` when the server's FIN arrived. */
  get endAt(): number | undefined {
    return this.#endAt;
  }

  /** `performance.now()` when the socket closed. */
  get closedAt(): number | undefined {
    return this.#closedAt;
  }

  /** Frames decoded and not yet taken. */
  get pendingFrames(): number {
    return this.#frames.length;
  }

  /** Writes raw bytes (ignored once the socket is gone). */
  write(bytes: Uint8Array | string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Sends a valid upgrade request for `path` plus `extra` headers and reads the answer. */
  upgrade(path = "/", extra: readonly (readonly [string, string])[] = []): Promise<RawResponse> {
    this.write(requestHead(`GET ${path} HTTP/1.1`, upgradeHeaders(this.remotePort, extra)));
    return this.readResponse();
  }

  /** The server's port. */
  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  /**
   * Reads one HTTP response head (and, unless it is a 101, a body of Content-Length bytes or
   * everything up to the end of the connection). After a 101 the rest is decoded as frames.
   */
  async readResponse(ms = this.#waitMs): Promise<RawResponse> {
    const headEnd = await this.#until(
      () => {
        const at = this.#buffer.indexOf("\r\n\r\n");
        return at === -1 ? undefined : at;
      },
      "an HTTP response head",
      ms,
    );
    const raw = this.#buffer.subarray(0, headEnd + 4).toString("latin1");
    this.#buffer = this.#buffer.subarray(headEnd + 4);
    const lines = raw.slice(0, -4).split("\r\n");
    const statusLine = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(lines[0] ?? "");
    if (statusLine === null) throw new Error(`not an HTTP/1.1 status line: ${lines[0]}`);
    const headers = lines.slice(1).map((line): readonly [string, string] => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon), line.slice(colon + 1).trim()];
    });
    const header = (name: string): string | undefined =>
      headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
    const status = Number(statusLine[1]);
    let body = "";
    if (status === 101) {
      this.#upgraded = true;
      this.#decodeFrames();
    } else {
      const length = header("Content-Length");
      if (length !== undefined) {
        const n = Number(length);
        await this.#until(
          () => (this.#buffer.length >= n ? true : undefined),
          `a ${n}-byte body`,
          ms,
        );
        body = this.#buffer.subarray(0, n).toString("utf8");
        this.#buffer = this.#buffer.subarray(n);
      } else {
        await this.#until(() => (this.#ended || this.#closed ? true : undefined), "body end", ms);
        body = this.#buffer.toString("utf8");
        this.#buffer = Buffer.alloc(0);
      }
    }
    return { status, statusText: statusLine[2] ?? "", headers, header, body, raw };
  }

  /**
   * Sends a frame. Unless `spec.maskKey` is given (or `unmasked` is set) the frame is masked
   * with a fresh random key, as every client frame must be (RFC 6455 §5.3).
   */
  sendFrame(spec: FrameSpec & { readonly unmasked?: boolean }): void {
    const maskKey = spec.unmasked === true ? undefined : (spec.maskKey ?? randomBytes(4));
    this.write(buildFrame(maskKey === undefined ? { ...spec } : { ...spec, maskKey }));
  }

  /** Sends a masked text frame. */
  sendText(text: string, fin = true): void {
    this.sendFrame({ opcode: OP.text, payload: text, fin });
  }

  /** Sends a masked binary frame. */
  sendBinary(bytes: Uint8Array, fin = true): void {
    this.sendFrame({ opcode: OP.binary, payload: bytes, fin });
  }

  /** Sends a masked Close frame (no body when `code` is undefined). */
  sendClose(code?: number, reason: string | Uint8Array = ""): void {
    this.sendFrame({ opcode: OP.close, payload: closeBody(code, reason) });
  }

  /** Sends a masked Ping. */
  sendPing(payload: Uint8Array | string = new Uint8Array(0)): void {
    this.sendFrame({ opcode: OP.ping, payload });
  }

  /** Sends a masked Pong. */
  sendPong(payload: Uint8Array | string = new Uint8Array(0)): void {
    this.sendFrame({ opcode: OP.pong, payload });
  }

  /** Resolves with the next frame from the server. */
  async nextFrame(ms = this.#waitMs): Promise<RawFrame> {
    return this.#until(() => this.#frames.shift(), "a frame from the server", ms);
  }

  /** Resolves with the next frame that is not a Ping or Pong (pings are not answered). */
  async nextDataOrClose(ms = this.#waitMs): Promise<RawFrame> {
    for (;;) {
      const frame = await this.nextFrame(ms);
      if (frame.opcode !== OP.ping && frame.opcode !== OP.pong) return frame;
    }
  }

  /** Resolves with the code and reason of the server's next Close, skipping other frames. */
  async nextClose(ms = this.#waitMs): Promise<{ code: number; reason: string }> {
    for (;;) {
      const frame = await this.nextFrame(ms);
      if (frame.opcode === OP.close) return parseClose(frame);
    }
  }

  /** Resolves once the server has half-closed (FIN) or the connection is gone. */
  waitForEnd(ms = this.#waitMs): Promise<void> {
    return this.#until(
      () => (this.#ended || this.#closed ? true : undefined),
      "the server to end the TCP connection",
      ms,
    ).then(() => undefined);
  }

  /** Resolves once the TCP connection is fully closed. */
  waitForClose(ms = this.#waitMs): Promise<void> {
    return this.#until(
      () => (this.#closed ? true : undefined),
      "the TCP connection to close",
      ms,
    ).then(() => undefined);
  }

  /** Stops reading: the kernel buffers fill and the server's writes back up. */
  pause(): void {
    this.socket.pause();
  }

  /** Resumes reading. */
  resume(): void {
    this.socket.resume();
  }

  /** Half-closes our side (FIN). */
  end(): void {
    this.socket.end();
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Drops the connection with a TCP RST. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  #decodeFrames(): void {
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 2) return;
      const b0 = buffer[0]!;
      const b1 = buffer[1]!;
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const keyOffset = offset;
      if (masked) offset += 4;
      if (buffer.length < offset + length) return;
      const payload = Buffer.from(buffer.subarray(offset, offset + length));
      if (masked) {
        for (let i = 0; i < payload.length; i++) payload[i]! ^= buffer[keyOffset + (i % 4)]!;
      }
      this.#frames.push({
        fin: (b0 & 0x80) !== 0,
        rsv: (b0 >> 4) & 0x7,
        opcode: b0 & 0x0f,
        masked,
        payload,
      });
      this.#buffer = buffer.subarray(offset + length);
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Waits until `take()` returns something other than undefined. */
  #until<T>(take: () => T | undefined, what: string, ms: number): Promise<T> {
    return withTimeout(
      new Promise<T>((resolve, reject) => {
        const check = (): void => {
          let value: T | undefined;
          try {
            value = take();
          } catch (error) {
            reject(error as Error);
            return;
          }
          if (value !== undefined) resolve(value);
          else if (this.#closed)
            reject(new Error(`the connection closed while waiting for ${what}`));
          else this.#waiters.push(check);
        };
        check();
      }),
      what,
      ms,
    );
  }
}

/**
 * Writes `head` on a fresh connection and reads the server's answer (for requests the server
 * must refuse); also reports whether the server then ended the connection.
 */
export async function rawRequest(
  port: number,
  head: string | Uint8Array,
  ms = WAIT_MS,
  endWaitMs = ms,
): Promise<RawResponse & { readonly connectionEnded: boolean }> {
  const client = await RawClient.open(port, { waitMs: ms });
  try {
    client.write(head);
    const response = await client.readResponse(ms);
    let connectionEnded = true;
    try {
      await client.waitForEnd(endWaitMs);
    } catch {
      connectionEnded = false;
    }
    return Object.assign(response, { connectionEnded });
  } finally {
    client.destroy();
  }
}
