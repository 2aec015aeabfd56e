/**
 * Ways to cut an input into chunks, so that every parser case is replayed as TCP might deliver
 * it (SPEC.md H14, I10), built on the shared `split.ts` (every 2-way split, then byte by byte).
 * Each chunk is a fresh copy, because the parser unmasks in place and takes ownership.
 *
 * @module
 */
import { describeSplit, splitEverywhere } from "./split.js";

/** One way of delivering an input. */
export interface Chunking {
  /** E.g. "[3+40]", "[1×43]", "split at 3". */
  readonly label: string;
  readonly chunks: readonly Uint8Array[];
}

/**
 * Every chunking of `bytes`, each chunk a fresh copy: with no `splitPoints`, those of
 * {@link splitEverywhere} (every 2-way split including the empty ends, then byte by byte);
 * with `splitPoints` (for large inputs, where every split would take too long), the whole
 * input, those 2-way splits, and byte by byte.
 */
export function chunkings(bytes: Uint8Array, splitPoints?: Iterable<number>): readonly Chunking[] {
  const copy = (chunks: readonly Uint8Array[]): Uint8Array[] => chunks.map((c) => c.slice());
  if (splitPoints === undefined) {
    return Array.from(splitEverywhere(bytes), (chunks) => ({
      label: describeSplit(chunks),
      chunks: copy(chunks),
    }));
  }
  const out: Chunking[] = [{ label: "whole", chunks: [bytes.slice()] }];
  for (const at of splitPoints) {
    if (at <= 0 || at >= bytes.length) continue;
    out.push({ label: `split at ${at}`, chunks: [bytes.slice(0, at), bytes.slice(at)] });
  }
  if (bytes.length > 1) {
    out.push({
      label: "byte by byte",
      chunks: Array.from({ length: bytes.length }, (_, i) => bytes.slice(i, i + 1)),
    });
  }
  return out;
}

/**
 * Split points for a large input: every boundary in the first `head` bytes and the last `tail`
 * bytes, and a few in the middle.
 */
export function boundarySplitPoints(length: number, head = 24, tail = 8): number[] {
  const points = new Set<number>();
  for (let i = 1; i <= Math.min(head, length - 1); i++) points.add(i);
  for (let i = Math.max(1, length - tail); i < length; i++) points.add(i);
  for (const fraction of [0.25, 0.5, 0.75]) points.add(Math.floor(length * fraction));
  return [...points].filter((p) => p > 0 && p < length).sort((a, b) => a - b);
}

/** Cuts `bytes` at the given (sorted or not, possibly repeated) offsets into copies. */
export function cutAt(bytes: Uint8Array, offsets: Iterable<number>): Uint8Array[] {
  const cuts = [...new Set(offsets)].filter((o) => o > 0 && o < bytes.length).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(bytes.slice(start, cut));
    start = cut;
  }
  chunks.push(bytes.slice(start));
  return chunks;
}
