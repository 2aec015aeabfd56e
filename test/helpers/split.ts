/**
 * Chunkings of an input for replaying parser cases: a parser must give the same outcome however
 * its input is split (STYLE.md §8, "Both roles, every split").
 *
 * @module
 */

/**
 * Yields every way to feed `bytes` to an incremental parser that the tests replay: each 2-way
 * split (`[bytes[0..i], bytes[i..]]` for every `i` from 0 to the length, so the whole input in
 * one chunk and empty chunks are included), then one byte at a time.
 *
 * @param bytes - The complete input.
 */
export function* splitEverywhere(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let i = 0; i <= bytes.length; i++) {
    yield [bytes.subarray(0, i), bytes.subarray(i)];
  }
  const oneByteAtATime: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) oneByteAtATime.push(bytes.subarray(i, i + 1));
  yield oneByteAtATime;
}

/**
 * Describes a chunking for assertion messages, e.g. `[3+40]` or `[1×43]`.
 *
 * @param chunks - The chunks, as yielded by {@link splitEverywhere}.
 */
export function describeSplit(chunks: readonly Uint8Array[]): string {
  if (chunks.length > 2) return `[1×${chunks.length}]`;
  return `[${chunks.map((chunk) => chunk.length).join("+")}]`;
}
