/**
 * Node implementations of the protocol core's ports: `node:crypto` randomness (from a refilled
 * pool, so a mask key costs no system call) and SHA-1, `performance.now()`, the native
 * `buffer.isUtf8` fast path, WebAssembly SIMD masking and uninitialised message buffers.
 *
 * @module
 */
import { Buffer, isUtf8 } from "node:buffer";
import * as crypto from "node:crypto";
import { createHash, randomFillSync } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Accelerators, Clock, Ports, RandomSource, Sha1 } from "../protocol/ports.js";
import { applyMask, maskInto } from "./wasm-mask.js";

const POOL_BYTES = 8192;

/**
 * Random bytes from `crypto.randomFillSync`, drawn from a pool refilled 8 KiB at a time.
 * Every byte is used once (SPEC.md P1: a pre-filled random pool is fine).
 */
export class PooledRandomSource implements RandomSource {
  readonly #pool = new Uint8Array(POOL_BYTES);
  #offset = POOL_BYTES;

  fill(target: Uint8Array): void {
    const length = target.length;
    if (length > POOL_BYTES) {
      randomFillSync(target);
      return;
    }
    if (this.#offset + length > POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const start = this.#offset;
    if (length === 4) {
      const pool = this.#pool;
      target[0] = pool[start]!;
      target[1] = pool[start + 1]!;
      target[2] = pool[start + 2]!;
      target[3] = pool[start + 3]!;
    } else {
      target.set(this.#pool.subarray(start, start + length));
    }
    this.#offset = start + length;
  }
}

/** `crypto.hash` where this Node has it (20.12 and later). */
const oneShotHash = (
  crypto as {
    hash?: (algorithm: string, data: string, outputEncoding: "base64") => string;
  }
).hash;

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** SHA-1 from `node:crypto`. */
export const nodeSha1: Sha1 = {
  digest(data: Uint8Array): Uint8Array {
    return createHash("sha1").update(data).digest();
  },
  digestLatin1ToBase64(text: string): string {
    // The one-shot `crypto.hash` (Node 20.12+) is about 3× faster than a Hash object; it reads
    // a string as UTF-8, which is latin1 for ASCII (a handshake key always is).
    if (oneShotHash !== undefined && ASCII_ONLY.test(text))
      return oneShotHash("sha1", text, "base64");
    return createHash("sha1").update(text, "latin1").digest("base64");
  },
};

/** `performance.now()`: monotonic milliseconds. */
export const nodeClock: Clock = { now: () => performance.now() };

/**
 * A `Uint8Array` over uninitialised memory: `Buffer.allocUnsafeSlow` gives the view its own
 * `ArrayBuffer` (no pool), exactly `size` bytes long, so the message can become an `ArrayBuffer`
 * without a copy. A plain `Uint8Array` view, so what the engine hands out has one type.
 */
function allocUninitialized(size: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size);
}

/** Native and WebAssembly fast paths. */
export const nodeAccelerators: Accelerators = {
  isUtf8: (bytes) => isUtf8(bytes),
  applyMask,
  maskInto,
  allocUninitialized,
};

/** The ports every Node-side engine uses: one shared random pool for the process. */
export const nodePorts: Ports & { readonly sha1: Sha1 } = {
  random: new PooledRandomSource(),
  clock: nodeClock,
  accelerators: nodeAccelerators,
  sha1: nodeSha1,
};
