/**
 * The client through real proxies (SPEC.md F4, S1–S5): Debian's tinyproxy (HTTP CONNECT, with
 * and without Basic auth) and microsocks (SOCKS5, with and without RFC 1929 auth), started on
 * free loopback ports by test/helpers/real-proxies.ts and stopped by PID. `ws:` and `wss:` (TLS
 * inside the tunnel), `WebSocket` and `WebSocketStream`, the environment, and every failure
 * with its stable code in `closeDetails()` — never with the proxy's credentials.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { after, before, describe, test, type TestContext } from "node:test";
import {
  ReconnectingWebSocket,
  WebSocket,
  WebSocketServer,
  WebSocketStream,
  closeDetails,
  type CloseEvent,
  type MessageEvent,
  type CloseDetails,
  type ServerWebSocket,
  type WebSocketOptions,
} from "../../src/index.js";
import {
  freePort,
  requireProxyBinary,
  startMicrosocks,
  startTinyproxy,
  type RealProxy,
} from "../helpers/real-proxies.js";
import { startServer, waitUntil, withTimeout } from "../helpers/server-harness.js";
import { TLS_CERT, TLS_KEY } from "../helpers/tls-fixture.js";

const SECRET = "s3cr3t-pa55";
const USER = "alice";

/** An echo server (ws:) that records each handshake's headers. */
async function startEcho(t: TestContext): Promise<{
  url: string;
  port: number;
  seen: Record<string, string | string[] | undefined>[];
  sockets: ServerWebSocket[];
}> {
  const seen: Record<string, string | string[] | undefined>[] = [];
  const sockets: ServerWebSocket[] = [];
  const { server, url, port } = await startServer(t);
  server.on("connection", (socket, request) => {
    seen.push(request.headers);
    sockets.push(socket);
    socket.onmessage = (event) => socket.send(event.data as string);
  });
  return { url: url("/echo"), port, seen, sockets };
}

/** A wss: echo server with the test certificate. */
async function startTlsEcho(t: TestContext): Promise<{ url: string; port: number }> {
  const https: Server = createServer({ cert: TLS_CERT, key: TLS_KEY });
  const sockets = new Set<Socket>();
  https.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ server: https, heartbeat: false });
  wss.on("connection", (socket) => {
    socket.onmessage = (event) => socket.send(event.data as string);
  });
  t.after(async () => {
    await wss.close({ timeoutMs: 200 });
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => https.close(() => resolve()));
  });
  await withTimeout(
    new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve)),
    "the https server to listen",
  );
  const { port } = https.address() as { port: number };
  return { url: `wss://localhost:${port}/secure`, port };
}

/**
 * An `https:` proxy: a TLS terminator (the test certificate, for `localhost`) in front of a real
 * tinyproxy, so the client speaks TLS to the proxy and CONNECT inside it.
 */
async function startTlsFront(t: TestContext, proxyPort: number): Promise<number> {
  const sockets = new Set<Socket>();
  const front = createTlsServer({ cert: TLS_CERT, key: TLS_KEY }, (client) => {
    const upstream = netConnect(proxyPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => front.close(() => resolve()));
  });
  await withTimeout(
    new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve)),
    "the TLS front to listen",
  );
  return (front.address() as { port: number }).port;
}

/** Opens `url` with `options`, echoes one message, closes cleanly. */
async function echoOnce(url: string, options: WebSocketOptions): Promise<void> {
  const socket = new WebSocket(url, options);
  const message = new Promise<string>((resolve, reject) => {
    socket.onmessage = (event) => resolve((event as MessageEvent).data as string);
    socket.onclose = () =>
      reject(new Error(`closed first: ${JSON.stringify(closeDetails(socket))}`));
  });
  socket.onopen = () => socket.send("through the tunnel");
  assert.equal(await withTimeout(message, "the echo"), "through the tunnel");
  const closed = new Promise<CloseEvent>(
    (resolve) => (socket.onclose = (event: Event) => resolve(event as CloseEvent)),
  );
  socket.close(1000, "bye");
  const event = await withTimeout(closed, "the close");
  assert.equal(event.wasClean, true);
}

/** Opens `url` with `options` and returns how it failed (error, then close 1006). */
async function failure(url: string, options: WebSocketOptions): Promise<CloseDetails> {
  const socket = new WebSocket(url, options);
  const events: string[] = [];
  socket.onopen = () => events.push("open");
  socket.onerror = () => events.push("error");
  const closed = new Promise<CloseEvent>(
    (resolve) => (socket.onclose = (event: Event) => resolve(event as CloseEvent)),
  );
  const event = await withTimeout(closed, "the failed connection to close");
  assert.deepEqual(events, ["error"]);
  assert.equal(event.code, 1006);
  const details = closeDetails(socket)!;
  assertNoSecret(details, socket.url);
  return details;
}

/** S5: the proxy password appears nowhere a user or a log could see it. */
function assertNoSecret(details: CloseDetails, url: string): void {
  const text = `${JSON.stringify(details)} ${details.cause?.message ?? ""} ${url} ${String(
    (details.cause?.error as Error | undefined)?.message,
  )}`;
  assert.ok(!text.includes(SECRET), `the proxy password leaked: ${text}`);
}

describe("S1–S2, S5: HTTP CONNECT through tinyproxy", requireProxyBinary("tinyproxy"), () => {
  let open: RealProxy;
  let authenticated: RealProxy;
  before(async () => {
    [open, authenticated] = await Promise.all([
      startTinyproxy(),
      startTinyproxy({ user: USER, password: SECRET }),
    ]);
  });
  after(async () => {
    await Promise.all([open?.stop(), authenticated?.stop()]);
  });

  test("S1/S2: ws: goes through a CONNECT tunnel (never an absolute-URI GET)", async (t) => {
    const echo = await startEcho(t);
    await echoOnce(echo.url, { proxy: open.url });
    await waitUntil(
      () => open.output().includes(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1`),
      "tinyproxy to log the CONNECT",
    );
    assert.ok(!open.output().includes("GET "), "no request went to the proxy as a GET");
  });

  test("S1: wss: runs TLS to the target inside the tunnel (SNI and certificate of the target)", async (t) => {
    const tlsEcho = await startTlsEcho(t);
    await echoOnce(tlsEcho.url, { proxy: open.url, ca: TLS_CERT });
    await waitUntil(
      () => open.output().includes(`CONNECT localhost:${tlsEcho.port} HTTP/1.1`),
      "tinyproxy to log the CONNECT",
    );
  });

  test("S1: a wss: target whose certificate is not trusted fails with ERR_WS_TLS_FAILED through the tunnel", async (t) => {
    const tlsEcho = await startTlsEcho(t);
    const details = await failure(tlsEcho.url, { proxy: open.url });
    assert.equal(details.cause?.code, "ERR_WS_TLS_FAILED");
  });

  test("S1: an https:// proxy (TLS to the proxy, credentials inside it) carries ws: and wss: (TLS in TLS)", async (t) => {
    const [echo, tlsEcho] = await Promise.all([startEcho(t), startTlsEcho(t)]);
    const frontPort = await startTlsFront(t, authenticated.port);
    const proxy = `https://${USER}:${SECRET}@localhost:${frontPort}`;
    await echoOnce(echo.url, { proxy, ca: TLS_CERT });
    await echoOnce(tlsEcho.url, { proxy, ca: TLS_CERT });
    // An https proxy whose certificate is not trusted: the proxy step fails, no secret shown.
    const details = await failure(echo.url, { proxy });
    assert.equal(details.cause?.code, "ERR_WS_PROXY_CONNECT_FAILED");
  });

  test("S1: WebSocketStream goes through the proxy too", async (t) => {
    const echo = await startEcho(t);
    const wss = new WebSocketStream(echo.url, { proxy: open.url });
    const { readable, writable } = await withTimeout(wss.opened, "opened");
    const writer = writable.getWriter();
    await writer.write("stream via proxy");
    const reader = readable.getReader();
    assert.equal((await withTimeout(reader.read(), "the echo")).value, "stream via proxy");
    wss.close({ closeCode: 1000 });
    assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1000, reason: "" });
  });

  test("S1: ReconnectingWebSocket passes the proxy to every attempt (a dropped tunnel reconnects through it)", async (t) => {
    const echo = await startEcho(t);
    const socket = new ReconnectingWebSocket(echo.url, {
      proxy: authenticated.url,
      initialDelayMs: 10,
      maxDelayMs: 20,
    });
    t.after(() => socket.close());
    const opened = (): Promise<void> =>
      withTimeout(
        new Promise<void>((resolve) =>
          socket.addEventListener("open", () => resolve(), { once: true }),
        ),
        "open",
      );
    await opened();
    const reopened = opened();
    // The server drops the connection: the next attempt goes through the proxy again.
    echo.sockets[0]!.destroy();
    await reopened;
    assert.equal(echo.sockets.length, 2);
    await waitUntil(
      () => authenticated.output().split(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1`).length - 1 >= 2,
      "two CONNECTs in tinyproxy's log",
    );
  });

  test("S1: proxy credentials are sent as Proxy-Authorization: Basic and accepted", async (t) => {
    const echo = await startEcho(t);
    await echoOnce(echo.url, { proxy: authenticated.url });
    // The target never sees the proxy's credentials.
    assert.equal(echo.seen[0]?.["proxy-authorization"], undefined);
  });

  test("S1, S5: without credentials the proxy answers 407: ERR_WS_PROXY_AUTH_REQUIRED with the status", async (t) => {
    const echo = await startEcho(t);
    const details = await failure(echo.url, { proxy: authenticated.url.replace(/\/\/.*@/, "//") });
    assert.equal(details.cause?.code, "ERR_WS_PROXY_AUTH_REQUIRED");
    assert.equal(details.cause?.response?.status, 407);
    assert.equal(echo.seen.length, 0);
  });

  test("S5: wrong credentials: ERR_WS_PROXY_AUTH_REQUIRED, and the password is in no message", async (t) => {
    const echo = await startEcho(t);
    const wrong = authenticated.url.replace(encodeURIComponent(SECRET), "nope");
    const details = await failure(echo.url, { proxy: wrong });
    assert.equal(details.cause?.code, "ERR_WS_PROXY_AUTH_REQUIRED");
    const alsoWrong = `http://${USER}:${SECRET}x@127.0.0.1:${authenticated.port}`;
    const second = await failure(echo.url, { proxy: alsoWrong });
    assert.ok(!JSON.stringify(second).includes(`${SECRET}x`));
  });

  test("S1: the proxy cannot reach the target: ERR_WS_PROXY_REFUSED with the proxy's status", async () => {
    const closedPort = await freePort();
    const details = await failure(`ws://127.0.0.1:${closedPort}/`, { proxy: open.url });
    assert.equal(details.cause?.code, "ERR_WS_PROXY_REFUSED");
    assert.ok((details.cause?.response?.status ?? 0) >= 400, JSON.stringify(details.cause));
    assert.match(details.cause?.message ?? "", /refused the tunnel/);
  });

  test("S1: the proxy is unreachable: ERR_WS_PROXY_CONNECT_FAILED", async (t) => {
    const echo = await startEcho(t);
    const nobody = await freePort();
    const details = await failure(echo.url, {
      proxy: `http://${USER}:${SECRET}@127.0.0.1:${nobody}`,
    });
    assert.equal(details.cause?.code, "ERR_WS_PROXY_CONNECT_FAILED");
    assert.match(details.cause?.message ?? "", new RegExp(`http://127\\.0\\.0\\.1:${nobody}`));
  });

  test("S3: proxy: true takes HTTP_PROXY from the environment; NO_PROXY unset keeps loopback direct", async (t) => {
    const echo = await startEcho(t);
    const saved = { ...process.env };
    t.after(() => {
      for (const name of [
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
        "NODE_USE_ENV_PROXY",
      ]) {
        if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = saved[name];
      }
    });
    const nobody = await freePort();
    delete process.env["http_proxy"];
    delete process.env["no_proxy"];
    delete process.env["NO_PROXY"];
    // A dead proxy: loopback must not go to it while NO_PROXY is unset (S3 decision).
    process.env["HTTP_PROXY"] = `http://127.0.0.1:${nobody}`;
    await echoOnce(echo.url, { proxy: true });
    // Once NO_PROXY is set, it alone decides: loopback goes to the (now live) proxy.
    process.env["NO_PROXY"] = "example.invalid";
    process.env["HTTP_PROXY"] = open.url;
    await echoOnce(echo.url, { proxy: true });
    await waitUntil(
      () => open.output().includes(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1`),
      "tinyproxy to log the CONNECT",
    );
    // NO_PROXY with the target's host:port bypasses the proxy.
    process.env["HTTP_PROXY"] = `http://127.0.0.1:${nobody}`;
    process.env["NO_PROXY"] = `example.invalid, 127.0.0.1:${echo.port}`;
    await echoOnce(echo.url, { proxy: true });
    // The default follows Node's switch: off → direct; NODE_USE_ENV_PROXY=1 → the environment.
    process.env["NO_PROXY"] = "example.invalid";
    delete process.env["NODE_USE_ENV_PROXY"];
    await echoOnce(echo.url, {});
    process.env["NODE_USE_ENV_PROXY"] = "1";
    const details = await failure(echo.url, {});
    assert.equal(details.cause?.code, "ERR_WS_PROXY_CONNECT_FAILED");
    // proxy: false ignores the environment even then.
    await echoOnce(echo.url, { proxy: false });
    // An unusable proxy in the environment fails the connection (not the constructor).
    process.env["HTTP_PROXY"] = "ftp://127.0.0.1:21";
    const invalid = await failure(echo.url, { proxy: true });
    assert.equal(invalid.cause?.code, "ERR_WS_PROXY_INVALID");
  });
});

describe("S4–S5: SOCKS5 through microsocks", requireProxyBinary("microsocks"), () => {
  let open: RealProxy;
  let authenticated: RealProxy;
  before(async () => {
    [open, authenticated] = await Promise.all([
      startMicrosocks(),
      startMicrosocks({ user: USER, password: SECRET }),
    ]);
  });
  after(async () => {
    await Promise.all([open?.stop(), authenticated?.stop()]);
  });

  test("S4: socks5h:// (the proxy resolves the name) carries ws: and wss:", async (t) => {
    const [echo, tlsEcho] = await Promise.all([startEcho(t), startTlsEcho(t)]);
    await echoOnce(echo.url.replace("127.0.0.1", "localhost"), { proxy: open.url });
    await echoOnce(tlsEcho.url, { proxy: open.url, ca: TLS_CERT });
  });

  test("S4: socks5:// (the name resolved here) carries ws:", async (t) => {
    const echo = await startEcho(t);
    const local = open.url.replace("socks5h:", "socks5:");
    await echoOnce(echo.url.replace("127.0.0.1", "localhost"), { proxy: local });
    await echoOnce(echo.url, { proxy: local });
  });

  test("S4: RFC 1929 username/password accepted; WebSocketStream through it", async (t) => {
    const echo = await startEcho(t);
    await echoOnce(echo.url, { proxy: authenticated.url });
    const wss = new WebSocketStream(echo.url, { proxy: authenticated.url });
    const { writable, readable } = await withTimeout(wss.opened, "opened");
    await writable.getWriter().write("socks stream");
    assert.equal((await withTimeout(readable.getReader().read(), "echo")).value, "socks stream");
    wss.close();
    await withTimeout(wss.closed, "closed");
  });

  test("S4, S5: no credentials, or wrong ones: ERR_WS_PROXY_AUTH_REQUIRED, no password in messages", async (t) => {
    const echo = await startEcho(t);
    const none = await failure(echo.url, { proxy: `socks5h://127.0.0.1:${authenticated.port}` });
    assert.equal(none.cause?.code, "ERR_WS_PROXY_AUTH_REQUIRED");
    const wrong = await failure(echo.url, {
      proxy: `socks5h://${USER}:${SECRET}x@127.0.0.1:${authenticated.port}`,
    });
    assert.equal(wrong.cause?.code, "ERR_WS_PROXY_AUTH_REQUIRED");
    assert.match(wrong.cause?.message ?? "", /refused the credentials/);
    assert.equal(echo.seen.length, 0);
  });

  test("S4: the target refuses: ERR_WS_PROXY_REFUSED with the SOCKS reply's meaning", async () => {
    const closedPort = await freePort();
    const details = await failure(`ws://127.0.0.1:${closedPort}/`, { proxy: open.url });
    assert.equal(details.cause?.code, "ERR_WS_PROXY_REFUSED");
    assert.match(details.cause?.message ?? "", /connection refused \(5\)/);
  });

  test("S4: close() while the tunnel is being built fails the connection and leaves nothing open", async (t) => {
    const echo = await startEcho(t);
    const socket = new WebSocket(echo.url, { proxy: authenticated.url });
    const events: string[] = [];
    socket.onerror = () => events.push("error");
    const closed = new Promise<CloseEvent>(
      (resolve) => (socket.onclose = (event: Event) => resolve(event as CloseEvent)),
    );
    socket.close();
    assert.equal((await withTimeout(closed, "close")).code, 1006);
    assert.deepEqual(events, ["error"]);
    assert.equal(closeDetails(socket)?.cause?.code, "ERR_WS_ABORTED");
  });
});

test("S5: an invalid proxy option throws ERR_WS_INVALID_OPTION without echoing credentials", () => {
  for (const proxy of ["ftp://u:hunter2@h:1", "not a url :hunter2@", "socks4://h:1"]) {
    assert.throws(
      () => new WebSocket("ws://127.0.0.1:1/", { proxy }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "ERR_WS_INVALID_OPTION");
        assert.ok(!error.message.includes("hunter2"), error.message);
        return true;
      },
    );
  }
});
