/**
 * Conversions shared by the client and server socket classes: what `send()` accepts, and what a
 * received message becomes for the chosen `binaryType`.
 *
 * @module
 */
import { isUtf8, transcode } from "node:buffer";
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
  const bytes =
    text.length >= TRANSCODE_FROM_CHARS && canTranscode && !startAndMiddleAreAscii(text)
      ? encodeThroughUtf16(text)
      : // USVString conversion: Buffer.from replaces lone surrogates with U+FFFD itself, exactly
        // as `toWellFormed()` would, so the string is scanned once (5% of a text-echo server).
        Buffer.from(text, "utf8");
  return { kind: "text", bytes, size: bytes.length };
}

/** Below this length V8's encoder is as fast as the detour through UTF-16 (measured). */
const TRANSCODE_FROM_CHARS = 8192;

/**
 * Encodes a long text with dense non-ASCII: V8's UTF-8 encoder (`Buffer.from`) takes about
 * 40 µs for 64 Ki characters of mixed-script text on the reference machine; copying the string
 * out as UTF-16 and converting that with ICU takes about 14 µs, for the same bytes. ICU refuses
 * a lone surrogate, and such a string goes through `Buffer.from`, which writes U+FFFD for it
 * (USVString conversion, SPEC.md K9).
 */
function encodeThroughUtf16(text: string): Uint8Array {
  try {
    return transcode(Buffer.from(text, "utf16le"), "ucs2", "utf8");
  } catch {
    return Buffer.from(text, "utf8");
  }
}

/** How many characters are sampled at the start and the middle of a long text to send. */
const PROBE_CHARS = 64;

/** Whether the first and the middle {@link PROBE_CHARS} characters of `text` are all ASCII. */
function startAndMiddleAreAscii(text: string): boolean {
  const middle = text.length >>> 1;
  for (let i = 0; i < PROBE_CHARS; i++) {
    if (text.charCodeAt(i) >= 0x80 || text.charCodeAt(middle + i) >= 0x80) return false;
  }
  return true;
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

/**
 * How a server socket delivers text messages: decoded to a `string` (the default), or as their
 * UTF-8 bytes, already validated, in a zero-copy `Buffer` (`nodebuffer`).
 */
export type TextType = "string" | "nodebuffer";

/**
 * Converts `sendText()`'s argument: a string is encoded as `send()` encodes it; the bytes of an
 * ArrayBuffer or a view are checked as UTF-8 and **not** copied (the send queue copies what the
 * caller may change, SPEC.md C10).
 * @throws {TypeError} ERR_WS_INVALID_UTF8 for bytes that are not valid UTF-8, and as
 *   {@link toOutgoing} for a Symbol or shared or resizable memory; for a Blob or anything else
 */
export function toTextBytes(data: unknown, where: string): Outgoing {
  if (typeof data === "string") return toText(data);
  if (!(data instanceof ArrayBuffer || ArrayBuffer.isView(data))) {
    if (typeof SharedArrayBuffer === "undefined" || !(data instanceof SharedArrayBuffer))
      throw new TypeError(`Failed to execute ${where}: give a string, an ArrayBuffer or a view.`);
  }
  const outgoing = toOutgoing(data, where);
  const bytes = outgoing.bytes!;
  if (!isUtf8(bytes)) {
    throw Object.assign(
      new TypeError(`Failed to execute ${where}: the bytes are not valid UTF-8.`),
      { code: "ERR_WS_INVALID_UTF8" },
    );
  }
  return { kind: "text", bytes, size: outgoing.size };
}

/** `ignoreBOM` keeps a leading BOM in the string (SPEC.md K11), as `Buffer#toString` does. */
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Whether ICU's converter is there (`buffer.transcode` throws ERR_NO_ICU in a Node built without
 * Intl); checked once.
 */
const canTranscode = ((): boolean => {
  try {
    return transcode(Buffer.from([0xc3, 0xa9]), "utf8", "ucs2").length === 2;
  } catch {
    return false;
  }
})();

/** Below this size V8's decoder is as fast as the detour through UTF-16 (measured, see below). */
const TRANSCODE_FROM_BYTES = 1024;

/** How much of a text is sampled, at its start and its middle, to see if non-ASCII is dense. */
const PROBE_BYTES = 32;

/**
 * Decodes a text message (already validated as UTF-8; a leading BOM is kept, SPEC.md K11).
 *
 * V8's UTF-8 decoder (behind `TextDecoder`, `Buffer#toString` and every other way to make a
 * string from UTF-8 in Node 20) is fast over ASCII but slow once non-ASCII characters are dense:
 * about 105 µs for 64 KiB of mixed-script text on the reference machine, 220 µs for 64 KiB of
 * accented Latin. ICU's converter turns the same bytes into UTF-16 in 12–19 µs, and a string is
 * made from UTF-16 by a copy, so such texts take that detour (docs/benchmarks.md, "Text"). The
 * result is the same string: valid UTF-8 has exactly one UTF-16 form. ASCII and mostly-ASCII
 * text (JSON with a few accents, say) stays with V8, which decodes it fastest; a text is judged
 * by an ASCII check of its start and its middle, so a misjudged text is only slower, never
 * different. Shared by the client, the server and WebSocketStream.
 */
export function decodeText(data: Uint8Array): string {
  const length = data.length;
  if (
    length >= TRANSCODE_FROM_BYTES &&
    canTranscode &&
    !(bytesAreAscii(data, 0) && bytesAreAscii(data, length >>> 1))
  ) {
    const utf16 = transcode(data, "utf8", "ucs2");
    return utf16.toString("utf16le");
  }
  return utf8Decoder.decode(data);
}

/**
 * Whether the {@link PROBE_BYTES} bytes of `data` from `start` are all ASCII. A plain loop: for
 * so few bytes it is cheaper than creating a view to hand to `buffer.isAscii`.
 */
function bytesAreAscii(data: Uint8Array, start: number): boolean {
  let bits = 0;
  for (let i = start, end = start + PROBE_BYTES; i < end; i++) bits |= data[i]!;
  return bits < 0x80;
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
