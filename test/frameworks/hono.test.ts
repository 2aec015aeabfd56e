/**
 * Issue #17: `sockwise/hono` on Hono + `@hono/node-server`: the helper has Hono's
 * `UpgradeWebSocket` interface (`onOpen`, `onMessage`, `onClose` with a `WSContext`), upgrade
 * requests pass through the app's middleware first (which may refuse them), ordinary routes keep
 * working on the same server, and the context's data reaches the socket.
 */
import { strict as assert } from "node:assert";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import { createHonoWebSocket } from "../../src/hono/index.js";
import { WebSocket, closeDetails, type ServerWebSocket } from "../../src/index.js";
import { withTimeout } from "../helpers/server-harness.js";

test("#17: Hono on @hono/node-server: upgradeWebSocket, middleware, WSContext", async (t) => {
  const app = new Hono();
  const { upgradeWebSocket, injectWebSocket, websocketServer } = createHonoWebSocket({
    app,
    server: { heartbeat: false },
  });
  // The helper has Hono's own helper type.
  const typed: UpgradeWebSocket<ServerWebSocket> = upgradeWebSocket;
  void typed;
  const log: string[] = [];
  app.get("/health", (c) => c.json({ ok: true }));
  app.use("/private", async (c, next) => {
    if (c.req.header("x-user") === undefined) return c.text("who are you?", 401);
    return next();
  });
  app.get(
    "/private",
    upgradeWebSocket((c) => {
      const user = c.req.header("x-user") ?? "";
      return {
        onOpen(_event, ws) {
          log.push(`open ${ws.url?.pathname ?? ""} ${String(ws.readyState)}`);
          ws.send(`hello ${user}`);
        },
        onMessage(event, ws) {
          ws.send(`echo: ${String(event.data)}`);
        },
        onClose(event, ws) {
          log.push(`close ${event.code} ${ws.raw?.remoteAddress ?? ""}`);
        },
      };
    }),
  );
  const http = await new Promise<Server>((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () =>
      resolve(server as Server),
    );
  });
  injectWebSocket(http);
  t.after(async () => {
    await websocketServer.close({ timeoutMs: 500 });
    await new Promise((resolve) => http.close(resolve));
  });
  const { port } = http.address() as AddressInfo;
  const base = `127.0.0.1:${port}`;

  assert.deepEqual(await (await fetch(`http://${base}/health`)).json(), { ok: true });

  const refused = new WebSocket(`ws://${base}/private`);
  await withTimeout(new Promise((resolve) => (refused.onclose = resolve)), "the refusal");
  assert.equal(closeDetails(refused)?.cause?.response?.status, 401);
  const missing = new WebSocket(`ws://${base}/nowhere`);
  await withTimeout(new Promise((resolve) => (missing.onclose = resolve)), "the 404");
  assert.equal(closeDetails(missing)?.cause?.response?.status, 404);

  const client = new WebSocket(`ws://${base}/private`, { headers: { "x-user": "ada" } });
  const messages: unknown[] = [];
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      client.onerror = () => reject(new Error("could not connect"));
      client.onmessage = (event) => {
        messages.push((event as MessageEvent).data);
        if (messages.length === 1) client.send("ping?");
        if (messages.length === 2) resolve();
      };
    }),
    "two messages",
  );
  assert.deepEqual(messages, ["hello ada", "echo: ping?"]);
  const closed = new Promise((resolve) => (client.onclose = resolve));
  client.close(1000);
  await withTimeout(closed, "the close");
  await withTimeout(
    (async () => {
      while (log.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    "onClose",
  );
  assert.deepEqual(log, ["open /private 1", "close 1000 127.0.0.1"]);
});
