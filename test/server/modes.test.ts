/**
 * The three ways to run a WebSocketServer: standalone (its own http.Server), attached to an
 * existing HTTP server that also serves ordinary routes (several WebSocket servers routed by
 * path), and `handleUpgrade()` from a framework's 'upgrade' handler.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { WebSocketServer, type ServerWebSocket } from "../../src/index.js";
import { OP } from "../helpers/frames.js";
import { CLIENT_KINDS, OpenError, WS } from "../helpers/peer-clients.js";
import { RawClient, rawRequest, requestHead, upgradeHeaders } from "../helpers/raw-client.js";
import { startHttpServer, startServer, waitUntil, withTimeout } from "../helpers/server-harness.js";
import { buildFrame } from "../helpers/frames.js";

/** GET an ordinary HTTP route; resolves with status and body. */
function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    }),
    `GET ${path}`,
  );
}

const execFileAsync = promisify(execFile);

function echo(server: WebSocketServer): void {
  server.on("connection", (socket) => {
    socket.addEventListener("message", (e) => socket.send(e.data));
  });
}

describe("standalone", () => {
  test("ready() resolves with the bound address; address() is null before listening", async (t) => {
    const server = new WebSocketServer({ port: 0, host: "127.0.0.1", heartbeat: false });
    t.after(() => server.close({ timeoutMs: 100 }));
    assert.equal(server.address(), null);
    const listening = new Promise((resolve) => server.once("listening", resolve));
    const address = await withTimeout(server.ready(), "ready()");
    assert.equal(address.address, "127.0.0.1");
    assert.equal(address.family, "IPv4");
    assert.deepEqual(server.address(), address);
    assert.deepEqual(await withTimeout(listening, "listening event"), address);
  });

  test("ready() rejects and 'error' is emitted when the port is taken", async (t) => {
    const { port } = await startServer(t);
    const second = new WebSocketServer({ port, host: "127.0.0.1", heartbeat: false });
    t.after(() => second.close({ timeoutMs: 100 }));
    const errors: Error[] = [];
    second.on("error", (error) => errors.push(error));
    await assert.rejects(withTimeout(second.ready(), "ready() to reject"), { code: "EADDRINUSE" });
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as NodeJS.ErrnoException).code, "EADDRINUSE");
  });

  test("a plain HTTP request gets 426 Upgrade Required", async (t) => {
    const { port } = await startServer(t);
    const response = await httpGet(port, "/");
    assert.equal(response.status, 426);
  });

  test("G7: with `path`, another path gets 404 and the given path connects", async (t) => {
    const { server, port, url } = await startServer(t, { path: "/ws" });
    echo(server);
    const response = await rawRequest(
      port,
      requestHead("GET /other HTTP/1.1", upgradeHeaders(port)),
    );
    assert.equal(response.status, 404);
    assert.equal(response.connectionEnded, true);
    // The query string is not part of the path.
    const client = await WS.open(url("/ws?token=1"));
    client.send("hi");
    assert.equal(await client.nextMessage(), "hi");
    client.close();
    await withTimeout(client.closed, "close");
  });

  test("G14: frames that arrive in the same TCP segment as the request head are processed", async (t) => {
    const { server, port } = await startServer(t);
    echo(server);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    const frame = buildFrame({
      opcode: OP.text,
      payload: "early",
      maskKey: Uint8Array.of(1, 2, 3, 4),
    });
    client.write(
      Buffer.concat([
        Buffer.from(requestHead("GET / HTTP/1.1", upgradeHeaders(port)), "latin1"),
        frame,
      ]),
    );
    const response = await client.readResponse();
    assert.equal(response.status, 101);
    const echoed = await client.nextFrame();
    assert.equal(echoed.opcode, OP.text);
    assert.equal(echoed.payload.toString(), "early");
  });
});

describe("attached to an existing HTTP server", () => {
  for (const kind of CLIENT_KINDS) {
    test(`shares the port with ordinary routes (${kind.name} client) and leaves the HTTP server to its owner`, async (t) => {
      const { http, port } = await startHttpServer(t, (request, response) => {
        response.end(request.url === "/health" ? "ok" : "other");
      });
      const server = new WebSocketServer({ server: http, path: "/ws", heartbeat: false });
      echo(server);
      assert.deepEqual(await withTimeout(server.ready(), "ready()"), http.address());
      assert.deepEqual(server.address(), http.address());

      assert.deepEqual(await httpGet(port, "/health"), { status: 200, body: "ok" });
      const client = await kind.open(`ws://127.0.0.1:${port}/ws`);
      client.send("over ws");
      assert.equal(await client.nextMessage(), "over ws");
      assert.deepEqual(await httpGet(port, "/health"), { status: 200, body: "ok" });

      const result = await withTimeout(
        server.close({ code: 1001, reason: "bye", timeoutMs: 1000 }),
        "shutdown",
      );
      assert.deepEqual(result, { clean: 1, forced: 0 });
      assert.equal((await withTimeout(client.closed, "client close")).code, 1001);
      // The owner's server still listens and serves its routes; an upgrade is no longer taken
      // over (with no 'upgrade' listener left, Node hands it to the request handler).
      assert.equal(http.listening, true);
      assert.deepEqual(await httpGet(port, "/health"), { status: 200, body: "ok" });
      const raw = await RawClient.open(port);
      t.after(() => raw.destroy());
      raw.write(requestHead("GET /ws HTTP/1.1", upgradeHeaders(port)));
      const late = await raw.readResponse();
      assert.equal(late.status, 200);
      assert.equal(late.body, "other");
    });
  }

  test("G7: several servers on one HTTP server are routed by path; an unknown path gets 404", async (t) => {
    const { http, port } = await startHttpServer(t);
    const chat = new WebSocketServer({ server: http, path: "/chat", heartbeat: false });
    const feed = new WebSocketServer({ server: http, path: "/feed", heartbeat: false });
    t.after(() => chat.close({ timeoutMs: 100 }));
    t.after(() => feed.close({ timeoutMs: 100 }));
    const seen: string[] = [];
    chat.on("connection", (socket) => {
      seen.push(`chat ${socket.url}`);
      socket.send("chat");
    });
    feed.on("connection", (socket) => {
      seen.push(`feed ${socket.url}`);
      socket.send("feed");
    });
    for (const kind of CLIENT_KINDS) {
      const a = await kind.open(`ws://127.0.0.1:${port}/chat`);
      const b = await kind.open(`ws://127.0.0.1:${port}/feed?x=1`);
      assert.equal(await a.nextMessage(), "chat", kind.name);
      assert.equal(await b.nextMessage(), "feed", kind.name);
      a.close();
      b.close();
      await withTimeout(Promise.all([a.closed, b.closed]), "closes");
    }
    assert.deepEqual(seen, [
      "chat /chat",
      "feed /feed?x=1",
      "chat /chat",
      "feed /feed?x=1",
      "chat /chat",
      "feed /feed?x=1",
    ]);
    const unknown = await rawRequest(port, requestHead("GET /nope HTTP/1.1", upgradeHeaders(port)));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.connectionEnded, true);
    await assert.rejects(WS.open(`ws://127.0.0.1:${port}/nope`), (error: unknown) => {
      assert.ok(error instanceof OpenError);
      assert.equal(error.status, 404);
      return true;
    });
    // Closing one leaves the other routed.
    await withTimeout(chat.close({ timeoutMs: 100 }), "chat shutdown");
    const b = await WS.open(`ws://127.0.0.1:${port}/feed`);
    assert.equal(await b.nextMessage(), "feed");
    b.close();
    await withTimeout(b.closed, "close");
    const gone = await rawRequest(port, requestHead("GET /chat HTTP/1.1", upgradeHeaders(port)));
    assert.equal(gone.status, 404);
  });

  test("a server without `path` takes every upgrade the path-routed ones do not, even if attached first", async (t) => {
    const { http, port } = await startHttpServer(t);
    const fallback = new WebSocketServer({ server: http, heartbeat: false });
    const specific = new WebSocketServer({ server: http, path: "/a", heartbeat: false });
    t.after(() => specific.close({ timeoutMs: 100 }));
    t.after(() => fallback.close({ timeoutMs: 100 }));
    specific.on("connection", (socket) => socket.send("specific"));
    fallback.on("connection", (socket) => socket.send("fallback"));
    const a = await WS.open(`ws://127.0.0.1:${port}/a`);
    const other = await WS.open(`ws://127.0.0.1:${port}/zzz`);
    assert.equal(await a.nextMessage(), "specific");
    assert.equal(await other.nextMessage(), "fallback");
    a.close();
    other.close();
    await withTimeout(Promise.all([a.closed, other.closed]), "closes");
  });
});

describe("handleUpgrade from a plain http server (as Express or Fastify hand it over)", () => {
  for (const kind of CLIENT_KINDS) {
    test(`resolves with the socket and emits 'connection' (${kind.name} client)`, async (t) => {
      const server = new WebSocketServer({ noServer: true, heartbeat: false });
      t.after(() => server.close({ timeoutMs: 100 }));
      const accepted: Promise<ServerWebSocket | undefined>[] = [];
      const { http, port } = await startHttpServer(t, (_request, response) => response.end("app"));
      http.on("upgrade", (request: IncomingMessage, socket, head: Buffer) => {
        if (request.url === "/socket") accepted.push(server.handleUpgrade(request, socket, head));
        else socket.destroy();
      });
      const connections: ServerWebSocket[] = [];
      server.on("connection", (socket) => connections.push(socket));
      const client = await kind.open(`ws://127.0.0.1:${port}/socket`);
      assert.equal(accepted.length, 1);
      const socket = await withTimeout(accepted[0]!, "handleUpgrade");
      assert.ok(socket !== undefined);
      assert.deepEqual(connections, [socket]);
      assert.equal(socket.url, "/socket");
      assert.equal(server.clients.has(socket), true);
      socket.send("from handleUpgrade");
      assert.equal(await client.nextMessage(), "from handleUpgrade");
      assert.deepEqual(await httpGet(port, "/"), { status: 200, body: "app" });
      client.close(1000);
      const info = await withTimeout(socket.closed, "closed");
      assert.equal(info.code, 1000);
      assert.equal(info.wasClean, true);
    });
  }

  test("resolves with undefined after answering a refused request", async (t) => {
    const server = new WebSocketServer({ noServer: true, heartbeat: false });
    t.after(() => server.close({ timeoutMs: 100 }));
    const results: Promise<ServerWebSocket | undefined>[] = [];
    const { http, port } = await startHttpServer(t);
    http.on("upgrade", (request: IncomingMessage, socket, head: Buffer) => {
      results.push(server.handleUpgrade(request, socket, head));
    });
    const headers = upgradeHeaders(port).filter(([name]) => name !== "Sec-WebSocket-Key");
    const response = await rawRequest(port, requestHead("GET / HTTP/1.1", headers));
    assert.equal(response.status, 400);
    await waitUntil(() => results.length === 1, "handleUpgrade to be called");
    assert.equal(await withTimeout(results[0]!, "handleUpgrade"), undefined);
    assert.equal(server.clients.size, 0);
  });

  test("a framework that hands the upgrade over late, after the client left, gets undefined", async (t) => {
    const server = new WebSocketServer({ noServer: true, heartbeat: false });
    t.after(() => server.close({ timeoutMs: 100 }));
    let connections = 0;
    server.on("connection", () => connections++);
    const results: Promise<ServerWebSocket | undefined>[] = [];
    const { http, port } = await startHttpServer(t);
    http.on("upgrade", (request: IncomingMessage, socket, head: Buffer) => {
      // Async middleware (a session lookup, say) runs first.
      setTimeout(() => results.push(server.handleUpgrade(request, socket, head)), 50);
    });
    const client = await RawClient.open(port);
    client.write(requestHead("GET / HTTP/1.1", upgradeHeaders(port)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    client.destroy(); // a FIN: the server only sees it by reading
    await waitUntil(() => results.length === 1, "handleUpgrade to be called");
    assert.equal(await withTimeout(results[0]!, "handleUpgrade"), undefined);
    assert.equal(connections, 0);
    assert.equal(server.clients.size, 0);
  });

  test("a 'connection' listener that throws: handleUpgrade still resolves, the connection works, the error is uncaught", async () => {
    // In a child process, since the error is meant to reach 'uncaughtException'.
    const index = new URL("../../src/index.js", import.meta.url).href;
    const script = `
      import { createServer } from "node:http";
      import WebSocket from "ws";
      import { WebSocketServer } from ${JSON.stringify(index)};
      const uncaught = [];
      process.on("uncaughtException", (error) => uncaught.push(error.message));
      const server = new WebSocketServer({ noServer: true, heartbeat: false });
      server.on("connection", () => { throw new Error("listener bug"); });
      const http = createServer();
      let accepted;
      http.on("upgrade", (request, socket, head) => {
        accepted = server.handleUpgrade(request, socket, head);
      });
      http.listen(0, "127.0.0.1", () => {
        const client = new WebSocket("ws://127.0.0.1:" + http.address().port + "/");
        client.on("open", async () => {
          const socket = await accepted;
          socket.send("works");
          client.on("message", async (data) => {
            client.close();
            await socket.closed;
            console.log(JSON.stringify({ message: String(data), uncaught }));
            http.close();
          });
        });
      });
    `;
    const { stdout } = await withTimeout(
      execFileAsync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: new URL(".", import.meta.url).pathname,
      }),
      "the child process",
    );
    assert.deepEqual(JSON.parse(stdout), { message: "works", uncaught: ["listener bug"] });
  });

  test("a noServer server does not listen: ready() rejects and address() is null", async (t) => {
    const server = new WebSocketServer({ noServer: true, heartbeat: false });
    t.after(() => server.close({ timeoutMs: 100 }));
    await assert.rejects(server.ready());
    assert.equal(server.address(), null);
  });
});

test("the constructor refuses missing or conflicting modes and bad options", () => {
  const bad: unknown[] = [
    {},
    { port: 0, noServer: true },
    { port: -1 },
    { port: 70000 },
    { port: 1.5 },
    { noServer: true, path: "ws" },
    { noServer: true, maxMessageBytes: 0 },
    { noServer: true, closeTimeoutMs: -5 },
    { noServer: true, heartbeat: { intervalMs: 0, timeoutMs: 10 } },
    { noServer: true, binaryType: "text" },
  ];
  for (const options of bad) {
    assert.throws(
      () => new WebSocketServer(options as never),
      { name: "TypeError", code: "ERR_WS_INVALID_OPTION" },
      JSON.stringify(options),
    );
  }
});
