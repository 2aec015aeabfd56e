/**
 * A passive tap on one server connection's TCP socket, for the playground's sequence diagram:
 * it reports the frames that really crossed the wire in each direction (opcode, FIN, RSV1,
 * payload size, and a Close frame's code and reason), the HTTP heads of the handshake, and the
 * TCP FIN or reset each way, with the time each was seen. It observes without changing the
 * socket's flow: incoming bytes through `emit("data")` (no listener is added, so the stream's
 * mode is left alone), outgoing bytes through `write()`. Debugging only (`sockwise serve`);
 * the library itself never taps its sockets.
 *
 * @module
 */
import type { Socket } from "node:net";

/** What the tap saw, in order. `t` is milliseconds since the Unix epoch, sub-millisecond. */
export type TapEvent =
  | {
      readonly t: number;
      readonly kind: "frame";
      /** "in": from the client to the server; "out": from the server to the client. */
      readonly dir: "in" | "out";
      readonly opcode: number;
      readonly name: string;
      readonly fin: boolean;
      readonly rsv1: boolean;
      readonly masked: boolean;
      /** Payload bytes. */
      readonly bytes: number;
      /** Header and payload bytes. */
      readonly wireBytes: number;
      /** A Close frame's code (absent for an empty Close) and reason. */
      readonly code?: number;
      readonly reason?: string;
      /** The start of a text, ping or pong payload (uncompressed ones), at most 60 characters. */
      readonly preview?: string;
    }
  | { readonly t: number; readonly kind: "http"; readonly dir: "in" | "out"; readonly line: string }
  | {
      readonly t: number;
      readonly kind: "tcp";
      readonly dir: "in" | "out";
      /** FIN: the side ended its half; RST: it reset the connection; "closed": the socket is gone. */
      readonly what: "FIN" | "RST" | "closed" | "error";
      readonly detail?: string;
    };

/** The wall clock with performance.now()'s resolution. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x0: "continuation",
  0x1: "text",
  0x2: "binary",
  0x8: "close",
  0x9: "ping",
  0xa: "pong",
};

/** The most payload bytes a reader keeps of one frame (a Close's 125, a preview's start). */
const KEEP_BYTES = 125;

/** Parses a one-way byte stream of frames incrementally; payloads are skipped, not kept. */
export class FrameReader {
  readonly #dir: "in" | "out";
  readonly #report: (event: TapEvent) => void;
  /** Bytes of an HTTP head still to skip past (outgoing: the 101 response comes first). */
  #head: string | undefined;
  readonly #header = new Uint8Array(14);
  #headerHave = 0;
  #remaining = 0;
  #frame:
    | {
        opcode: number;
        fin: boolean;
        rsv1: boolean;
        mask?: Uint8Array;
        length: number;
        wire: number;
      }
    | undefined;
  #kept: number[] = [];
  #offset = 0;
  #broken = false;

  constructor(dir: "in" | "out", expectHead: boolean, report: (event: TapEvent) => void) {
    this.#dir = dir;
    this.#head = expectHead ? "" : undefined;
    this.#report = report;
  }

  feed(chunk: Uint8Array): void {
    let i = 0;
    if (this.#head !== undefined) {
      // Latin-1, so string indexes are byte offsets.
      const text = this.#head + Buffer.from(chunk).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        this.#head = text.length > 16_384 ? undefined : text;
        return;
      }
      this.#report({
        t: preciseNow(),
        kind: "http",
        dir: this.#dir,
        line: text.slice(0, text.indexOf("\r\n")),
      });
      i = end + 4 - this.#head.length;
      this.#head = undefined;
    }
    while (i < chunk.length && !this.#broken) {
      if (this.#frame === undefined) {
        this.#header[this.#headerHave++] = chunk[i++]!;
        if (this.#headerHave < 2) continue;
        const b1 = this.#header[1]!;
        const len7 = b1 & 0x7f;
        const masked = (b1 & 0x80) !== 0;
        const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
        if (this.#headerHave < need) continue;
        const view = new DataView(this.#header.buffer);
        const length =
          len7 === 126 ? view.getUint16(2) : len7 === 127 ? Number(view.getBigUint64(2)) : len7;
        const b0 = this.#header[0]!;
        this.#frame = {
          opcode: b0 & 0x0f,
          fin: (b0 & 0x80) !== 0,
          rsv1: (b0 & 0x40) !== 0,
          ...(masked ? { mask: this.#header.slice(need - 4, need) } : {}),
          length,
          wire: need + length,
        };
        if (!Number.isSafeInteger(length)) {
          this.#broken = true;
          return;
        }
        this.#headerHave = 0;
        this.#remaining = length;
        this.#kept = [];
        this.#offset = 0;
        if (length === 0) this.#endFrame();
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - i);
      const frame = this.#frame;
      for (let k = 0; k < take && this.#kept.length < KEEP_BYTES; k++) {
        const at = this.#offset + k;
        const byte = chunk[i + k]!;
        this.#kept.push(frame.mask === undefined ? byte : byte ^ frame.mask[at & 3]!);
      }
      this.#offset += take;
      this.#remaining -= take;
      i += take;
      if (this.#remaining === 0) this.#endFrame();
    }
  }

  #endFrame(): void {
    const frame = this.#frame!;
    this.#frame = undefined;
    const kept = Uint8Array.from(this.#kept);
    const name = OPCODE_NAMES[frame.opcode] ?? `opcode ${frame.opcode}`;
    let extra: { code?: number; reason?: string; preview?: string } = {};
    if (frame.opcode === 0x8 && kept.length >= 2) {
      extra = {
        code: (kept[0]! << 8) | kept[1]!,
        reason: new TextDecoder().decode(kept.subarray(2)),
      };
    } else if (
      (frame.opcode === 0x1 || frame.opcode === 0x9 || frame.opcode === 0xa) &&
      !frame.rsv1
    ) {
      const text = new TextDecoder().decode(kept);
      extra = { preview: text.length > 60 ? `${text.slice(0, 60)}…` : text };
    }
    this.#report({
      t: preciseNow(),
      kind: "frame",
      dir: this.#dir,
      opcode: frame.opcode,
      name,
      fin: frame.fin,
      rsv1: frame.rsv1,
      masked: frame.mask !== undefined,
      bytes: frame.length,
      wireBytes: frame.wire,
      ...extra,
    });
  }
}

/**
 * Taps `socket` (just upgraded; `head` holds the bytes read past the request head). Every
 * event goes to `report` as it happens. The tap ends by itself when the socket closes.
 */
export function tapSocket(
  socket: Socket,
  head: Uint8Array,
  report: (event: TapEvent) => void,
): void {
  const incoming = new FrameReader("in", false, report);
  const outgoing = new FrameReader("out", true, report);
  if (head.length > 0) incoming.feed(head);
  const tcp = (
    dir: "in" | "out",
    what: "FIN" | "RST" | "closed" | "error",
    detail?: string,
  ): void =>
    report({
      t: preciseNow(),
      kind: "tcp",
      dir,
      what,
      ...(detail === undefined ? {} : { detail }),
    });

  const emit = socket.emit;
  let ended = false;
  socket.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "data") incoming.feed(args[0] as Uint8Array);
    else if (event === "end") tcp("in", "FIN");
    else if (event === "finish" && !ended) {
      ended = true;
      tcp("out", "FIN");
    } else if (event === "error") {
      const error = args[0] as NodeJS.ErrnoException;
      if (error.code === "ECONNRESET") tcp("in", "RST");
      else tcp("in", "error", error.code ?? error.message);
    } else if (event === "close")
      tcp("in", "closed", args[0] === true ? "had an error" : undefined);
    return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
  } as Socket["emit"];

  const write = socket.write;
  socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk === "string") outgoing.feed(Buffer.from(chunk, "latin1"));
    else if (chunk instanceof Uint8Array) outgoing.feed(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Socket["write"];

  const reset = socket.resetAndDestroy;
  socket.resetAndDestroy = function (this: Socket): Socket {
    tcp("out", "RST");
    return reset.call(this);
  };
}
