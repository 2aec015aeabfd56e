// Topics in one process (docs/pubsub.md): subscribe/unsubscribe, publish to local subscribers,
// framing once, permessage-deflate sharing, slow subscribers, limits and the in-memory broker.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  MemoryBroker,
  MemoryHub,
  SERVER_DEFAULTS,
  WebSocketServer,
  type ServerWebSocket,
} from "../../src/index.js";
import { RawClient } from "../helpers/raw-client.js";
import { OP } from "../helpers/frames.js";
import {
  nextConnection,
  startServer,
  type TestServer,
  type TestServerOptions,
} from "../helpers/server-harness.js";
import { PerMessageDeflate } from "../../src/protocol/extensions/permessage-deflate.js";
import { constants, inflateRawSync } from "node:zlib";

/** Connects a raw client and returns it with its server-side socket. */
async function connect(
  { server, port }: TestServer,
  extra: readonly (readonly [string, string])[] = [],
): Promise<{ client: RawClient; socket: ServerWebSocket }> {
  const accepted = nextConnection(server);
  const client = await RawClient.connect(port, "/", extra);
  const { socket } = await accepted;
  return { client, socket };
}

type Peer = { client: RawClient; socket: ServerWebSocket };

async function setup(
  t: TestContext,
  count: number,
  options: TestServerOptions = {},
  extra: readonly (readonly [string, string])[] = [],
): Promise<{ srv: TestServer; peers: Peer[] }> {
  const srv = await startServer(t, options);
  const peers: Peer[] = [];
  for (let i = 0; i < count; i++) peers.push(await connect(srv, extra));
  t.after(() => {
    for (const peer of peers) peer.client.destroy();
  });
  return { srv, peers };
}

test("subscribe, isSubscribed, subscriptions, unsubscribe and their results", async (t) => {
  const { srv, peers } = await setup(t, 1);
  const socket = peers[0]!.socket;
  assert.deepEqual(socket.subscriptions, []);
  assert.equal(socket.subscribe("a"), true);
  assert.equal(socket.subscribe("a"), false, "already subscribed");
  assert.equal(socket.isSubscribed("a"), true);
  assert.deepEqual(socket.subscriptions, ["a"]);
  assert.equal(socket.subscribe("b"), true);
  assert.equal(socket.subscribe("c"), true);
  assert.deepEqual([...socket.subscriptions].sort(), ["a", "b", "c"]);
  assert.equal(srv.server.subscriberCount("b"), 1);
  assert.equal(socket.unsubscribe("b"), true);
  assert.equal(socket.unsubscribe("b"), false, "not subscribed any more");
  assert.equal(socket.isSubscribed("b"), false);
  assert.equal(srv.server.subscriberCount("b"), 0);
  assert.equal(socket.unsubscribe("a"), true);
  assert.equal(socket.unsubscribe("c"), true);
  assert.deepEqual(socket.subscriptions, []);
  // The returned array is a copy: changing it changes nothing.
  socket.subscribe("d");
  (socket.subscriptions as string[]).push("x");
  assert.deepEqual(socket.subscriptions, ["d"]);
});

test("server.publish reaches every subscriber once; text stays text, binary stays binary", async (t) => {
  const { srv, peers } = await setup(t, 3);
  peers[0]!.socket.subscribe("news");
  peers[1]!.socket.subscribe("news");
  peers[2]!.socket.subscribe("other");
  const text = srv.server.publish("news", "héllo");
  assert.deepEqual(text, { sent: 2, skipped: 0, closed: 0 });
  const binary = srv.server.publish("news", Uint8Array.of(0, 1, 255));
  assert.deepEqual(binary, { sent: 2, skipped: 0, closed: 0 });
  const asText = srv.server.publish("news", Buffer.from("bytes as text"), { binary: false });
  assert.equal(asText.sent, 2);
  assert.deepEqual(srv.server.publish("nobody", "x"), { sent: 0, skipped: 0, closed: 0 });
  for (const { client } of peers.slice(0, 2)) {
    const a = await client.nextFrame();
    assert.equal(a.opcode, OP.text);
    assert.equal(a.payload.toString(), "héllo");
    const b = await client.nextFrame();
    assert.equal(b.opcode, OP.binary);
    assert.deepEqual([...b.payload], [0, 1, 255]);
    const c = await client.nextFrame();
    assert.equal(c.opcode, OP.text);
    assert.equal(c.payload.toString(), "bytes as text");
  }
  srv.server.publish("other", "only to the third");
  const frame = await peers[2]!.client.nextFrame();
  assert.equal(frame.payload.toString(), "only to the third");
  assert.equal(peers[2]!.client.pendingFrames, 0, "nothing from 'news'");
});

test("bytes published as text must be UTF-8 (ERR_WS_INVALID_UTF8); bad topics are refused", async (t) => {
  const { srv, peers } = await setup(t, 1, { maxTopicLength: 8 });
  const socket = peers[0]!.socket;
  assert.throws(() => srv.server.publish("t", Uint8Array.of(0xff), { binary: false }), {
    code: "ERR_WS_INVALID_UTF8",
  });
  for (const bad of ["", "123456789", 42, undefined, null]) {
    assert.throws(() => socket.subscribe(bad as string), { code: "ERR_WS_INVALID_TOPIC" });
    assert.throws(() => srv.server.publish(bad as string, "x"), { code: "ERR_WS_INVALID_TOPIC" });
  }
  assert.equal(socket.subscribe("12345678"), true, "exactly maxTopicLength is fine");
  assert.throws(() => srv.server.publish("t", new Blob(["x"]) as never), TypeError);
});

test("maxTopicsPerSocket bounds one socket's topics (ERR_WS_TOO_MANY_TOPICS); defaults", async (t) => {
  assert.equal(SERVER_DEFAULTS.maxTopicsPerSocket, 64);
  assert.equal(SERVER_DEFAULTS.maxTopicLength, 256);
  assert.equal(SERVER_DEFAULTS.slowSubscribers, "skip");
  const { peers } = await setup(t, 1, { maxTopicsPerSocket: 3 });
  const socket = peers[0]!.socket;
  socket.subscribe("a");
  socket.subscribe("b");
  socket.subscribe("c");
  assert.throws(() => socket.subscribe("d"), { code: "ERR_WS_TOO_MANY_TOPICS" });
  assert.equal(socket.subscribe("a"), false, "an existing topic is not counted twice");
  socket.unsubscribe("b");
  assert.equal(socket.subscribe("d"), true);
  const one = await setup(t, 1, { maxTopicsPerSocket: 1 });
  one.peers[0]!.socket.subscribe("a");
  assert.throws(() => one.peers[0]!.socket.subscribe("b"), { code: "ERR_WS_TOO_MANY_TOPICS" });
  for (const bad of [0, -1, 1.5, "3"]) {
    assert.throws(
      () => new WebSocketServer({ noServer: true, maxTopicsPerSocket: bad as number }),
      {
        code: "ERR_WS_INVALID_OPTION",
      },
    );
  }
  assert.throws(() => new WebSocketServer({ noServer: true, slowSubscribers: "drop" as "skip" }), {
    code: "ERR_WS_INVALID_OPTION",
  });
  assert.throws(() => new WebSocketServer({ noServer: true, broker: {} as never }), {
    code: "ERR_WS_INVALID_OPTION",
  });
});

test("socket.publish reaches every subscriber but the publisher", async (t) => {
  const { srv, peers } = await setup(t, 3);
  for (const { socket } of peers) socket.subscribe("room");
  const result = peers[0]!.socket.publish("room", "from 0");
  assert.deepEqual(result, { sent: 2, skipped: 0, closed: 0 });
  for (const { client } of peers.slice(1))
    assert.equal((await client.nextFrame()).payload.toString(), "from 0");
  // A socket need not be subscribed to publish.
  peers[0]!.socket.unsubscribe("room");
  assert.equal(peers[0]!.socket.publish("room", "again").sent, 2);
  srv.server.publish("room", "last");
  for (const { client } of peers.slice(1)) {
    assert.equal((await client.nextFrame()).payload.toString(), "again");
    assert.equal((await client.nextFrame()).payload.toString(), "last");
  }
  assert.equal(peers[0]!.client.pendingFrames, 0);
});

test("a closed socket leaves all its topics; publish skips a closing one", async (t) => {
  const { srv, peers } = await setup(t, 2);
  const [a, b] = peers as [(typeof peers)[0], (typeof peers)[0]];
  a.socket.subscribe("x");
  a.socket.subscribe("y");
  b.socket.subscribe("x");
  assert.equal(srv.server.subscriberCount("x"), 2);
  a.socket.close(1000);
  // Closing: no more data may follow its Close (RFC 6455 §5.5.1).
  assert.deepEqual(srv.server.publish("x", "after close"), { sent: 1, skipped: 0, closed: 0 });
  assert.deepEqual(await a.client.nextClose(), { code: 1000, reason: "" });
  a.client.sendClose(1000);
  await a.socket.closed;
  assert.equal(srv.server.subscriberCount("x"), 1);
  assert.equal(srv.server.subscriberCount("y"), 0);
  assert.deepEqual(a.socket.subscriptions, []);
  assert.equal(a.socket.subscribe("z"), false, "a closed socket cannot subscribe");
  assert.equal(srv.server.subscriberCount("z"), 0);
  // A client that drops the connection leaves too.
  b.client.destroy();
  await b.socket.closed;
  assert.equal(srv.server.subscriberCount("x"), 0);
});

test("published messages keep their place among the socket's own sends", async (t) => {
  const { srv, peers } = await setup(t, 1);
  const { socket, client } = peers[0]!;
  socket.subscribe("t");
  socket.send("1");
  srv.server.publish("t", "2");
  socket.send(new Blob(["3"])); // held back until its bytes are read: later messages wait
  srv.server.publish("t", "4");
  socket.send("5");
  const got = [];
  for (let i = 0; i < 5; i++) got.push((await client.nextFrame()).payload.toString());
  assert.deepEqual(got, ["1", "2", "3", "4", "5"]);
  await socket.drained();
  assert.equal(socket.bufferedAmount, 0, "topic frames are counted and released");
});

test("a published message is framed once: every subscriber receives the same bytes", async (t) => {
  const { srv, peers } = await setup(t, 4);
  for (const { socket } of peers) socket.subscribe("t");
  const payload = Buffer.alloc(70_000, 7); // a 64-bit length header
  assert.equal(srv.server.publish("t", payload).sent, 4);
  for (const { client } of peers) {
    const frame = await client.nextFrame();
    assert.equal(frame.fin, true);
    assert.equal(frame.rsv, 0);
    assert.equal(frame.masked, false, "RFC 6455 §5.1: a server never masks");
    assert.equal(frame.opcode, OP.binary);
    assert.equal(frame.payload.equals(payload), true);
  }
  // The publisher's buffer may change right after publish(): subscribers got the bytes as they were.
  const mutable = Buffer.from("before");
  srv.server.publish("t", mutable);
  mutable.write("AFTER!");
  for (const { client } of peers)
    assert.equal((await client.nextFrame()).payload.toString(), "before");
});

const DEFLATE_OFFER: [string, string][] = [
  ["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"],
];

test("N18: permessage-deflate without context takeover: compressed once for all subscribers", async (t) => {
  // Counts the compressions (the real method still runs: a spy, not a stand-in).
  const compress = PerMessageDeflate.prototype.compress;
  let deflates = 0;
  PerMessageDeflate.prototype.compress = function (this: PerMessageDeflate, payload) {
    deflates++;
    return compress.call(this, payload);
  };
  t.after(() => {
    PerMessageDeflate.prototype.compress = compress;
  });
  const { srv, peers } = await setup(
    t,
    5,
    { perMessageDeflate: { thresholdBytes: 16 } },
    DEFLATE_OFFER,
  );
  const plain = await connect(srv); // no permessage-deflate: gets the uncompressed frame
  t.after(() => plain.client.destroy());
  for (const { socket } of [...peers, plain]) socket.subscribe("t");
  const text = "compress me ".repeat(200);
  assert.equal(srv.server.publish("t", text).sent, 6);
  assert.equal(deflates, 1, "one compression for five subscribers");
  let first: Buffer | undefined;
  for (const { client } of peers) {
    const frame = await client.nextFrame();
    assert.equal(frame.rsv, 4, "RSV1: compressed (RFC 7692 §6)");
    first ??= frame.payload;
    assert.equal(frame.payload.equals(first), true);
    const inflated = inflateRawSync(Buffer.concat([frame.payload, Buffer.of(0, 0, 0xff, 0xff)]), {
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    assert.equal(inflated.toString(), text);
  }
  const frame = await plain.client.nextFrame();
  assert.equal(frame.rsv, 0);
  assert.equal(frame.payload.toString(), text);
  // Below the threshold: nothing to compress, the plain frame for everyone.
  srv.server.publish("t", "tiny");
  for (const { client } of peers) assert.equal((await client.nextFrame()).rsv, 0);
});

test("N18: a subscriber with server context takeover gets the message uncompressed (RSV1 clear)", async (t) => {
  const { srv, peers } = await setup(
    t,
    2,
    { perMessageDeflate: { thresholdBytes: 16, serverNoContextTakeover: false } },
    DEFLATE_OFFER,
  );
  for (const { socket } of peers) socket.subscribe("t");
  const text = "same again ".repeat(100);
  srv.server.publish("t", text);
  for (const { client, socket } of peers) {
    const frame = await client.nextFrame();
    assert.equal(frame.rsv, 0);
    assert.equal(frame.payload.toString(), text);
    // Its own sends are still compressed, with its context intact.
    socket.send(text);
    const own = await client.nextFrame();
    assert.equal(own.rsv, 4);
  }
});

test("slow subscribers over maxBufferedBytes are skipped (the default) and counted", async (t) => {
  const { srv, peers } = await setup(t, 3, { maxBufferedBytes: 1000 });
  for (const { socket } of peers) socket.subscribe("t");
  // Not yet handed to the OS: bufferedAmount is over the limit until the write completes.
  peers[0]!.socket.send(Buffer.alloc(2000));
  assert.equal(peers[0]!.socket.bufferedAmount, 2000);
  assert.deepEqual(srv.server.publish("t", "x"), { sent: 2, skipped: 1, closed: 0 });
  await peers[0]!.client.nextFrame(); // the 2000 bytes
  await peers[0]!.socket.drained();
  assert.deepEqual(srv.server.publish("t", "y"), { sent: 3, skipped: 0, closed: 0 });
  assert.equal((await peers[0]!.client.nextFrame()).payload.toString(), "y");
});

test("slowSubscribers: 'close' closes a slow subscriber with 1013", async (t) => {
  const { srv, peers } = await setup(t, 2, { maxBufferedBytes: 1000, slowSubscribers: "close" });
  for (const { socket } of peers) socket.subscribe("t");
  peers[0]!.socket.send(Buffer.alloc(2000));
  assert.deepEqual(srv.server.publish("t", "x"), { sent: 1, skipped: 0, closed: 1 });
  await peers[0]!.client.nextFrame();
  assert.deepEqual(await peers[0]!.client.nextClose(), {
    code: 1013,
    reason: "subscriber too slow",
  });
  assert.equal((await peers[1]!.client.nextFrame()).payload.toString(), "x");
});

test("MemoryHub: servers sharing a hub deliver each other's publishes, never their own twice", async (t) => {
  const hub = new MemoryHub();
  const one = await setup(t, 2, { broker: new MemoryBroker({ hub }) });
  const two = await setup(t, 1, { broker: new MemoryBroker({ hub }) });
  for (const { socket } of [...one.peers, ...two.peers]) socket.subscribe("t");
  assert.deepEqual(one.srv.server.publish("t", "from one"), { sent: 2, skipped: 0, closed: 0 });
  one.peers[0]!.socket.publish("t", Uint8Array.of(9));
  for (const { client } of one.peers.slice(0, 1))
    assert.equal((await client.nextFrame()).payload.toString(), "from one");
  assert.equal((await one.peers[1]!.client.nextFrame()).payload.toString(), "from one");
  assert.deepEqual([...(await one.peers[1]!.client.nextFrame()).payload], [9]);
  const remote = two.peers[0]!.client;
  assert.equal((await remote.nextFrame()).payload.toString(), "from one");
  const binary = await remote.nextFrame();
  assert.equal(binary.opcode, OP.binary, "binary stays binary through the broker");
  assert.equal(one.peers[0]!.client.pendingFrames, 0, "own publish excluded");
  // Interest is reported to the broker: after the last local subscriber leaves, nothing arrives.
  two.peers[0]!.socket.unsubscribe("t");
  one.srv.server.publish("t", "unheard");
  await one.peers[1]!.client.nextFrame();
  assert.equal(remote.pendingFrames, 0);
  const single = new MemoryBroker();
  single.start({ message() {} });
  assert.throws(() => single.start({ message() {} }), { code: "ERR_WS_INVALID_OPTION" });
});

test("a broker hears of a topic at its first local subscriber and its last leaving; close() closes it", async (t) => {
  const calls: string[] = [];
  const broker = {
    start: () => calls.push("start"),
    publish: (topic: string, data: Uint8Array, isBinary: boolean) =>
      calls.push(`publish ${topic} ${Buffer.from(data).toString()} ${isBinary}`),
    subscribe: (topic: string) => calls.push(`subscribe ${topic}`),
    unsubscribe: (topic: string) => calls.push(`unsubscribe ${topic}`),
    close: () => {
      calls.push("close");
      return Promise.resolve();
    },
  };
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", heartbeat: false, broker });
  t.after(() => server.close({ timeoutMs: 100 }));
  const { port } = await server.ready();
  const srv = { server, port, url: () => "" };
  const a = await connect(srv);
  const b = await connect(srv);
  a.socket.subscribe("t");
  b.socket.subscribe("t");
  a.socket.unsubscribe("t");
  b.socket.publish("t", "hi");
  b.client.destroy();
  await b.socket.closed;
  await server.close({ timeoutMs: 100 });
  a.client.destroy();
  assert.deepEqual(calls, ["start", "subscribe t", "publish t hi false", "unsubscribe t", "close"]);
});
