/**
 * Issue #17: Express 5. No glue is needed: the server attaches to the `http.Server` that
 * `app.listen()` returns (routed by `path`), beside the app's ordinary routes, which keep
 * answering on the same port.
 */
import { strict as assert } from "node:assert";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import express from "express";
import { WebSocket, WebSocketServer, closeDetails, type CloseEvent } from "../../src/index.js";
import { withTimeout } from "../helpers/server-harness.js";

test("#17: Express 5: WebSockets on app.listen()'s server, beside normal routes", async (t) => {
  const app = express();
  app.get("/health", (_request, response) => {
    response.json({ ok: true });
  });
  const http = await new Promise<Server>((resolve) => {
    const server = app.listen(0, "127.0.0.1", () => resolve(server));
  });
  const wss = new WebSocketServer({ server: http, path: "/ws", heartbeat: false });
  wss.on("connection", (socket) => {
    socket.addEventListener("message", (event) => socket.send(`echo: ${String(event.data)}`));
  });
  t.after(async () => {
    await wss.close({ timeoutMs: 500 });
    await new Promise((resolve) => http.close(resolve));
  });
  const { port } = http.address() as AddressInfo;

  const health = await fetch(`http://127.0.0.1:${port}/health`);
  assert.deepEqual(await health.json(), { ok: true });

  const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const reply = await withTimeout(
    new Promise<unknown>((resolve, reject) => {
      client.onopen = () => client.send("hi");
      client.onmessage = (event) => resolve((event as MessageEvent).data);
      client.onerror = () => reject(new Error("could not connect"));
    }),
    "the echo",
  );
  assert.equal(reply, "echo: hi");

  const elsewhere = new WebSocket(`ws://127.0.0.1:${port}/other`);
  await withTimeout(
    new Promise((resolve) => (elsewhere.onclose = resolve)),
    "the upgrade elsewhere to be refused",
  );
  assert.equal(closeDetails(elsewhere)?.cause?.response?.status, 404);

  const closed = new Promise<CloseEvent>((resolve) => {
    client.onclose = (event) => resolve(event as CloseEvent);
  });
  await wss.close();
  assert.equal((await closed).code, 1001);
  const again = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(again.status, 200, "the HTTP routes outlive the WebSocket server");
});
