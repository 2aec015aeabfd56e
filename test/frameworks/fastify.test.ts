/**
 * Issue #17: `sockwise/fastify` on a real Fastify 5 app: WebSocket routes beside ordinary ones,
 * upgrades routed through Fastify (hooks run first, unknown paths get Fastify's 404), typed
 * per-connection data from the request, and `fastify.close()` closing every connection with
 * 1001 after a clean closing handshake.
 */
import { strict as assert } from "node:assert";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import Fastify from "fastify";
import { sockwise } from "../../src/fastify/index.js";
import { WebSocket, closeDetails, type CloseEvent } from "../../src/index.js";
import { withTimeout } from "../helpers/server-harness.js";

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const client = new WebSocket(url, { headers });
  return withTimeout(
    new Promise((resolve, reject) => {
      client.onopen = () => resolve(client);
      client.onerror = () => reject(new Error(`could not open ${url}`));
    }),
    `${url} to open`,
  );
}

function refusedStatus(url: string): Promise<number | undefined> {
  const client = new WebSocket(url);
  return withTimeout(
    new Promise((resolve) => {
      client.onclose = () => resolve(closeDetails(client)?.cause?.response?.status);
    }),
    `${url} to be refused`,
  );
}

function nextMessage(client: WebSocket): Promise<unknown> {
  return withTimeout(
    new Promise((resolve) => {
      client.onmessage = (event) => resolve((event as MessageEvent).data);
    }),
    "a message",
  );
}

test("#17: Fastify 5 plugin: routes, hooks, data, and fastify.close() with 1001", async (t) => {
  const app = Fastify();
  let closed = false;
  t.after(() => (closed ? undefined : app.close()));
  await app.register(sockwise, { heartbeat: false, shutdown: { timeoutMs: 2000 } });
  app.get("/health", async () => ({ ok: true }));
  app.websocket("/echo", (socket) => {
    socket.addEventListener("message", (event) => socket.send(event.data));
  });
  await app.register(async (scope) => {
    // A hook of this context guards its WebSocket route (runs before the handshake).
    scope.addHook("onRequest", async (request, reply) => {
      if (request.headers["x-user"] === undefined) await reply.code(401).send("who are you?");
    });
    scope.websocket<{ user: string }>(
      "/private",
      { data: (request) => ({ user: String(request.headers["x-user"]) }) },
      (socket) => socket.send(`hello ${socket.data.user}`),
    );
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const base = `127.0.0.1:${port}`;

  const health = await fetch(`http://${base}/health`);
  assert.deepEqual(await health.json(), { ok: true });
  const plain = await fetch(`http://${base}/echo`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");

  const echo = await open(`ws://${base}/echo`);
  const reply = nextMessage(echo);
  echo.send("over fastify");
  assert.equal(await reply, "over fastify");

  assert.equal(await refusedStatus(`ws://${base}/nowhere`), 404);
  assert.equal(await refusedStatus(`ws://${base}/private`), 401);
  const privateClient = new WebSocket(`ws://${base}/private`, { headers: { "x-user": "ada" } });
  const greeting = nextMessage(privateClient);
  assert.equal(await greeting, "hello ada");
  assert.equal(app.websocketServer.clients.size, 2);

  const closes = [echo, privateClient].map(
    (client) =>
      new Promise<CloseEvent>((resolve) => {
        client.onclose = (event) => resolve(event as CloseEvent);
      }),
  );
  await withTimeout(app.close(), "fastify.close()");
  closed = true;
  for (const event of await Promise.all(closes)) {
    assert.equal(event.code, 1001);
    assert.equal(event.wasClean, true);
  }
  assert.equal(app.websocketServer.clients.size, 0);
});
