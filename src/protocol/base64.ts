/**
 * Base64 (RFC 4648 §4, with padding) for the opening handshake, written out because the
 * protocol core may not use `Buffer` or `btoa`.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Encodes `bytes` as padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + "==";
  } else if (left === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + "=";
  }
  return out;
}

/**
 * The number of bytes `text` decodes to when it is strict padded base64 (the rules of
 * {@link decodeBase64}), or `undefined` when it is not; decodes nothing, allocates nothing.
 */
export function strictBase64Length(text: string): number | undefined {
  const length = text.length;
  if (length % 4 !== 0) return undefined;
  const padding = length === 0 ? 0 : text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  let last = 0;
  for (let i = 0; i < length - padding; i++) {
    const c = text.charCodeAt(i);
    last = c < 128 ? DECODE[c]! : -1;
    if (last < 0) return undefined;
  }
  // The bits of the last character beyond the data must be zero.
  if (padding === 2 && (last & 0xf) !== 0) return undefined;
  if (padding === 1 && (last & 0x3) !== 0) return undefined;
  return (length / 4) * 3 - padding;
}

/**
 * Decodes strict padded base64; returns `undefined` for anything else (wrong length, bad
 * characters, misplaced padding, non-zero padding bits).
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  let padding = 0;
  if (text.endsWith("==")) padding = 2;
  else if (text.endsWith("=")) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const values = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      if (last && j >= 4 - padding) {
        if (c !== 61 /* = */) return undefined;
        continue;
      }
      const v = c < 128 ? DECODE[c]! : -1;
      if (v < 0) return undefined;
      values[j] = v;
    }
    const n = (values[0]! << 18) | (values[1]! << 12) | (values[2]! << 6) | values[3]!;
    if (last && padding === 2 && (n & 0xffff) !== 0) return undefined;
    if (last && padding === 1 && (n & 0xff) !== 0) return undefined;
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}
