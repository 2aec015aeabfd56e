/**
 * Issue #17: what a production server shows. `server.stats()` counts handshakes (accepted,
 * refused by reason), messages and payload bytes both ways, close codes and buffered bytes, with
 * no walk over the connections; the `sockwise:server:*` diagnostics channels publish open,
 * close (with its details), refused handshakes (with the reason), ping/pong and errors, with the
 * payload shapes of undici's `undici:websocket:*` channels where undici has the same fact.
 */
import { strict as assert } from "node:assert";
import diagnosticsChannel from "node:diagnostics_channel";
import { test } from "node:test";
import {
  WebSocket,
  WebSocketServer,
  serverChannels,
  type HandshakeRefusedMessage,
  type ServerCloseMessage,
  type ServerErrorMessage,
  type ServerOpenMessage,
  type ServerPingPongMessage,
  type ServerWebSocket,
} from "../../src/index.js";
import { RawClient } from "../helpers/raw-client.js";
import { OP } from "../helpers/frames.js";
import { waitUntil, withTimeout } from "../helpers/server-harness.js";

/** Collects every message of every server channel while the test runs. */
function record(t: {
  after(fn: () => void): void;
}): Record<keyof typeof serverChannels, unknown[]> {
  const seen = Object.fromEntries(
    Object.keys(serverChannels).map((key) => [key, [] as unknown[]]),
  ) as Record<keyof typeof serverChannels, unknown[]>;
  for (const [key, name] of Object.entries(serverChannels) as [
    keyof typeof serverChannels,
    string,
  ][]) {
    const listener = (message: unknown): void => {
      seen[key].push(message);
    };
    diagnosticsChannel.subscribe(name, listener);
    t.after(() => diagnosticsChannel.unsubscribe(name, listener));
  }
  return seen;
}

function open(url: string, protocols?: string[]): Promise<WebSocket> {
  const client = new WebSocket(url, protocols);
  return withTimeout(
    new Promise((resolve, reject) => {
      client.onopen = () => resolve(client);
      client.onerror = () => reject(new Error("could not connect"));
    }),
    "the client to open",
  );
}

test("#17: stats() and the diagnostics channels follow a server's life", async (t) => {
  const seen = record(t);
  const server = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    heartbeat: false,
    path: "/ws",
    protocols: ["chat"],
    authenticate: (request) => request.headers["x-deny"] === undefined,
  });
  t.after(() => server.close({ timeoutMs: 200 }));
  const { port } = await server.ready();
  const sockets: ServerWebSocket[] = [];
  server.on("connection", (socket) => {
    sockets.push(socket);
    socket.addEventListener("message", (event) => socket.send(event.data));
  });
  assert.deepEqual(server.stats(), {
    openConnections: 0,
    handshakesAccepted: 0,
    handshakesRefused: 0,
    handshakesRefusedByReason: {},
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    closeCodes: {},
    bufferedBytes: 0,
  });

  // Two accepted (one with a subprotocol), refusals of three kinds.
  const a = await open(`ws://127.0.0.1:${port}/ws`, ["chat"]);
  const b = await open(`ws://127.0.0.1:${port}/ws`);
  for (const [path, headers] of [
    ["/elsewhere", {}],
    ["/ws", { "x-deny": "1" }],
  ] as const) {
    const refused = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
    await withTimeout(new Promise((resolve) => (refused.onclose = resolve)), "a refusal");
  }
  const bad = await RawClient.open(port);
  bad.write("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  assert.equal((await bad.readResponse()).status, 400);
  bad.destroy();

  // Messages both ways: "hello" (5 bytes) and 3 binary bytes, each echoed.
  const echoed: unknown[] = [];
  a.binaryType = "arraybuffer";
  a.onmessage = (event) => echoed.push((event as MessageEvent).data);
  a.send("hello");
  a.send(new Uint8Array([1, 2, 3]));
  await waitUntil(() => echoed.length === 2, "the echoes");

  // A ping from the server: the client's Pong is published.
  sockets[0]!.ping("p");
  await waitUntil(() => seen.pong.length === 1, "the pong");

  let stats = server.stats();
  assert.equal(stats.openConnections, 2);
  assert.equal(stats.handshakesAccepted, 2);
  assert.equal(stats.handshakesRefused, 3);
  assert.deepEqual(stats.handshakesRefusedByReason, {
    notFound: 1,
    unauthorized: 1,
    invalidRequest: 1,
  });
  assert.equal(stats.messagesIn, 2);
  assert.equal(stats.messagesOut, 2);
  assert.equal(stats.bytesIn, 8);
  assert.equal(stats.bytesOut, 8);
  assert.equal(stats.bufferedBytes, 0);

  // A protocol error from a raw client (an unmasked frame): 1002 and an error message.
  const raw = await RawClient.connect(port, "/ws");
  raw.sendFrame({ opcode: OP.text, payload: "no mask", unmasked: true });
  assert.equal((await raw.nextClose()).code, 1002);
  raw.destroy();

  // Closes: 1000 from one client, 1001 from the server's shutdown for the other.
  a.close(1000, "bye");
  await waitUntil(() => server.stats().openConnections === 1, "the first close");
  await server.close();
  await waitUntil(() => seen.close.length === 3, "three close messages");
  stats = server.stats();
  assert.equal(stats.openConnections, 0);
  assert.equal(stats.handshakesAccepted, 3);
  // The protocol error: this end sent 1002, no Close came back: 1006, as its `closed` says.
  assert.deepEqual(stats.closeCodes, { 1000: 1, 1001: 1, 1006: 1 });
  void b;

  // The channels: undici's shapes where undici has the fact.
  const opened = seen.open as ServerOpenMessage[];
  assert.equal(opened.length, 3);
  assert.equal(opened[0]!.websocket, sockets[0]);
  assert.equal(opened[0]!.protocol, "chat");
  assert.equal(opened[0]!.address.address, "127.0.0.1");
  assert.equal(typeof opened[0]!.address.port, "number");
  assert.equal(opened[0]!.handshakeResponse.status, 101);
  assert.equal(opened[0]!.handshakeResponse.headers["sec-websocket-protocol"], "chat");
  assert.match(
    opened[0]!.handshakeResponse.headers["sec-websocket-accept"]!,
    /^[A-Za-z0-9+/]{27}=$/,
  );
  const closed = seen.close as ServerCloseMessage[];
  const first = closed.find((message) => message.websocket === sockets[0])!;
  assert.equal(first.code, 1000);
  assert.equal(first.reason, "bye");
  assert.equal(first.wasClean, true);
  assert.equal(first.initiator, "remote");
  const refused = seen.handshakeRefused as HandshakeRefusedMessage[];
  assert.deepEqual(
    refused.map((message) => [message.reason, message.status]),
    [
      ["notFound", 404],
      ["unauthorized", 403],
      ["invalidRequest", 400],
    ],
  );
  assert.equal(refused[2]!.code, "ERR_WS_HANDSHAKE_KEY");
  const pong = (seen.pong as ServerPingPongMessage[])[0]!;
  assert.equal(pong.websocket, sockets[0]);
  assert.equal(pong.payload?.toString(), "p");
  const errors = seen.error as ServerErrorMessage[];
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.code, /^ERR_WS_/);
});

test("#17: stats() counts what is buffered now, and returns it to 0 when written or closed", async (t) => {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", heartbeat: false });
  t.after(() => server.close({ timeoutMs: 200 }));
  const { port } = await server.ready();
  const accepted = new Promise<ServerWebSocket>((resolve) => server.once("connection", resolve));
  const raw = await RawClient.connect(port);
  const socket = await accepted;
  raw.pause(); // the client stops reading: what the server sends stays buffered
  const chunk = new Uint8Array(256 * 1024);
  for (let i = 0; i < 64 && socket.bufferedAmount < 4 * 1024 * 1024; i++) socket.send(chunk);
  await waitUntil(() => server.stats().bufferedBytes > 0, "bytes to stay buffered");
  assert.ok(server.stats().bufferedBytes <= socket.bufferedAmount);
  raw.destroy();
  await socket.closed;
  assert.equal(server.stats().bufferedBytes, 0);
  assert.deepEqual(server.stats().closeCodes, { 1006: 1 });
});
