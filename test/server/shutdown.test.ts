/**
 * Graceful shutdown (`server.close({ code, reason, timeoutMs })`) and the close timeout: the
 * server stops accepting, closes every connection with the closing handshake, forces the
 * clients that do not answer at the deadline, and leaves an attached HTTP server running.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocketServer } from "../../src/index.js";
import { CLIENT_KINDS, type PeerClient } from "../helpers/peer-clients.js";
import { RawClient, rawRequest, requestHead, upgradeHeaders } from "../helpers/raw-client.js";
import {
  nextConnection,
  openConnections,
  sleep,
  startHttpServer,
  startServer,
  startServerIn,
  waitUntil,
  withTimeout,
  tryConnect,
} from "../helpers/server-harness.js";

describe("graceful shutdown", () => {
  test("500 connections from clients that answer all close cleanly with the given code and reason, none forced", async (t) => {
    const { server, url, port } = await startServer(t);
    const clients: PeerClient[] = [];
    // Open in batches of 50 so the accept backlog never overflows.
    for (let batch = 0; batch < 10; batch++) {
      const opened = await withTimeout(
        Promise.all(
          Array.from({ length: 50 }, (_, i) => CLIENT_KINDS[(batch * 50 + i) % 3]!.open(url())),
        ),
        "a batch of 50 clients to open",
        10_000,
      );
      clients.push(...opened);
    }
    assert.equal(server.clients.size, 500);
    const started = performance.now();
    const result = await withTimeout(
      server.close({ code: 1001, reason: "restarting", timeoutMs: 5000 }),
      "the shutdown",
      10_000,
    );
    assert.deepEqual(result, { clean: 500, forced: 0 });
    assert.ok(performance.now() - started < 4000, "it did not wait for the deadline");
    const seen = await withTimeout(
      Promise.all(clients.map((client) => client.closed)),
      "every client to see the close",
    );
    for (const close of seen)
      assert.deepEqual(close, { code: 1001, reason: "restarting", wasClean: true });
    assert.equal(server.clients.size, 0);
    // It stopped accepting: the port is closed.
    assert.equal(await tryConnect(port), "ECONNREFUSED");
  });

  test("clients that never answer the Close are all forced at the deadline", async (t) => {
    const { server, port } = await startServer(t);
    const raws = await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(port)));
    t.after(() => raws.forEach((raw) => raw.destroy()));
    await waitUntil(() => server.clients.size === 100, "100 clients");
    const sockets = [...server.clients];
    const started = performance.now();
    const result = await withTimeout(
      server.close({ code: 1001, reason: "bye", timeoutMs: 300 }),
      "the shutdown",
    );
    const elapsed = performance.now() - started;
    assert.deepEqual(result, { clean: 0, forced: 100 });
    assert.ok(elapsed >= 290 && elapsed < 1500, `resolved after ${Math.round(elapsed)} ms`);
    for (const raw of raws) {
      assert.deepEqual(await raw.nextClose(), { code: 1001, reason: "bye" });
      await raw.waitForClose();
    }
    for (const socket of sockets) {
      const info = await socket.closed;
      assert.equal(info.wasClean, false);
      assert.equal(info.code, 1006);
      assert.equal(info.sentCode, 1001);
      assert.equal(info.cause?.code, "ERR_WS_SHUTDOWN_TIMEOUT");
    }
  });

  test("a mix: answering clients close cleanly, silent ones are forced", async (t) => {
    const { server, port, url } = await startServer(t);
    const good = await Promise.all(CLIENT_KINDS.map((kind) => kind.open(url())));
    const silent = await Promise.all([RawClient.connect(port), RawClient.connect(port)]);
    t.after(() => silent.forEach((raw) => raw.destroy()));
    await waitUntil(() => server.clients.size === 5, "five clients");
    const result = await withTimeout(server.close({ timeoutMs: 300 }), "the shutdown");
    assert.deepEqual(result, { clean: 3, forced: 2 });
    for (const client of good) assert.equal((await client.closed).code, 1001);
  });

  test("the default code is 1001 with no reason", async (t) => {
    const { server, port } = await startServer(t);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    await waitUntil(() => server.clients.size === 1, "one client");
    const closing = server.close({ timeoutMs: 1000 });
    assert.deepEqual(await raw.nextClose(), { code: 1001, reason: "" });
    raw.sendClose(1001);
    assert.deepEqual(await withTimeout(closing, "shutdown"), { clean: 1, forced: 0 });
  });

  test("during shutdown new TCP connections are refused and a handshake in progress gets 503", async (t) => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { server, port } = await startServer(t, {
      authenticate: async () => {
        calls++;
        await gate;
        return true;
      },
    });
    const pending = await RawClient.open(port);
    t.after(() => pending.destroy());
    pending.write(requestHead("GET / HTTP/1.1", upgradeHeaders(port)));
    await waitUntil(() => calls === 1, "authenticate to run");
    const closing = server.close({ timeoutMs: 200 });
    const response = await pending.readResponse();
    assert.equal(response.status, 503);
    release();
    assert.equal(await tryConnect(port), "ECONNREFUSED");
    assert.deepEqual(await withTimeout(closing, "shutdown"), { clean: 0, forced: 0 });
    assert.equal(server.clients.size, 0);
  });

  test("close() twice returns the same promise; 'close' is emitted once; handleUpgrade afterwards answers 503", async (t) => {
    const server = new WebSocketServer({ noServer: true, heartbeat: false });
    let closes = 0;
    server.on("close", () => closes++);
    const first = server.close();
    assert.equal(server.close({ code: 4000 }), first);
    await withTimeout(first, "shutdown");
    assert.equal(closes, 1);
    const { http, port } = await startHttpServer(t);
    const results: Promise<unknown>[] = [];
    http.on("upgrade", (request, socket, head: Buffer) => {
      results.push(server.handleUpgrade(request, socket, head));
    });
    const response = await rawRequest(port, requestHead("GET / HTTP/1.1", upgradeHeaders(port)));
    assert.equal(response.status, 503);
    assert.equal(await results[0], undefined);
  });

  test("close() right after the constructor never leaves the port listening", async () => {
    const server = new WebSocketServer({ port: 0, host: "127.0.0.1", heartbeat: false });
    await withTimeout(server.close(), "shutdown");
    await sleep(50); // time for a listen() that was still under way to complete
    assert.equal(server.address(), null);
  });

  test("an invalid shutdown code or reason throws before anything is shut down", async (t) => {
    const { server, url } = await startServer(t);
    for (const code of [1005, 1006, 1015, 999, 5000]) {
      assert.throws(() => server.close({ code }), {
        name: "RangeError",
        code: "ERR_WS_INVALID_CLOSE_CODE",
      });
    }
    assert.throws(() => server.close({ reason: "x".repeat(124) }), {
      code: "ERR_WS_INVALID_CLOSE_REASON",
    });
    assert.throws(() => server.close({ timeoutMs: -1 }), { code: "ERR_WS_INVALID_OPTION" });
    // Still serving.
    const client = await CLIENT_KINDS[0]!.open(url());
    const result = await withTimeout(server.close({ code: 1012, timeoutMs: 1000 }), "shutdown");
    assert.deepEqual(result, { clean: 1, forced: 0 });
    assert.equal((await client.closed).code, 1012);
  });
});

describe("attached: the HTTP server stays with its owner", () => {
  test("shutdown closes the WebSocket connections but not the HTTP server or its other connections", async (t) => {
    const { http, port } = await startHttpServer(t, (_request, response) => response.end("page"));
    const server = new WebSocketServer({ server: http, heartbeat: false });
    const clients = await Promise.all(
      CLIENT_KINDS.map((kind) => kind.open(`ws://127.0.0.1:${port}/`)),
    );
    const keepAlive = await RawClient.open(port);
    t.after(() => keepAlive.destroy());
    keepAlive.write("GET /page HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await keepAlive.readResponse()).body, "page");
    assert.equal(await openConnections(http), 4);
    const result = await withTimeout(server.close({ timeoutMs: 1000 }), "shutdown");
    assert.deepEqual(result, { clean: 3, forced: 0 });
    await waitUntil(() => server.clients.size === 0, "no clients");
    assert.equal(http.listening, true);
    // The owner's keep-alive connection is untouched and still serves.
    keepAlive.write("GET /page HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await keepAlive.readResponse()).body, "page");
    await waitUntil(() => clients.every((client) => client.readyState === 3), "clients closed");
  });
});

describe("close timeout (L14)", () => {
  test("L14: an unanswered Close ends TCP after closeTimeoutMs: 1006, not clean, ERR_WS_CLOSE_TIMEOUT", async (t) => {
    const { server, port } = await startServer(t, { closeTimeoutMs: 150 });
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    const started = performance.now();
    socket.close(4000, "answer me");
    assert.deepEqual(await raw.nextClose(), { code: 4000, reason: "answer me" });
    const info = await withTimeout(socket.closed, "the close timeout", 2000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 1000, `dropped after ${Math.round(elapsed)} ms`);
    assert.deepEqual(
      {
        code: info.code,
        wasClean: info.wasClean,
        initiator: info.initiator,
        cause: info.cause?.code,
      },
      { code: 1006, wasClean: false, initiator: "local", cause: "ERR_WS_CLOSE_TIMEOUT" },
    );
    await raw.waitForClose();
  });

  test("L11: an answered Close ends TCP at once, long before closeTimeoutMs", async (t) => {
    const { server, port } = await startServer(t, { closeTimeoutMs: 5000 });
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    socket.close(1000);
    await raw.nextClose();
    const answered = performance.now();
    raw.sendClose(1000);
    await raw.waitForEnd();
    assert.ok(performance.now() - answered < 500);
    assert.equal((await socket.closed).wasClean, true);
  });

  test("L11/L16: after the exchange the server sends FIN at once; a client that never closes its side is released after the TCP wait (2 s), still clean", async (t) => {
    const { server, port, http } = await startServerIn("attached", t, { closeTimeoutMs: 150 });
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port, "/", [], { allowHalfOpen: true });
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    raw.sendClose(1000, "client first");
    const sent = performance.now();
    assert.deepEqual(await raw.nextClose(), { code: 1000, reason: "client first" });
    await raw.waitForEnd();
    assert.ok(performance.now() - sent < 100, "the FIN follows the echo at once");
    assert.equal(await openConnections(http!), 1, "the server still holds the socket");
    const info = await withTimeout(socket.closed, "the TCP wait", 4000);
    const elapsed = performance.now() - sent;
    assert.ok(elapsed >= 1900 && elapsed < 3000, `released after ${Math.round(elapsed)} ms`);
    assert.deepEqual(
      { code: info.code, wasClean: info.wasClean, initiator: info.initiator },
      { code: 1000, wasClean: true, initiator: "remote" },
    );
    // The server released its socket (the client is left in CLOSE_WAIT, its own business).
    await waitUntil(async () => (await openConnections(http!)) === 0, "the server socket to go");
  });
});
