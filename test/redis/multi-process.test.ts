// Topics across server processes on one real Redis (docs/pubsub.md): exactly-once, in
// per-publisher order, text and binary 0 B–64 KiB; Redis killed and restarted; a server process
// SIGKILLed; node:cluster workers sharing one port.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { startRedis } from "../helpers/redis-server.js";
import { LiteClient, PubsubNode, until } from "../helpers/pubsub-nodes.js";
import type { NodeConfig } from "../helpers/pubsub-node.js";

async function startNodes(
  t: TestContext,
  count: number,
  config: NodeConfig,
): Promise<PubsubNode[]> {
  const nodes = await Promise.all(Array.from({ length: count }, () => PubsubNode.start(config)));
  t.after(() => Promise.all(nodes.map((node) => node.kill())));
  return nodes;
}

async function openClients(t: TestContext, ports: number[], count: number): Promise<LiteClient[]> {
  const clients: LiteClient[] = [];
  t.after(() => {
    for (const client of clients) client.destroy();
  });
  // In waves, so that 300 handshakes do not all wait at once on a busy machine.
  for (let i = 0; i < count; i += 50) {
    const wave = Array.from({ length: Math.min(50, count - i) }, (_, k) =>
      LiteClient.open(ports[(i + k) % ports.length]!),
    );
    clients.push(...(await Promise.all(wave)));
  }
  return clients;
}

/** Waits until every node's broker is up and it has the given number of local subscribers. */
async function subscribedEverywhere(nodes: PubsubNode[], perNode: number[]): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const statuses = (await Promise.all(nodes.map((node) => node.status()))).flat();
    if (statuses.every((s, i) => s.state === "up" && s.subscribers === perNode[i])) return;
    if (performance.now() > deadline)
      throw new Error(`not all subscribed: ${JSON.stringify(statuses)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Message j of publisher i: its size and kind (text and binary, 0 B to 64 KiB, mostly small). */
function plan(i: number, j: number): { binary: boolean; size: number } {
  if (j === 25) return { binary: true, size: 0 };
  if (j === 10 && i < 2) return { binary: true, size: 65_536 };
  if (j === 20 && i < 10) return { binary: i % 2 === 0, size: 4096 };
  if (j === 30 && i < 20) return { binary: i % 2 === 1, size: 1024 + i };
  return { binary: j % 2 === 0, size: 8 + ((i * 31 + j * 17) % 25) };
}

/** The payload: publisher and sequence in the first 8 bytes (text: as digits), then filler. */
function payload(i: number, j: number): Uint8Array {
  const { binary, size } = plan(i, j);
  if (size === 0) return new Uint8Array(0);
  if (binary) {
    const bytes = Buffer.alloc(size, (i + j) & 0xff);
    bytes.writeUInt32BE(i, 0);
    bytes.writeUInt32BE(j, 4);
    return bytes;
  }
  // Non-ASCII filler (2 bytes each): text is UTF-8 end to end.
  const head = `${String(i).padStart(3, "0")}${String(j).padStart(3, "0")}:`;
  const rest = size - head.length;
  return Buffer.from(head + "é".repeat(rest >> 1) + (rest & 1 ? "x" : ""), "utf8");
}

function identify(binary: boolean, data: Buffer): [number, number] | undefined {
  if (data.length === 0) return undefined;
  if (binary) return [data.readUInt32BE(0), data.readUInt32BE(4)];
  const digit = (k: number): number => data[k]! - 48;
  return [digit(0) * 100 + digit(1) * 10 + digit(2), digit(3) * 100 + digit(4) * 10 + digit(5)];
}

test("3 server processes, 1 Redis, 300 clients × 50 messages: exactly once, in per-publisher order, own excluded", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const nodes = await startNodes(t, 3, { redisUrl: redis.url });
  const CLIENTS = 300;
  const MESSAGES = 50;
  const clients = await openClients(
    t,
    nodes.map((node) => node.port),
    CLIENTS,
  );
  await subscribedEverywhere(nodes, [100, 100, 100]);
  // Per receiver: the next sequence expected from each publisher, and the empty messages seen.
  const next = clients.map(() => new Int32Array(CLIENTS));
  const empties = new Int32Array(CLIENTS);
  const received = new Int32Array(CLIENTS);
  const errors: string[] = [];
  clients.forEach((client, r) => {
    client.onMessage = (binary, data) => {
      received[r]!++;
      const id = identify(binary, data);
      if (id === undefined) {
        empties[r]!++;
        if (!binary) errors.push(`client ${r}: an empty message came as text`);
        return;
      }
      const [i, j] = id;
      if (i === r) errors.push(`client ${r} received its own message ${j}`);
      // Skip the empty message's slot: it carries no id.
      const expected = next[r]![i]! === 25 ? 26 : next[r]![i]!;
      if (j !== expected) errors.push(`client ${r}: from ${i} got ${j}, expected ${expected}`);
      const want = plan(i, j);
      if (binary !== want.binary || data.length !== want.size)
        errors.push(`client ${r}: message ${i}/${j} came as ${binary}/${data.length}`);
      next[r]![i] = j + 1;
    };
  });
  const started = performance.now();
  for (let j = 0; j < MESSAGES; j++) {
    for (let i = 0; i < CLIENTS; i++) clients[i]!.send(plan(i, j).binary, payload(i, j));
    // Let the sockets drain now and then rather than queueing 15,000 messages at once.
    if (j % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
  }
  const total = (CLIENTS - 1) * MESSAGES;
  await until(
    () => errors.length > 0 || received.every((count) => count >= total),
    "every delivery",
    30_000,
  ).catch((error: Error) => {
    const short = [...received].filter((count) => count < total).length;
    throw new Error(`${error.message}: ${short} clients short; ${errors.slice(0, 5).join("; ")}`);
  });
  // Nothing more arrives (no duplicates).
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(errors.slice(0, 10), []);
  assert.ok(
    received.every((count) => count === total),
    "exactly once",
  );
  assert.ok(
    empties.every((count) => count === CLIENTS - 1),
    "every 0-byte message once",
  );
  for (let r = 0; r < CLIENTS; r++)
    for (let i = 0; i < CLIENTS; i++)
      if (i !== r) assert.equal(next[r]![i], MESSAGES, `client ${r} got all of ${i}'s`);
  t.diagnostic(`${CLIENTS * total} deliveries in ${Math.round(performance.now() - started)} ms`);
});

/** Collects what each client receives, as text. */
function collect(clients: LiteClient[]): string[][] {
  return clients.map((client) => {
    const got: string[] = [];
    client.onMessage = (_binary, data) => got.push(data.toString());
    return got;
  });
}

async function brokersAre(nodes: PubsubNode[], state: string, answers = 1): Promise<void> {
  const deadline = performance.now() + 5000;
  for (;;) {
    const statuses = (await Promise.all(nodes.map((node) => node.status(answers)))).flat();
    if (statuses.every((s) => s.state === state)) return;
    if (performance.now() > deadline)
      throw new Error(`brokers not ${state}: ${JSON.stringify(statuses)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("Redis killed mid-run and restarted: local delivery goes on, cross-process resumes within 2 s, dropped = lost", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  // No outage queue: every cross-process message published while Redis is away is dropped, so
  // the count can be compared with what the other processes missed, exactly.
  const nodes = await startNodes(t, 3, { redisUrl: redis.url, maxQueuedMessages: 0 });
  const ports = nodes.map((node) => node.port);
  const clients = await openClients(
    t,
    [ports[0]!, ports[0]!, ports[1]!, ports[1]!, ports[2]!, ports[2]!],
    6,
  );
  await subscribedEverywhere(nodes, [2, 2, 2]);
  const got = collect(clients);
  const everyoneElse = (sender: number, text: string): Promise<void> =>
    until(
      () => got.every((list, r) => r === sender || list.includes(text)),
      `'${text}' everywhere`,
      3000,
    );
  clients[0]!.send(false, Buffer.from("before"));
  await everyoneElse(0, "before");
  await redis.kill();
  await brokersAre(nodes, "down");
  // While Redis is away: each process's publishes reach its own subscribers at once.
  const PER_NODE = 20;
  for (let k = 0; k < PER_NODE; k++)
    for (const sender of [0, 2, 4])
      clients[sender]!.send(false, Buffer.from(`down ${sender} ${k}`));
  await until(
    () => [0, 2, 4].every((sender) => got[sender + 1]!.includes(`down ${sender} ${PER_NODE - 1}`)),
    "local delivery during the outage",
    3000,
  );
  const restartedAt = performance.now();
  await redis.restart();
  await brokersAre(nodes, "up");
  const upAt = Math.max(
    ...nodes.map((node) => node.brokerEvents.filter((e) => e.state === "up").at(-1)!.at),
  );
  assert.ok(
    upAt - restartedAt < 2000,
    `all brokers up ${Math.round(upAt - restartedAt)} ms after Redis came back`,
  );
  clients[2]!.send(false, Buffer.from("after"));
  await everyoneElse(2, "after");
  const resumedIn = performance.now() - restartedAt;
  t.diagnostic(`cross-process delivery resumed ${Math.round(resumedIn)} ms after Redis came back`);
  // What the other processes missed: every message published during the outage (none crossed).
  let lost = 0;
  for (const sender of [0, 2, 4]) {
    for (let k = 0; k < PER_NODE; k++) {
      const text = `down ${sender} ${k}`;
      const crossed = got.some(
        (list, r) => Math.floor(r / 2) !== sender / 2 && list.includes(text),
      );
      if (!crossed) lost++;
      // Local delivery never stopped.
      assert.ok(got[sender + 1]!.includes(text));
    }
  }
  const statuses = (await Promise.all(nodes.map((node) => node.status()))).flat();
  const dropped = statuses.reduce((sum, s) => sum + s.dropped, 0);
  assert.equal(lost, 3 * PER_NODE);
  assert.equal(dropped, lost, "the dropped count equals what was lost");
});

test("one server process killed with SIGKILL: the others keep delivering to their clients", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const nodes = await startNodes(t, 3, { redisUrl: redis.url });
  const ports = nodes.map((node) => node.port);
  const clients = await openClients(
    t,
    [ports[0]!, ports[0]!, ports[1]!, ports[1]!, ports[2]!, ports[2]!],
    6,
  );
  await subscribedEverywhere(nodes, [2, 2, 2]);
  const got = collect(clients);
  await nodes[2]!.kill("SIGKILL");
  await until(
    () => clients[4]!.closed && clients[5]!.closed,
    "the killed process's clients to drop",
    3000,
  );
  for (let k = 0; k < 10; k++) {
    clients[0]!.send(false, Buffer.from(`a${k}`));
    clients[2]!.send(true, Buffer.from(`b${k}`));
  }
  const want = (prefix: string): string[] => Array.from({ length: 10 }, (_, k) => `${prefix}${k}`);
  await until(
    () =>
      got[3]!.filter((m) => m.startsWith("a")).length === 10 &&
      got[1]!.filter((m) => m.startsWith("b")).length === 10,
    "delivery between the survivors",
    3000,
  );
  assert.deepEqual(
    got[1]!.filter((m) => m.startsWith("a")),
    want("a"),
  );
  assert.deepEqual(
    got[3]!.filter((m) => m.startsWith("a")),
    want("a"),
  );
  assert.deepEqual(
    got[1]!.filter((m) => m.startsWith("b")),
    want("b"),
  );
  assert.deepEqual(
    got[2]!.filter((m) => m.startsWith("a")),
    want("a"),
  );
  await brokersAre(nodes.slice(0, 2), "up");
});

test("node:cluster: 2 workers sharing one port with the Redis broker deliver to each other's clients", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const [primary] = await startNodes(t, 1, { redisUrl: redis.url, workers: 2 });
  const clients: LiteClient[] = [];
  t.after(() => {
    for (const client of clients) client.destroy();
  });
  // Connections are spread over the workers by the primary: open until both have two.
  const perWorker = new Map<number, LiteClient[]>();
  for (
    let i = 0;
    i < 40 && [...perWorker.values()].filter((list) => list.length >= 2).length < 2;
    i++
  ) {
    const client = await LiteClient.open(primary!.port);
    clients.push(client);
    const list = perWorker.get(client.serverPid) ?? [];
    list.push(client);
    perWorker.set(client.serverPid, list);
  }
  const workers = [...perWorker.entries()].filter(([, list]) => list.length >= 2);
  assert.equal(workers.length, 2, "both workers took connections on the shared port");
  await brokersAre([primary!], "up", 2);
  const [[, first], [, second]] = workers as [[number, LiteClient[]], [number, LiteClient[]]];
  const gotFirst = collect(first);
  const gotSecond = collect(second);
  // Both workers' brokers are up, with their clients subscribed (on connection).
  first[0]!.send(false, Buffer.from("from the first worker"));
  second[0]!.send(true, Buffer.from("from the second worker"));
  await until(
    () =>
      gotSecond[1]!.includes("from the first worker") &&
      gotFirst[1]!.includes("from the second worker") &&
      gotSecond[0]!.includes("from the first worker") &&
      gotFirst[0]!.includes("from the second worker"),
    "cross-worker delivery",
    3000,
  );
  assert.equal(gotFirst[0]!.includes("from the first worker"), false, "own message excluded");
});
