// The Redis broker against a real redis-server (test/helpers/redis-server.ts): cross-server
// delivery, no echo, binary safety, reference-counted Redis subscriptions, and the faults
// (Redis down at start, lost and back, the bounded outage queue).
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import type { ServerWebSocket, BrokerStatus } from "../../src/index.js";
import {
  RedisBroker,
  REDIS_BROKER_DEFAULTS,
  type RedisBrokerOptions,
} from "../../src/redis/index.js";
import { RawClient } from "../helpers/raw-client.js";
import { OP } from "../helpers/frames.js";
import { nextConnection, startServer, type TestServer } from "../helpers/server-harness.js";
import { startRedis, type RedisProcess } from "../helpers/redis-server.js";
import { until } from "../helpers/pubsub-nodes.js";

type Peer = { client: RawClient; socket: ServerWebSocket };

async function connect({ server, port }: TestServer, t: TestContext): Promise<Peer> {
  const accepted = nextConnection(server);
  const client = await RawClient.connect(port);
  t.after(() => client.destroy());
  return { client, socket: (await accepted).socket };
}

/** A server with its own RedisBroker; resolves once the broker is up (unless told not to wait). */
async function redisServer(
  t: TestContext,
  url: string,
  options: { wait?: boolean } & RedisBrokerOptions = {},
): Promise<{ srv: TestServer; broker: RedisBroker; statuses: BrokerStatus[] }> {
  const { wait, ...brokerOptions } = options;
  const broker = new RedisBroker({ url, ...brokerOptions });
  const statuses: BrokerStatus[] = [];
  broker.on("status", (status) => statuses.push(status));
  const srv = await startServer(t, { broker });
  if (wait !== false) await until(() => broker.status.state === "up", "broker up", 5000);
  return { srv, broker, statuses };
}

async function numsub(redis: RedisProcess, channel: string): Promise<number> {
  const reply = (await redis.command("PUBSUB", "NUMSUB", channel)) as [string, number];
  return Number(reply[1]);
}

async function channels(redis: RedisProcess): Promise<string[]> {
  return ((await redis.command("PUBSUB", "CHANNELS")) as string[]).sort();
}

test("two servers on one Redis: publishes cross over, binary-safe, text stays text, no echo", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const one = await redisServer(t, redis.url);
  const two = await redisServer(t, redis.url);
  const a = await connect(one.srv, t);
  const b = await connect(two.srv, t);
  const c = await connect(two.srv, t);
  for (const { socket } of [a, b, c]) socket.subscribe("room");
  await waitFor(async () => (await numsub(redis, "sockwise:room")) === 2, "two subscriptions");
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.deepEqual(one.srv.server.publish("room", every), { sent: 1, skipped: 0, closed: 0 });
  a.socket.publish("room", "héllo from a");
  two.srv.server.publish("room", "", { binary: false });
  // Local first, at once; then the other server's subscribers through Redis.
  const local = await a.client.nextFrame();
  assert.equal(local.opcode, OP.binary);
  assert.equal(local.payload.equals(every), true);
  for (const { client } of [b, c]) {
    const own = await client.nextFrame();
    assert.equal(own.opcode, OP.text);
    assert.equal(own.payload.length, 0, "server two's own publish, delivered at once");
    const binary = await client.nextFrame();
    assert.equal(binary.opcode, OP.binary);
    assert.equal(binary.payload.equals(every), true, "all 256 byte values intact");
    const text = await client.nextFrame();
    assert.equal(text.opcode, OP.text);
    assert.equal(text.payload.toString(), "héllo from a");
  }
  const empty = await a.client.nextFrame();
  assert.equal(empty.opcode, OP.text);
  assert.equal(empty.payload.length, 0, "a 0-byte text message crosses Redis");
  // No server gets its own publishes back from Redis (no echo), nobody gets a duplicate.
  await sleep(150);
  assert.equal(a.client.pendingFrames + b.client.pendingFrames + c.client.pendingFrames, 0);
});

test("Redis subscriptions are reference-counted: one per process and topic, gone with the last subscriber", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const one = await redisServer(t, redis.url);
  const two = await redisServer(t, redis.url);
  const a1 = await connect(one.srv, t);
  const a2 = await connect(one.srv, t);
  const b1 = await connect(two.srv, t);
  a1.socket.subscribe("x");
  a2.socket.subscribe("x");
  a2.socket.subscribe("y");
  b1.socket.subscribe("x");
  await waitFor(async () => (await numsub(redis, "sockwise:x")) === 2, "x on both processes");
  assert.deepEqual(await channels(redis), ["sockwise:x", "sockwise:y"]);
  // One local subscriber leaves: the process still wants x.
  a1.socket.unsubscribe("x");
  await sleep(50);
  assert.equal(await numsub(redis, "sockwise:x"), 2);
  // Unsubscribing stops delivery everywhere.
  b1.socket.unsubscribe("x");
  await waitFor(async () => (await numsub(redis, "sockwise:x")) === 1, "x left on two");
  b1.socket.publish("x", "only to a2");
  assert.equal((await a2.client.nextFrame()).payload.toString(), "only to a2");
  one.srv.server.publish("x", "not to b1");
  await a2.client.nextFrame();
  // Closing the last subscriber's socket removes the Redis subscriptions of its process.
  a2.client.destroy();
  await a2.socket.closed;
  await waitFor(async () => (await channels(redis)).length === 0, "no channels left");
  one.srv.server.publish("x", "nobody");
  await sleep(100);
  assert.equal(b1.client.pendingFrames, 0);
  assert.equal(a1.client.pendingFrames, 0);
});

test("Redis down at start: local topics work, status is down, then up with topics subscribed", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  await redis.kill();
  const unhandled: unknown[] = [];
  const onRejection = (reason: unknown): void => void unhandled.push(reason);
  process.on("unhandledRejection", onRejection);
  t.after(() => process.off("unhandledRejection", onRejection));
  const one = await redisServer(t, redis.url, { wait: false, maxQueuedMessages: 0 });
  const a = await connect(one.srv, t);
  const a2 = await connect(one.srv, t);
  a.socket.subscribe("t");
  a2.socket.subscribe("t");
  await until(() => one.broker.status.state === "down", "status down", 3000);
  const down = one.broker.status;
  assert.equal(down.cause?.code, "ERR_WS_BROKER_DOWN");
  assert.match(down.cause?.message ?? "", /ECONNREFUSED/);
  // Local delivery does not wait for Redis.
  assert.deepEqual(a.socket.publish("t", "local"), { sent: 1, skipped: 0, closed: 0 });
  assert.equal((await a2.client.nextFrame()).payload.toString(), "local");
  assert.equal(one.broker.dropped, 1, "maxQueuedMessages 0: dropped and counted at once");
  await redis.restart();
  const backAt = performance.now();
  await until(() => one.broker.status.state === "up", "status up", 3000);
  assert.ok(performance.now() - backAt < 2000, "up within 2 s of Redis being back");
  assert.deepEqual(await channels(redis), ["sockwise:t"], "re-subscribed its topics");
  assert.deepEqual(
    one.statuses.map((s) => s.state),
    ["down", "up"],
  );
  assert.equal(one.statuses.at(-1)!.dropped, 1, "the dropped count is reported");
  assert.deepEqual(unhandled, []);
});

test("Redis lost and back: outage queue keeps order up to its bound, then drops and counts", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  // The receiver reconnects within ~50 ms, the sender after 1–2 s: the receiver has subscribed
  // again before the queue is written out (a queued message reaches only the processes that
  // are subscribed by then: docs/pubsub.md).
  const sender = await redisServer(t, redis.url, {
    maxQueuedMessages: 5,
    minReconnectDelayMs: 2000,
    maxReconnectDelayMs: 2000,
  });
  const receiver = await redisServer(t, redis.url, { maxReconnectDelayMs: 50 });
  const r = await connect(receiver.srv, t);
  r.socket.subscribe("q");
  await waitFor(async () => (await numsub(redis, "sockwise:q")) === 1, "subscribed");
  await redis.kill();
  await until(() => sender.broker.status.state === "down", "sender down", 3000);
  await until(() => receiver.broker.status.state === "down", "receiver down", 3000);
  for (let i = 0; i < 8; i++) sender.srv.server.publish("q", `m${i}`);
  assert.equal(sender.broker.queued, 5);
  assert.equal(sender.broker.dropped, 3);
  await redis.restart();
  await until(() => receiver.broker.status.state === "up", "receiver up", 3000);
  assert.equal(sender.broker.queued, 5, "still waiting for its own reconnection");
  await until(() => sender.broker.status.state === "up", "sender up", 5000);
  const got = [];
  for (let i = 0; i < 5; i++) got.push((await r.client.nextFrame()).payload.toString());
  assert.deepEqual(got, ["m0", "m1", "m2", "m3", "m4"]);
  assert.equal(sender.broker.queued, 0);
  sender.srv.server.publish("q", "after");
  assert.equal((await r.client.nextFrame()).payload.toString(), "after");
});

test("RedisBroker options are checked; defaults; close() is idempotent and never rejects", async () => {
  assert.equal(REDIS_BROKER_DEFAULTS.maxQueuedMessages, 1024);
  assert.equal(REDIS_BROKER_DEFAULTS.maxReconnectDelayMs, 1000);
  assert.throws(() => new RedisBroker({ maxQueuedMessages: -1 }), {
    code: "ERR_WS_INVALID_OPTION",
  });
  // Nothing listens on port 1: close() right away still settles.
  const broker = new RedisBroker({ url: "redis://127.0.0.1:1" });
  broker.start({ message() {} });
  assert.throws(() => broker.start({ message() {} }), { code: "ERR_WS_INVALID_OPTION" });
  await broker.close();
  await broker.close();
  assert.equal(broker.status.state, "closed");
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls an async condition every 20 ms for up to 3 s. */
async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 3000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
