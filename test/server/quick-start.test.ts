/**
 * The README's server quick start, exactly as written (port 0 instead of 8080, so tests can run
 * side by side), echoing text and binary to each of the three client libraries.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocketServer } from "../../src/index.js";
import { CLIENT_KINDS } from "../helpers/peer-clients.js";
import { waitUntil, withTimeout } from "../helpers/server-harness.js";

for (const kind of CLIENT_KINDS) {
  test(`README quick start echoes text and binary to a ${kind.name} client and logs the close`, async (t) => {
    const logged: unknown[][] = [];
    t.mock.method(console, "log", (...args: unknown[]) => logged.push(args));

    // ---- the README, verbatim but for the port ----
    const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- verbatim: shows the request is there
    server.on("connection", (socket, request) => {
      socket.addEventListener("message", (e) => socket.send(e.data));
      socket.onclose = (e) => console.log(e.code, e.reason, e.wasClean);
    });
    // ----
    t.after(() => server.close({ timeoutMs: 200 }));

    const { port, address } = await withTimeout(server.ready(), "ready()");
    assert.equal(address, "127.0.0.1");
    assert.ok(port > 0);
    assert.deepEqual(server.address(), await server.ready());

    const client = await kind.open(`ws://127.0.0.1:${port}/`);
    client.send("héllo");
    assert.equal(await client.nextMessage(), "héllo");
    client.send(Uint8Array.of(0, 1, 2, 255));
    assert.deepEqual(await client.nextMessage(), Buffer.from([0, 1, 2, 255]));
    client.close(1000, "done");
    assert.deepEqual(await withTimeout(client.closed, "client close"), {
      code: 1000,
      reason: "done",
      wasClean: true,
    });
    await waitUntil(() => logged.length === 1, "the onclose log line");
    assert.deepEqual(logged[0], [1000, "done", true]);
    assert.equal(server.clients.size, 0);
  });
}
