/**
 * One benchmark client process, started by `bench/run.ts`: `node build/bench/client.js <impl>`
 * with impl one of
 *
 * - `raw`: the fixed load generator. It speaks WebSocket on `node:net` itself (or the raw
 *   server's 4-byte length prefix): every message is one frame masked once, up front, with a
 *   fixed key, so sending k messages is one `write` of k prebuilt frames; received frames are
 *   counted from their headers and their payloads skipped. It is what loads every server, and
 *   the client-side ceiling.
 * - `sockwise`, `ws`, `undici`: the library clients, compared against the fixed echo server.
 *   WHATWG clients use `binaryType = "arraybuffer"`; the ws client decodes text with
 *   `data.toString()`, so every client hands the application a string for text.
 *
 * @module
 */
import { announceReady, monotonicMs, serveCommands } from "./lib/rpc.js";
import { RawConn, openRaw, type Proto } from "../src/cli/loadgen/raw-conn.js";
import { maskingPath, payloadOf, type MessageSpec } from "./lib/wire.js";

export type ClientImpl = "raw" | "sockwise" | "ws" | "undici";
export type { Proto };

const impl = process.argv[2] as ClientImpl;

/** One connection as the measuring loops see it. */
interface Conn {
  /** Called with the number of whole messages that just arrived. */
  onMessages: (count: number) => void;
  /** Prepares `spec` as the message that {@link Conn.send} sends; `window` is the most in flight. */
  setMessage(spec: MessageSpec, window: number): void;
  /** Sends the prepared message `count` times. */
  send(count: number): void;
  /** Sends the message once and checks that the echo has the same type and bytes. */
  verify(timeoutMs: number): Promise<void>;
  destroy(): void;
}

const noMessages = (): void => {};

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---- library clients -----------------------------------------------------------------------------

/** What the WHATWG clients (sockwise, undici) have in common, as used here. */
interface WhatwgSocket {
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string | Uint8Array): void;
  close(): void;
}

/** Compares an echo with what was sent; `data` is a string, an ArrayBuffer or a Buffer. */
function sameMessage(data: unknown, spec: MessageSpec): boolean {
  const expected = payloadOf(spec);
  if (spec.kind === "text") return typeof data === "string" && data === expected.toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).equals(expected);
  return Buffer.isBuffer(data) && data.equals(expected);
}

/** The message as a library sends it: a string for text, bytes for binary. */
function messageValue(spec: MessageSpec): string | Buffer {
  const payload = payloadOf(spec);
  return spec.kind === "text" ? payload.toString("utf8") : payload;
}

class WhatwgConn implements Conn {
  onMessages: (count: number) => void = noMessages;
  readonly #socket: WhatwgSocket;
  #value: string | Buffer = "";
  #spec: MessageSpec | undefined;
  #check: ((data: unknown) => void) | undefined;

  constructor(socket: WhatwgSocket) {
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      const check = this.#check;
      if (check !== undefined) {
        this.#check = undefined;
        check(event.data);
      }
      this.onMessages(1);
    };
  }

  static open(socket: WhatwgSocket, timeoutMs: number): Promise<WhatwgConn> {
    return withTimeout(
      new Promise<WhatwgConn>((resolve, reject) => {
        socket.onopen = () => resolve(new WhatwgConn(socket));
        socket.onerror = () => reject(new Error("connection failed"));
      }),
      timeoutMs,
      "connect",
    );
  }

  setMessage(spec: MessageSpec): void {
    this.#spec = spec;
    this.#value = messageValue(spec);
  }

  send(count: number): void {
    const value = this.#value;
    for (let i = 0; i < count; i++) this.#socket.send(value);
  }

  async verify(timeoutMs: number): Promise<void> {
    const spec = this.#spec!;
    const ok = withTimeout(
      new Promise<boolean>((resolve) => {
        this.#check = (data) => resolve(sameMessage(data, spec));
      }),
      timeoutMs,
      "verify",
    );
    this.send(1);
    if (!(await ok)) throw new Error("echo mismatch");
  }

  destroy(): void {
    this.#socket.onclose = null;
    this.#socket.close();
  }
}

interface WsSocket {
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): void;
  once(event: "open", listener: () => void): void;
  once(event: "error", listener: (error: Error) => void): void;
  send(data: string | Buffer): void;
  terminate(): void;
}

class WsConn implements Conn {
  onMessages: (count: number) => void = noMessages;
  readonly #socket: WsSocket;
  #value: string | Buffer = "";
  #spec: MessageSpec | undefined;
  #check: ((data: unknown) => void) | undefined;

  constructor(socket: WsSocket) {
    this.#socket = socket;
    socket.on("message", (data, isBinary) => {
      // Decode text, as the WHATWG clients do for their applications.
      const value = isBinary ? data : data.toString();
      const check = this.#check;
      if (check !== undefined) {
        this.#check = undefined;
        check(value);
      }
      this.onMessages(1);
    });
  }

  static open(socket: WsSocket, timeoutMs: number): Promise<WsConn> {
    return withTimeout(
      new Promise<WsConn>((resolve, reject) => {
        socket.once("open", () => resolve(new WsConn(socket)));
        socket.once("error", reject);
      }),
      timeoutMs,
      "connect",
    );
  }

  setMessage(spec: MessageSpec): void {
    this.#spec = spec;
    this.#value = messageValue(spec);
  }

  send(count: number): void {
    const value = this.#value;
    for (let i = 0; i < count; i++) this.#socket.send(value);
  }

  async verify(timeoutMs: number): Promise<void> {
    const spec = this.#spec!;
    const ok = withTimeout(
      new Promise<boolean>((resolve) => {
        this.#check = (data) => resolve(sameMessage(data, spec));
      }),
      timeoutMs,
      "verify",
    );
    this.send(1);
    if (!(await ok)) throw new Error("echo mismatch");
  }

  destroy(): void {
    this.#socket.terminate();
  }
}

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Opens one connection with this process's implementation. */
async function openConn(port: number, proto: Proto, timeoutMs: number): Promise<Conn> {
  const url = `ws://127.0.0.1:${port}/`;
  switch (impl) {
    case "raw":
      return openRaw({ host: "127.0.0.1", port }, proto, timeoutMs);
    case "sockwise": {
      const { WebSocket } = await import("../src/index.js");
      const socket = new WebSocket(url, { maxMessageBytes: MAX_MESSAGE_BYTES });
      return WhatwgConn.open(socket as unknown as WhatwgSocket, timeoutMs);
    }
    case "undici": {
      const { WebSocket } = await import("undici");
      return WhatwgConn.open(new WebSocket(url) as unknown as WhatwgSocket, timeoutMs);
    }
    case "ws": {
      const { WebSocket } = await import("ws");
      const socket = new WebSocket(url, {
        perMessageDeflate: false,
        maxPayload: MAX_MESSAGE_BYTES,
      });
      return WsConn.open(socket as unknown as WsSocket, timeoutMs);
    }
  }
}

// ---- measuring -----------------------------------------------------------------------------------

export interface RunResult {
  /** Messages echoed during the measured window. */
  readonly messages: number;
  readonly seconds: number;
  /** This process's CPU time over the measured window, as a fraction of one core. */
  readonly cpu: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const MAX_LATENCY_SAMPLES = 1 << 21;

/**
 * Keeps `window` messages in flight on each connection: every echo that arrives is answered
 * with a new message. Ramps up for `rampMs`, counts echoes for `durationMs`, then stops sending
 * and waits for the echoes still in flight. With `latency`, the window must be 1 (ping-pong).
 */
async function run(
  conns: readonly Conn[],
  options: { window: number; rampMs: number; durationMs: number; latency: boolean },
): Promise<RunResult> {
  const { window, latency } = options;
  let phase: "ramp" | "measure" | "drain" = "ramp";
  let counted = 0;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const latencies = latency ? new Float64Array(MAX_LATENCY_SAMPLES) : undefined;
  let samples = 0;
  const sentAt = new Float64Array(conns.length);
  conns.forEach((conn, index) => {
    conn.onMessages = (count) => {
      inFlight -= count;
      if (phase === "measure") {
        counted += count;
        if (latencies !== undefined && samples < MAX_LATENCY_SAMPLES) {
          latencies[samples++] = performance.now() - sentAt[index]!;
        }
      }
      if (phase !== "drain") {
        if (latencies !== undefined) sentAt[index] = performance.now();
        inFlight += count;
        conn.send(count);
      } else if (inFlight === 0) {
        drained?.();
      }
    };
  });
  for (let index = 0; index < conns.length; index++) {
    sentAt[index] = performance.now();
    inFlight += window;
    conns[index]!.send(window);
  }
  await new Promise((resolve) => setTimeout(resolve, options.rampMs));
  phase = "measure";
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  phase = "drain";
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  if (inFlight > 0) {
    await withTimeout(
      new Promise<void>((resolve) => (drained = resolve)),
      15_000,
      `drain (${inFlight} in flight)`,
    );
  }
  for (const conn of conns) conn.onMessages = noMessages;
  const result: RunResult = {
    messages: counted,
    seconds,
    cpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
  if (latencies === undefined) return result;
  const sorted = latencies.subarray(0, samples).sort();
  return { ...result, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

// ---- commands ------------------------------------------------------------------------------------

/** Connections by label (one label per server under test). */
const pools = new Map<string, Conn[]>();

function pool(label: string): Conn[] {
  const conns = pools.get(label);
  if (conns === undefined) throw new Error(`no connections labelled ${label}`);
  return conns;
}

function rawPool(label: string): RawConn[] {
  const conns = pool(label);
  if (!conns.every((conn) => conn instanceof RawConn)) throw new Error("not raw connections");
  return conns as RawConn[];
}

let expectation:
  { remaining: number; done: Promise<number>; resolve: (at: number) => void } | undefined;

serveCommands({
  cpu: () => process.cpuUsage(),
  /**
   * Opens `count` connections, at most `concurrency` handshakes at a time; resolves with the
   * wall time from the first connect to the last 101.
   */
  connect: async (args: {
    label: string;
    port: number;
    proto: Proto;
    count: number;
    concurrency: number;
  }) => {
    const conns = pools.get(args.label) ?? [];
    pools.set(args.label, conns);
    let started = 0;
    let failed = 0;
    let firstError: string | undefined;
    const start = performance.now();
    const worker = async (): Promise<void> => {
      while (started < args.count) {
        started++;
        try {
          conns.push(await openConn(args.port, args.proto, 15_000));
        } catch (error) {
          failed++;
          firstError ??= String(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(args.concurrency, args.count) }, worker));
    return { opened: args.count - failed, failed, ms: performance.now() - start, firstError };
  },
  setMessage: (args: { label: string; spec: MessageSpec; window: number }) => {
    const conns = pool(args.label);
    const first = conns[0];
    if (first === undefined) return false;
    first.setMessage(args.spec, args.window);
    for (const conn of conns.slice(1)) {
      if (conn instanceof RawConn && first instanceof RawConn) conn.shareMessage(first);
      else conn.setMessage(args.spec, args.window);
    }
    return true;
  },
  verify: async (args: { label: string; conns: number }) => {
    for (const conn of pool(args.label).slice(0, args.conns)) await conn.verify(10_000);
    return true;
  },
  run: (args: {
    label: string;
    conns: number;
    window: number;
    rampMs: number;
    durationMs: number;
    latency: boolean;
  }) => {
    const conns = pool(args.label).slice(0, args.conns);
    if (conns.length < args.conns) throw new Error(`only ${conns.length} connections open`);
    return run(conns, args);
  },
  /** Arms a count of `count` messages on every connection of `label` (a broadcast). */
  expect: (args: { label: string; count: number }) => {
    const conns = pool(args.label);
    let resolve!: (at: number) => void;
    const done = new Promise<number>((r) => (resolve = r));
    const state = { remaining: conns.length * args.count, done, resolve };
    expectation = state;
    for (const conn of conns) {
      conn.onMessages = (count) => {
        state.remaining -= count;
        if (state.remaining === 0) state.resolve(monotonicMs());
      };
    }
    return true;
  },
  /** Resolves with the time the last expected message arrived. */
  waitExpect: async () => {
    if (expectation === undefined) throw new Error("nothing expected");
    const lastAt = await expectation.done;
    expectation = undefined;
    return { lastAt };
  },
  /** Starts the closing handshake on every connection of `label` at once. */
  closeStorm: (args: { label: string }) => {
    const conns = rawPool(args.label);
    const startedAt = monotonicMs();
    for (const conn of conns) conn.startClose();
    return { startedAt };
  },
  /** Resolves once every connection of `label` is closed; counts the clean ones. */
  waitClosed: async (args: { label: string }) => {
    const conns = rawPool(args.label);
    await Promise.all(conns.map((conn) => conn.closed));
    pools.delete(args.label);
    let lastAt = 0;
    let clean = 0;
    const unclean: Record<string, number> = {};
    for (const conn of conns) {
      lastAt = Math.max(lastAt, conn.closedAt);
      if (conn.wasClean) {
        clean++;
        continue;
      }
      const why =
        conn.errorCode ??
        (!conn.endReceived
          ? "no FIN"
          : !conn.closeReceived
            ? "no Close received"
            : "no Close sent");
      unclean[why] = (unclean[why] ?? 0) + 1;
    }
    return { lastAt, clean, total: conns.length, unclean };
  },
  destroy: (args: { label: string }) => {
    for (const conn of pools.get(args.label) ?? []) conn.destroy();
    pools.delete(args.label);
    return true;
  },
  exit: () => {
    setImmediate(() => process.exit(0));
    return true;
  },
});

announceReady({ impl, masking: maskingPath, pid: process.pid });
