/**
 * Backpressure that holds (SPEC.md O6, O7, P16; WPT stream/tentative/backpressure-*.any.js):
 * the readable stops reading from the socket while its queue is full, so TCP flow control
 * slows the peer; the writable settles a write only once the socket has taken its bytes. The
 * large-volume check (1 GiB through a slow reader) is in backpressure-1gib.test.ts.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";

import { OP } from "../../helpers/frames.js";
import { sleep, withTimeout } from "../../helpers/raw-peer.js";
import { assertPending, openStream } from "../../helpers/stream-client.js";

const MiB = 1024 * 1024;

test("O6: nothing is read off the network until the readable pulls (readableHighWaterMarkBytes 0)", async (t) => {
  const { conn, readable, wss } = await openStream(t, {
    options: { readableHighWaterMarkBytes: 0 },
    peer: { replyToClose: true },
  });
  // Right after the handshake nothing has pulled: a Ping waits unread in the kernel.
  conn.sendFrame({ opcode: OP.ping, payload: "p1" });
  await conn.expectNoFrame(100);
  const reader = readable.getReader();
  const firstRead = reader.read(); // a pending read pulls: the socket is read again
  const pong = await conn.nextFrame();
  assert.equal(pong.opcode, OP.pong);
  assert.equal(Buffer.from(pong.payload).toString(), "p1");
  conn.sendText("a");
  assert.equal((await withTimeout(firstRead, "first read")).value, "a");
  // "b" fills the queue (nobody is reading): the socket pauses, so the next Ping is not read.
  await sleep(20);
  conn.sendText("b");
  await sleep(50);
  conn.sendFrame({ opcode: OP.ping, payload: "p2" });
  await conn.expectNoFrame(100);
  assert.equal((await reader.read()).value, "b"); // taken from the queue: still no pull
  await conn.expectNoFrame(50);
  const thirdRead = reader.read(); // the queue is empty and a read waits: pull, read the Ping
  assert.equal(Buffer.from((await conn.nextFrame()).payload).toString(), "p2");
  conn.sendText("c");
  assert.equal((await withTimeout(thirdRead, "third read")).value, "c");
  wss.close();
  await withTimeout(wss.closed, "closed");
});

test("O6: with the default high-water mark the socket is read ahead while the queue has room", async (t) => {
  const { conn, readable } = await openStream(t);
  conn.sendText("a");
  await sleep(20);
  conn.sendFrame({ opcode: OP.ping, payload: "p" });
  // "a" (1 byte) is queued unread, far below 64 KiB: reading goes on and the Ping is answered.
  assert.equal((await conn.nextFrame()).opcode, OP.pong);
  assert.equal((await readable.getReader().read()).value, "a");
});

test("O6: a reader that does not read stops the peer through TCP flow control; nothing is lost", async (t) => {
  const { conn, readable, wss } = await openStream(t);
  const message = new Uint8Array(MiB).fill(7);
  const total = 64;
  let written = 0;
  const sending = (async () => {
    for (let i = 0; i < total; i++) {
      message[0] = i;
      conn.sendBinary(message);
      written++;
      if (conn.socket.writableLength > 4 * MiB) await once(conn.socket, "drain");
    }
  })();
  await sleep(300);
  // At most the kernel's socket buffers (a few MiB each way) and one queue's worth got through.
  assert.ok(written < 32, `the peer wrote ${written} of ${total} MiB while nobody read`);
  t.diagnostic(`the peer wrote ${written} MiB, then blocked`);
  const stalledAt = written;
  await sleep(100);
  assert.equal(written, stalledAt, "the peer stays blocked");
  let index = 0;
  const reader = readable.getReader();
  while (index < total) {
    const { value } = await withTimeout(reader.read(), `message ${index}`);
    const bytes = value as Uint8Array;
    assert.equal(bytes.length, MiB);
    assert.equal(bytes[0], index);
    assert.equal(bytes[MiB - 1], 7);
    index++;
  }
  await withTimeout(sending, "the peer to finish");
  reader.releaseLock();
  wss.close();
  conn.closeAndEnd();
  await withTimeout(wss.closed, "closed");
});

test("O6: close() while the readable is full still completes a clean closing handshake", async (t) => {
  const { conn, wss } = await openStream(t);
  for (let i = 0; i < 16; i++) conn.sendBinary(new Uint8Array(256 * 1024));
  await sleep(50); // the readable is full: the socket is paused
  wss.close({ closeCode: 4000 });
  // The peer sees the Close, answers; the client must read that answer to close cleanly.
  let frame = await conn.nextFrame();
  while (frame.opcode !== OP.close) frame = await conn.nextFrame();
  conn.closeAndEnd(4000, "ok");
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 4000, reason: "ok" });
});

test("O7: a write settles only once the socket took its bytes; writer.ready waits while the queue is full", async (t) => {
  const { conn, writable, wss } = await openStream(t, {
    options: { writableHighWaterMarkBytes: MiB },
  });
  conn.socket.pause(); // the peer stops reading
  const writer = writable.getWriter();
  const chunk = new Uint8Array(MiB);
  const writes: Promise<void>[] = [];
  let accepted = 0;
  // A producer that respects writer.ready, as a well-behaved application does.
  const producing = (async () => {
    for (let i = 0; i < 48; i++) {
      await writer.ready;
      chunk[0] = i;
      writes.push(writer.write(chunk.slice()));
      accepted++;
    }
  })();
  await sleep(300);
  assert.ok(accepted < 24, `the producer got ${accepted} of 48 MiB past writer.ready`);
  assert.ok((writer.desiredSize ?? 1) <= 0, `desiredSize ${writer.desiredSize}`);
  await assertPending(writes.at(-1)!, "the last write", 20);
  t.diagnostic(`the producer got ${accepted} MiB past writer.ready, then blocked`);
  const stalledAt = accepted;
  await sleep(100);
  assert.equal(accepted, stalledAt, "the producer stays blocked");

  conn.socket.resume(); // the peer reads again: every write settles, in order, intact
  await withTimeout(producing, "the producer");
  await withTimeout(Promise.all(writes), "all writes");
  for (let i = 0; i < 48; i++) {
    const frame = await conn.nextFrame();
    assert.equal(frame.payload.length, MiB);
    assert.equal(frame.payload[0], i);
  }
  wss.close();
  conn.closeAndEnd();
  await withTimeout(wss.closed, "closed");
});
