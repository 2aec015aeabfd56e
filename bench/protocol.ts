/**
 * `npm run bench:protocol [-- --quick] [-- --only <text>]`: a micro-benchmark of the sans-I/O
 * engine's frame parsing and serialising, side by side in the same process with `ws`'s own
 * `Receiver` and `Sender.frame`, so the ratio column is not skewed by the machine or the Node
 * version. Method and results: docs/benchmarks-protocol.md.
 *
 * - **parse**: a fixed corpus of many frames, cut into 64 KiB chunks (what a Node socket
 *   delivers), is fed to a long-lived server engine (masked input) or client engine (unmasked
 *   input), and to a ws `Receiver` of the same role via `write()`, as ws's socket handler does.
 *   Both libraries unmask in place, so each pass first restores the input from a pristine copy,
 *   outside the timed region, for both alike.
 * - **serialise**: the bytes of one message: `engine.send()` + `engine.takeOutputs()` against
 *   `Sender.frame(data, { fin, opcode, mask, readOnly: true })`, which is what ws's
 *   `Sender#send` does for a caller-owned Buffer (masked frames go to a private copy).
 *
 * Each row warms both sides up, then alternates them for several rounds of fixed wall time
 * (each round a bounded number of timed blocks) and reports the median rate of each.
 */
import { isUtf8 } from "node:buffer";
import { createRequire } from "node:module";
import * as http from "node:http";
import { cpus } from "node:os";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { nodePorts } from "../src/node/node-ports.js";
import { Engine, type MessageKind } from "../src/protocol/index.js";

// ---- settings ---------------------------------------------------------------------------------

const args = process.argv.slice(2);
const isQuick = args.includes("--quick");
const onlyIndex = args.indexOf("--only");
const only = onlyIndex >= 0 ? args[onlyIndex + 1] : undefined;

/** Wall time and round counts: the default run takes about 50 s, `--quick` about 4 s. */
const SETTINGS = isQuick
  ? { warmupMs: 15, roundMs: 15, rounds: 3 }
  : { warmupMs: 150, roundMs: 100, rounds: 7 };

/** A Node socket reads at most 64 KiB at a time. */
const CHUNK_BYTES = 64 * 1024;
/** Parse input per timed block: about 1 MiB of frames, and at least 4 messages. */
const PARSE_BATCH_BYTES = 1024 * 1024;
const PARSE_MIN_MESSAGES = 4;
/**
 * Serialise work per timed block: about 256 KiB of payload, within 16–4096 frames (an unmasked
 * large frame costs a header only, so one frame per block would mostly time the clock).
 */
const SERIALISE_BATCH_BYTES = 256 * 1024;
const SERIALISE_MIN_FRAMES = 16;
const SERIALISE_MAX_FRAMES = 4096;
/** The same message limit for both libraries, above every size measured. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const KIB = 1024;
const MIB = 1024 * 1024;
const SIZES = [16, KIB, 64 * KIB, MIB] as const;
/** Text rows stop at 64 KiB: larger text messages are rare and behave like binary plus isUtf8. */
const MAX_TEXT_BYTES = 64 * KIB;

// ---- ws, without its optional native add-ons ---------------------------------------------------

// ws reads these when lib/buffer-util.js and lib/validation.js load, so they are set before
// the dynamic import. bufferutil and utf-8-validate are not installed anyway (see wsInternals()).
process.env["WS_NO_BUFFER_UTIL"] = "1";
process.env["WS_NO_UTF_8_VALIDATE"] = "1";

/** The parts of ws's internal API used here (not covered by @types/ws). */
interface WsReceiver {
  write(chunk: Buffer): boolean;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
}
interface WsReceiverOptions {
  readonly isServer: boolean;
  readonly maxPayload: number;
  readonly skipUTF8Validation: boolean;
  readonly allowSynchronousEvents: boolean;
}
interface WsFrameOptions {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly mask: boolean;
  readonly readOnly: boolean;
}
interface WsModule {
  readonly Receiver: new (options: WsReceiverOptions) => WsReceiver;
  readonly Sender: { frame(data: Buffer, options: WsFrameOptions): Buffer[] };
}

const ws = (await import("ws")) as unknown as WsModule;
const requireFromHere = createRequire(import.meta.url);

/** Which code paths ws takes here, so the comparison can be stated honestly. */
function wsInternals(): { version: string; utf8: string; mask: string } {
  const version = (requireFromHere("ws/package.json") as { version: string }).version;
  const requireFromWs = createRequire(requireFromHere.resolve("ws"));
  const has = (name: string): boolean => {
    try {
      requireFromWs.resolve(name);
      return true;
    } catch {
      return false;
    }
  };
  // ws 8 prefers buffer.isUtf8 (Node >= 18.14) over utf-8-validate, and http.websocketMask
  // (newer Node versions) over bufferutil; see lib/validation.js and lib/buffer-util.js.
  const utf8 = has("utf-8-validate")
    ? "buffer.isUtf8 for >= 24 B, its JS loop below (utf-8-validate installed, not used)"
    : "buffer.isUtf8 for >= 24 B, its JS loop below (utf-8-validate not installed)";
  const nativeMask = (http as unknown as { websocketMask?: unknown }).websocketMask;
  const mask =
    typeof nativeMask === "function"
      ? "http.websocketMask (native) for >= 24 B"
      : `JS byte loop (no http.websocketMask in this Node; bufferutil ${
          has("bufferutil") ? "installed but disabled" : "not installed"
        })`;
  return { version, utf8, mask };
}

// ---- fixed corpora -----------------------------------------------------------------------------

/** xorshift32: the same "random" binary payloads and mask keys on every run. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafeSlow(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Mixed-script text (1- to 4-byte sequences, mostly ASCII), as a chat or JSON payload might be. */
const TEXT_SAMPLE =
  '{"user":"zoë","msg":"Grüße aus Köln — привет, мир! 你好，世界 ✓ 👋","n":42,"ok":true} ';

/** Valid UTF-8 of exactly `length` bytes: the sample repeated, cut on a code point, padded. */
function textBytes(length: number): Buffer {
  const sample = Buffer.from(TEXT_SAMPLE, "utf8");
  const bytes = Buffer.alloc(length, 0x20);
  let fill = 0;
  while (fill < length) {
    let take = Math.min(sample.length, length - fill);
    // Back off to a code point boundary: the byte after the cut must not be a continuation.
    while (take < sample.length && take > 0 && (sample[take]! & 0xc0) === 0x80) take--;
    if (take === 0) break;
    sample.copy(bytes, fill, 0, take);
    fill += take;
  }
  if (!isUtf8(bytes)) throw new Error("bad text corpus");
  return bytes;
}

/**
 * Encodes one final frame with its own code, independent of both libraries under test, so
 * neither parses bytes that its own serialiser produced.
 */
function encodeFrame(opcode: number, payload: Uint8Array, maskKey: Uint8Array | undefined): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const headerBytes = 2 + lengthBytes + (maskKey === undefined ? 0 : 4);
  const frame = Buffer.allocUnsafe(headerBytes + length);
  frame[0] = 0x80 | opcode;
  const maskBit = maskKey === undefined ? 0 : 0x80;
  if (lengthBytes === 0) {
    frame[1] = maskBit | length;
  } else if (lengthBytes === 2) {
    frame[1] = maskBit | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = maskBit | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  if (maskKey === undefined) {
    frame.set(payload, headerBytes);
    return frame;
  }
  frame.set(maskKey, headerBytes - 4);
  for (let i = 0; i < length; i++) frame[headerBytes + i] = payload[i]! ^ maskKey[i & 3]!;
  return frame;
}

// ---- scenarios ---------------------------------------------------------------------------------

interface Scenario {
  readonly kind: MessageKind;
  readonly size: number;
  /** Masked: client → server (serialise as a client, parse as a server). */
  readonly masked: boolean;
}

function scenarios(): Scenario[] {
  const list: Scenario[] = [];
  for (const size of SIZES) {
    for (const kind of ["binary", "text"] as const) {
      if (kind === "text" && size > MAX_TEXT_BYTES) continue;
      for (const masked of [true, false]) list.push({ kind, size, masked });
    }
  }
  return list;
}

function payloadFor(scenario: Scenario): Buffer {
  return scenario.kind === "text"
    ? textBytes(scenario.size)
    : pseudoRandomBytes(scenario.size, scenario.size);
}

const opcodeOf = (kind: MessageKind): number => (kind === "text" ? 0x1 : 0x2);

/** One side of one measurement: `run` does a timed block and returns the messages it handled. */
interface Task {
  /** Untimed work before each block (restoring input that the last block unmasked). */
  prepare(): void;
  run(): number;
}

/** The parse input: many frames of one message size, each with its own mask key if masked. */
function parseCorpus(scenario: Scenario, payload: Buffer): { wire: Buffer; messages: number } {
  const frameBytes = encodeFrame(opcodeOf(scenario.kind), payload, undefined).length;
  const messages = Math.max(PARSE_MIN_MESSAGES, Math.ceil(PARSE_BATCH_BYTES / frameBytes));
  const keys = pseudoRandomBytes(messages * 4, 0x5eed);
  const frames: Buffer[] = [];
  for (let m = 0; m < messages; m++) {
    let key: Uint8Array | undefined;
    if (scenario.masked) {
      key = keys.subarray(m * 4, m * 4 + 4);
      // ws skips unmasking for an all-zero key; keep both libraries on the XOR path.
      if ((key[0]! | key[1]! | key[2]! | key[3]!) === 0) key[0] = 1;
    }
    frames.push(encodeFrame(opcodeOf(scenario.kind), payload, key));
  }
  return { wire: Buffer.concat(frames), messages };
}

/** A private copy of `wire` and 64 KiB Buffer views over it, as socket reads would arrive. */
function chunked(wire: Buffer): { work: Buffer; chunks: Buffer[] } {
  const work = Buffer.allocUnsafeSlow(wire.length);
  wire.copy(work);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < work.length; offset += CHUNK_BYTES) {
    chunks.push(work.subarray(offset, Math.min(offset + CHUNK_BYTES, work.length)));
  }
  return { work, chunks };
}

function sockwiseParse(scenario: Scenario, wire: Buffer, messages: number): Task {
  const { work, chunks } = chunked(wire);
  const engine = new Engine({
    role: scenario.masked ? "server" : "client",
    ports: nodePorts,
    maxMessageBytes: MAX_MESSAGE_BYTES,
  });
  return {
    prepare: () => wire.copy(work),
    run: () => {
      let received = 0;
      for (const chunk of chunks) {
        engine.receive(chunk);
        for (const output of engine.takeOutputs()) if (output.type === "message") received++;
      }
      if (received !== messages) throw new Error(`sockwise parsed ${received}/${messages}`);
      return received;
    },
  };
}

function wsParse(scenario: Scenario, wire: Buffer, messages: number): Task {
  const { work, chunks } = chunked(wire);
  const receiver = new ws.Receiver({
    isServer: scenario.masked,
    maxPayload: MAX_MESSAGE_BYTES,
    skipUTF8Validation: false,
    allowSynchronousEvents: true,
  });
  let received = 0;
  let failure: Error | undefined;
  receiver.on("message", () => {
    received++;
  });
  receiver.on("error", (error) => {
    failure = error;
  });
  return {
    prepare: () => wire.copy(work),
    run: () => {
      received = 0;
      for (const chunk of chunks) receiver.write(chunk);
      if (failure !== undefined) throw failure;
      if (received !== messages) throw new Error(`ws parsed ${received}/${messages}`);
      return received;
    },
  };
}

function serialiseBatch(size: number): number {
  return Math.max(
    SERIALISE_MIN_FRAMES,
    Math.min(SERIALISE_MAX_FRAMES, Math.floor(SERIALISE_BATCH_BYTES / size)),
  );
}

/** Output bytes, summed so the work cannot be optimised away; checked after each row. */
let outputBytes = 0;

function sockwiseSerialise(scenario: Scenario, payload: Buffer): Task {
  const engine = new Engine({ role: scenario.masked ? "client" : "server", ports: nodePorts });
  const frames = serialiseBatch(scenario.size);
  const kind = scenario.kind;
  return {
    prepare: () => undefined,
    run: () => {
      for (let i = 0; i < frames; i++) {
        engine.send(kind, payload);
        for (const output of engine.takeOutputs()) {
          if (output.type === "write") outputBytes += output.data.length;
        }
      }
      return frames;
    },
  };
}

function wsSerialise(scenario: Scenario, payload: Buffer): Task {
  const frames = serialiseBatch(scenario.size);
  const opcode = opcodeOf(scenario.kind);
  const mask = scenario.masked;
  return {
    prepare: () => undefined,
    run: () => {
      for (let i = 0; i < frames; i++) {
        // The options object ws's Sender#send builds for an uncompressed, caller-owned Buffer.
        const list = ws.Sender.frame(payload, {
          fin: true,
          rsv1: false,
          opcode,
          mask,
          readOnly: true,
        });
        for (const buffer of list) outputBytes += buffer.length;
      }
      return frames;
    },
  };
}

/**
 * Untimed sanity check: each library parses the other's serialised frame back to `payload`,
 * so both sides of a row do the same job.
 */
function crossCheck(scenario: Scenario, payload: Buffer): void {
  const sender = new Engine({ role: scenario.masked ? "client" : "server", ports: nodePorts });
  sender.send(scenario.kind, payload);
  const fromSockwise = Buffer.concat(
    sender.takeOutputs().flatMap((output) => (output.type === "write" ? [output.data] : [])),
  );
  const receiver = new ws.Receiver({
    isServer: scenario.masked,
    maxPayload: MAX_MESSAGE_BYTES,
    skipUTF8Validation: false,
    allowSynchronousEvents: true,
  });
  let wsGot: Buffer | undefined;
  receiver.on("message", (data, isBinary) => {
    if (isBinary === (scenario.kind === "binary")) wsGot = data;
  });
  receiver.write(fromSockwise);
  const fromWs = Buffer.concat(
    ws.Sender.frame(payload, {
      fin: true,
      rsv1: false,
      opcode: opcodeOf(scenario.kind),
      mask: scenario.masked,
      readOnly: true,
    }),
  );
  const engine = new Engine({
    role: scenario.masked ? "server" : "client",
    ports: nodePorts,
    maxMessageBytes: MAX_MESSAGE_BYTES,
  });
  engine.receive(fromWs);
  const message = engine.takeOutputs().find((output) => output.type === "message");
  const sockwiseGot = message?.type === "message" ? message.data : undefined;
  if (
    fromSockwise.length !== fromWs.length ||
    wsGot === undefined ||
    !payload.equals(wsGot) ||
    sockwiseGot === undefined ||
    !payload.equals(sockwiseGot)
  ) {
    throw new Error(`cross-check failed for ${scenario.kind} ${scenario.size} B`);
  }
}

// ---- measuring ---------------------------------------------------------------------------------

/** Runs timed blocks for about `wallMs` of wall time; returns messages per second. */
function measure(task: Task, wallMs: number): number {
  const deadline = performance.now() + wallMs;
  let timedMs = 0;
  let messages = 0;
  let blocks = 0;
  do {
    task.prepare();
    const start = performance.now();
    messages += task.run();
    timedMs += performance.now() - start;
    blocks++;
  } while (performance.now() < deadline && blocks < 100_000);
  return (messages * 1000) / timedMs;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** (max - min) / median of the rounds: a rough noise figure for the row. */
function spread(values: readonly number[]): number {
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

interface Result {
  readonly sockwise: number;
  readonly ws: number;
  readonly noise: number;
}

/** Warms both tasks up, then alternates which goes first in each round. */
async function compare(sockwise: Task, wsTask: Task): Promise<Result> {
  measure(sockwise, SETTINGS.warmupMs);
  measure(wsTask, SETTINGS.warmupMs);
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < SETTINGS.rounds; round++) {
    // Let ws's Writable run its deferred write callbacks, as an event loop turn would.
    await nextMacrotask();
    if (round % 2 === 0) {
      a.push(measure(sockwise, SETTINGS.roundMs));
      b.push(measure(wsTask, SETTINGS.roundMs));
    } else {
      b.push(measure(wsTask, SETTINGS.roundMs));
      a.push(measure(sockwise, SETTINGS.roundMs));
    }
  }
  return { sockwise: median(a), ws: median(b), noise: Math.max(spread(a), spread(b)) };
}

// ---- report ------------------------------------------------------------------------------------

function sizeLabel(bytes: number): string {
  return bytes >= MIB ? `${bytes / MIB} MiB` : bytes >= KIB ? `${bytes / KIB} KiB` : `${bytes} B`;
}

function rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toPrecision(3)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toPrecision(3)}k`;
  return perSecond.toPrecision(3);
}

function megabytes(perSecond: number, size: number): string {
  const mb = (perSecond * size) / 1e6;
  return mb >= 100 ? mb.toFixed(0) : mb.toPrecision(3);
}

async function main(): Promise<void> {
  const internals = wsInternals();
  const cpu = cpus();
  console.log(`# sockwise protocol bench${isQuick ? " (--quick: short rounds, noisy)" : ""}`);
  console.log("");
  console.log(`- date: ${new Date().toISOString()}`);
  console.log(
    `- node ${process.version} ${process.platform}/${process.arch}, ${cpu.length} CPUs (${cpu[0]?.model ?? "unknown"})`,
  );
  console.log(
    `- rounds: ${SETTINGS.rounds} × ${SETTINGS.roundMs} ms per side after ${SETTINGS.warmupMs} ms warm-up; median shown`,
  );
  console.log(`- ws ${internals.version}: UTF-8 ${internals.utf8}; masking ${internals.mask}`);
  console.log(
    "- sockwise: UTF-8 nodePorts isUtf8 (buffer.isUtf8) for >= 16 B runs, its JS state machine " +
      "below; masking src/protocol/mask.ts (JS, 32-bit words from 32 B)",
  );
  console.log(
    "- parse: 64 KiB chunks; serialise: one message per send; MB/s = 10^6 payload bytes/s",
  );
  console.log("");
  console.log(
    "| message | direction | op | sockwise msg/s | sockwise MB/s | ws msg/s | ws MB/s | sockwise/ws | noise |",
  );
  console.log("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const scenario of scenarios()) {
    const label = `${scenario.kind} ${sizeLabel(scenario.size)}`;
    const direction = scenario.masked ? "masked c→s" : "unmasked s→c";
    if (only !== undefined && !`${label} ${direction}`.includes(only)) continue;
    const payload = payloadFor(scenario);
    crossCheck(scenario, payload);
    const { wire, messages } = parseCorpus(scenario, payload);
    const rows: [string, Result][] = [
      [
        "parse",
        await compare(sockwiseParse(scenario, wire, messages), wsParse(scenario, wire, messages)),
      ],
      [
        "serialise",
        await compare(sockwiseSerialise(scenario, payload), wsSerialise(scenario, payload)),
      ],
    ];
    for (const [op, result] of rows) {
      console.log(
        `| ${label} | ${direction} | ${op} | ${rate(result.sockwise)} | ${megabytes(result.sockwise, scenario.size)} | ` +
          `${rate(result.ws)} | ${megabytes(result.ws, scenario.size)} | ` +
          `${(result.sockwise / result.ws).toFixed(2)} | ${(result.noise * 100).toFixed(0)}% |`,
      );
    }
  }
  if (!(outputBytes > 0)) throw new Error("serialisers produced nothing");
}

await main();
