/**
 * Frame builders that produce exact wire bytes, written independently of src/protocol (no
 * `writeHeader`, no `applyMask`) so that the tests check the engine against a second reading of
 * RFC 6455 §5.2 rather than against itself.
 *
 * @module
 */

/** Opcodes, spelled out here rather than imported, for the same reason. */
export const OP = {
  cont: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** The masking key from the RFC 6455 §5.7 examples. */
export const RFC_MASK_KEY: Uint8Array = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** What {@link buildFrame} writes. */
export interface FrameSpec {
  readonly opcode: number;
  /** Default true. */
  readonly fin?: boolean;
  /** RSV bits 0–7 (RSV1 = 4). Default 0. */
  readonly rsv?: number;
  /** Default empty. Strings are UTF-8 encoded. */
  readonly payload?: Uint8Array | string;
  /** Set the MASK bit, write this key and mask the payload with it. */
  readonly maskKey?: Uint8Array;
  /** Force a length form; default is the shortest (RFC 6455 §5.2). */
  readonly lengthForm?: 7 | 16 | 64;
  /**
   * Declare this length instead of the payload's (the payload is still written as given), to
   * build headers whose payload never comes. A bigint reaches all 64 bits.
   */
  readonly declaredLength?: number | bigint;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Parses "81 05 48 65" (any whitespace, or none) into bytes. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) {
    throw new Error(`bad hex fixture: ${text}`);
  }
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Formats bytes as "81 05 48 65" (for messages and fixtures). */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Joins byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A payload of `length` bytes with a recognisable pattern (i * 7 + 3 mod 256). */
export function patternBytes(length: number, seed = 3): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

/** Reference masking: octet i XOR key[i mod 4] (RFC 6455 §5.3), into a new array. */
export function maskCopy(payload: Uint8Array, maskKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ maskKey[i % 4]!;
  return out;
}

/** The reference result of masking `bytes` starting at position `keyOffset` of `key`. */
export function maskCopyFrom(bytes: Uint8Array, key: Uint8Array, keyOffset: number): Uint8Array {
  const rotated = Uint8Array.of(
    key[keyOffset & 3]!,
    key[(keyOffset + 1) & 3]!,
    key[(keyOffset + 2) & 3]!,
    key[(keyOffset + 3) & 3]!,
  );
  return maskCopy(bytes, rotated);
}

/** Builds one frame's exact bytes. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const payload =
    typeof spec.payload === "string" ? utf8(spec.payload) : (spec.payload ?? new Uint8Array(0));
  const length = BigInt(spec.declaredLength ?? payload.length);
  const form = spec.lengthForm ?? (length < 126n ? 7 : length < 65536n ? 16 : 64);
  const fin = spec.fin ?? true;
  const rsv = spec.rsv ?? 0;
  const header: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | spec.opcode];
  const maskBit = spec.maskKey === undefined ? 0 : 0x80;
  if (form === 7) {
    if (length > 125n) throw new Error("7-bit form holds at most 125");
    header.push(maskBit | Number(length));
  } else if (form === 16) {
    if (length > 0xffffn) throw new Error("16-bit form holds at most 65535");
    header.push(maskBit | 126, Number(length >> 8n), Number(length & 0xffn));
  } else {
    header.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) header.push(Number((length >> shift) & 0xffn));
  }
  if (spec.maskKey !== undefined) {
    header.push(...spec.maskKey);
    return concat(Uint8Array.from(header), maskCopy(payload, spec.maskKey));
  }
  return concat(Uint8Array.from(header), payload);
}

/** A Close body: empty, or a big-endian code and the reason (a string is UTF-8 encoded). */
export function closeBody(code?: number, reason: string | Uint8Array = ""): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const reasonBytes = typeof reason === "string" ? utf8(reason) : reason;
  return concat(Uint8Array.of(code >> 8, code & 0xff), reasonBytes);
}
