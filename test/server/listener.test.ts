/**
 * Standalone mode's own listener (src/server/listener.ts): a net.Server that reads request heads
 * with sockwise's parser instead of Node's http.Server. Heads split anywhere, frames in the same
 * chunk as the head, plain requests, limits, peers that vanish mid-head, garbage after a refused
 * request, and shutdown with heads in progress; the request object the application sees is a
 * real http.IncomingMessage, as Node's parser would have built it.
 */
import assert from "node:assert/strict";
import { IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import { OP, buildFrame } from "../helpers/frames.js";
import {
  RawClient,
  SAMPLE_ACCEPT,
  rawRequest,
  requestHead,
  upgradeHeaders,
} from "../helpers/raw-client.js";
import {
  nextConnection,
  sleep,
  startServer,
  startServerIn,
  waitUntil,
  withTimeout,
  tryConnect,
} from "../helpers/server-harness.js";

describe("standalone listener: reading the request head", () => {
  test("G14/G15: a head sent one byte at a time is parsed like one sent whole", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.socket.setNoDelay(true);
    const head = requestHead(
      "GET /split?x=1 HTTP/1.1",
      upgradeHeaders(port, [["X-Long", "v".repeat(300)]]),
    );
    for (const byte of Buffer.from(head, "latin1")) {
      client.write(Uint8Array.of(byte));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const response = await client.readResponse();
    assert.equal(response.status, 101);
    assert.equal(response.header("Sec-WebSocket-Accept"), SAMPLE_ACCEPT);
    const { request } = await accepted;
    assert.equal(request.url, "/split?x=1");
    assert.equal(request.headers["x-long"], "v".repeat(300));
  });

  test("G12/G14: frames in the same TCP chunk as the head reach the application", async (t) => {
    const { server, port } = await startServer(t);
    const messages: unknown[] = [];
    server.on("connection", (socket) => {
      socket.binaryType = "nodebuffer";
      socket.addEventListener("message", (event) => messages.push(event.data));
    });
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    const head = Buffer.from(requestHead("GET / HTTP/1.1", upgradeHeaders(port)), "latin1");
    const frames = [
      buildFrame({ opcode: OP.text, payload: "early", maskKey: Uint8Array.of(1, 2, 3, 4) }),
      buildFrame({ opcode: OP.binary, payload: "bird", maskKey: Uint8Array.of(5, 6, 7, 8) }),
    ];
    client.write(Buffer.concat([head, ...frames]));
    assert.equal((await client.readResponse()).status, 101);
    await waitUntil(() => messages.length === 2, "both messages");
    assert.equal(messages[0], "early");
    assert.deepEqual(messages[1], Buffer.from("bird"));
  });

  test("G14: the request is a real IncomingMessage with what Node's parser would give", async (t) => {
    const extra: [string, string][] = [
      ["X-Dup", "a"],
      ["x-dup", "b"],
      ["Set-Cookie", "c=1"],
      ["Set-Cookie", "d=2"],
      ["Origin", "https://app.test"],
    ];
    const seen: Record<string, unknown>[] = [];
    for (const mode of ["standalone", "attached"] as const) {
      const { server, port } = await startServerIn(mode, t);
      const accepted = nextConnection(server);
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      client.write(requestHead("GET /path?q=1 HTTP/1.1", upgradeHeaders(port, extra)));
      assert.equal((await client.readResponse()).status, 101);
      const { request } = await accepted;
      assert.ok(request instanceof IncomingMessage);
      assert.equal(request.socket.remotePort, client.socket.localPort);
      seen.push({
        method: request.method,
        url: request.url,
        httpVersion: request.httpVersion,
        httpVersionMajor: request.httpVersionMajor,
        httpVersionMinor: request.httpVersionMinor,
        upgrade: (request as IncomingMessage & { upgrade: boolean }).upgrade,
        complete: request.complete,
        // Ports differ between the two servers.
        rawHeaders: request.rawHeaders.map((v) => v.replace(/:\d+$/, ":PORT")),
        headers: { ...request.headers, host: "H" },
        headersDistinct: { ...request.headersDistinct, host: ["H"] },
      });
    }
    assert.deepEqual(seen[0], seen[1]);
    assert.deepEqual((seen[0]!["headers"] as Record<string, unknown>)["x-dup"], "a, b");
  });

  test("G14: an authenticate hook that reads the request stream sees it end (no body)", async (t) => {
    const { port } = await startServer(t, {
      authenticate: async (request) => {
        let bytes = 0;
        for await (const chunk of request) bytes += (chunk as Buffer).length;
        return bytes === 0;
      },
    });
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    assert.equal((await client.upgrade()).status, 101);
  });

  test("G15: one header line longer than 8 KiB fits when the head is within maxHeaderBytes (as with http.Server)", async (t) => {
    const { port } = await startServer(t);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    assert.equal((await client.upgrade("/", [["X-Big", "b".repeat(12 * 1024)]])).status, 101);
  });

  test("G15/P9: a head over maxHeaderBytes gets 431 even when it arrives in small pieces", async (t) => {
    const { port } = await startServer(t, { maxHeaderBytes: 1024 });
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    const head = requestHead("GET / HTTP/1.1", upgradeHeaders(port, [["X-Big", "a".repeat(2000)]]));
    for (let i = 0; i < head.length && !client.closed; i += 100) {
      client.write(head.slice(i, i + 100));
      await sleep(1);
    }
    const response = await client.readResponse();
    assert.equal(response.status, 431);
    await client.waitForClose();
  });

  test("G15/P9: a head that trickles in slower than handshakeTimeoutMs gets 408, at the timeout", async (t) => {
    const { server, port } = await startServer(t, { handshakeTimeoutMs: 200 });
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    const started = performance.now();
    const head = requestHead("GET / HTTP/1.1", upgradeHeaders(port));
    let sent = 0;
    while (!client.ended && !client.closed && sent < head.length) {
      client.write(head[sent++]!);
      await sleep(20);
    }
    const response = await client.readResponse();
    assert.equal(response.status, 408);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 1000, `408 after ${Math.round(elapsed)} ms`);
    await client.waitForClose();
    assert.equal(server.clients.size, 0);
  });

  test("G13: a head the peer ends (FIN) before the blank line gets 400 and the connection closes", async (t) => {
    const { port } = await startServer(t);
    const client = await RawClient.open(port, { allowHalfOpen: true });
    t.after(() => client.destroy());
    client.write("GET / HTTP/1.1\r\nHost: a\r\n");
    client.end();
    assert.equal((await client.readResponse()).status, 400);
    await client.waitForEnd();
  });
});

describe("standalone listener: requests that are not upgrades", () => {
  test("G3: a plain GET gets 426 with Upgrade: websocket, Connection: close, and the connection ends", async (t) => {
    const { server, port } = await startServer(t);
    let connections = 0;
    server.on("connection", () => connections++);
    const response = await rawRequest(port, "GET /page HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(response.status, 426);
    assert.equal(response.header("Upgrade"), "websocket");
    assert.match(response.header("Connection") ?? "", /close/i);
    assert.match(response.body, /WebSocket endpoint/);
    assert.equal(response.connectionEnded, true);
    assert.equal(connections, 0);
  });

  test("G3: HEAD gets the 426 headers (Content-Length of the GET answer) without a body", async (t) => {
    const { port } = await startServer(t);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    const chunks: Buffer[] = [];
    client.socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    client.write("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    await client.waitForClose();
    const text = Buffer.concat(chunks).toString("latin1");
    assert.match(text, /^HTTP\/1\.1 426 /);
    assert.equal(text.indexOf("\r\n\r\n"), text.length - 4, "nothing after the head");
    const length = /\r\ncontent-length: (\d+)\r\n/i.exec(text)?.[1];
    assert.ok(Number(length) > 0, "Content-Length says what GET would get");
  });

  test("G3/G13: a broken handshake (no Connection: upgrade) gets 400 with the reason", async (t) => {
    const { port } = await startServer(t);
    const headers = upgradeHeaders(port).filter(([name]) => name !== "Connection");
    const response = await rawRequest(port, requestHead("GET / HTTP/1.1", headers));
    assert.equal(response.status, 400);
    assert.match(response.body, /Connection/);
    assert.equal(response.connectionEnded, true);
  });

  test("G13: garbage pipelined after a refused request gets no second answer; the server keeps serving", async (t) => {
    const { server, port } = await startServer(t);
    const errors: unknown[] = [];
    server.on("error", (error) => errors.push(error));
    for (const first of [
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "HELLO\r\n\r\n",
      requestHead("POST / HTTP/1.1", upgradeHeaders(port)),
    ]) {
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      client.write(first + "\x00\xff garbage\r\n\r\nGET / HTTP/1.1\r\nHost: y\r\n\r\n");
      client.write(Buffer.alloc(64 * 1024, 0x41));
      const response = await client.readResponse();
      assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}`);
      await client.waitForClose();
      const rest = await client.readResponse(50).catch(() => undefined);
      assert.equal(rest, undefined, "one answer only");
    }
    const later = await RawClient.open(port);
    t.after(() => later.destroy());
    assert.equal((await later.upgrade()).status, 101);
    assert.deepEqual(errors, []);
  });
});

describe("standalone listener: peers that vanish mid-head (P9)", () => {
  test("P9: a peer that resets mid-head crashes nothing and frees its per-address slot", async (t) => {
    const { server, port } = await startServer(t, { maxHandshakesPerIp: 1 });
    for (let i = 0; i < 5; i++) {
      const client = await RawClient.open(port);
      client.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr");
      await sleep(10);
      client.reset();
      await client.waitForClose();
    }
    // The only slot of 127.0.0.1 is free again: an upgrade succeeds (not 503).
    const accepted = nextConnection(server);
    const client = await withTimeout(
      (async () => {
        for (;;) {
          const attempt = await RawClient.open(port);
          const response = await attempt.upgrade();
          if (response.status === 101) return attempt;
          attempt.destroy();
          await sleep(10);
        }
      })(),
      "a free slot",
    );
    t.after(() => client.destroy());
    await accepted;
  });

  test("P9: a peer that closes before sending anything is forgotten", async (t) => {
    const { server, port } = await startServer(t, { maxHandshakesPerIp: 1 });
    for (let i = 0; i < 5; i++) {
      const client = await RawClient.open(port);
      client.destroy();
      await client.waitForClose();
    }
    await sleep(20);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    assert.equal((await client.upgrade()).status, 101);
    await waitUntil(() => server.clients.size === 1, "one client");
  });
});

describe("standalone listener: shutdown", () => {
  test("G15: close() answers heads in progress 503, stops listening, and resolves without waiting for them", async (t) => {
    const { server, port } = await startServer(t, { handshakeTimeoutMs: 10_000 });
    const open = await RawClient.connect(port);
    t.after(() => open.destroy());
    const partial: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      client.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      partial.push(client);
    }
    const silent = await RawClient.open(port);
    t.after(() => silent.destroy());
    await waitUntil(() => server.clients.size === 1, "one client");
    const started = performance.now();
    const closing = server.close({ timeoutMs: 300 });
    for (const client of partial) {
      const response = await client.readResponse();
      assert.equal(response.status, 503);
      await client.waitForEnd();
    }
    assert.equal((await silent.readResponse()).status, 503);
    open.sendClose(1000);
    assert.deepEqual(await withTimeout(closing, "the shutdown"), { clean: 1, forced: 0 });
    assert.ok(performance.now() - started < 2000, "it did not wait for the handshake timeout");
    assert.equal(await tryConnect(port), "ECONNREFUSED");
    assert.equal(server.address(), null);
  });
});
