/**
 * A child process for the decompression-bomb tests (test/node/deflate-bomb.test.ts). Peak memory
 * can only be measured in a fresh process: `process.resourceUsage().maxRSS` is a high-water mark,
 * and the test runner's own process has long passed any bomb-sized peak. The parent forks this
 * file with an IPC channel; every result is sent back as one message:
 *
 * - `engine <client|server> <bomb file> <maxMessageBytes>`: feeds the compressed bomb, as one
 *   frame with RSV1, to a protocol engine of that role with permessage-deflate on the real codec.
 * - `server`: runs a sockwise `WebSocketServer` (1 MiB limit, permessage-deflate on) and waits
 *   for the parent's raw client; reports the connection's close once the parent says `measure`.
 * - `client <url>`: dials the parent's raw server with permessage-deflate offered (1 MiB limit).
 *
 * Each result has `baselineMaxRssKiB` (after warming up zlib and the engine) and `maxRssKiB`
 * (after the bomb), plus `arrayBuffers` before and after.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dial } from "../../src/node/dial.js";
import { createDeflateCodec } from "../../src/node/deflate-codec.js";
import { nodePorts } from "../../src/node/node-ports.js";
import { Engine, type Role } from "../../src/protocol/engine.js";
import { PerMessageDeflate } from "../../src/protocol/extensions/permessage-deflate.js";
import type { CloseOutcome } from "../../src/protocol/close-state.js";
import { WebSocketServer } from "../../src/index.js";
import { buildFrame } from "./frames.js";

/** What the child reports. */
export interface BombReport {
  readonly baselineMaxRssKiB: number;
  readonly maxRssKiB: number;
  readonly arrayBuffersBefore: number;
  readonly arrayBuffersAfter: number;
  /** The close code this end sent (1009 expected). */
  readonly sentCode: number | undefined;
  /** The failure's `ERR_WS_*` code. */
  readonly cause: string | undefined;
  /** How many messages reached the application (0 expected). */
  readonly messages: number;
  readonly elapsedMs: number;
}

const send = (message: object): void => {
  process.send!(message);
};

function memory(): { maxRssKiB: number; arrayBuffers: number } {
  globalThis.gc?.();
  return {
    maxRssKiB: process.resourceUsage().maxRSS,
    arrayBuffers: process.memoryUsage().arrayBuffers,
  };
}

/** Runs a few ordinary compressed messages through zlib first, so its setup is in the baseline. */
function warmUp(): void {
  const codec = createDeflateCodec();
  const data = new TextEncoder().encode("warm up ".repeat(20_000));
  for (let i = 0; i < 5; i++) {
    const compressed = codec.deflate(data, { windowBits: 15 });
    codec.inflate(compressed, { windowBits: 15, maxBytes: 1 << 20 });
  }
}

function causeCode(outcome: CloseOutcome | undefined): string | undefined {
  const cause = outcome?.cause as { code?: unknown } | undefined;
  return typeof cause?.code === "string" ? cause.code : undefined;
}

function runEngine(role: Role, bombFile: string, maxMessageBytes: number): void {
  const bomb = new Uint8Array(readFileSync(bombFile));
  warmUp();
  const engine = new Engine({
    role,
    ports: nodePorts,
    maxMessageBytes,
    deflate: new PerMessageDeflate({
      isClient: role === "client",
      parameters: {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
      },
      codec: createDeflateCodec(),
      thresholdBytes: 0,
    }),
  });
  // The peer's frame: masked when the peer is a client.
  const frame = buildFrame({
    opcode: 0x2,
    rsv: 4,
    payload: bomb,
    ...(role === "server" ? { maskKey: Uint8Array.of(1, 2, 3, 4) } : {}),
  });
  const before = memory();
  const start = performance.now();
  engine.receive(frame);
  let messages = 0;
  for (let outputs = engine.takeOutputs(); outputs.length > 0; outputs = engine.takeOutputs()) {
    for (const output of outputs) if (output.type === "message") messages++;
  }
  const elapsedMs = performance.now() - start;
  engine.receiveEof();
  engine.takeOutputs();
  const sentCode = engine.outcome?.sentCode;
  const after = memory();
  const report: BombReport = {
    baselineMaxRssKiB: before.maxRssKiB,
    maxRssKiB: after.maxRssKiB,
    arrayBuffersBefore: before.arrayBuffers,
    arrayBuffersAfter: after.arrayBuffers,
    sentCode,
    cause: causeCode(engine.outcome),
    messages,
    elapsedMs,
  };
  send(report);
}

async function runServer(): Promise<void> {
  warmUp();
  const server = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    heartbeat: false,
    maxMessageBytes: 1 << 20,
  });
  const { port } = await server.ready();
  let messages = 0;
  let before = memory();
  let start = 0;
  const closed = new Promise<{ sentCode: number | undefined; cause: string | undefined }>(
    (resolve) => {
      server.on("connection", (socket) => {
        before = memory();
        start = performance.now();
        socket.onmessage = () => messages++;
        void socket.closed.then((info) =>
          resolve({ sentCode: info.sentCode, cause: info.cause?.code }),
        );
      });
    },
  );
  send({ port });
  await new Promise<void>((resolve) => process.once("message", () => resolve()));
  const { sentCode, cause } = await closed;
  const elapsedMs = performance.now() - start;
  const after = memory();
  const report: BombReport = {
    baselineMaxRssKiB: before.maxRssKiB,
    maxRssKiB: after.maxRssKiB,
    arrayBuffersBefore: before.arrayBuffers,
    arrayBuffersAfter: after.arrayBuffers,
    sentCode,
    cause,
    messages,
    elapsedMs,
  };
  send(report);
  await server.close({ timeoutMs: 100 });
}

function runClient(url: string): void {
  warmUp();
  let messages = 0;
  let before = memory();
  let start = 0;
  dial(
    {
      url: new URL(url),
      protocols: [],
      handshakeTimeoutMs: 5000,
      engine: { maxMessageBytes: 1 << 20, closeTimeoutMs: 2000 },
      deflate: { offer: {}, codec: createDeflateCodec(), thresholdBytes: 0 },
    },
    {
      open() {
        before = memory();
        start = performance.now();
        send({ open: true });
      },
      failed(failure) {
        send({ error: failure.message });
      },
      handleMessage() {
        messages++;
      },
      handleClosed(outcome) {
        const elapsedMs = performance.now() - start;
        const after = memory();
        const report: BombReport = {
          baselineMaxRssKiB: before.maxRssKiB,
          maxRssKiB: after.maxRssKiB,
          arrayBuffersBefore: before.arrayBuffers,
          arrayBuffersAfter: after.arrayBuffers,
          sentCode: outcome.sentCode,
          cause: causeCode(outcome),
          messages,
          elapsedMs,
        };
        send(report);
      },
    },
  );
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "engine") runEngine(args[0] as Role, args[1]!, Number(args[2]));
else if (mode === "server") void runServer();
else if (mode === "client") runClient(args[0]!);
else throw new Error(`unknown mode ${String(mode)}`);
