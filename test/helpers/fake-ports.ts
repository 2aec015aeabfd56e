/**
 * Deterministic stand-ins for the protocol core's ports (src/protocol/ports.ts): a random
 * source that records every key it hands out, and a clock that only moves when a test says so.
 *
 * @module
 */
import type { Accelerators, Clock, Ports, RandomSource } from "../../src/protocol/ports.js";

/**
 * A seeded xorshift32 random source. Every `fill` is recorded (as a copy) in {@link fills}, so a
 * test can compute the exact bytes of a masked frame and check that each frame got a fresh key.
 * Keys listed in `script` are handed out first, in order (e.g. the RFC 6455 §5.7 key).
 */
export class DeterministicRandom implements RandomSource {
  readonly fills: Uint8Array[] = [];
  readonly #script: Uint8Array[];
  #state: number;

  constructor(seed = 0x2545f491, script: readonly Uint8Array[] = []) {
    this.#state = seed >>> 0 || 1;
    this.#script = [...script];
  }

  fill(target: Uint8Array): void {
    const scripted = this.#script.shift();
    if (scripted !== undefined) {
      if (scripted.length !== target.length) throw new Error("scripted random: length mismatch");
      target.set(scripted);
    } else {
      for (let i = 0; i < target.length; i++) target[i] = this.#next() & 0xff;
    }
    this.fills.push(target.slice());
  }

  #next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state >>> 11;
  }
}

/** A clock that stands still until {@link FakeClock.advance} or {@link FakeClock.set}. */
export class FakeClock implements Clock {
  #now: number;

  constructor(start = 1_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  set(ms: number): void {
    this.#now = ms;
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Fake ports and handles on their parts. */
export interface FakePorts {
  readonly ports: Ports;
  readonly random: DeterministicRandom;
  readonly clock: FakeClock;
}

/** Options for {@link fakePorts}. */
export interface FakePortsOptions {
  readonly seed?: number;
  /** Keys handed out before the seeded ones. */
  readonly script?: readonly Uint8Array[];
  readonly accelerators?: Accelerators;
  readonly startMs?: number;
}

/** Builds deterministic ports. */
export function fakePorts(options: FakePortsOptions = {}): FakePorts {
  const random = new DeterministicRandom(options.seed, options.script);
  const clock = new FakeClock(options.startMs);
  const ports: Ports =
    options.accelerators === undefined
      ? { random, clock }
      : { random, clock, accelerators: options.accelerators };
  return { ports, random, clock };
}
