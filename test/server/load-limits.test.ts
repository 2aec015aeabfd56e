/**
 * Issue 16 item 1: the protections that remain once the defaults serve reconnect storms
 * (SPEC.md G15, P9). Heads in progress are bounded in all (`maxHandshakes`; the oldest stalled
 * head is dropped first), stalled heads per address (`maxHandshakesPerIp`), upgrades waiting for
 * `authenticate` per client address, read from `Forwarded`/`X-Forwarded-For` only behind a
 * trusted proxy; every 503 says which limit it was (`Sockwise-Refused`, the `refused` event,
 * and `closeDetails()` on a sockwise client).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  WebSocket,
  closeDetails,
  type RefusalInfo,
  type WebSocketServerOptions,
} from "../../src/index.js";
import { RawClient, requestHead, upgradeHeaders } from "../helpers/raw-client.js";
import { startServer, waitUntil, withTimeout } from "../helpers/server-harness.js";

const PARTIAL_HEAD = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso";

async function serverWithEvents(
  t: Parameters<typeof startServer>[0],
  options: Omit<WebSocketServerOptions, "port" | "server" | "noServer">,
): Promise<{ port: number; refusals: RefusalInfo[] }> {
  const { server, port } = await startServer(t, options);
  const refusals: RefusalInfo[] = [];
  server.on("refused", (info) => refusals.push(info));
  return { port, refusals };
}

describe("handshakes in progress (issue 16 item 1, G15)", () => {
  test("G15: beyond maxHandshakes the oldest stalled heads are dropped (503, Sockwise-Refused: maxHandshakes); complete heads still connect", async (t) => {
    const { port, refusals } = await serverWithEvents(t, {
      maxHandshakes: 10,
      handshakeTimeoutMs: 10_000,
    });
    const stalled: RawClient[] = [];
    for (let i = 0; i < 15; i++) {
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      client.write(PARTIAL_HEAD);
      stalled.push(client);
      // Each head is read (and found incomplete) before the next connection arrives.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitUntil(() => refusals.length >= 5, "five heads dropped");
    // The five oldest made room for the newer ones.
    for (const client of stalled.slice(0, 5)) {
      const response = await client.readResponse();
      assert.equal(response.status, 503);
      assert.equal(response.header("sockwise-refused"), "maxHandshakes");
      assert.equal(response.header("retry-after"), "5");
    }
    assert.deepEqual(
      refusals.map((refusal) => refusal.reason),
      Array(5).fill("maxHandshakes"),
    );
    // A client that sends its head at once is served even though ten heads are stalled.
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    assert.equal((await client.upgrade()).status, 101);
    for (const later of stalled.slice(5)) assert.equal(later.closed, false);
  });

  test("G15: fresh connections are never refused for maxHandshakes; once silent ones stall, the oldest beyond the limit is dropped", async (t) => {
    // handshakeTimeoutMs 2 000 → a sweep every 500 ms: silent heads stall after 0.5–1 s.
    const { port, refusals } = await serverWithEvents(t, {
      maxHandshakes: 2,
      handshakeTimeoutMs: 2_000,
    });
    const silent: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      silent.push(client);
    }
    // A burst: more than maxHandshakes in progress, none refused, and a complete head is served.
    const complete = await RawClient.open(port);
    t.after(() => complete.destroy());
    assert.equal((await complete.upgrade()).status, 101);
    assert.equal(refusals.length, 0);
    await waitUntil(() => refusals.length === 1, "the oldest silent head to be dropped", 3000);
    assert.equal(refusals[0]?.reason, "maxHandshakes");
    const first = await silent[0]!.readResponse();
    assert.equal(first.status, 503);
    assert.equal(first.header("sockwise-refused"), "maxHandshakes");
    assert.equal(silent[1]!.closed || silent[2]!.closed, false);
  });
});

describe("stalled heads per address (issue 16 item 1, P9)", () => {
  test("P9: an address with maxHandshakesPerIp stalled heads gets 503; a sockwise client sees the reason in closeDetails", async (t) => {
    const { port, refusals } = await serverWithEvents(t, {
      maxHandshakesPerIp: 3,
      handshakeTimeoutMs: 10_000,
    });
    for (let i = 0; i < 3; i++) {
      const loris = await RawClient.open(port);
      t.after(() => loris.destroy());
      loris.write(PARTIAL_HEAD);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await withTimeout(
      new Promise((resolve) => ws.addEventListener("close", resolve)),
      "the refused client to close",
    );
    const details = closeDetails(ws);
    assert.equal(details?.code, 1006);
    assert.equal(details?.cause?.response?.status, 503);
    const header = details?.cause?.response?.headers.find(
      ([name]) => name.toLowerCase() === "sockwise-refused",
    );
    assert.equal(header?.[1], "maxHandshakesPerIp");
    assert.deepEqual(refusals, [
      { reason: "maxHandshakesPerIp", status: 503, address: "127.0.0.1" },
    ]);
  });

  test("P9: a connection that sends nothing counts as stalled once a sweep has seen it twice; it is then refused over the limit", async (t) => {
    // handshakeTimeoutMs 800 → a sweep every 200 ms: stalled after 200–400 ms, 408 at 800 ms.
    const { port, refusals } = await serverWithEvents(t, {
      maxHandshakesPerIp: 2,
      handshakeTimeoutMs: 800,
    });
    const silent: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      silent.push(client);
    }
    await waitUntil(() => refusals.length === 1, "one silent connection refused");
    assert.equal(refusals[0]?.reason, "maxHandshakesPerIp");
    const statuses = await Promise.all(
      silent.map(async (client) => (await client.readResponse()).status),
    );
    // One over the limit is refused at once; the others reach the head timeout (408).
    assert.deepEqual([...statuses].sort(), [408, 408, 503]);
  });

  test("P9: complete heads from an address that is at its limit of stalled heads are refused; elsewhere they pass", async (t) => {
    const { port } = await serverWithEvents(t, { maxHandshakesPerIp: 1 });
    const loris = await RawClient.open(port);
    t.after(() => loris.destroy());
    loris.write(PARTIAL_HEAD);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await RawClient.open(port);
    t.after(() => refused.destroy());
    assert.equal((await refused.upgrade()).status, 503);
    // Once the stalled head leaves, the address is served again.
    loris.destroy();
    await loris.waitForClose();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const served = await RawClient.open(port);
    t.after(() => served.destroy());
    assert.equal((await served.upgrade()).status, 101);
  });
});

describe("trusted proxies (issue 16 item 1, P9)", () => {
  /** A server whose authenticate hook waits until released, so upgrades stay in progress. */
  async function waitingServer(
    t: Parameters<typeof startServer>[0],
    trustedProxies: readonly string[] | undefined,
  ): Promise<{ port: number; refusals: RefusalInfo[] }> {
    const releases: (() => void)[] = [];
    t.after(() => {
      for (const release of releases) release();
    });
    return serverWithEvents(t, {
      maxHandshakesPerIp: 2,
      handshakeTimeoutMs: 5_000,
      ...(trustedProxies === undefined ? {} : { trustedProxies }),
      authenticate: () => new Promise<boolean>((resolve) => releases.push(() => resolve(true))),
    });
  }

  async function upgradeFrom(
    t: Parameters<typeof startServer>[0],
    port: number,
    forwarded: readonly (readonly [string, string])[],
  ): Promise<RawClient> {
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write(requestHead("GET / HTTP/1.1", upgradeHeaders(port, forwarded)));
    return client;
  }

  test("P9: behind a trusted proxy, upgrades waiting for authenticate count per forwarded client address", async (t) => {
    const { port, refusals } = await waitingServer(t, ["127.0.0.1"]);
    await upgradeFrom(t, port, [["X-Forwarded-For", "203.0.113.7"]]);
    await upgradeFrom(t, port, [["X-Forwarded-For", "198.51.100.1, 203.0.113.7"]]);
    const third = await upgradeFrom(t, port, [["Forwarded", 'for="203.0.113.7:4711"']]);
    const response = await third.readResponse();
    assert.equal(response.status, 503);
    assert.equal(response.header("sockwise-refused"), "maxHandshakesPerIp");
    assert.deepEqual(refusals, [
      { reason: "maxHandshakesPerIp", status: 503, address: "203.0.113.7" },
    ]);
    // Another client behind the same proxy is not held back by the first one's.
    const other = await upgradeFrom(t, port, [["X-Forwarded-For", "2001:db8::1"]]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(other.closed, false);
    assert.equal(refusals.length, 1);
  });

  test("P9: without trustedProxies the forwarding headers are ignored (anyone can write them)", async (t) => {
    const { port, refusals } = await waitingServer(t, undefined);
    await upgradeFrom(t, port, [["X-Forwarded-For", "203.0.113.1"]]);
    await upgradeFrom(t, port, [["X-Forwarded-For", "203.0.113.2"]]);
    const third = await upgradeFrom(t, port, [["X-Forwarded-For", "203.0.113.3"]]);
    assert.equal((await third.readResponse()).status, 503);
    assert.deepEqual(refusals, [
      { reason: "maxHandshakesPerIp", status: 503, address: "127.0.0.1" },
    ]);
  });

  test("trustedProxies accepts IP addresses only", async () => {
    const { WebSocketServer } = await import("../../src/index.js");
    assert.throws(() => new WebSocketServer({ noServer: true, trustedProxies: ["nginx"] }), {
      code: "ERR_WS_INVALID_OPTION",
    });
  });
});
