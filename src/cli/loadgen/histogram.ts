/**
 * A latency histogram of fixed size for the load generator: microsecond buckets below 1 ms,
 * then 256 logarithmic buckets per doubling (under 0.3 % apart) up to about 18 minutes. Recording
 * is one array increment; the memory does not grow with the number of samples.
 *
 * @module
 */

const LINEAR_US = 1000;
const PER_DOUBLING = 256;
const DOUBLINGS = 20;
const BUCKETS = LINEAR_US + PER_DOUBLING * DOUBLINGS;

/** Latencies in milliseconds, recorded into buckets; percentiles read back. */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #total = 0;
  #max = 0;

  /** The number of samples. */
  get count(): number {
    return this.#total;
  }

  /** The largest sample, exactly. */
  get max(): number {
    return this.#max;
  }

  record(ms: number, times = 1): void {
    if (ms > this.#max) this.#max = ms;
    const bucket = bucketOf(ms * 1000);
    this.#counts[bucket] = this.#counts[bucket]! + times;
    this.#total += times;
  }

  /** The sample at quantile `q` (0–1), as the upper bound of its bucket; NaN when empty. */
  percentile(q: number): number {
    if (this.#total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, upperBoundUs(i) / 1000);
    }
    return this.#max;
  }

  /** Adds another histogram's samples. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.#counts[i]! += other.#counts[i]!;
    this.#total += other.#total;
    this.#max = Math.max(this.#max, other.#max);
  }

  reset(): void {
    this.#counts.fill(0);
    this.#total = 0;
    this.#max = 0;
  }
}

function bucketOf(us: number): number {
  if (us < LINEAR_US) return Math.max(0, Math.floor(us));
  const index = LINEAR_US + Math.floor(Math.log2(us / LINEAR_US) * PER_DOUBLING);
  return Math.min(BUCKETS - 1, index);
}

function upperBoundUs(index: number): number {
  if (index < LINEAR_US) return index + 1;
  return LINEAR_US * 2 ** ((index - LINEAR_US + 1) / PER_DOUBLING);
}
