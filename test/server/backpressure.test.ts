/**
 * Outgoing backpressure (SPEC.md P16): `bufferedAmount` counts exactly the payload bytes not yet
 * handed to the operating system, `drained()` and the `drain` event report when a slow reader
 * has caught up, and `broadcast()` skips connections that are too far behind.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OP } from "../helpers/frames.js";
import { CLIENT_KINDS } from "../helpers/peer-clients.js";
import { RawClient } from "../helpers/raw-client.js";
import {
  SocketEvents,
  nextConnection,
  sleep,
  startServer,
  waitUntil,
  withTimeout,
} from "../helpers/server-harness.js";

const CHUNK = 256 * 1024;
const COUNT = 64; // 16 MiB: far more than loopback socket buffers hold

describe("bufferedAmount, drained() and drain (P16)", () => {
  test("P16: with a paused reader, bufferedAmount stays up, drained() waits; after reading resumes both settle and drain fires", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    const events = new SocketEvents(socket);
    raw.pause();
    const payload = new Uint8Array(CHUNK);
    // One message per tick, as a producer streaming to a slow reader would. (Messages sent in
    // the same tick are written as one batch and leave bufferedAmount together.)
    let sent = 0;
    for (let i = 0; i < COUNT; i++) {
      socket.send(payload);
      sent += CHUNK;
      assert.ok(socket.bufferedAmount <= sent && socket.bufferedAmount > 0);
      await new Promise((resolve) => setImmediate(resolve));
    }
    let drained = false;
    void socket.drained().then(() => (drained = true));
    await sleep(150);
    const stuck = socket.bufferedAmount;
    assert.ok(stuck > 0 && stuck < CHUNK * COUNT, `bufferedAmount ${stuck}`);
    assert.equal(stuck % CHUNK, 0, "it moves a whole message at a time");
    assert.equal(drained, false);
    assert.ok(raw.receivedBytes < CHUNK * COUNT);
    await sleep(50);
    assert.equal(socket.bufferedAmount, stuck, "nothing moves while the reader is paused");

    raw.resume();
    await withTimeout(socket.drained(), "drained()");
    assert.equal(socket.bufferedAmount, 0);
    await events.next("drain");
    let bytes = 0;
    for (let i = 0; i < COUNT; i++) {
      const frame = await raw.nextFrame();
      assert.equal(frame.opcode, OP.binary);
      bytes += frame.payload.length;
    }
    assert.equal(bytes, CHUNK * COUNT);
  });

  test("bufferedAmount counts UTF-8 bytes of text and byteLength of views; drained() resolves at once when empty", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    await withTimeout(socket.drained(), "drained() when nothing is pending", 100);
    socket.send("€"); // 3 bytes
    socket.send(new Uint16Array(5)); // 10 bytes
    socket.send(new Blob(["abcd"])); // 4 bytes
    assert.equal(socket.bufferedAmount, 17);
    await withTimeout(socket.drained(), "drained()");
    assert.equal(socket.bufferedAmount, 0);
  });

  test("drained() resolves when the connection closes with data still pending", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    raw.pause();
    for (let i = 0; i < COUNT; i++) socket.send(new Uint8Array(CHUNK));
    const pending = socket.drained();
    await sleep(50);
    socket.destroy();
    await withTimeout(pending, "drained() after destroy()");
  });
});

describe("broadcast", () => {
  test("broadcast(data, { except }) reaches every other client, of every kind, once", async (t) => {
    const { server, url, port } = await startServer(t);
    const sockets = [];
    const clients = [];
    for (const kind of CLIENT_KINDS) {
      const accepted = nextConnection(server);
      clients.push(await kind.open(url()));
      sockets.push((await accepted).socket);
    }
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const rawSocket = (await accepted).socket;

    const sender = sockets[0]!;
    assert.deepEqual(server.broadcast("to all but the sender", { except: sender }), {
      sent: 3,
      skipped: 0,
    });
    const bytes = Uint8Array.of(1, 2, 3);
    assert.deepEqual(server.broadcast(bytes, { except: [sockets[1]!, rawSocket] }), {
      sent: 2,
      skipped: 0,
    });
    bytes.fill(0); // already encoded: later changes do not reach anyone

    assert.equal(await clients[1]!.nextMessage(), "to all but the sender");
    assert.equal(await clients[2]!.nextMessage(), "to all but the sender");
    assert.deepEqual(await clients[0]!.nextMessage(), Buffer.from([1, 2, 3]));
    assert.deepEqual(await clients[2]!.nextMessage(), Buffer.from([1, 2, 3]));
    const text = await raw.nextFrame();
    assert.equal(text.payload.toString(), "to all but the sender");
    await sleep(50);
    assert.deepEqual(clients[0]!.messages, [Buffer.from([1, 2, 3])]);
    assert.deepEqual(clients[1]!.messages, ["to all but the sender"]);
    assert.equal(raw.pendingFrames, 0);
    assert.throws(() => server.broadcast(new Blob(["x"]) as never), TypeError);
  });

  test("broadcast skips a peer whose unsent data is over maxBufferedBytes, and peers that are closing", async (t) => {
    const { server, port, url } = await startServer(t, { maxBufferedBytes: 1024 * 1024 });
    const slowAccepted = nextConnection(server);
    const slow = await RawClient.connect(port);
    t.after(() => slow.destroy());
    const slowSocket = (await slowAccepted).socket;
    slow.pause();
    for (let i = 0; i < COUNT; i++) slowSocket.send(new Uint8Array(CHUNK));
    await waitUntil(() => slowSocket.bufferedAmount > 1024 * 1024, "the slow peer to fall behind");
    const stuck = slowSocket.bufferedAmount;

    const closingAccepted = nextConnection(server);
    const closing = await RawClient.connect(port);
    t.after(() => closing.destroy());
    const closingSocket = (await closingAccepted).socket;
    closingSocket.close(1000);

    const fast = await CLIENT_KINDS[1]!.open(url());
    const result = server.broadcast("news");
    assert.deepEqual(result, { sent: 1, skipped: 1 });
    assert.equal(await fast.nextMessage(), "news");
    assert.equal(slowSocket.bufferedAmount, stuck, "nothing was added for the slow peer");
    assert.equal((await closing.nextFrame()).opcode, OP.close);
    await sleep(30);
    assert.equal(closing.pendingFrames, 0, "nothing after the Close");
  });
});
