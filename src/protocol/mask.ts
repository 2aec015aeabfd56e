/**
 * XOR masking of payload bytes (RFC 6455 §5.3). Masking and unmasking are the same operation.
 * Mask keys never come from here: the engine draws them from the injected random source.
 *
 * @module
 */

/** A 4-byte scratch area used to turn a rotated key into a native-endian 32-bit word. */
const keyBytes = new Uint8Array(4);
const keyWord = new Uint32Array(keyBytes.buffer);

/** Below this many bytes the plain byte loop is as fast as the word loop. */
const WORD_LOOP_MIN_BYTES = 32;

/**
 * XORs `bytes` in place with `maskKey`, where `bytes[0]` lines up with key byte `keyOffset`
 * (0–3), so a payload split across several buffers can be unmasked piece by piece.
 * Large ranges are processed a 32-bit word at a time, not byte by byte.
 *
 * @returns the key offset for the byte that follows `bytes`
 * @see RFC 6455 §5.3: octet i of the output is octet i of the input XOR key[i mod 4]
 */
export function applyMask(bytes: Uint8Array, maskKey: Uint8Array, keyOffset = 0): number {
  const length = bytes.length;
  let i = 0;
  if (length >= WORD_LOOP_MIN_BYTES) {
    // Byte loop up to a 4-byte aligned address, then whole words, then the tail.
    const misalignment = bytes.byteOffset & 3;
    const head = misalignment === 0 ? 0 : 4 - misalignment;
    for (; i < head; i++) bytes[i] = bytes[i]! ^ maskKey[(keyOffset + i) & 3]!;
    const start = (keyOffset + head) & 3;
    keyBytes[0] = maskKey[start]!;
    keyBytes[1] = maskKey[(start + 1) & 3]!;
    keyBytes[2] = maskKey[(start + 2) & 3]!;
    keyBytes[3] = maskKey[(start + 3) & 3]!;
    const key = keyWord[0]!;
    const words = (length - head) >>> 2;
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + head, words);
    // Eight words per iteration: about 2.5× the single-word loop on large payloads
    // (docs/benchmarks-protocol.md).
    const unrolled = words & ~7;
    let w = 0;
    for (; w < unrolled; w += 8) {
      view[w] = view[w]! ^ key;
      view[w + 1] = view[w + 1]! ^ key;
      view[w + 2] = view[w + 2]! ^ key;
      view[w + 3] = view[w + 3]! ^ key;
      view[w + 4] = view[w + 4]! ^ key;
      view[w + 5] = view[w + 5]! ^ key;
      view[w + 6] = view[w + 6]! ^ key;
      view[w + 7] = view[w + 7]! ^ key;
    }
    for (; w < words; w++) view[w] = view[w]! ^ key;
    i = head + words * 4;
  }
  for (; i < length; i++) bytes[i] = bytes[i]! ^ maskKey[(keyOffset + i) & 3]!;
  return (keyOffset + length) & 3;
}

/**
 * Writes `source` XOR `maskKey` into `target` (the same length; it may be `source` itself), where
 * `source[0]` lines up with key byte `keyOffset`: a copy followed by {@link applyMask}, which is
 * faster in V8 than XORing word by word from one array into the other.
 *
 * @returns the key offset for the byte that follows `source`
 */
export function maskInto(
  source: Uint8Array,
  target: Uint8Array,
  maskKey: Uint8Array,
  keyOffset = 0,
): number {
  if (target !== source) target.set(source);
  return applyMask(target, maskKey, keyOffset);
}
