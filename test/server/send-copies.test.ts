/**
 * C10 on the server: a payload given to send() may be changed by the caller right afterwards
 * without changing what goes on the wire — whether the engine copies it (≤ 1 KiB) or the socket
 * does (larger), and whether it is sent at once or queued behind a Blob.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { WebSocketServer } from "../../src/index.js";

test("C10/server: send() then mutating the buffer at once: the client gets the original bytes", async (t) => {
  const server = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    heartbeat: false,
    perMessageDeflate: false,
  });
  t.after(() => server.close({ timeoutMs: 200 }));
  const sizes = [1, 1023, 1024, 1025, 70_000];
  server.on("connection", (socket) => {
    socket.send(new Blob([Uint8Array.of(9)])); // the next sends queue behind this Blob first
    for (const size of sizes) {
      const payload = new Uint8Array(size).fill(7);
      socket.send(payload);
      payload.fill(0);
    }
    for (const size of sizes) {
      const payload = new Uint8Array(size).fill(5);
      setImmediate(() => {
        socket.send(payload);
        payload.fill(0);
      });
    }
  });
  const { port } = await server.ready();
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  const received: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), 5000);
    client.on("message", (data: Buffer) => {
      received.push(data);
      if (received.length === 1 + sizes.length * 2) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  client.close();
  assert.deepEqual([...received[0]!], [9]);
  for (const [i, size] of sizes.entries()) {
    const queued = received[1 + i]!;
    const direct = received[1 + sizes.length + i]!;
    assert.equal(queued.length, size);
    assert.ok(
      queued.every((b) => b === 7),
      `queued ${size} B kept its bytes`,
    );
    assert.equal(direct.length, size);
    assert.ok(
      direct.every((b) => b === 5),
      `direct ${size} B kept its bytes`,
    );
  }
});
