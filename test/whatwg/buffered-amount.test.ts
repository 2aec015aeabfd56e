/**
 * SPEC.md B6–B8 and C8: bufferedAmount counts application payload bytes, rises synchronously in
 * send(), falls only between tasks once the bytes were handed to the network, and keeps
 * growing (never resetting) once the socket is CLOSING or CLOSED.
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import { WebSocket } from "../../src/index.js";
import { OP } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { waitUntil } from "../helpers/raw-peer.js";

test("B6: bufferedAmount counts payload bytes only (no headers or masks) and returns to exactly 0", async (t) => {
  const { ws, conn } = await openClient(t);
  ws.send("x".repeat(100));
  ws.send(new Uint8Array(200));
  ws.send(new Uint8Array(70_000));
  ws.send(new Blob([new Uint8Array(30)]));
  assert.equal(ws.bufferedAmount, 100 + 200 + 70_000 + 30);
  for (let i = 0; i < 4; i++) await conn.nextFrame();
  await waitUntil(() => ws.bufferedAmount === 0, "bufferedAmount to drain");
  // The frames on the wire were bigger (headers, mask keys); the count was payload only.
  const wire = conn.frames.reduce(
    (sum, frame) => sum + frame.header.length + frame.payload.length,
    0,
  );
  assert.equal(wire, 100 + 200 + 70_000 + 30 + (6 + 8 + 14 + 6));
});

test("B7: send() raises bufferedAmount synchronously; it never falls within the same task", async (t) => {
  const { ws } = await openClient(t);
  let expected = 0;
  for (let i = 0; i < 200; i++) {
    ws.send(new Uint8Array(i));
    expected += i;
    assert.equal(ws.bufferedAmount, expected);
  }
  // Microtasks and process.nextTick callbacks belong to the same task: no drop yet, even though
  // Node may already have finished the writes.
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
    await new Promise((resolve) => process.nextTick(resolve));
    assert.equal(ws.bufferedAmount, expected);
  }
  await waitUntil(() => ws.bufferedAmount === 0, "bufferedAmount to drain between tasks");
});

test("B7: bufferedAmount stays up while the peer does not read, and drains when it does", async (t) => {
  const { ws, conn } = await openClient(t);
  conn.socket.pause();
  const total = 32 * 1024 * 1024;
  for (let i = 0; i < 32; i++) ws.send(new Uint8Array(1024 * 1024));
  assert.equal(ws.bufferedAmount, total);
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  // The kernel buffers cannot hold 32 MiB: most of it is still unwritten.
  assert.ok(ws.bufferedAmount > total / 2, `bufferedAmount ${ws.bufferedAmount}`);
  assert.ok(ws.bufferedAmount <= total);
  conn.socket.resume();
  for (let i = 0; i < 32; i++) assert.equal((await conn.nextFrame()).payload.length, 1024 * 1024);
  await waitUntil(() => ws.bufferedAmount === 0, "bufferedAmount to drain");
});

test("B8/C6 (★): once CLOSING or CLOSED every send() still adds its size; it never resets to 0", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(1000);
  ws.send("abc");
  ws.send(new Uint8Array(10));
  assert.equal(ws.bufferedAmount, 13);
  await conn.nextFrame();
  conn.closeAndEnd(1000);
  await rec.closed();
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assert.equal(ws.bufferedAmount, 13);
  ws.send(new Blob(["12345"]));
  ws.send("€");
  assert.equal(ws.bufferedAmount, 13 + 5 + 3);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(ws.bufferedAmount, 21);
  assert.deepEqual(
    conn.frames.map((frame) => frame.opcode),
    [OP.close],
  );
});

test("B8: bytes never written because the connection dropped stay counted", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.socket.pause();
  for (let i = 0; i < 16; i++) ws.send(new Uint8Array(1024 * 1024));
  conn.reset();
  await rec.closed();
  assert.ok(ws.bufferedAmount > 0, `bufferedAmount ${ws.bufferedAmount}`);
  const after = ws.bufferedAmount;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(ws.bufferedAmount, after);
});

test("C8: growth per message — UTF-8 length after U+FFFD replacement, byteLength, Blob size", async (t) => {
  const { ws } = await openClient(t);
  const buffer = new ArrayBuffer(100);
  const steps: [string | ArrayBuffer | ArrayBufferView | Blob, number][] = [
    ["x", 1],
    ["å", 2],
    ["匶", 3],
    ["\uD83D\uDD0C", 4],
    ["\uD807", 3],
    ["a\uDC00b", 5],
    [buffer, 100],
    [new Uint8Array(buffer, 10, 20), 20],
    [new Int32Array(buffer, 8, 3), 12],
    [new DataView(buffer, 99), 1],
    [new Blob(["€", new Uint8Array(4)]), 7],
  ];
  let expected = 0;
  for (const [data, size] of steps) {
    ws.send(data);
    expected += size;
    assert.equal(ws.bufferedAmount, expected, String(data));
  }
});
