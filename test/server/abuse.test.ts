/**
 * 1,000 connections' worth of malformed and abusive input against one server, replayable from a
 * fixed seed: random bytes before and after the handshake, truncated frames, oversize lengths,
 * never-ending fragments, unmasked frames, slow-loris heads, header bombs, silent peers, resets
 * mid-frame, ping floods. Afterwards the server must still serve a well-behaved client of every
 * kind, `server.clients.size` must be back to 0, no TCP connection may be left open, every
 * accepted connection must have settled `closed` with a documented cause, and nothing may have
 * reached the application as an error.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { WebSocketServer, type ServerCloseInfo } from "../../src/index.js";
import { AbnormalCauseCodes, ProtocolErrorCodes } from "../../src/protocol/errors.js";
import { OP, buildFrame, concat } from "../helpers/frames.js";
import { CLIENT_KINDS } from "../helpers/peer-clients.js";
import { RawClient, requestHead, upgradeHeaders } from "../helpers/raw-client.js";
import {
  openConnections,
  seededRandom,
  sleep,
  startServer,
  waitUntil,
  withTimeout,
} from "../helpers/server-harness.js";

const SEED = 0x5eed_2024;
const CONNECTIONS = 1000;
const CONCURRENCY = 100;
/** Every abusive connection must be over (closed by either side) within this long. */
const CONNECTION_BOUND_MS = 3000;

type Random = () => number;

function randomBytes(random: Random, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

function maskKey(random: Random): Uint8Array {
  return randomBytes(random, 4);
}

/**
 * One abusive client. It returns once its connection is over; it reports `"server"` if the
 * server was expected to end the connection and did, `"client"` if it left by itself.
 */
type Attack = (port: number, random: Random) => Promise<"server" | "client">;

/** Waits for the server to end the connection; fails the attack if it does not in time. */
async function serverEnds(client: RawClient, what: string): Promise<"server"> {
  try {
    await client.waitForClose(CONNECTION_BOUND_MS);
  } catch {
    client.destroy();
    throw new Error(`the server did not end a connection after ${what}`);
  }
  return "server";
}

async function upgraded(port: number): Promise<RawClient> {
  return RawClient.connect(port, "/", [], { waitMs: CONNECTION_BOUND_MS });
}

const ATTACKS: Record<string, Attack> = {
  async "random bytes instead of a request"(port, random) {
    const client = await RawClient.open(port);
    client.write(randomBytes(random, 1 + Math.floor(random() * 2000)));
    return serverEnds(client, "random bytes instead of a request");
  },
  async "a slow-loris head"(port, random) {
    const client = await RawClient.open(port);
    const head = requestHead("GET / HTTP/1.1", upgradeHeaders(port));
    client.write(head.slice(0, 1 + Math.floor(random() * (head.length - 4))));
    return serverEnds(client, "half a request head");
  },
  async "a header bomb"(port, random) {
    const client = await RawClient.open(port);
    client.write("GET / HTTP/1.1\r\n");
    for (let i = 0; i < 400 && !client.closed; i++) {
      client.write(`X-${i}: ${"b".repeat(20 + Math.floor(random() * 60))}\r\n`);
    }
    return serverEnds(client, "a header bomb");
  },
  async "random bytes after the handshake"(port, random) {
    const client = await upgraded(port);
    client.write(randomBytes(random, 1 + Math.floor(random() * 4096)));
    return serverEnds(client, "random frame bytes");
  },
  async "a truncated frame, then FIN"(port, random) {
    const client = await upgraded(port);
    const frame = buildFrame({
      opcode: OP.binary,
      payload: randomBytes(random, 200),
      maskKey: maskKey(random),
    });
    client.write(frame.subarray(0, 1 + Math.floor(random() * (frame.length - 1))));
    client.end();
    return serverEnds(client, "a truncated frame and FIN");
  },
  async "a truncated frame, then silence"(port, random) {
    const client = await upgraded(port);
    const frame = buildFrame({
      opcode: OP.text,
      payload: "x".repeat(300),
      maskKey: maskKey(random),
    });
    client.write(frame.subarray(0, 1 + Math.floor(random() * (frame.length - 1))));
    return serverEnds(client, "a truncated frame and silence");
  },
  async "an oversize length"(port, random) {
    const client = await upgraded(port);
    const declared = 64 * 1024 + 1 + Math.floor(random() * 2 ** 40);
    client.write(
      buildFrame({ opcode: OP.binary, declaredLength: declared, maskKey: maskKey(random) }),
    );
    return serverEnds(client, "an oversize length");
  },
  async "never-ending fragments"(port, random) {
    const client = await upgraded(port);
    const frames = [
      buildFrame({ opcode: OP.text, fin: false, payload: "a", maskKey: maskKey(random) }),
    ];
    for (let i = 0; i < 100; i++) {
      frames.push(
        buildFrame({ opcode: OP.cont, fin: false, payload: "a", maskKey: maskKey(random) }),
      );
    }
    client.write(concat(...frames));
    return serverEnds(client, "never-ending fragments");
  },
  async "unmasked frames"(port, random) {
    const client = await upgraded(port);
    client.write(buildFrame({ opcode: OP.text, payload: randomBytes(random, 10) }));
    return serverEnds(client, "an unmasked frame");
  },
  async "silence after the handshake"(port) {
    const client = await upgraded(port);
    return serverEnds(client, "silence (heartbeat)");
  },
  async "a reset in the middle of a frame"(port, random) {
    const client = await upgraded(port);
    const frame = buildFrame({
      opcode: OP.binary,
      payload: randomBytes(random, 100),
      maskKey: maskKey(random),
    });
    client.write(frame.subarray(0, 10));
    await sleep(Math.floor(random() * 20));
    client.reset();
    return "client";
  },
  async "a Close, then garbage"(port, random) {
    const client = await upgraded(port);
    client.write(
      concat(
        buildFrame({
          opcode: OP.close,
          payload: Uint8Array.of(0x03, 0xe8),
          maskKey: maskKey(random),
        }),
        randomBytes(random, 500),
      ),
    );
    return serverEnds(client, "a Close and garbage");
  },
  async "a ping flood, then gone"(port, random) {
    const client = await upgraded(port);
    const pings = [];
    for (let i = 0; i < 300; i++) {
      pings.push(
        buildFrame({ opcode: OP.ping, payload: randomBytes(random, 8), maskKey: maskKey(random) }),
      );
    }
    client.write(concat(...pings));
    client.destroy();
    return "client";
  },
  async "invalid UTF-8 split across fragments"(port, random) {
    const client = await upgraded(port);
    client.write(
      concat(
        buildFrame({
          opcode: OP.text,
          fin: false,
          payload: Uint8Array.of(0xf0, 0x9f),
          maskKey: maskKey(random),
        }),
        buildFrame({
          opcode: OP.cont,
          fin: true,
          payload: Uint8Array.of(0x41),
          maskKey: maskKey(random),
        }),
      ),
    );
    return serverEnds(client, "invalid UTF-8");
  },
  async "a valid message, then an abrupt close"(port, random) {
    const client = await upgraded(port);
    client.write(buildFrame({ opcode: OP.text, payload: "hello", maskKey: maskKey(random) }));
    await sleep(Math.floor(random() * 10));
    client.destroy();
    return "client";
  },
};

/** Runs `count` attacks from `seed`, `CONCURRENCY` at a time; returns what went wrong. */
async function runAttacks(port: number, seed: number, count: number): Promise<string[]> {
  const names = Object.keys(ATTACKS);
  const failures: string[] = [];
  const random = seededRandom(seed);
  const plan = Array.from({ length: count }, (_, i) => ({
    name: names[i % names.length]!,
    seed: Math.floor(random() * 2 ** 32),
  }));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.length) {
      const { name, seed: attackSeed } = plan[next++]!;
      try {
        await withTimeout(
          ATTACKS[name]!(port, seededRandom(attackSeed)),
          `attack "${name}" (seed ${attackSeed})`,
          CONNECTION_BOUND_MS + 1000,
        );
      } catch (error) {
        failures.push(`${name} (seed ${attackSeed}): ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failures;
}

const DOCUMENTED_CAUSES = new Set<string>([
  ...Object.keys(ProtocolErrorCodes).filter((code) => code !== "ERR_WS_INTERNAL_ERROR"),
  ...Object.keys(AbnormalCauseCodes),
  "ERR_WS_HEARTBEAT_TIMEOUT",
]);

test("1,000 abusive connections (seeded) leave the server serving, with no client and no socket left", async (t) => {
  // Attached to an HTTP server configured like the standalone one, so its TCP connections can
  // be counted with getConnections().
  const http = createServer({
    maxHeaderSize: 8 * 1024,
    headersTimeout: 300,
    requestTimeout: 300,
    connectionsCheckingInterval: 50,
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const port = (http.address() as AddressInfo).port;
  const server = new WebSocketServer({
    server: http,
    heartbeat: { intervalMs: 100, timeoutMs: 100 },
    handshakeTimeoutMs: 300,
    maxMessageBytes: 64 * 1024,
    maxFragments: 64,
    closeTimeoutMs: 300,
  });
  t.after(() => server.close({ timeoutMs: 200 }));
  const errors: unknown[] = [];
  server.on("error", (error) => errors.push(error));
  const outcomes: Promise<ServerCloseInfo>[] = [];
  server.on("connection", (socket) => outcomes.push(socket.closed));

  const started = performance.now();
  const failures = await runAttacks(port, SEED, CONNECTIONS);
  const elapsed = performance.now() - started;

  assert.deepEqual(failures, [], "every abusive connection was ended");
  assert.ok(elapsed < 30_000, `the run took ${Math.round(elapsed)} ms`);
  await waitUntil(() => server.clients.size === 0, "server.clients to empty");
  await waitUntil(async () => (await openConnections(http)) === 0, "every TCP connection to close");
  const infos = await withTimeout(Promise.all(outcomes), "every accepted connection to settle");
  assert.ok(infos.length > CONNECTIONS / 2, `${infos.length} connections were accepted`);
  const causes = new Map<string, number>();
  for (const info of infos) {
    const cause = info.cause?.code ?? (info.wasClean ? "clean" : "none");
    causes.set(cause, (causes.get(cause) ?? 0) + 1);
    if (cause !== "clean") assert.ok(DOCUMENTED_CAUSES.has(cause), `undocumented cause ${cause}`);
  }
  t.diagnostic(
    `${infos.length} accepted in ${Math.round(elapsed)} ms; server-side outcomes: ${JSON.stringify(Object.fromEntries(causes))}`,
  );
  // Each kind of abuse met its own defence.
  for (const expected of [
    "ERR_WS_MESSAGE_TOO_BIG",
    "ERR_WS_TOO_MANY_FRAGMENTS",
    "ERR_WS_UNMASKED_FRAME",
    "ERR_WS_INVALID_UTF8",
    "ERR_WS_HEARTBEAT_TIMEOUT",
    "ERR_WS_CONNECTION_LOST",
  ]) {
    assert.ok((causes.get(expected) ?? 0) > 0, `${expected} in ${JSON.stringify([...causes])}`);
  }
  assert.deepEqual(errors, []);

  // Still serving, to every kind of client.
  server.on("connection", (socket) => {
    socket.addEventListener("message", (e) => socket.send(e.data));
  });
  for (const kind of CLIENT_KINDS) {
    const client = await kind.open(`ws://127.0.0.1:${port}/`);
    client.send(`after the storm (${kind.name})`);
    assert.equal(await client.nextMessage(), `after the storm (${kind.name})`);
    client.close(1000);
    assert.deepEqual(await withTimeout(client.closed, "close"), {
      code: 1000,
      reason: "",
      wasClean: true,
    });
  }
  await waitUntil(() => server.clients.size === 0, "server.clients to empty again");
});

test("the same abuse against a standalone server (300 connections): its own HTTP server refuses bad heads, and it keeps serving", async (t) => {
  const { server, port, url } = await startServer(t, {
    heartbeat: { intervalMs: 100, timeoutMs: 100 },
    handshakeTimeoutMs: 300,
    maxHeaderBytes: 8 * 1024,
    maxMessageBytes: 64 * 1024,
    maxFragments: 64,
    closeTimeoutMs: 300,
  });
  const outcomes: Promise<ServerCloseInfo>[] = [];
  server.on("connection", (socket) => outcomes.push(socket.closed));
  const failures = await runAttacks(port, SEED + 1, 300);
  assert.deepEqual(failures, []);
  await waitUntil(() => server.clients.size === 0, "server.clients to empty");
  await withTimeout(Promise.all(outcomes), "every accepted connection to settle");
  server.on("connection", (socket) => socket.send("welcome"));
  const client = await CLIENT_KINDS[0]!.open(url());
  assert.equal(await client.nextMessage(), "welcome");
  client.close();
  await withTimeout(client.closed, "close");
});
