/**
 * `npm run bench:pubsub`: topic fan-out, side by side in one run: sockwise in 1 process, sockwise
 * in 2 processes over Redis, socket.io 4 + `@socket.io/redis-adapter` (rooms, 2 processes), and
 * `ws` with a hand-written Redis pub/sub loop (2 processes). 128-byte text messages to 1,000 and
 * 5,000 subscribers; deliveries per second and publish→receive latency (p50/p99) measured at the
 * receiving clients; memory per subscription in the server processes (heap + external after a GC,
 * after subscribing minus before, divided by the subscriptions).
 *
 * The subscribers are plain TCP connections in this process, speaking just enough RFC 6455 (and,
 * for socket.io, Engine.IO 4 over WebSocket) to subscribe and count: the same cheap client for
 * every server. Flags: `--quick` (small counts, for a smoke run), `--json <file>`.
 *
 * @module
 */
import { connect, type Socket } from "node:net";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Child, monotonicMs } from "../lib/rpc.js";
import { encodeClientFrame, upgradeRequest } from "../lib/wire.js";

const SERVER_SCRIPT = fileURLToPath(new URL("./server.js", import.meta.url));
const quick = process.argv.includes("--quick");
const jsonAt = process.argv.indexOf("--json");
const jsonPath = jsonAt === -1 ? undefined : process.argv[jsonAt + 1];

type Impl = "sockwise" | "socketio" | "ws";
interface Setup {
  readonly label: string;
  readonly impl: Impl;
  readonly processes: 1 | 2;
}
const SETUPS: readonly Setup[] = [
  { label: "sockwise, 1 process", impl: "sockwise", processes: 1 },
  { label: "sockwise, 2 processes + Redis", impl: "sockwise", processes: 2 },
  { label: "socket.io 4 + redis-adapter, 2 processes", impl: "socketio", processes: 2 },
  { label: "ws + Redis loop, 2 processes", impl: "ws", processes: 2 },
];
const SCENARIOS = quick
  ? [{ subscribers: 100, messages: 50 }]
  : [
      { subscribers: 1000, messages: 400 },
      { subscribers: 5000, messages: 100 },
    ];
const LATENCY_MESSAGES = quick ? 10 : 50;
const LATENCY_INTERVAL_MS = 20;
const PER_TICK = 10;

// ---- subscribers ---------------------------------------------------------------------------

const SUB_FRAME = encodeClientFrame(1, Buffer.from("sub"));
const NOOP_FRAME = encodeClientFrame(1, Buffer.from("noop"));
const SIO_NOOP = encodeClientFrame(1, Buffer.from('42["noop"]'));
const SIO_CONNECT = encodeClientFrame(1, Buffer.from("40"));
const SIO_SUB = encodeClientFrame(1, Buffer.from('42["sub"]'));
const SIO_PONG = encodeClientFrame(1, Buffer.from("3"));
/** Where the send time starts in a delivered text message (socket.io wraps it: 42["m","…). */
const STAMP_AT = { sockwise: 0, ws: 0, socketio: 8 } as const;

interface Counters {
  delivered: number;
  lastAt: number;
  /** Latency samples (ms) while recording. */
  samples: Float64Array | undefined;
  sampleCount: number;
}

class Subscriber {
  readonly socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #upgraded = false;
  readonly #impl: Impl;
  readonly #counters: Counters;
  #ready!: () => void;
  readonly ready: Promise<void>;

  constructor(port: number, impl: Impl, counters: Counters) {
    this.#impl = impl;
    this.#counters = counters;
    this.ready = new Promise((resolve) => (this.#ready = resolve));
    const socket = connect({ port, host: "127.0.0.1" });
    this.socket = socket;
    socket.setNoDelay(true);
    // Resets when a server process exits at the end of a measurement are expected.
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => this.#data(chunk));
    socket.once("connect", () => {
      if (impl === "socketio") {
        socket.write(
          `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
            "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
      } else socket.write(upgradeRequest(port));
    });
  }

  /**
   * Sends a message the server ignores: whatever a connection allocates for its first message
   * (buffers, parser state) is then paid before the memory baseline, not counted as the
   * subscription's.
   */
  warmUp(): void {
    this.socket.write(this.#impl === "socketio" ? SIO_NOOP : NOOP_FRAME);
  }

  /** Subscribes to the bench topic (socket.io: joins the room). */
  subscribe(): void {
    this.socket.write(this.#impl === "socketio" ? SIO_SUB : SUB_FRAME);
  }

  #data(chunk: Buffer): void {
    let buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (!this.#upgraded) {
      const end = buffer.indexOf("\r\n\r\n");
      if (end === -1) {
        this.#buffer = buffer;
        return;
      }
      this.#upgraded = true;
      buffer = buffer.subarray(end + 4);
      if (this.#impl !== "socketio") this.#ready();
    }
    let offset = 0;
    for (;;) {
      if (buffer.length - offset < 2) break;
      let length = buffer[offset + 1]! & 0x7f;
      let start = offset + 2;
      if (length === 126) {
        if (buffer.length - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        start += 2;
      } else if (length === 127) {
        if (buffer.length - offset < 10) break;
        length = buffer.readUInt32BE(offset + 6);
        start += 8;
      }
      if (buffer.length < start + length) break;
      this.#message(buffer, start, length);
      offset = start + length;
    }
    this.#buffer = offset === buffer.length ? Buffer.alloc(0) : buffer.subarray(offset);
  }

  #message(buffer: Buffer, start: number, length: number): void {
    if (this.#impl === "socketio") {
      const first = buffer[start];
      if (first === 0x30 /* 0: open */) {
        this.socket.write(SIO_CONNECT);
        return;
      }
      if (first === 0x32 /* 2: ping */ && length === 1) {
        this.socket.write(SIO_PONG);
        return;
      }
      if (first === 0x34 && buffer[start + 1] === 0x30 /* 40: connected */) {
        this.#ready();
        return;
      }
    }
    const counters = this.#counters;
    counters.delivered++;
    const now = monotonicMs();
    counters.lastAt = now;
    if (counters.samples !== undefined && counters.sampleCount < counters.samples.length) {
      const at = start + STAMP_AT[this.#impl];
      const sent = Number(buffer.toString("latin1", at, at + 19));
      counters.samples[counters.sampleCount++] = now - sent;
    }
  }
}

async function openSubscribers(
  ports: readonly number[],
  impl: Impl,
  count: number,
  counters: Counters,
): Promise<Subscriber[]> {
  const all: Subscriber[] = [];
  for (let i = 0; i < count; i += 250) {
    const wave: Subscriber[] = [];
    for (let k = i; k < Math.min(count, i + 250); k++)
      wave.push(new Subscriber(ports[k % ports.length]!, impl, counters));
    await Promise.all(wave.map((subscriber) => subscriber.ready));
    all.push(...wave);
  }
  return all;
}

// ---- Redis ---------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  if (spawnSync("redis-server", ["--version"]).status !== 0)
    throw new Error("bench:pubsub needs redis-server (apt-get install -y redis-server)");
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  process.on("exit", () => child.kill("SIGKILL"));
  const { Redis } = await import("ioredis");
  for (let i = 0; i < 200; i++) {
    const client = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      retryStrategy: () => null,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return { url: `redis://127.0.0.1:${port}`, child };
    } catch {
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error("redis-server did not start");
}

// ---- one measurement -------------------------------------------------------------------------

interface Result {
  readonly setup: string;
  readonly subscribers: number;
  readonly deliveriesPerSecond: number;
  readonly deliveredShare: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly bytesPerSubscription: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function measure(
  setup: Setup,
  scenario: { subscribers: number; messages: number },
  redisUrl: string,
): Promise<Result> {
  const servers = Array.from(
    { length: setup.processes },
    (_, i) =>
      new Child(
        {
          name: `${setup.impl}-${i}`,
          script: SERVER_SCRIPT,
          args: [setup.impl, setup.processes === 2 ? redisUrl : "-"],
          nodeFlags: ["--expose-gc"],
        },
        false,
      ),
  );
  try {
    const ports = (await Promise.all(servers.map((server) => server.ready))).map(
      (ready) => (ready as { port: number }).port,
    );
    const counters: Counters = { delivered: 0, lastAt: 0, samples: undefined, sampleCount: 0 };
    const { subscribers: count, messages } = scenario;
    // Connections first, then their memory, then the subscriptions and theirs.
    const subs = await openSubscribers(ports, setup.impl, count, counters);
    const expectedPer = (i: number): number =>
      Math.floor(count / ports.length) + (i < count % ports.length ? 1 : 0);
    const memoryOf = async (): Promise<number> =>
      (
        await Promise.all(servers.map((server) => server.call<number>("memory", {}, 30_000)))
      ).reduce((a, b) => a + b, 0);
    for (const sub of subs) sub.warmUp();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await memoryOf();
    for (const sub of subs) sub.subscribe();
    for (let tries = 0; ; tries++) {
      const counts = await Promise.all(
        servers.map((server) => server.call<number>("subscribers", {}, 10_000)),
      );
      if (counts.every((n, i) => n === expectedPer(i))) break;
      if (tries > 1000) throw new Error(`${setup.label}: subscriptions did not complete`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const after = await memoryOf();
    // Throughput: `messages` published as fast as the publisher can, PER_TICK per loop turn.
    counters.delivered = 0;
    const startedAt = monotonicMs();
    const publishing = servers[0]!.call(
      "publish",
      { count: messages, perTick: PER_TICK, intervalMs: 0 },
      120_000,
    );
    publishing.catch(() => {});
    const expected = messages * count;
    // Bounded: a server that cannot keep up is measured over its first 30 s.
    const deadline = performance.now() + 30_000;
    let last = -1;
    let stalledSince = performance.now();
    while (counters.delivered < expected && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (counters.delivered !== last) {
        last = counters.delivered;
        stalledSince = performance.now();
      } else if (performance.now() - stalledSince > 2000) break; // some were skipped: done
    }
    const deliveriesPerSecond = counters.delivered / ((counters.lastAt - startedAt) / 1000);
    const deliveredShare = counters.delivered / expected;
    await publishing.catch(() => {});
    // Latency: a paced stream, one message every LATENCY_INTERVAL_MS.
    await new Promise((resolve) => setTimeout(resolve, 200));
    counters.samples = new Float64Array(LATENCY_MESSAGES * count);
    counters.sampleCount = 0;
    await servers[0]!.call(
      "publish",
      { count: LATENCY_MESSAGES, perTick: 1, intervalMs: LATENCY_INTERVAL_MS },
      120_000,
    );
    const latencyDeadline = performance.now() + 10_000;
    while (counters.sampleCount < counters.samples.length && performance.now() < latencyDeadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const sorted = counters.samples.subarray(0, counters.sampleCount).sort();
    for (const sub of subs) sub.socket.destroy();
    return {
      setup: setup.label,
      subscribers: count,
      deliveriesPerSecond,
      deliveredShare,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      bytesPerSubscription: (after - before) / count,
    };
  } finally {
    await Promise.all(servers.map((server) => server.exit(3000)));
  }
}

// ---- main ----------------------------------------------------------------------------------

const redis = await startRedis();
const results: Result[] = [];
try {
  for (const scenario of SCENARIOS) {
    for (const setup of SETUPS) {
      const result = await measure(setup, scenario, redis.url);
      results.push(result);
      console.log(
        `${result.setup.padEnd(44)} ${String(result.subscribers).padStart(5)} subs  ` +
          `${Math.round(result.deliveriesPerSecond).toLocaleString("en").padStart(10)} deliveries/s ` +
          `(${(result.deliveredShare * 100).toFixed(1)}% delivered)  ` +
          `p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ` +
          `${Number.isFinite(result.bytesPerSubscription) ? Math.round(result.bytesPerSubscription) : "?"} B/subscription`,
      );
    }
  }
} finally {
  redis.child.kill("SIGKILL");
}
if (jsonPath !== undefined) writeFileSync(jsonPath, JSON.stringify(results, null, 2));
process.exit(0);
