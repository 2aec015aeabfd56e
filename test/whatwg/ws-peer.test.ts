/**
 * The close matrix against an independent peer, the `ws` library's server (SPEC.md D13–D16,
 * D9, E8–E12, L7, L17, L21): what each side reports for client- and server-initiated closes
 * and for a dropped connection.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";

import { WebSocketServer, type WebSocket as WsSocket } from "ws";

import { WebSocket, closeDetails } from "../../src/index.js";
import { record, type Recorder } from "../helpers/client-recorder.js";
import { WAIT_MS, withTimeout } from "../helpers/raw-peer.js";

interface ServerSide {
  readonly socket: WsSocket;
  /** The code and reason the ws server reports in its `close` event. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Messages the server received, as strings. */
  readonly messages: string[];
}

interface Pair {
  readonly ws: WebSocket;
  readonly rec: Recorder;
  readonly server: ServerSide;
}

/** A ws server on 127.0.0.1 and a sockwise client connected to it (open). */
async function connectPair(t: TestContext): Promise<Pair> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(wss, "listening");
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  const connected = withTimeout(
    new Promise<ServerSide>((resolve) =>
      wss.once("connection", (socket: WsSocket) => {
        const messages: string[] = [];
        socket.on("message", (data) => messages.push(String(data)));
        const closed = new Promise<{ code: number; reason: string }>((done) =>
          socket.on("close", (code, reason) => done({ code, reason: reason.toString("utf8") })),
        );
        resolve({ socket, closed, messages });
      }),
    ),
    "the ws server's connection",
  );
  const { port } = wss.address() as { port: number };
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const rec = record(ws);
  await rec.opened();
  return { ws, rec, server: await connected };
}

interface Expected {
  readonly serverCode: number;
  readonly serverReason: string;
  readonly clientCode: number;
  readonly clientReason: string;
  readonly wasClean: boolean;
  readonly types: readonly string[];
}

async function assertBothEnds(pair: Pair, expected: Expected, what: string): Promise<void> {
  const event = await pair.rec.closed();
  const server = await withTimeout(pair.server.closed, "the ws server's close event", WAIT_MS);
  assert.deepEqual(
    { code: server.code, reason: server.reason },
    { code: expected.serverCode, reason: expected.serverReason },
    `${what}: the ws server's view`,
  );
  assert.deepEqual(
    { code: event.code, reason: event.reason, wasClean: event.wasClean },
    { code: expected.clientCode, reason: expected.clientReason, wasClean: expected.wasClean },
    `${what}: the client's close event`,
  );
  assert.deepEqual(pair.rec.types(), expected.types, `${what}: the client's events`);
  assert.equal(pair.ws.readyState, WebSocket.CLOSED);
}

const REASON_123 = "€".repeat(40) + "abc";

/** Client-initiated closes: [name, close() arguments, code, reason both sides report]. */
const CLIENT_CLOSES: [string, unknown[], number, string][] = [
  ["close()", [], 1005, ""],
  ["close(1000)", [1000], 1000, ""],
  ['close(3000, "x")', [3000, "x"], 3000, "x"],
  ["close(4999, a 123-byte multibyte reason)", [4999, REASON_123], 4999, REASON_123],
  ['close(1000, "\\uD807") → U+FFFD', [1000, "\uD807"], 1000, "\uFFFD"],
  ['close(undefined, "bye") → 1000 "bye"', [undefined, "bye"], 1000, "bye"],
  ['close(undefined, "") → empty body', [undefined, ""], 1005, ""],
];

for (const [name, args, code, reason] of CLIENT_CLOSES) {
  test(`D13–D16 vs ws: ${name}: the server sees ${code}, the client sees ${code}, clean`, async (t) => {
    const pair = await connectPair(t);
    (pair.ws.close as (...a: unknown[]) => void)(...args);
    assert.equal(pair.ws.readyState, WebSocket.CLOSING);
    await assertBothEnds(
      pair,
      {
        serverCode: code,
        serverReason: reason,
        clientCode: code,
        clientReason: reason,
        wasClean: true,
        types: ["open", "close"],
      },
      name,
    );
    assert.equal(closeDetails(pair.ws)?.sentCode, code);
    assert.equal(closeDetails(pair.ws)?.initiator, "local");
  });
}

/** Server-initiated closes: [code, reason]. */
const SERVER_CLOSES: [number, string][] = [
  [1001, "going away"],
  [1011, "internal error"],
  [4000, "custom ✓"],
];

for (const [code, reason] of SERVER_CLOSES) {
  test(`E9/L7 vs ws: the server closes with ${code}: both sides report ${code} "${reason}", clean`, async (t) => {
    const pair = await connectPair(t);
    pair.server.socket.send("last words");
    pair.server.socket.close(code, reason);
    await assertBothEnds(
      pair,
      {
        serverCode: code,
        serverReason: reason,
        clientCode: code,
        clientReason: reason,
        wasClean: true,
        types: ["open", "message", "close"],
      },
      `server ${code}`,
    );
    assert.deepEqual(pair.rec.messages(), ["last words"]);
    assert.equal(closeDetails(pair.ws)?.initiator, "remote");
  });
}

test("E12/L21 vs ws: the server drops TCP: the client sees error first, then 1006, not clean", async (t) => {
  const pair = await connectPair(t);
  pair.server.socket.terminate();
  await assertBothEnds(
    pair,
    {
      serverCode: 1006,
      serverReason: "",
      clientCode: 1006,
      clientReason: "",
      wasClean: false,
      types: ["open", "error", "close"],
    },
    "terminate",
  );
});

test("C15/D18 vs ws: messages sent just before close() all arrive before the server sees the Close", async (t) => {
  const pair = await connectPair(t);
  for (let i = 0; i < 50; i++) pair.ws.send(`m${i}`);
  pair.ws.send(new Blob(["blob"]));
  pair.ws.close(1000, "after the messages");
  await assertBothEnds(
    pair,
    {
      serverCode: 1000,
      serverReason: "after the messages",
      clientCode: 1000,
      clientReason: "after the messages",
      wasClean: true,
      types: ["open", "close"],
    },
    "queued messages",
  );
  assert.deepEqual(pair.server.messages, [
    ...Array.from({ length: 50 }, (_, i) => `m${i}`),
    "blob",
  ]);
});
