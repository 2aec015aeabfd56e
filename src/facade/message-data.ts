/**
 * Conversions shared by the client and server socket classes: what `send()` accepts, and what a
 * received message becomes for the chosen `binaryType`.
 *
 * @module
 */
import { toDOMString } from "./webidl-strings.js";

/** A message ready to send: its bytes (or a Blob still to read) and its size for bufferedAmount. */
export interface Outgoing {
  readonly kind: "text" | "binary";
  /** The payload, or `undefined` while a Blob's bytes are being read. */
  bytes: Uint8Array | undefined;
  /** The payload size in bytes (UTF-8 length for text; SPEC.md C8). */
  readonly size: number;
}

/**
 * Converts `send()`'s argument: ArrayBuffer and views (their exact bytes) and Blob are binary;
 * anything else is converted to a USVString and sent as UTF-8 text (SPEC.md C3, C5, C8).
 * The bytes of a buffer or view are **not** copied.
 * @throws {TypeError} for a Symbol, a SharedArrayBuffer, a view over one, or a resizable buffer
 *   (SPEC.md C4)
 */
export function toOutgoing(data: unknown, where = "'send'"): Outgoing {
  // The common case first (a primitive string is none of the objects tested below).
  if (typeof data === "string") return toText(data);
  if (data instanceof ArrayBuffer) {
    checkBufferSource(data, where);
    return { kind: "binary", bytes: new Uint8Array(data), size: data.byteLength };
  }
  if (ArrayBuffer.isView(data)) {
    checkBufferSource(data.buffer, where);
    return {
      kind: "binary",
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      size: data.byteLength,
    };
  }
  if (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer) {
    throw new TypeError(`Failed to execute ${where}: a SharedArrayBuffer is not allowed.`);
  }
  if (data instanceof Blob) return { kind: "binary", bytes: undefined, size: data.size };
  return toText(toDOMString(data));
}

function toText(text: string): Outgoing {
  // USVString conversion: Buffer.from replaces lone surrogates with U+FFFD itself, exactly as
  // `toWellFormed()` would, so the string is scanned once (5% of a text-echo server's time).
  const bytes = Buffer.from(text, "utf8");
  return { kind: "text", bytes, size: bytes.length };
}

function checkBufferSource(buffer: ArrayBufferLike, where: string): void {
  if (typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer) {
    throw new TypeError(
      `Failed to execute ${where}: a view over a SharedArrayBuffer is not allowed.`,
    );
  }
  if ((buffer as { resizable?: boolean }).resizable === true) {
    throw new TypeError(`Failed to execute ${where}: a resizable ArrayBuffer is not allowed.`);
  }
}

/** How binary messages are delivered. `nodebuffer` (server only) is a zero-copy `Buffer`. */
export type BinaryType = "blob" | "arraybuffer" | "nodebuffer";

/** `ignoreBOM` keeps a leading BOM in the string (SPEC.md K11), as `Buffer#toString` does. */
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Decodes a text message (already validated as UTF-8; a leading BOM is kept, SPEC.md K11).
 * A shared TextDecoder decodes as fast as `Buffer#toString` without wrapping the bytes in a
 * Buffer first (a third of the cost of a 16-byte message).
 */
export function decodeText(data: Uint8Array): string {
  return utf8Decoder.decode(data);
}

/**
 * A received message's bytes as an ArrayBuffer of its own. The engine hands each message over
 * for good (it keeps no reference to its bytes: see `MessageOutput`), so when they fill a whole
 * ArrayBuffer (a message reassembled from several frames or reads, or inflated) that buffer is
 * taken as it is. Otherwise the bytes are a view of the socket's chunk, next to other frames,
 * and are copied: up to 16 KiB through the Uint8Array constructor, about twice as fast as
 * `ArrayBuffer#slice`, which is faster beyond that.
 */
export function toArrayBuffer(data: Uint8Array): ArrayBuffer {
  const buffer = data.buffer;
  // An empty message may be a shared constant: never hand the same object out twice.
  if (data.byteOffset === 0 && data.byteLength === buffer.byteLength && data.byteLength > 0) {
    if (buffer instanceof ArrayBuffer && !(buffer as { resizable?: boolean }).resizable)
      return buffer;
  }
  if (data.byteLength <= 16 * 1024) return new Uint8Array(data).buffer;
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

/** Turns a received binary message into what `binaryType` asks for. */
export function toBinaryData(
  data: Uint8Array,
  binaryType: BinaryType,
): ArrayBuffer | Blob | Buffer {
  switch (binaryType) {
    case "arraybuffer":
      return toArrayBuffer(data);
    case "blob":
      return new Blob([data]);
    case "nodebuffer":
      // The engine hands over a view of the socket's chunk, usually a Buffer already.
      return Buffer.isBuffer(data)
        ? data
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
}
