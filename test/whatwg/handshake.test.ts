/**
 * SPEC.md F1–F30 (client side) with P10, P17: the opening handshake as the server sees it — the
 * request bytes — and every way the server's response can make the client fail.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";

import { WebSocket, closeDetails } from "../../src/index.js";
import { record } from "../helpers/client-recorder.js";
import { OP, buildFrame, closeBody } from "../helpers/frames.js";
import {
  RawPeer,
  accept,
  acceptFor,
  parseCloseFrame,
  sleep,
  type HandshakeReply,
  type RecordedRequest,
} from "../helpers/raw-peer.js";
import { TLS_CERT, TLS_KEY } from "../helpers/tls-fixture.js";

/** The request a peer receives from `new WebSocket(url, second)`. */
async function requestFor(
  t: TestContext,
  path = "/",
  second?: ConstructorParameters<typeof WebSocket>[1],
): Promise<RecordedRequest> {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const ws =
    second === undefined
      ? new WebSocket(peer.urlFor(path))
      : new WebSocket(peer.urlFor(path), second);
  const request = await peer.request();
  ws.close();
  return request;
}

/** A raw 101 response built from header lines; `{accept}` stands for the correct accept value. */
function raw101(lines: readonly string[]): (request: RecordedRequest) => HandshakeReply {
  return (request) => {
    const key = request.header("Sec-WebSocket-Key") ?? "";
    const head = ["HTTP/1.1 101 Switching Protocols", ...lines]
      .map((line) => line.replace("{accept}", acceptFor(key)))
      .join("\r\n");
    return { type: "raw", bytes: `${head}\r\n\r\n` };
  };
}

const STANDARD = ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}"];

/** Connects with the given response and returns whether it opened, and the close event. */
async function outcome(
  t: TestContext,
  respond: (request: RecordedRequest) => HandshakeReply,
  second?: ConstructorParameters<typeof WebSocket>[1],
) {
  const peer = await RawPeer.start({ respond, replyToClose: true });
  t.after(() => peer.stop());
  const ws = second === undefined ? new WebSocket(peer.url) : new WebSocket(peer.url, second);
  const rec = record(ws);
  const first = await Promise.race([rec.opened().then(() => "open"), rec.closed()]);
  if (first === "open") {
    ws.close();
    await rec.closed();
    return { opened: true, types: rec.types(), ws };
  }
  return { opened: false, types: rec.types(), ws, event: first as Awaited<typeof first> };
}

async function assertFails(
  t: TestContext,
  name: string,
  respond: (request: RecordedRequest) => HandshakeReply,
  second?: ConstructorParameters<typeof WebSocket>[1],
): Promise<string | undefined> {
  const result = await outcome(t, respond, second);
  assert.equal(result.opened, false, `${name}: must fail`);
  assert.deepEqual(result.types, ["error", "close"], name);
  const event = result.event as { code: number; wasClean: boolean; reason: string };
  assert.deepEqual([event.code, event.wasClean, event.reason], [1006, false, ""], name);
  return closeDetails(result.ws)?.cause?.code;
}

async function assertOpens(
  t: TestContext,
  name: string,
  respond: (request: RecordedRequest) => HandshakeReply,
  second?: ConstructorParameters<typeof WebSocket>[1],
): Promise<void> {
  const result = await outcome(t, respond, second);
  assert.equal(result.opened, true, `${name}: must open`);
}

test("F1/F6: the request line is GET <path + non-empty query> HTTP/1.1", async (t) => {
  assert.equal(
    (await requestFor(t, "/chat?x=1&y")).raw.split("\r\n")[0],
    "GET /chat?x=1&y HTTP/1.1",
  );
  assert.equal((await requestFor(t, "/")).target, "/");
  assert.equal((await requestFor(t, "/a/b/")).target, "/a/b/");
  // An empty query is left out of the resource name.
  assert.equal((await requestFor(t, "/p?")).target, "/p");
  const request = await requestFor(t, "/x");
  assert.equal(request.method, "GET");
  assert.equal(request.version, "HTTP/1.1");
});

test("F1/F7: Host is host:port for a non-default port, and the host alone for ws on port 80", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const other = new WebSocket(peer.url);
  assert.deepEqual((await peer.request()).values("Host"), [`127.0.0.1:${peer.port}`]);
  other.close();
  const server = createServer();
  const port = await new Promise<number | undefined>((resolve) => {
    server.once("error", () => resolve(undefined));
    server.listen(80, "127.0.0.1", () => resolve(80));
  });
  if (port === undefined) {
    t.skip("cannot listen on 127.0.0.1:80 here");
    return;
  }
  let head = "";
  const got = new Promise<string>((resolve) =>
    server.on("connection", (socket) => {
      socket.on("data", (chunk: Buffer) => {
        head += chunk.toString("latin1");
        if (head.includes("\r\n\r\n")) {
          resolve(head);
          socket.destroy();
        }
      });
    }),
  );
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const ws = new WebSocket("ws://127.0.0.1:80/default");
  const rec = record(ws);
  const request = await got;
  assert.match(request, /^GET \/default HTTP\/1\.1\r\n/);
  assert.match(request, /\r\nHost: 127\.0\.0\.1\r\n/);
  await rec.closed();
});

test("F2: every WebSocket opens its own, new TCP connection", async (t) => {
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const a = new WebSocket(peer.url);
  const b = new WebSocket(peer.url);
  const ra = record(a);
  const rb = record(b);
  await ra.opened();
  await rb.opened();
  assert.equal(peer.sockets.length, 2);
  assert.notEqual(peer.connections[0]!.socket.remotePort, peer.connections[1]!.socket.remotePort);
  a.close();
  b.close();
  await ra.closed();
  await rb.closed();
});

test("F3 (★): connections to one server are not serialized by default", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const sockets = [new WebSocket(peer.url), new WebSocket(peer.url), new WebSocket(peer.url)];
  // All three requests arrive while none has been answered.
  for (let i = 0; i < 3; i++) await peer.nextConnection();
  assert.equal(peer.connections.length, 3);
  for (const ws of sockets) ws.close();
});

test("F3 (★): with serializeConnecting, one connection per server is CONNECTING; the next starts when it opens", async (t) => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let answered = 0;
  /** How many TCP connections the peer had when each request arrived. */
  const socketsAtRequest: number[] = [];
  const peer: RawPeer = await RawPeer.start({
    replyToClose: true,
    // The first handshake is held until the test releases it; the others are answered at once.
    respond: async () => {
      socketsAtRequest.push(peer.sockets.length);
      if (answered++ === 0) await held;
      return accept();
    },
  });
  t.after(() => peer.stop());
  const sockets = [0, 1, 2].map(() => new WebSocket(peer.url, { serializeConnecting: true }));
  const records = sockets.map((ws) => record(ws));
  await peer.nextConnection();
  await sleep(150);
  // The other two wait in line: no TCP connection yet.
  assert.equal(peer.sockets.length, 1, "only the first attempt may connect");
  assert.deepEqual(
    sockets.map((ws) => ws.readyState),
    [0, 0, 0],
  );
  release();
  for (const rec of records) await rec.opened();
  assert.equal(peer.sockets.length, 3);
  // Each later one connected only after the handshake before it had completed.
  assert.deepEqual(socketsAtRequest, [1, 2, 3]);
  for (const ws of sockets) ws.close();
  for (const rec of records) await rec.closed();
});

test("F3 (★): with serializeConnecting, a failed or abandoned attempt lets the next one go; other ports are independent", async (t) => {
  let attempts = 0;
  const peer = await RawPeer.start({
    replyToClose: true,
    // The first attempt is refused (500), the rest accepted.
    respond: () => (attempts++ === 0 ? { type: "status", status: 500 } : accept()),
  });
  t.after(() => peer.stop());
  const silent = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => silent.stop());

  const refused = new WebSocket(peer.url, { serializeConnecting: true });
  const next = new WebSocket(peer.url, { serializeConnecting: true });
  const refusedRec = record(refused);
  const nextRec = record(next);
  assert.equal((await refusedRec.closed()).code, 1006);
  await nextRec.opened();
  next.close();
  await nextRec.closed();

  // A place in line given up by close() (CONNECTING → fail) never connects, and frees the line.
  const stuck = new WebSocket(silent.url, { serializeConnecting: true });
  await silent.nextConnection();
  const waiting = new WebSocket(silent.url, { serializeConnecting: true });
  const waitingRec = record(waiting);
  waiting.close();
  assert.deepEqual(
    [(await waitingRec.closed()).code, waitingRec.types()],
    [1006, ["error", "close"]],
  );
  const stuckRec = record(stuck);
  stuck.close();
  await stuckRec.closed();
  await sleep(100);
  assert.equal(silent.sockets.length, 1, "the abandoned attempt never connected");

  // Another port on the same address has its own line.
  const heldPeer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => heldPeer.stop());
  const blocker = new WebSocket(heldPeer.url, { serializeConnecting: true });
  await heldPeer.nextConnection();
  const other = new WebSocket(peer.url, { serializeConnecting: true });
  const otherRec = record(other);
  await otherRec.opened();
  other.close();
  await otherRec.closed();
  blocker.close();
});

test("F3 (★): serializeConnecting must be a boolean", () => {
  assert.throws(
    () => new WebSocket("ws://127.0.0.1:1/", { serializeConnecting: "yes" as unknown as boolean }),
    (error: Error & { code?: string }) =>
      error instanceof TypeError && error.code === "ERR_WS_INVALID_OPTION",
  );
});

test("F4 (◇ no proxy support): proxy environment variables are ignored; the connection is direct", async (t) => {
  const proxy = createServer((socket) => socket.destroy());
  let proxied = 0;
  proxy.on("connection", () => proxied++);
  const proxyPort = await new Promise<number>((resolve) =>
    proxy.listen(0, "127.0.0.1", () => resolve((proxy.address() as { port: number }).port)),
  );
  t.after(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
  const names = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"];
  const saved = names.map((name) => [name, process.env[name]] as const);
  t.after(() => {
    for (const [name, value] of saved) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  });
  for (const name of names) process.env[name] = `http://127.0.0.1:${proxyPort}`;
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  await rec.opened();
  ws.close();
  await rec.closed();
  assert.equal(proxied, 0);
  assert.equal(peer.connections.length, 1);
});

test("F5: wss verifies the certificate by default: a self-signed one fails (error, 1006, never 1015)", async (t) => {
  const peer = await RawPeer.start({ tls: { key: TLS_KEY, cert: TLS_CERT } });
  t.after(() => peer.stop());
  const ws = new WebSocket(`wss://localhost:${peer.port}/`);
  const rec = record(ws);
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["error", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_TLS_FAILED");
  assert.equal(peer.connections.length, 0, "no HTTP request went out");
});

test("F5: wss with a trusted certificate opens, sends SNI for a host name and none for an IP", async (t) => {
  const peer = await RawPeer.start({ tls: { key: TLS_KEY, cert: TLS_CERT }, replyToClose: true });
  t.after(() => peer.stop());
  for (const url of [`wss://localhost:${peer.port}/`, `wss://127.0.0.1:${peer.port}/`]) {
    const ws = new WebSocket(url, { ca: TLS_CERT });
    const rec = record(ws);
    await rec.opened();
    peer.sendText("secret");
    assert.equal((await rec.nextMessage()).data, "secret");
    ws.close();
    assert.equal((await rec.closed()).wasClean, true);
  }
  assert.deepEqual(peer.servernames, ["localhost", false]);
});

test("F5: the servername option sets SNI; a certificate for another name fails", async (t) => {
  const peer = await RawPeer.start({ tls: { key: TLS_KEY, cert: TLS_CERT }, replyToClose: true });
  t.after(() => peer.stop());
  const ws = new WebSocket(`wss://127.0.0.1:${peer.port}/`, {
    ca: TLS_CERT,
    servername: "localhost",
  });
  const rec = record(ws);
  await rec.opened();
  ws.close();
  await rec.closed();
  assert.deepEqual(peer.servernames, ["localhost"]);
  const wrong = new WebSocket(`wss://127.0.0.1:${peer.port}/`, {
    ca: TLS_CERT,
    servername: "example.com",
  });
  const wrongRec = record(wrong);
  assert.equal((await wrongRec.closed()).code, 1006);
  assert.deepEqual(wrongRec.types(), ["error", "close"]);
});

test("F8/F10: Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Version: 13, each once", async (t) => {
  const request = await requestFor(t);
  assert.deepEqual(request.values("Upgrade"), ["websocket"]);
  assert.deepEqual(request.values("Connection"), ["Upgrade"]);
  assert.deepEqual(request.values("Sec-WebSocket-Version"), ["13"]);
});

test("F9: Sec-WebSocket-Key is base64 of 16 fresh random bytes, in exactly one header", async (t) => {
  const keys = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const request = await requestFor(t);
    const values = request.values("Sec-WebSocket-Key");
    assert.equal(values.length, 1);
    const key = values[0]!;
    assert.match(key, /^[A-Za-z0-9+/]{22}==$/);
    assert.equal(Buffer.from(key, "base64").length, 16);
    keys.add(key);
  }
  assert.equal(keys.size, 5, "a new key for every connection");
});

test("F11: Sec-WebSocket-Protocol lists the protocols in order in one header, or is absent", async (t) => {
  assert.deepEqual((await requestFor(t, "/", ["b", "a", "c"])).values("Sec-WebSocket-Protocol"), [
    "b, a, c",
  ]);
  assert.deepEqual((await requestFor(t, "/", "solo")).values("Sec-WebSocket-Protocol"), ["solo"]);
  assert.deepEqual((await requestFor(t, "/", [])).values("Sec-WebSocket-Protocol"), []);
});

test("F12/N22 (★ Q10): permessage-deflate is offered by default, as browsers do; perMessageDeflate: false offers nothing", async (t) => {
  assert.deepEqual((await requestFor(t)).values("Sec-WebSocket-Extensions"), [
    "permessage-deflate; client_max_window_bits",
  ]);
  const off = await requestFor(t, "/", { perMessageDeflate: false });
  assert.deepEqual(off.values("Sec-WebSocket-Extensions"), []);
  const tuned = await requestFor(t, "/", {
    perMessageDeflate: { serverNoContextTakeover: true, clientMaxWindowBits: 10 },
  });
  assert.deepEqual(tuned.values("Sec-WebSocket-Extensions"), [
    "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
  ]);
});

test("F13: no Origin by default (Node has none); the origin option sends one", async (t) => {
  assert.deepEqual((await requestFor(t)).values("Origin"), []);
  const request = await requestFor(t, "/", { origin: "https://app.example" });
  assert.deepEqual(request.values("Origin"), ["https://app.example"]);
});

test("F14/F15: no Referer and no other fetch extras: exactly the handshake's own headers", async (t) => {
  const request = await requestFor(t, "/", ["p"]);
  assert.deepEqual(request.headers.map(([name]) => name.toLowerCase()).sort(), [
    "connection",
    "host",
    "sec-websocket-extensions",
    "sec-websocket-key",
    "sec-websocket-protocol",
    "sec-websocket-version",
    "upgrade",
  ]);
});

test("F16: the client sends nothing after its request until the response has arrived", async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const peer = await RawPeer.start({
    respond: async () => {
      await gate;
      return accept();
    },
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  const conn = await peer.connection();
  await sleep(50);
  assert.equal(conn.bytesBeforeResponse, 0);
  release();
  await rec.opened();
  ws.send("first");
  const frame = await conn.nextFrame();
  assert.equal(frame.opcode, OP.text);
  assert.equal(conn.bytesBeforeResponse, 0);
});

test("F17/P10: a 3xx redirect is not followed: the connection fails and the target sees nothing", async (t) => {
  const target = await RawPeer.start();
  t.after(() => target.stop());
  for (const status of [301, 302, 303, 307, 308]) {
    const cause = await assertFails(t, String(status), () => ({
      type: "status",
      status,
      headers: [["Location", target.url]],
    }));
    assert.equal(cause, "ERR_WS_HANDSHAKE_STATUS");
  }
  await sleep(20);
  assert.equal(target.sockets.length, 0);
});

test("F18: any status other than 101 fails (200, 400, 404, 426, 500)", async (t) => {
  for (const status of [200, 400, 404, 426, 500]) {
    const cause = await assertFails(t, String(status), () => ({
      type: "status",
      status,
      headers: [
        ["Upgrade", "websocket"],
        ["Sec-WebSocket-Version", "13"],
      ],
    }));
    assert.equal(cause, "ERR_WS_HANDSHAKE_STATUS");
  }
  const result = await outcome(t, () => ({ type: "status", status: 403 }));
  assert.equal(closeDetails(result.ws)?.cause?.response?.status, 403);
});

test("F19: Upgrade missing or not 'websocket' fails; the comparison ignores case", async (t) => {
  const rest = STANDARD.slice(1);
  await assertFails(t, "missing", raw101(rest));
  await assertFails(t, "h2c", raw101(["Upgrade: h2c", ...rest]));
  await assertFails(t, "websocket2", raw101(["Upgrade: websocket2", ...rest]));
  await assertFails(t, "empty", raw101(["Upgrade:", ...rest]));
  await assertOpens(t, "WebSocket", raw101(["Upgrade: WebSocket", ...rest]));
  await assertOpens(t, "WEBSOCKET with spaces", raw101(["Upgrade:   WEBSOCKET  ", ...rest]));
});

test("F20: Connection missing or without an 'upgrade' token fails; a token list is fine", async (t) => {
  const [upgrade, , accepted] = STANDARD;
  await assertFails(t, "missing", raw101([upgrade!, accepted!]));
  await assertFails(t, "keep-alive", raw101([upgrade!, "Connection: keep-alive", accepted!]));
  await assertFails(t, "upgraded", raw101([upgrade!, "Connection: upgraded", accepted!]));
  await assertOpens(t, "list", raw101([upgrade!, "Connection: keep-alive, Upgrade", accepted!]));
  await assertOpens(t, "UPGRADE", raw101([upgrade!, "Connection: UPGRADE", accepted!]));
});

test("F21: Sec-WebSocket-Accept missing or wrong fails; whitespace is ignored, case is not", async (t) => {
  const [upgrade, connection] = STANDARD;
  const base = [upgrade!, connection!];
  assert.equal(await assertFails(t, "missing", raw101(base)), "ERR_WS_HANDSHAKE_ACCEPT");
  await assertFails(
    t,
    "RFC example for another key",
    raw101([...base, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]),
  );
  await assertFails(t, "lower-cased", (request) => {
    const value = acceptFor(request.header("Sec-WebSocket-Key")!).toLowerCase();
    return raw101([...base, `Sec-WebSocket-Accept: ${value}`])(request);
  });
  await assertFails(t, "base64 of the raw key", (request) =>
    raw101([...base, `Sec-WebSocket-Accept: ${request.header("Sec-WebSocket-Key")!}`])(request),
  );
  await assertOpens(t, "whitespace", raw101([...base, "Sec-WebSocket-Accept: \t {accept} \t"]));
  assert.equal(acceptFor("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

test("F22: Accept, Protocol or Extensions appearing twice fails", async (t) => {
  const cause = await assertFails(
    t,
    "two accepts",
    raw101([...STANDARD, "Sec-WebSocket-Accept: {accept}"]),
  );
  assert.equal(cause, "ERR_WS_HANDSHAKE_DUPLICATE_HEADER");
  await assertFails(
    t,
    "two protocols",
    raw101([...STANDARD, "Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: a"]),
    ["a"],
  );
  await assertFails(
    t,
    "two extensions",
    raw101([...STANDARD, "Sec-WebSocket-Extensions: x", "Sec-WebSocket-Extensions: x"]),
  );
});

test("F23: extensions the client did not offer (or malformed ones) fail", async (t) => {
  for (const value of [
    "x-foo; a=1",
    "x;;",
    ", ,",
    "a b",
    // N6: permessage-deflate answered with something a client must refuse.
    "permessage-deflate; unknown=1",
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; client_max_window_bits=08",
    "permessage-deflate, permessage-deflate",
  ]) {
    assert.equal(
      await assertFails(t, value, () => accept({ extensions: value })),
      "ERR_WS_HANDSHAKE_EXTENSIONS",
      value,
    );
  }
});

test("F24: a protocol not requested, or differing in case, fails", async (t) => {
  await assertFails(t, "unrequested", () => accept({ protocol: "chat" }));
  await assertFails(t, "other", () => accept({ protocol: "superchat" }), ["chat"]);
  const cause = await assertFails(t, "case", () => accept({ protocol: "CHAT" }), ["chat"]);
  assert.equal(cause, "ERR_WS_HANDSHAKE_PROTOCOL");
  await assertFails(t, "list", () => accept({ protocol: "a, b" }), ["a", "b"]);
  await assertOpens(t, "second choice", () => accept({ protocol: "b" }), ["a", "b"]);
});

test("F25: protocols requested but the response has none (or an empty one) fails", async (t) => {
  await assertFails(t, "missing", () => accept(), ["chat"]);
  await assertFails(t, "empty", raw101([...STANDARD, "Sec-WebSocket-Protocol: "]), ["chat"]);
});

test("F26: header names in the response compare case-insensitively", async (t) => {
  await assertOpens(
    t,
    "odd case",
    raw101([
      "UPGRADE: websocket",
      "connection: Upgrade",
      "SEC-WEBSOCKET-ACCEPT: {accept}",
      "sec-websocket-protocol: chat",
    ]),
    ["chat"],
  );
});

test("F27: frames right after the response head are processed once OPEN (a Close at once)", async (t) => {
  const peer = await RawPeer.start({
    respond: () =>
      accept({ then: buildFrame({ opcode: OP.close, payload: closeBody(1001, "going") }) }),
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  const echo = await peer.nextFrame();
  assert.deepEqual(parseCloseFrame(echo), { code: 1001, reason: "going" });
  peer.end();
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "close"]);
  assert.deepEqual([event.code, event.reason, event.wasClean], [1001, "going", true]);
});

test("F28: on success the protocol in use is the server's value, set by the open task", async (t) => {
  const peer = await RawPeer.start({
    respond: () => accept({ protocol: "v2" }),
    replyToClose: true,
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url, ["v1", "v2"]);
  const rec = record(ws);
  await rec.opened();
  assert.equal(ws.protocol, "v2");
  assert.equal(ws.extensions, "");
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.close();
  await rec.closed();
});

test("F30 (◇ HTTP/1.1 only): over TLS the client offers ALPN http/1.1 alone, never h2", async (t) => {
  const peer = await RawPeer.start({ tls: { key: TLS_KEY, cert: TLS_CERT }, replyToClose: true });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url, { ca: TLS_CERT });
  const rec = record(ws);
  await rec.opened();
  ws.close();
  await rec.closed();
  assert.deepEqual(peer.alpnProtocols, ["http/1.1"]);
  assert.equal((await peer.request()).version, "HTTP/1.1");
});

test("F29 (★): the opening handshake times out (handshakeTimeoutMs): error, close 1006", async (t) => {
  const silent = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => silent.stop());
  const partial = await RawPeer.start({
    respond: () => ({ type: "raw", bytes: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: web" }),
  });
  t.after(() => partial.stop());
  for (const peer of [silent, partial]) {
    const start = performance.now();
    const ws = new WebSocket(peer.url, { handshakeTimeoutMs: 120 });
    const rec = record(ws);
    const event = await rec.closed();
    const elapsed = performance.now() - start;
    assert.ok(elapsed >= 110 && elapsed < 2000, `failed after ${elapsed} ms`);
    assert.deepEqual(rec.types(), ["error", "close"]);
    assert.equal(event.code, 1006);
    assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_HANDSHAKE_TIMEOUT");
    const conn = await peer.connection();
    await conn.waitForClose();
  }
});

test("F29/L22: a server that aborts during the handshake (closes TCP) fails it: error, 1006", async (t) => {
  const peer = await RawPeer.start({
    respond: (_request, conn) => (conn.destroy(), { type: "silence" }),
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["error", "close"]);
  assert.equal(event.code, 1006);
});

test("P17: the headers option is sent after the handshake's own; reserved or unsafe ones throw TypeError", async (t) => {
  const request = await requestFor(t, "/", {
    headers: { "X-Trace": "abc", Cookie: "a=b" },
  });
  assert.deepEqual(request.values("X-Trace"), ["abc"]);
  assert.deepEqual(request.values("Cookie"), ["a=b"]);
  const pairs = await requestFor(t, "/", {
    headers: [
      ["X-A", "1"],
      ["X-A", "2"],
    ],
  });
  assert.deepEqual(pairs.values("X-A"), ["1", "2"]);
  const refused: [string, Record<string, string> | [string, string][]][] = [
    ["CR LF in a value", { "X-Bad": "a\r\nInjected: yes" }],
    ["LF in a value", { "X-Bad": "a\nb" }],
    ["NUL in a value", { "X-Bad": "a\0b" }],
    ["a name that is not a token", { "X Bad": "a" }],
    ["Host", { Host: "evil.example" }],
    ["Upgrade", { upgrade: "h2c" }],
    ["Connection", { CONNECTION: "close" }],
    ["Sec-WebSocket-Key", { "Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAAAA==" }],
    ["Sec-WebSocket-Protocol", [["sec-websocket-protocol", "x"]]],
    ["Sec-WebSocket-Extensions", { "Sec-WebSocket-Extensions": "permessage-deflate" }],
    ["Sec-WebSocket-Version", { "Sec-WebSocket-Version": "8" }],
  ];
  for (const [name, headers] of refused) {
    assert.throws(
      () => new WebSocket("ws://127.0.0.1:1/", { headers }),
      (e: unknown) =>
        e instanceof TypeError && (e as { code?: string }).code === "ERR_WS_INVALID_HEADER",
      name,
    );
  }
  assert.throws(
    () => new WebSocket("ws://127.0.0.1:1/", { origin: "https://a\r\nX: y" }),
    (e: unknown) =>
      e instanceof TypeError && (e as { code?: string }).code === "ERR_WS_INVALID_HEADER",
  );
  assert.throws(
    () => new WebSocket("ws://127.0.0.1:1/", { origin: "https://a", headers: { Origin: "b" } }),
    TypeError,
  );
  for (const headers of ["X-A: 1", 5, [["only-a-name"]], [["a", "b", "c"]]]) {
    assert.throws(
      () => new WebSocket("ws://127.0.0.1:1/", { headers: headers as never }),
      (e: unknown) =>
        e instanceof TypeError && (e as { code?: string }).code === "ERR_WS_INVALID_HEADER",
      JSON.stringify(headers),
    );
  }
});

test("P17: valid headers on a bad port (even port 0) still fail asynchronously, not with a throw", async () => {
  for (const url of ["ws://127.0.0.1:0/", "ws://127.0.0.1:25/"]) {
    const ws = new WebSocket(url, { headers: { "X-Ok": "1" }, origin: "https://o.example" });
    const rec = record(ws);
    const event = await rec.closed();
    assert.deepEqual(rec.types(), ["error", "close"], url);
    assert.equal(event.code, 1006, url);
  }
});

test("options: invalid timeouts and limits throw a RangeError (ERR_WS_INVALID_OPTION) at once", () => {
  const invalid: [string, Record<string, unknown>][] = [
    ["handshakeTimeoutMs 0", { handshakeTimeoutMs: 0 }],
    ["handshakeTimeoutMs -1", { handshakeTimeoutMs: -1 }],
    ["handshakeTimeoutMs NaN", { handshakeTimeoutMs: NaN }],
    ["handshakeTimeoutMs Infinity", { handshakeTimeoutMs: Infinity }],
    ["handshakeTimeoutMs 2^31", { handshakeTimeoutMs: 2 ** 31 }],
    ["handshakeTimeoutMs '5'", { handshakeTimeoutMs: "5" }],
    ["closeTimeoutMs 0", { closeTimeoutMs: 0 }],
    ["closeTimeoutMs Infinity", { closeTimeoutMs: Infinity }],
    ["tcpCloseWaitMs -5", { tcpCloseWaitMs: -5 }],
    ["tcpCloseWaitMs null", { tcpCloseWaitMs: null }],
    ["maxMessageBytes 0", { maxMessageBytes: 0 }],
    ["maxMessageBytes NaN", { maxMessageBytes: NaN }],
  ];
  for (const [name, options] of invalid) {
    assert.throws(
      () => new WebSocket("ws://127.0.0.1:1/", options),
      (e: unknown) =>
        e instanceof RangeError && (e as { code?: string }).code === "ERR_WS_INVALID_OPTION",
      name,
    );
  }
});

test("options: a small maxMessageBytes fails the connection with 1009 for a bigger message", async (t) => {
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url, { maxMessageBytes: 10 });
  const rec = record(ws);
  await rec.opened();
  peer.sendText("0123456789");
  assert.equal((await rec.nextMessage()).data, "0123456789");
  peer.sendText("0123456789A");
  const close = await peer.nextFrame();
  assert.equal(parseCloseFrame(close).code, 1009);
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "message", "error", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_MESSAGE_TOO_BIG");
});
