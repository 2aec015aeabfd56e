/**
 * Bytes of the load generator (`sockwise bench` and the end-to-end bench's processes): fixed
 * payload corpora, a client frame encoder, the generator's opening handshake, and masking
 * (bufferutil's native mask when it is installed, a JS loop otherwise). Nothing here is
 * sockwise library code, and nothing here imports it: the load generator and the bench's fixed
 * echo server must not share code with any library under test.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { moduleDirectory } from "../module-directory.js";
import { isUtf8 } from "node:buffer";

/** What a benchmark message is. */
export type MessageKind = "text" | "binary";

export interface MessageSpec {
  readonly kind: MessageKind;
  readonly size: number;
}

export const KIB = 1024;
export const MIB = 1024 * 1024;

/** xorshift32: the same "random" binary payload on every run. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafeSlow(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Mixed-script text (1- to 4-byte sequences, mostly ASCII), as a chat or JSON payload might be. */
const TEXT_SAMPLE =
  '{"user":"zoë","msg":"Grüße aus Köln — привет, мир! 你好，世界 ✓ 👋","n":42,"ok":true} ';

/** Valid UTF-8 of exactly `length` bytes: the sample repeated, cut on a code point, padded. */
export function textBytes(length: number): Buffer {
  const sample = Buffer.from(TEXT_SAMPLE, "utf8");
  const bytes = Buffer.alloc(length, 0x20);
  let fill = 0;
  while (fill < length) {
    let take = Math.min(sample.length, length - fill);
    // Back off to a code point boundary: the byte after the cut must not be a continuation.
    while (take < sample.length && take > 0 && (sample[take]! & 0xc0) === 0x80) take--;
    if (take === 0) break;
    sample.copy(bytes, fill, 0, take);
    fill += take;
  }
  if (!isUtf8(bytes)) throw new Error("bad text corpus");
  return bytes;
}

/** The payload of a message: the same bytes in every process and every run. */
export function payloadOf(spec: MessageSpec): Buffer {
  return spec.kind === "text" ? textBytes(spec.size) : pseudoRandomBytes(spec.size, spec.size);
}

export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
};

export const opcodeOf = (kind: MessageKind): number =>
  kind === "text" ? OPCODE.text : OPCODE.binary;

/** The load generator's fixed mask key (non-zero: ws skips unmasking an all-zero key). */
export const MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

// ---- masking -------------------------------------------------------------------------------------

interface BufferUtil {
  mask(source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number): void;
}

// Resolved from the package's own directory (import.meta is not available in the CommonJS build).
const requireHere = createRequire(join(moduleDirectory(), "loadgen.js"));

function loadBufferUtil(): { util: BufferUtil | undefined; native: boolean } {
  try {
    const util = requireHere("bufferutil") as BufferUtil;
    return { util, native: util.mask.toString().includes("[native code]") };
  } catch {
    return { util: undefined, native: false };
  }
}

const bufferUtil = loadBufferUtil();

/** How this process masks: stated in the report. */
export const maskingPath = bufferUtil.native
  ? "bufferutil (native)"
  : bufferUtil.util !== undefined
    ? "bufferutil (its JS fallback)"
    : "JS byte loop";

/**
 * Writes `source[0..length)` XOR the mask into `output` at `offset`. `mask` must be 4 bytes,
 * already rotated to the payload position of `source[0]`.
 */
export function maskInto(
  source: Buffer,
  mask: Buffer,
  output: Buffer,
  offset: number,
  length: number,
): void {
  if (bufferUtil.util !== undefined && length >= 32) {
    bufferUtil.util.mask(source, mask, output, offset, length);
    return;
  }
  for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ mask[i & 3]!;
}

// ---- frames --------------------------------------------------------------------------------------

/** The bytes of a header for a payload of `length` bytes, with 4 more for a mask key if masked. */
export function headerBytesFor(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/** Writes a frame header at `offset`; returns the bytes written (the mask key is not written). */
export function writeHeader(
  target: Buffer,
  offset: number,
  firstByte: number,
  length: number,
  masked: boolean,
): number {
  const maskBit = masked ? 0x80 : 0;
  target[offset] = firstByte;
  if (length < 126) {
    target[offset + 1] = maskBit | length;
    return 2;
  }
  if (length < 0x10000) {
    target[offset + 1] = maskBit | 126;
    target.writeUInt16BE(length, offset + 2);
    return 4;
  }
  target[offset + 1] = maskBit | 127;
  target.writeUInt32BE(Math.floor(length / 0x1_0000_0000), offset + 2);
  target.writeUInt32BE(length >>> 0, offset + 6);
  return 10;
}

/** One final, masked client frame, encoded by the bench itself. */
export function encodeClientFrame(opcode: number, payload: Buffer, maskKey = MASK_KEY): Buffer {
  const frame = Buffer.allocUnsafe(headerBytesFor(payload.length, true) + payload.length);
  let at = writeHeader(frame, 0, 0x80 | opcode, payload.length, true);
  maskKey.copy(frame, at);
  at += 4;
  maskInto(payload, maskKey, frame, at, payload.length);
  return frame;
}

/** One message with a 4-byte big-endian length prefix (the raw TCP echo's framing). */
export function encodePrefixed(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

// ---- handshake -----------------------------------------------------------------------------------

/** The sample key of RFC 6455 §1.3: every generator connection uses it. */
export const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** The Sec-WebSocket-Accept value for a key (RFC 6455 §4.2.2). */
export function acceptFor(key: string): string {
  return createHash("sha1")
    .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
}

export const SAMPLE_ACCEPT = acceptFor(SAMPLE_KEY);

/**
 * The generator's upgrade request: what a minimal client sends, no extensions offered. The
 * host is 127.0.0.1 and the path / unless given (an IPv6 host is written in brackets).
 */
export function upgradeRequest(
  port: number,
  host = "127.0.0.1",
  path = "/",
  headers: readonly (readonly [string, string])[] = [],
): Buffer {
  const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\n` +
      `Host: ${authority}\r\n` +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${SAMPLE_KEY}\r\n` +
      "Sec-WebSocket-Version: 13\r\n" +
      headers.map(([name, value]) => `${name}: ${value}\r\n`).join("") +
      "\r\n",
    "latin1",
  );
}

/** The in-flight window of the pipelined scenario: at most 128 messages and about 4 MiB. */
export function windowFor(size: number): number {
  return Math.min(128, Math.max(2, Math.floor((4 * MIB) / Math.max(1, size))));
}

export function sizeLabel(bytes: number): string {
  return bytes >= MIB ? `${bytes / MIB} MiB` : bytes >= KIB ? `${bytes / KIB} KiB` : `${bytes} B`;
}
