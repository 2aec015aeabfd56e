/**
 * Deterministic bursts of messages for the interop matrix: text and binary, 0 B to exactly
 * {@link MAX_MESSAGE_BYTES} (sockwise's limit in these tests, so the boundary itself is sent),
 * sizes log-uniform in between so most messages are small and the suite stays fast. Text mixes
 * 1-, 2-, 3- and 4-byte UTF-8 characters; each size is exact in UTF-8 bytes.
 *
 * @module
 */
import { MAX_MESSAGE_BYTES, type SockwiseEnd } from "./ends.js";

/** Messages per burst. */
export const BURST_MESSAGES = 10;

/** The base seed; scenario n uses BASE_SEED + n, the same for every pairing. */
export const BASE_SEED = 0x50c4;

/** A small, fast, seedable PRNG (mulberry32): returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomText(random: () => number, bytes: number): string {
  const chars: string[] = [];
  let left = bytes;
  while (left > 0) {
    const pick = random();
    let codePoint: number;
    if (left >= 4 && pick < 0.1) {
      codePoint = 0x10000 + Math.floor(random() * 0x100000);
      left -= 4;
    } else if (left >= 3 && pick < 0.25) {
      do codePoint = 0x800 + Math.floor(random() * 0xf800);
      while (codePoint >= 0xd800 && codePoint <= 0xdfff);
      left -= 3;
    } else if (left >= 2 && pick < 0.4) {
      codePoint = 0x80 + Math.floor(random() * 0x780);
      left -= 2;
    } else {
      codePoint = 0x20 + Math.floor(random() * 0x5f);
      left -= 1;
    }
    chars.push(String.fromCodePoint(codePoint));
  }
  return chars.join("");
}

function randomBytes(random: () => number, bytes: number): Buffer {
  const buffer = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i += 4) {
    const word = Math.floor(random() * 4294967296);
    for (let k = 0; k < 4 && i + k < bytes; k++) buffer[i + k] = (word >>> (8 * k)) & 0xff;
  }
  return buffer;
}

/** The messages of the burst for `seed`: message 0 is empty, one is exactly the limit. */
export function makeBurst(seed: number): (string | Buffer)[] {
  const random = prng(seed);
  const full = 1 + Math.floor(random() * (BURST_MESSAGES - 1));
  const messages: (string | Buffer)[] = [];
  for (let i = 0; i < BURST_MESSAGES; i++) {
    const size =
      i === 0
        ? 0
        : i === full
          ? MAX_MESSAGE_BYTES
          : Math.min(MAX_MESSAGE_BYTES - 1, Math.floor(2 ** (random() * 20)));
    messages.push(random() < 0.5 ? randomText(random, size) : randomBytes(random, size));
  }
  return messages;
}

function describe(message: string | Buffer): string {
  return typeof message === "string"
    ? `text of ${Buffer.byteLength(message)} B`
    : `binary of ${message.length} B`;
}

/**
 * Sends the burst from the sockwise end; the peer echoes each message, and every echo must come
 * back intact and in order (so both directions are checked, each through the peer's own API).
 * @returns the number of messages and payload bytes sent one way
 * @throws when an echo is missing, reordered, of the wrong type or altered
 */
export async function runBurst(
  sockwise: SockwiseEnd,
  seed: number,
): Promise<{ messages: number; bytes: number }> {
  const messages = makeBurst(seed);
  for (const message of messages) sockwise.send(message);
  let bytes = 0;
  for (const [i, sent] of messages.entries()) {
    const got = await sockwise.nextMessage(`the echo of burst message ${i} (${describe(sent)})`);
    const same =
      typeof sent === "string"
        ? typeof got === "string" && got === sent
        : Buffer.isBuffer(got) && got.equals(sent);
    if (!same) {
      throw new Error(
        `burst message ${i} (seed ${seed}): sent ${describe(sent)}, echo is ${describe(got)}` +
          (typeof sent === typeof got ? " with different content" : ""),
      );
    }
    bytes += typeof sent === "string" ? Buffer.byteLength(sent) : sent.length;
  }
  return { messages: messages.length, bytes };
}
