/**
 * `sockwise bench <url>`: a load generator for any WebSocket echo server, built on the
 * project's benchmark load generator (src/cli/loadgen/, which the end-to-end bench uses too).
 * It opens the connections, checks that the server echoes, then keeps a window of messages in
 * flight on every connection (closed loop) or sends at a fixed total rate (open loop), times
 * every echo, prints a progress line each second, closes every connection with 1000 and prints
 * a table: connect rate, messages/s, latency percentiles, the close codes the server answered
 * with, and the errors seen.
 *
 * @module
 */
import { LatencyHistogram } from "./loadgen/histogram.js";
import { RawConn, openRaw, type RawTarget } from "./loadgen/raw-conn.js";
import type { MessageKind, MessageSpec } from "./loadgen/wire.js";

/** Options of `sockwise bench`. */
export interface BenchOptions {
  readonly url: string;
  readonly connections: number;
  /** Open loop: messages per second over all connections. Unset: closed loop. */
  readonly rate?: number;
  /** Closed loop: messages in flight per connection. */
  readonly window: number;
  readonly size: number;
  readonly type: MessageKind;
  readonly durationSeconds: number;
  readonly connectConcurrency: number;
  readonly insecure?: boolean;
  readonly headers?: readonly (readonly [string, string])[];
}

/** What `sockwise bench` measured (`--json` prints it as is). */
export interface BenchResult {
  readonly url: string;
  readonly mode: string;
  readonly message: { readonly type: MessageKind; readonly size: number };
  readonly connect: {
    readonly requested: number;
    readonly opened: number;
    readonly failed: number;
    readonly seconds: number;
    readonly perSecond: number;
  };
  readonly durationSeconds: number;
  readonly messages: {
    readonly sent: number;
    readonly received: number;
    readonly perSecond: number;
    readonly bytesPerSecond: number;
  };
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
    readonly samples: number;
  };
  /** The codes of the server's Close frames ("none" when a connection ended without one). */
  readonly closeCodes: Readonly<Record<string, number>>;
  /** Errors by kind, with counts. */
  readonly errors: Readonly<Record<string, number>>;
  /** This process's CPU over the run, as a fraction of one core: near 1, the generator is the limit. */
  readonly generatorCpu: number;
}

/** Where the command writes. */
export interface BenchIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Send times kept per connection in open loop, at most (a bounded backlog). */
const OPEN_LOOP_BACKLOG = 4096;
/** Open loop: how often the sender runs. */
const TICK_MS = 5;

/** A ring of send times (FIFO: an echo server answers in order). */
class SendTimes {
  readonly #times: Float64Array;
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#times = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get free(): number {
    return this.#times.length - this.#size;
  }

  push(time: number, count: number): void {
    const capacity = this.#times.length;
    for (let i = 0; i < count; i++) {
      this.#times[(this.#head + this.#size) % capacity] = time;
      this.#size++;
    }
  }

  /** Records the latency of the `count` oldest messages at `now`. */
  take(count: number, now: number, histogram: LatencyHistogram | undefined): void {
    const capacity = this.#times.length;
    const n = Math.min(count, this.#size);
    for (let i = 0; i < n; i++) {
      histogram?.record(now - this.#times[this.#head]!);
      this.#head = (this.#head + 1) % capacity;
    }
    this.#size -= n;
  }
}

function targetOf(url: string, options: BenchOptions): RawTarget {
  const parsed = new URL(url);
  const secure = parsed.protocol === "wss:" || parsed.protocol === "https:";
  if (!secure && parsed.protocol !== "ws:" && parsed.protocol !== "http:")
    throw new Error(`not a ws:, wss:, http: or https: URL: ${url}`);
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  return {
    host,
    port: parsed.port === "" ? (secure ? 443 : 80) : Number(parsed.port),
    path: `${parsed.pathname}${parsed.search}`,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...(secure ? { tls: { rejectUnauthorized: options.insecure !== true } } : {}),
  };
}

function countInto(record: Record<string, number>, key: string, times = 1): void {
  record[key] = (record[key] ?? 0) + times;
}

/** Runs the benchmark; resolves with the result (the caller prints it). */
export async function runBench(options: BenchOptions, io: BenchIO): Promise<BenchResult> {
  const target = targetOf(options.url, options);
  const spec: MessageSpec = { kind: options.type, size: options.size };
  const errors: Record<string, number> = {};
  const closeCodes: Record<string, number> = {};
  const progress = (line: string, final = false): void => {
    if (io.stderr.isTTY === true) io.stderr.write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
    else io.stderr.write(`${line}\n`);
  };

  // Connect, a bounded number of handshakes at a time.
  const conns: RawConn[] = [];
  let started = 0;
  const connectStart = performance.now();
  let lastProgress = connectStart;
  const worker = async (): Promise<void> => {
    while (started < options.connections) {
      started++;
      try {
        conns.push(await openRaw(target, "ws", 10_000));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        countInto(errors, `connect: ${code ?? (error as Error).message}`);
      }
      const now = performance.now();
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        progress(`connecting: ${conns.length}/${options.connections}`);
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.connectConcurrency, options.connections) }, worker),
  );
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const opened = conns.length;
  const connect = {
    requested: options.connections,
    opened,
    failed: options.connections - opened,
    seconds: connectSeconds,
    perSecond: connectSeconds > 0 ? opened / connectSeconds : 0,
  };
  const mode =
    options.rate === undefined
      ? `closed loop, window ${options.window}`
      : `open loop, ${options.rate} msg/s`;
  const emptyResult = (): BenchResult => ({
    url: options.url,
    mode,
    message: { type: spec.kind, size: spec.size },
    connect,
    durationSeconds: 0,
    messages: { sent: 0, received: 0, perSecond: 0, bytesPerSecond: 0 },
    latencyMs: { p50: NaN, p90: NaN, p99: NaN, max: NaN, samples: 0 },
    closeCodes,
    errors,
    generatorCpu: 0,
  });
  if (opened === 0) return emptyResult();

  // One prebuilt batch of frames, shared by every connection.
  const batch = options.rate === undefined ? Math.max(1, options.window) : 256;
  const first = conns[0]!;
  first.setMessage(spec, batch);
  for (const conn of conns.slice(1)) conn.shareMessage(first);
  try {
    await first.verify(2_000);
  } catch (error) {
    countInto(
      errors,
      `no echo of the first message (is it an echo server?): ${(error as Error).message}`,
    );
    for (const conn of conns) conn.destroy();
    return emptyResult();
  }

  // Connections the server ends during the run are counted, not resent to.
  let running = true;
  const live = new Set(conns);
  for (const conn of conns) {
    void conn.closed.then(() => {
      live.delete(conn);
      if (running) {
        countInto(
          errors,
          `closed during the run (${conn.closeCode === undefined ? (conn.errorCode ?? "no Close") : `code ${conn.closeCode}`})`,
        );
      }
    });
  }

  const histogram = new LatencyHistogram();
  let sent = 0;
  let received = 0;
  const capacity =
    options.rate === undefined
      ? Math.max(1, options.window)
      : Math.min(OPEN_LOOP_BACKLOG, Math.max(64, Math.ceil((options.rate / opened) * 2)));
  const times = conns.map(() => new SendTimes(capacity));
  conns.forEach((conn, index) => {
    const ring = times[index]!;
    conn.onMessages = (count) => {
      const now = performance.now();
      received += count;
      ring.take(count, now, histogram);
      if (options.rate === undefined && running && conn.closeCode === undefined) {
        ring.push(now, count);
        sent += count;
        conn.send(count);
      }
    };
  });

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const durationMs = options.durationSeconds * 1000;
  let sender: NodeJS.Timeout | undefined;
  if (options.rate === undefined) {
    const now = performance.now();
    conns.forEach((conn, index) => {
      times[index]!.push(now, options.window);
      sent += options.window;
      conn.send(options.window);
    });
  } else {
    const rate = options.rate;
    let next = 0;
    let scheduled = 0;
    sender = setInterval(() => {
      const now = performance.now();
      let due = Math.floor(((now - start) / 1000) * rate) - scheduled;
      // Spread over the live connections, starting where the last tick stopped; a full
      // backlog takes fewer. One write per connection and tick.
      for (let visited = 0; visited < conns.length && due > 0; visited++) {
        const index = (next + visited) % conns.length;
        const conn = conns[index]!;
        const ring = times[index]!;
        if (!live.has(conn)) continue;
        const share = Math.min(ring.free, Math.ceil(due / (conns.length - visited)));
        if (share === 0) continue;
        ring.push(now, share);
        conn.send(share);
        sent += share;
        scheduled += share;
        due -= share;
      }
      next = (next + 1) % conns.length;
      if (due > 0) {
        // Not sent: counted as skipped, and the schedule moves on.
        countInto(errors, "not sent: behind the rate (backlog full)", due);
        scheduled += due;
      }
    }, TICK_MS);
  }

  let lastReceived = 0;
  let lastAt = start;
  const ticker = setInterval(() => {
    const now = performance.now();
    const rate = ((received - lastReceived) * 1000) / (now - lastAt);
    lastReceived = received;
    lastAt = now;
    progress(
      `${((now - start) / 1000).toFixed(0).padStart(4)} s  ${live.size}/${opened} open  ` +
        `${format(rate)} msg/s  p50 ${histogram.percentile(0.5).toFixed(2)} ms  ` +
        `p99 ${histogram.percentile(0.99).toFixed(2)} ms  errors ${sum(errors)}`,
    );
  }, 1000);
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  running = false;
  clearInterval(sender);
  clearInterval(ticker);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const receivedInWindow = received;
  if (io.stderr.isTTY === true) progress("", false);

  // Let the messages in flight come back (bounded), then close every connection with 1000.
  const inFlight = (): number => times.reduce((total, ring) => total + ring.size, 0);
  const drainUntil = performance.now() + 2_000;
  while (inFlight() > 0 && performance.now() < drainUntil && live.size > 0)
    await new Promise((resolve) => setTimeout(resolve, 10));
  for (const conn of conns) conn.startClose();
  const closing = Promise.all(conns.map((conn) => conn.closed));
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5_000));
  if ((await Promise.race([closing, timeout])) === "timeout") {
    for (const conn of conns) conn.destroy();
  }
  for (const conn of conns) {
    countInto(closeCodes, conn.closeCode === undefined ? "none" : String(conn.closeCode));
    if (conn.hadError && conn.errorCode !== undefined && conn.errorCode !== "ECONNRESET")
      countInto(errors, `socket: ${conn.errorCode}`);
  }

  return {
    url: options.url,
    mode,
    message: { type: spec.kind, size: spec.size },
    connect,
    durationSeconds: seconds,
    messages: {
      sent,
      received: receivedInWindow,
      perSecond: receivedInWindow / seconds,
      bytesPerSecond: (receivedInWindow * spec.size) / seconds,
    },
    latencyMs: {
      p50: histogram.percentile(0.5),
      p90: histogram.percentile(0.9),
      p99: histogram.percentile(0.99),
      max: histogram.max,
      samples: histogram.count,
    },
    closeCodes,
    errors,
    generatorCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

function format(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function bytes(value: number): string {
  return value >= 1024 * 1024
    ? `${(value / 1024 / 1024).toFixed(1)} MiB`
    : value >= 1024
      ? `${(value / 1024).toFixed(1)} KiB`
      : `${Math.round(value)} B`;
}

/** The final table. */
export function formatBenchResult(result: BenchResult): string {
  const ms = (value: number): string => (Number.isNaN(value) ? "—" : `${value.toFixed(2)} ms`);
  const list = (record: Readonly<Record<string, number>>): string =>
    Object.keys(record).length === 0
      ? "none"
      : Object.entries(record)
          .map(([key, count]) => `${key} ×${format(count)}`)
          .join(", ");
  const rows: [string, string][] = [
    ["target", result.url],
    [
      "load",
      `${result.connect.requested} connections, ${result.mode}, ${result.message.type} ${bytes(result.message.size)} messages, ${result.durationSeconds.toFixed(1)} s`,
    ],
    [
      "connect",
      `${result.connect.opened} opened, ${result.connect.failed} failed in ${result.connect.seconds.toFixed(2)} s (${format(result.connect.perSecond)} /s)`,
    ],
    [
      "messages/s",
      `${format(result.messages.perSecond)} echoed (${bytes(result.messages.bytesPerSecond)}/s), ${format(result.messages.received)} in all, ${format(result.messages.sent)} sent`,
    ],
    ["latency p50", ms(result.latencyMs.p50)],
    ["latency p90", ms(result.latencyMs.p90)],
    ["latency p99", ms(result.latencyMs.p99)],
    ["latency max", ms(result.latencyMs.max)],
    ["close codes", list(result.closeCodes)],
    ["errors", list(result.errors)],
    [
      "generator CPU",
      `${Math.round(result.generatorCpu * 100)}% of one core${result.generatorCpu > 0.9 ? " (the generator may be the limit)" : ""}`,
    ],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n") + "\n";
}
