/**
 * The non-standard `ping(socket, data)` helper (the WHATWG API has no ping, SPEC.md J6): it sends
 * a Ping on an open socket and resolves with the peer's Pong and the round-trip time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocketServer as WsServer } from "ws";
import { WebSocket, ping } from "../../src/index.js";

async function wsServer(): Promise<{ url: string; server: WsServer; pings: string[] }> {
  const server = new WsServer({ port: 0, host: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const pings: string[] = [];
  server.on("connection", (socket) => socket.on("ping", (data) => pings.push(data.toString())));
  const { port } = server.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}/`, server, pings };
}

function opened(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("connection failed"));
  });
}

test("J5/J6: ping() sends a Ping with the payload and resolves with the Pong and a round-trip time", async (t) => {
  const { url, server, pings } = await wsServer();
  t.after(() => server.close());
  const socket = new WebSocket(url);
  await opened(socket);
  const pong = await ping(socket, "hello");
  assert.ok(pong !== undefined);
  assert.equal(new TextDecoder().decode(pong.data), "hello");
  assert.ok(pong.rttMs >= 0 && pong.rttMs < 5_000);
  assert.deepEqual(pings, ["hello"]);
  const [a, b] = await Promise.all([
    ping(socket, Uint8Array.of(1)),
    ping(socket, Uint8Array.of(2)),
  ]);
  assert.deepEqual([[...a!.data], [...b!.data]], [[1], [2]], "each Pong answers its own Ping");
  socket.close();
  await new Promise((resolve) => (socket.onclose = resolve));
});

test("J5: ping() refuses a payload over 125 bytes and a socket that is not OPEN", async (t) => {
  const { url, server } = await wsServer();
  t.after(() => server.close());
  const socket = new WebSocket(url);
  assert.throws(() => ping(socket), { name: "InvalidStateError" }, "CONNECTING");
  await opened(socket);
  assert.throws(() => ping(socket, new Uint8Array(126)), { code: "ERR_WS_CONTROL_FRAME_TOO_LONG" });
  socket.close();
  assert.throws(() => ping(socket), { name: "InvalidStateError" }, "CLOSING");
  await new Promise((resolve) => (socket.onclose = resolve));
});

test("J5: a ping still unanswered when the connection closes resolves with undefined", async (t) => {
  const server = new WsServer({ port: 0, host: "127.0.0.1", autoPong: false });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  t.after(() => server.close());
  server.on("connection", (peer) => peer.on("ping", () => peer.close(4000)));
  const socket = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}/`);
  await opened(socket);
  assert.equal(await ping(socket, "never answered"), undefined);
});
