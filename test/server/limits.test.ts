/**
 * Limits on what a client can make the server hold (SPEC.md G15, P5, P9): the request head's
 * size (431) and time (slow-loris), the number of connections (503), the size of a message and
 * the number of its fragments (1009).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OP } from "../helpers/frames.js";
import { CLIENT_KINDS } from "../helpers/peer-clients.js";
import { RawClient, rawRequest, requestHead, upgradeHeaders } from "../helpers/raw-client.js";
import {
  SocketEvents,
  nextConnection,
  startServer,
  startServerIn,
  waitUntil,
  withTimeout,
} from "../helpers/server-harness.js";

describe("request head (standalone)", () => {
  test("G15/P9: a slow-loris client that sends half a request head and stops is dropped at handshakeTimeoutMs", async (t) => {
    const { server, port } = await startServer(t, { handshakeTimeoutMs: 150 });
    const loris = await RawClient.open(port);
    t.after(() => loris.destroy());
    const started = performance.now();
    loris.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso");
    await loris.waitForClose(2000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 1000, `dropped after ${Math.round(elapsed)} ms`);
    // It is told why before the connection closes.
    assert.equal((await loris.readResponse()).status, 408);
    // Other clients are served meanwhile and after.
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    await accepted;
  });

  test("P9/G15 (★): at most maxHandshakesPerIp connections from one address may be mid-handshake; the next gets 503 with Retry-After", async (t) => {
    const { server, port } = await startServer(t, { maxHandshakesPerIp: 3 });
    // Three slow request heads from 127.0.0.1 hold every slot of that address.
    const lorises: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const loris = await RawClient.open(port);
      t.after(() => loris.destroy());
      loris.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso");
      lorises.push(loris);
    }
    const refused = await RawClient.open(port);
    t.after(() => refused.destroy());
    const response = await refused.readResponse();
    assert.equal(response.status, 503);
    assert.equal(response.header("retry-after"), "5");
    await refused.waitForClose();
    // One slot frees when a slow client leaves; an upgrade then succeeds, and once open it no
    // longer counts as a handshake in progress.
    lorises[0]!.destroy();
    await lorises[0]!.waitForClose();
    const accepted = nextConnection(server);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    assert.equal((await client.upgrade()).status, 101);
    await accepted;
    lorises[1]!.destroy();
    await lorises[1]!.waitForClose();
    const second = await RawClient.open(port);
    t.after(() => second.destroy());
    assert.equal((await second.upgrade()).status, 101);
  });

  test("G15/P9: a request head over maxHeaderBytes gets 431", async (t) => {
    const { port } = await startServer(t, { maxHeaderBytes: 2048 });
    const big = requestHead("GET / HTTP/1.1", upgradeHeaders(port, [["X-Big", "a".repeat(3000)]]));
    const response = await rawRequest(port, big);
    assert.equal(response.status, 431);
    assert.equal(response.connectionEnded, true);
    const fits = requestHead("GET / HTTP/1.1", upgradeHeaders(port, [["X-Big", "a".repeat(1000)]]));
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write(fits);
    assert.equal((await client.readResponse()).status, 101);
  });

  test("P9: a request head that never ends (endless header lines) gets 431 and the connection closes", async (t) => {
    const { port } = await startServer(t, { maxHeaderBytes: 4096 });
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write("GET / HTTP/1.1\r\n");
    for (let i = 0; i < 200 && !client.closed; i++)
      client.write(`X-Filler-${i}: ${"z".repeat(40)}\r\n`);
    const response = await client.readResponse();
    assert.equal(response.status, 431);
    await client.waitForClose();
  });
});

describe("maxConnections", () => {
  test("G15: beyond maxConnections the server answers 503 with Retry-After; a freed slot is reused", async (t) => {
    const { server, port } = await startServer(t, { maxConnections: 2 });
    const first = await RawClient.connect(port);
    const second = await RawClient.connect(port);
    t.after(() => first.destroy());
    t.after(() => second.destroy());
    await waitUntil(() => server.clients.size === 2, "two clients");
    const refused = await rawRequest(port, requestHead("GET / HTTP/1.1", upgradeHeaders(port)));
    assert.equal(refused.status, 503);
    assert.ok(refused.header("Retry-After") !== undefined);
    assert.equal(refused.connectionEnded, true);
    assert.equal(server.clients.size, 2);

    first.sendClose(1000);
    await first.nextClose();
    await waitUntil(() => server.clients.size === 1, "a slot to free up");
    const third = await RawClient.connect(port);
    t.after(() => third.destroy());
    assert.equal(server.clients.size, 2);
  });
});

describe("message size and fragments (P5, H5, I11)", () => {
  const LIMIT = 1000;

  for (const mode of ["standalone", "attached"] as const) {
    test(`P5: a message of exactly maxMessageBytes is delivered; one byte more fails with 1009 (${mode})`, async (t) => {
      const { server, port } = await startServerIn(mode, t, { maxMessageBytes: LIMIT });
      const accepted = nextConnection(server);
      const client = await RawClient.connect(port);
      t.after(() => client.destroy());
      const { socket } = await accepted;
      const events = new SocketEvents(socket);
      client.sendBinary(new Uint8Array(LIMIT));
      assert.equal(((await events.next("message")).data as ArrayBuffer).byteLength, LIMIT);
      client.sendBinary(new Uint8Array(LIMIT + 1));
      assert.deepEqual(await client.nextClose(), { code: 1009, reason: "" });
      await client.waitForEnd();
      const info = await withTimeout(socket.closed, "closed");
      assert.equal(info.code, 1006);
      assert.equal(info.wasClean, false);
      assert.equal(info.sentCode, 1009);
      assert.equal(info.cause?.code, "ERR_WS_MESSAGE_TOO_BIG");
      await events.next("close");
      assert.deepEqual(events.types(), ["message", "close"]);
    });
  }

  test("H5/P6: a declared length over the limit fails with 1009 before any payload is sent", async (t) => {
    const { server, port } = await startServer(t, { maxMessageBytes: LIMIT });
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    client.sendFrame({ opcode: OP.binary, declaredLength: 2 ** 40 });
    assert.deepEqual(await client.nextClose(), { code: 1009, reason: "" });
    assert.equal((await socket.closed).cause?.code, "ERR_WS_MESSAGE_TOO_BIG");
  });

  test("I11: fragments that add up to more than the limit fail with 1009", async (t) => {
    const { server, port } = await startServer(t, { maxMessageBytes: LIMIT });
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const events = new SocketEvents(socket);
    client.sendFrame({ opcode: OP.text, fin: false, payload: "a".repeat(600) });
    client.sendFrame({ opcode: OP.cont, fin: true, payload: "a".repeat(401) });
    assert.deepEqual(await client.nextClose(), { code: 1009, reason: "" });
    assert.equal((await socket.closed).cause?.code, "ERR_WS_MESSAGE_TOO_BIG");
    await events.next("close");
    assert.deepEqual(events.types(), ["close"]);
  });

  test("I11: more than maxFragments frames in one message fail with 1009; exactly maxFragments is fine", async (t) => {
    const { server, port } = await startServer(t, { maxFragments: 8 });
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const events = new SocketEvents(socket);
    client.sendFrame({ opcode: OP.text, fin: false, payload: "0" });
    for (let i = 1; i < 7; i++) client.sendFrame({ opcode: OP.cont, fin: false, payload: `${i}` });
    client.sendFrame({ opcode: OP.cont, fin: true, payload: "7" });
    assert.equal((await events.next("message")).data, "01234567");
    client.sendFrame({ opcode: OP.text, fin: false });
    for (let i = 0; i < 20 && !client.closed; i++)
      client.sendFrame({ opcode: OP.cont, fin: false });
    assert.deepEqual(await client.nextClose(), { code: 1009, reason: "" });
    assert.equal((await socket.closed).cause?.code, "ERR_WS_TOO_MANY_FRAGMENTS");
  });

  for (const kind of CLIENT_KINDS) {
    test(`P5: a ${kind.name} client sending too big a message gets 1009; the server reports the failure`, async (t) => {
      const { server, url } = await startServer(t, { maxMessageBytes: LIMIT });
      const accepted = nextConnection(server);
      const client = await kind.open(url());
      const { socket } = await accepted;
      client.send("x".repeat(LIMIT + 1));
      const seen = await withTimeout(client.closed, "the client's close");
      assert.equal(seen.code, 1009);
      const info = await withTimeout(socket.closed, "the server's close");
      assert.equal(info.code, 1006);
      assert.equal(info.wasClean, false);
      assert.equal(info.cause?.code, "ERR_WS_MESSAGE_TOO_BIG");
      assert.equal(server.clients.size, 0);
    });
  }
});

describe("handshakes in progress per address while authenticate runs (P9)", () => {
  for (const mode of ["attached", "handleUpgrade"] as const) {
    test(`P9/G15 (★) ${mode}: beyond maxHandshakesPerIp undecided upgrades from one address, 503; decided ones free their slot`, async (t) => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let asked = 0;
      const { server, port } = await startServerIn(mode, t, {
        maxHandshakesPerIp: 2,
        authenticate: async () => {
          asked++;
          await gate;
          return true;
        },
      });
      const waiting = [await RawClient.open(port), await RawClient.open(port)];
      for (const client of waiting) {
        t.after(() => client.destroy());
        client.write(requestHead("GET / HTTP/1.1", upgradeHeaders(port)));
      }
      // Both are inside authenticate before the third arrives.
      await waitUntil(() => asked === 2, "both upgrades to reach authenticate");
      const third = await rawRequest(port, requestHead("GET / HTTP/1.1", upgradeHeaders(port)));
      assert.equal(third.status, 503);
      assert.equal(third.header("retry-after"), "5");
      release();
      for (const client of waiting) assert.equal((await client.readResponse()).status, 101);
      // Decided: the address may start new handshakes again.
      const later = await RawClient.open(port);
      t.after(() => later.destroy());
      assert.equal((await later.upgrade()).status, 101);
      assert.equal(server.clients.size, 3);
    });
  }
});
