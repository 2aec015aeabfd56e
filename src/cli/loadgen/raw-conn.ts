/**
 * The load generator's connection (`sockwise bench`, and the `raw` client of the end-to-end
 * bench): it speaks WebSocket on `node:net` (or `node:tls`) itself, or the raw echo server's
 * 4-byte length prefix. Every message is one frame masked once, up front, with a fixed key, so
 * sending k messages is one `write` of k prebuilt frames; received frames are counted from
 * their headers and their payloads skipped. It imports nothing from the sockwise library, so
 * it loads every server, sockwise's included, the same way.
 *
 * @module
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import {
  MASK_KEY,
  OPCODE,
  SAMPLE_ACCEPT,
  encodeClientFrame,
  encodePrefixed,
  opcodeOf,
  payloadOf,
  upgradeRequest,
  type MessageSpec,
} from "./wire.js";

/** WebSocket framing, or the raw TCP echo's 4-byte length prefix. */
export type Proto = "ws" | "prefixed";

/** Where a generator connection goes. */
export interface RawTarget {
  readonly host: string;
  readonly port: number;
  /** The request path and query (default "/"). */
  readonly path?: string;
  /** Extra request headers. */
  readonly headers?: readonly (readonly [string, string])[];
  /** Connect with TLS (wss:) with these options. */
  readonly tls?: ConnectionOptions;
}

/** A monotonic clock in milliseconds, the same in every process of a machine. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const noMessages = (): void => {};

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A captured echo, for verification. */
interface Capture {
  readonly chunks: Buffer[];
  opcode: number;
  readonly resolve: (message: { opcode: number; data: Buffer }) => void;
}

/** A connection of the load generator, in WebSocket or length-prefixed framing. */
export class RawConn {
  onMessages: (count: number) => void = noMessages;
  readonly socket: Socket;
  readonly proto: Proto;
  #batch = Buffer.alloc(0);
  #frameBytes = 0;
  #batchCount = 0;
  #spec: MessageSpec | undefined;
  // parser state
  readonly #header = Buffer.alloc(14);
  #headerHave = 0;
  #remaining = 0;
  #opcode = 0;
  #fin = false;
  #control: Buffer[] | undefined;
  #capture: Capture | undefined;
  #capturing = false;
  // closing
  closeSent = false;
  /** The code of the peer's Close frame (1005 for an empty one), once it arrived. */
  closeCode: number | undefined;
  closeReceived = false;
  endReceived = false;
  hadError = false;
  errorCode: string | undefined;
  closedAt = 0;
  readonly closed: Promise<void>;

  constructor(socket: Socket, proto: Proto) {
    this.socket = socket;
    this.proto = proto;
    socket.on("end", () => {
      this.endReceived = true; // allowHalfOpen is false: Node ends our side now
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.hadError = true;
      this.errorCode ??= error.code ?? error.message;
    });
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.closedAt = monotonicMs();
        resolve();
      }),
    );
  }

  /** Whether the closing handshake (or the TCP close, for the prefixed framing) was orderly. */
  get wasClean(): boolean {
    const orderly = this.endReceived && !this.hadError;
    return this.proto === "prefixed" ? orderly : orderly && this.closeSent && this.closeReceived;
  }

  setMessage(spec: MessageSpec, window: number): void {
    this.#spec = spec;
    const payload = payloadOf(spec);
    const frame =
      this.proto === "ws"
        ? encodeClientFrame(opcodeOf(spec.kind), payload)
        : encodePrefixed(payload);
    this.#frameBytes = frame.length;
    this.#batchCount = Math.max(1, window);
    const batch = Buffer.allocUnsafe(frame.length * this.#batchCount);
    for (let i = 0; i < this.#batchCount; i++) frame.copy(batch, i * frame.length);
    this.#batch = batch;
  }

  /** Shares another connection's prebuilt batch (the same bytes for every connection). */
  shareMessage(from: RawConn): void {
    this.#spec = from.#spec;
    this.#batch = from.#batch;
    this.#frameBytes = from.#frameBytes;
    this.#batchCount = from.#batchCount;
  }

  send(count: number): void {
    while (count > 0) {
      const n = Math.min(count, this.#batchCount);
      this.socket.write(
        n === this.#batchCount ? this.#batch : this.#batch.subarray(0, n * this.#frameBytes),
      );
      count -= n;
    }
  }

  async verify(timeoutMs: number): Promise<void> {
    const spec = this.#spec;
    if (spec === undefined) throw new Error("no message set");
    const echoed = withTimeout(
      new Promise<{ opcode: number; data: Buffer }>((resolve) => {
        this.#capture = { chunks: [], opcode: -1, resolve };
      }),
      timeoutMs,
      "verify",
    );
    this.send(1);
    const { opcode, data } = await echoed;
    const expected = payloadOf(spec);
    if ((this.proto === "ws" && opcode !== opcodeOf(spec.kind)) || !data.equals(expected)) {
      throw new Error(`echo mismatch: opcode ${opcode}, ${data.length} B for ${expected.length} B`);
    }
  }

  /** Starts the closing handshake (WebSocket) or half-closes TCP (prefixed). */
  startClose(): void {
    if (this.proto === "prefixed") {
      this.socket.end();
      return;
    }
    if (this.closeSent || this.socket.destroyed) return;
    this.closeSent = true;
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000, 0);
    this.socket.write(encodeClientFrame(OPCODE.close, code, MASK_KEY));
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Parses server frames (or prefixed messages), counting whole messages; payloads are skipped. */
  readonly onData = (chunk: Buffer): void => {
    let messages = 0;
    let i = 0;
    const n = chunk.length;
    const header = this.#header;
    while (i < n) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, n - i);
        if (this.#control !== undefined) this.#control.push(chunk.subarray(i, i + take));
        else if (this.#capturing) this.#capture!.chunks.push(chunk.subarray(i, i + take));
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) messages += this.#endFrame();
        continue;
      }
      if (this.proto === "prefixed") {
        if (this.#headerHave === 0 && n - i >= 4) {
          this.#remaining = chunk.readUInt32BE(i);
          i += 4;
        } else {
          header[this.#headerHave++] = chunk[i++]!;
          if (this.#headerHave < 4) continue;
          this.#headerHave = 0;
          this.#remaining = header.readUInt32BE(0);
        }
        this.#opcode = OPCODE.binary;
        this.#fin = true;
        this.#startFrame();
        if (this.#remaining === 0) messages += this.#endFrame();
        continue;
      }
      // WebSocket header: read in place when it is whole in this chunk.
      let source: Buffer;
      let at: number;
      if (this.#headerHave === 0 && n - i >= 2 && n - i >= headerLength(chunk[i + 1]!)) {
        source = chunk;
        at = i;
        i += headerLength(chunk[i + 1]!);
      } else {
        header[this.#headerHave++] = chunk[i++]!;
        if (this.#headerHave < 2 || this.#headerHave < headerLength(header[1]!)) continue;
        this.#headerHave = 0;
        source = header;
        at = 0;
      }
      const b0 = source[at]!;
      const len7 = source[at + 1]! & 0x7f;
      if ((source[at + 1]! & 0x80) !== 0) {
        this.socket.destroy(new Error("a server frame was masked"));
        return;
      }
      this.#fin = (b0 & 0x80) !== 0;
      this.#opcode = b0 & 0x0f;
      this.#remaining =
        len7 === 126
          ? source.readUInt16BE(at + 2)
          : len7 === 127
            ? source.readUInt32BE(at + 2) * 0x1_0000_0000 + source.readUInt32BE(at + 6)
            : len7;
      this.#startFrame();
      if (this.#remaining === 0) messages += this.#endFrame();
    }
    if (messages > 0) this.onMessages(messages);
  };

  #startFrame(): void {
    if (this.#opcode >= 0x8) {
      this.#control = [];
      return;
    }
    const capture = this.#capture;
    if (capture !== undefined) {
      if (this.#opcode !== OPCODE.continuation) capture.opcode = this.#opcode;
      this.#capturing = true;
    }
  }

  /** Returns 1 when a data message ended. */
  #endFrame(): number {
    const control = this.#control;
    if (control !== undefined) {
      this.#control = undefined;
      const payload = Buffer.concat(control);
      if (this.#opcode === OPCODE.close) {
        this.closeReceived = true;
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (!this.closeSent && !this.socket.destroyed) {
          this.closeSent = true;
          this.socket.write(encodeClientFrame(OPCODE.close, payload.subarray(0, 2), MASK_KEY));
        }
      } else if (this.#opcode === OPCODE.ping && !this.closeSent) {
        this.socket.write(encodeClientFrame(OPCODE.pong, payload, MASK_KEY));
      }
      return 0;
    }
    if (!this.#fin) return 0;
    const capture = this.#capture;
    if (capture !== undefined && this.#capturing) {
      this.#capture = undefined;
      this.#capturing = false;
      capture.resolve({ opcode: capture.opcode, data: Buffer.concat(capture.chunks) });
    }
    return 1;
  }
}

/** The header length of a server (unmasked) frame, from its second byte. */
function headerLength(secondByte: number): number {
  const len7 = secondByte & 0x7f;
  return len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
}

/** Opens one generator connection; for WebSocket, runs the handshake and checks the 101. */
export function openRaw(target: RawTarget, proto: Proto, timeoutMs: number): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const { port, host } = target;
    const socket: Socket =
      target.tls === undefined
        ? netConnect({ port, host, noDelay: true })
        : tlsConnect({ port, host, servername: host, ...target.tls });
    if (target.tls !== undefined) socket.setNoDelay(true);
    const connectEvent = target.tls === undefined ? "connect" : "secureConnect";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("connect timed out"));
    }, timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once("error", fail);
    socket.once(connectEvent, () => {
      if (proto === "prefixed") {
        clearTimeout(timer);
        socket.off("error", fail);
        const conn = new RawConn(socket, proto);
        socket.on("data", conn.onData);
        resolve(conn);
        return;
      }
      socket.write(upgradeRequest(port, host, target.path, target.headers));
      let head: Buffer = Buffer.alloc(0);
      const onHead = (chunk: Buffer): void => {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const text = head.subarray(0, end).toString("latin1");
        if (!text.startsWith("HTTP/1.1 101") || !text.includes(SAMPLE_ACCEPT)) {
          fail(new Error(`handshake refused: ${text.split("\r\n")[0] ?? ""}`));
          return;
        }
        clearTimeout(timer);
        socket.off("data", onHead);
        socket.off("error", fail);
        const conn = new RawConn(socket, proto);
        socket.on("data", conn.onData);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) conn.onData(rest);
        resolve(conn);
      };
      socket.on("data", onHead);
    });
  });
}
