/**
 * SPEC.md A1–A21: the WebSocket constructor — argument conversion, the URL record, protocols,
 * and the state right after construction.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";

import { WebSocket, closeDetails } from "../../src/index.js";
import { assertThrowsDom, assertThrowsTypeError } from "../helpers/assert-dom.js";
import { record } from "../helpers/client-recorder.js";
import { RawPeer, accept, sleep } from "../helpers/raw-peer.js";

/** A URL whose connection attempt fails at once without touching the network (a bad port). */
const NOWHERE = "ws://127.0.0.1:1/";

/** Constructs a socket and fails it right away, so nothing lingers. */
function construct(url: unknown, protocols?: unknown): WebSocket {
  const ws =
    protocols === undefined
      ? new WebSocket(url as string)
      : new WebSocket(url as string, protocols as string[]);
  ws.close();
  return ws;
}

/** The Sec-WebSocket-Protocol values a peer receives for a given second argument. */
async function offeredProtocols(t: { after(fn: () => unknown): void }, protocols: unknown) {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url, protocols as string[]);
  const request = await peer.request();
  ws.close();
  return request.values("Sec-WebSocket-Protocol");
}

test("A1: new WebSocket() without a URL throws a TypeError; WebSocket.length is 1", () => {
  assertThrowsTypeError(() => new (WebSocket as unknown as new () => WebSocket)());
  assert.equal(WebSocket.length, 1);
});

test("A1: calling WebSocket without new throws a TypeError", () => {
  assertThrowsTypeError(() => (WebSocket as unknown as (url: string) => unknown)(NOWHERE));
});

test("A1: extra constructor arguments are ignored", () => {
  const ws = new (WebSocket as unknown as new (...args: unknown[]) => WebSocket)(
    NOWHERE,
    [],
    "extra",
    { protocols: ["x"] },
  );
  assert.equal(ws.url, NOWHERE);
  assert.equal(ws.protocol, "");
  ws.close();
});

test("A2: the URL is converted as a USVString (objects stringified, lone surrogates → U+FFFD)", () => {
  assert.equal(construct({ toString: () => NOWHERE }).url, NOWHERE);
  assert.equal(construct(new URL("ws://127.0.0.1:1/x")).url, "ws://127.0.0.1:1/x");
  assert.equal(construct("ws://127.0.0.1:1/\uD800").url, "ws://127.0.0.1:1/%EF%BF%BD");
  assert.throws(
    () =>
      new WebSocket({
        toString() {
          throw new RangeError("from toString");
        },
      } as unknown as string),
    RangeError,
  );
  assertThrowsTypeError(() => new WebSocket(Symbol("url") as unknown as string));
});

test("A3: a URL that does not parse throws SyntaxError", () => {
  for (const url of [
    "ws://foo bar.com/",
    "wss://foo bar.com/",
    "ws://a b/",
    "ws://[::1/",
    "ws://",
    "",
  ]) {
    assertThrowsDom(() => new WebSocket(url), "SyntaxError", JSON.stringify(url));
  }
});

test("A4: relative URLs throw SyntaxError (Node has no document base URL)", () => {
  for (const url of ["test", "?", "/p", "//h/", null, 123]) {
    assertThrowsDom(() => new WebSocket(url as string), "SyntaxError", String(url));
  }
});

test("A4: with the baseURL option a relative URL resolves (http base → ws)", () => {
  const ws = new WebSocket("chat?x=1", { baseURL: "http://127.0.0.1:1/dir/" });
  assert.equal(ws.url, "ws://127.0.0.1:1/dir/chat?x=1");
  ws.close();
});

test("A5: http → ws and https → wss; any other scheme throws SyntaxError", () => {
  assert.equal(construct("http://127.0.0.1:1/p").url, "ws://127.0.0.1:1/p");
  assert.equal(construct("https://127.0.0.1:1/p").url, "wss://127.0.0.1:1/p");
  assert.equal(construct("HTTPS://127.0.0.1:1/").url, "wss://127.0.0.1:1/");
  for (const url of [
    "ftp://127.0.0.1/",
    "mailto:a@b.c",
    "about:blank",
    "file:///tmp/x",
    "data:,x",
    "javascript:alert(1)",
    "wsx://h/",
    "ws+unix:/tmp/s",
  ]) {
    assertThrowsDom(() => new WebSocket(url), "SyntaxError", url);
  }
});

test("A6: any fragment, even an empty one, throws SyntaxError", () => {
  for (const url of ["ws://127.0.0.1:1/#", "ws://127.0.0.1:1/#x", "ws://h/?q#f", "#test"]) {
    assertThrowsDom(() => new WebSocket(url), "SyntaxError", url);
  }
  // A '#' that is part of the query after percent-encoding is not a fragment.
  assert.equal(construct("ws://127.0.0.1:1/?a=%23").url, "ws://127.0.0.1:1/?a=%23");
});

test("A7: scheme and host are case-insensitive and serialized in lower case", async (t) => {
  assert.equal(construct("WS://HOST.EXAMPLE:1/Echo").url, "ws://host.example:1/Echo");
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const ws = new WebSocket(`WS://127.0.0.1:${peer.port}/Echo`);
  const rec = record(ws);
  await rec.opened();
  assert.equal((await peer.request()).target, "/Echo");
  ws.close();
  await rec.closed();
});

test("A8: percent-encoding is UTF-8 (space %20, NUL %00, € %E2%82%AC) on .url and the wire", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/é?a b\0€`);
  assert.equal(ws.url, `ws://127.0.0.1:${peer.port}/%C3%A9?a%20b%00%E2%82%AC`);
  const request = await peer.request();
  assert.equal(request.target, "/%C3%A9?a%20b%00%E2%82%AC");
  ws.close();
});

test("A9: an empty path serializes as /", () => {
  assert.equal(construct("ws://127.0.0.1:1").url, "ws://127.0.0.1:1/");
  assert.equal(construct("ws://127.0.0.1:1?q").url, "ws://127.0.0.1:1/?q");
});

test("A10: userinfo stays in .url and is sent as Authorization: Basic (issue #15); a 401 still fails", async (t) => {
  const peer = await RawPeer.start({
    respond: () => ({
      type: "status",
      status: 401,
      statusText: "Unauthorized",
      headers: [["WWW-Authenticate", 'Basic realm="x"']],
    }),
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(`ws://foo:bar@127.0.0.1:${peer.port}/`);
  assert.equal(ws.url, `ws://foo:bar@127.0.0.1:${peer.port}/`);
  const rec = record(ws);
  const request = await peer.request();
  assert.equal(
    request.header("Authorization"),
    `Basic ${Buffer.from("foo:bar").toString("base64")}`,
  );
  assert.equal(request.header("Host"), `127.0.0.1:${peer.port}`);
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["error", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(closeDetails(ws)?.cause?.response?.status, 401);
});

test("A11: a missing or odd port never throws; only an unparsable one does", () => {
  assert.equal(construct("ws://127.0.0.1:443/").url, "ws://127.0.0.1:443/");
  assert.equal(construct("wss://127.0.0.1:80/").url, "wss://127.0.0.1:80/");
  assert.equal(construct("ws://127.0.0.1:80/").url, "ws://127.0.0.1/");
  assert.equal(construct("wss://127.0.0.1:443/").url, "wss://127.0.0.1/");
  assertThrowsDom(() => new WebSocket("ws://127.0.0.1:99999/"), "SyntaxError");
  assertThrowsDom(() => new WebSocket("ws://127.0.0.1:-1/"), "SyntaxError");
});

test("A11 (★): a Fetch bad port fails asynchronously: error then close 1006, no exception", async () => {
  for (const port of [1, 25, 6667, 10080]) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const rec = record(ws);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.deepEqual(rec.types(), []);
    const event = await rec.closed();
    assert.deepEqual(rec.types(), ["error", "close"], `port ${port}`);
    assert.equal(event.code, 1006);
    assert.equal(event.wasClean, false);
    assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_BLOCKED_PORT");
  }
});

test("A11 (★): no TCP connection is attempted to a bad port", async (t) => {
  // 6665–6669 are on the bad-port list; listen on one of them if this machine lets us.
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  let connections = 0;
  const port = await new Promise<number | undefined>((resolve) => {
    server.once("error", () => resolve(undefined));
    server.listen(6668, "127.0.0.1", () => resolve(6668));
  });
  if (port === undefined) {
    t.skip("cannot listen on 127.0.0.1:6668 here");
    return;
  }
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await record(ws).closed();
  await sleep(30);
  assert.equal(connections, 0);
});

test("A12: internationalized host names become punycode", () => {
  assert.equal(construct("ws://bücher.example:1/").url, "ws://xn--bcher-kva.example:1/");
  assert.equal(construct("ws://BÜCHER.example:1/").url, "ws://xn--bcher-kva.example:1/");
});

test("A13: a string protocol is a one-element list", async (t) => {
  assert.deepEqual(await offeredProtocols(t, "chat"), ["chat"]);
});

test("A13: omitted or undefined protocols mean none (no header)", async (t) => {
  assert.deepEqual(await offeredProtocols(t, undefined), []);
  assert.deepEqual(await offeredProtocols(t, []), []);
});

test("A13: any iterable is a sequence<DOMString>, each element stringified", async (t) => {
  assert.deepEqual(await offeredProtocols(t, new Set(["a", "b"])), ["a, b"]);
  assert.deepEqual(
    await offeredProtocols(
      t,
      (function* () {
        yield "x";
        yield 1;
      })(),
    ),
    ["x, 1"],
  );
  assert.deepEqual(await offeredProtocols(t, [null, true]), ["null, true"]);
});

test("A13: any other value is stringified as one protocol", async (t) => {
  assert.deepEqual(await offeredProtocols(t, 5), ["5"]);
  assert.deepEqual(await offeredProtocols(t, null), ["null"]);
});

test("A14: protocols that are not HTTP tokens throw SyntaxError", () => {
  const invalid = [
    "",
    "ec ho",
    "/echo",
    "\u0080echo",
    "a\u0000b",
    "foobar, foobar",
    "a\tb",
    "é",
    ...'()<>@,;:\\"/[]?={}'.split("").map((c) => `a${c}b`),
  ];
  for (let c = 0x01; c <= 0x1f; c++) invalid.push(`a${String.fromCharCode(c)}`);
  for (let c = 0x7f; c <= 0xff; c++) invalid.push(`a${String.fromCharCode(c)}`);
  for (const protocol of invalid) {
    assertThrowsDom(
      () => new WebSocket(NOWHERE, protocol),
      "SyntaxError",
      JSON.stringify(protocol),
    );
    assertThrowsDom(() => new WebSocket(NOWHERE, ["ok", protocol]), "SyntaxError");
  }
  // Every visible ASCII character that is not a separator is allowed.
  construct(NOWHERE, "!#$%&'*+-.^_`|~09azAZ");
});

test("A15 (★): duplicate protocols throw SyntaxError, compared ASCII-case-insensitively", () => {
  assertThrowsDom(() => new WebSocket(NOWHERE, ["echo", "echo"]), "SyntaxError");
  assertThrowsDom(() => new WebSocket(NOWHERE, ["echo", "eCho"]), "SyntaxError");
  assertThrowsDom(() => new WebSocket(NOWHERE, ["a", "b", "A"]), "SyntaxError");
  construct(NOWHERE, ["echo", "echo2"]);
});

test("A16: a protocol is a DOMString: a lone surrogate stays and is rejected as a non-token", () => {
  assertThrowsDom(() => new WebSocket(NOWHERE, "\uD807"), "SyntaxError");
  assertThrowsDom(() => new WebSocket(NOWHERE, ["ok", "a\uDC00"]), "SyntaxError");
});

test("A17: the URL is checked before the protocols", () => {
  const error = assertThrowsDom(
    () => new WebSocket("ws://127.0.0.1:1/#frag", "not a token"),
    "SyntaxError",
  );
  assert.match(error.message, /fragment/i);
  const scheme = assertThrowsDom(() => new WebSocket("ftp://h/", ["a", "a"]), "SyntaxError");
  assert.match(scheme.message, /scheme/i);
});

test("A17: IDL conversion of every argument comes before the steps (TypeError wins)", () => {
  assertThrowsTypeError(() => new WebSocket("ws://127.0.0.1:1/#frag", [Symbol("p")] as never));
  assertThrowsTypeError(() => new WebSocket("not a url", Symbol("p") as never));
});

test("A18: an unreachable server never throws: error, then close 1006", async () => {
  const server = createServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const rec = record(ws);
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["error", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(event.wasClean, false);
  assert.equal(event.reason, "");
  assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_CONNECT_FAILED");
});

test("A19: after the constructor: readyState 0, bufferedAmount 0, protocol/extensions '', binaryType blob, no event", () => {
  const ws = new WebSocket("http://127.0.0.1:1/a?b", "chat");
  const rec = record(ws);
  assert.equal(ws.readyState, 0);
  assert.equal(ws.bufferedAmount, 0);
  assert.equal(ws.protocol, "");
  assert.equal(ws.extensions, "");
  assert.equal(ws.binaryType, "blob");
  assert.equal(ws.url, "ws://127.0.0.1:1/a?b");
  assert.deepEqual(rec.types(), []);
  ws.close();
  assert.deepEqual(rec.types(), []);
});

test("A20: the connection is established after the constructor returns", async (t) => {
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  assert.equal(peer.sockets.length, 0);
  assert.deepEqual(rec.types(), []);
  await rec.opened();
  assert.equal(peer.connections.length, 1);
  ws.close();
  await rec.closed();
});

test("A21: an options object is never stringified into a protocol", async (t) => {
  const peer = await RawPeer.start({
    respond: () => accept({ protocol: "b" }),
    replyToClose: true,
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url, { protocols: ["a", "b"] });
  const rec = record(ws);
  await rec.opened();
  assert.deepEqual((await peer.request()).values("Sec-WebSocket-Protocol"), ["a, b"]);
  assert.equal(ws.protocol, "b");
  ws.close();
  await rec.closed();
  assert.deepEqual(await offeredProtocols(t, {}), []);
  assert.deepEqual(await offeredProtocols(t, { protocols: "solo" }), ["solo"]);
});

test("A21: options.protocols is validated like the second argument", () => {
  assertThrowsDom(() => new WebSocket(NOWHERE, { protocols: ["a", "A"] }), "SyntaxError");
  assertThrowsDom(() => new WebSocket(NOWHERE, { protocols: "a b" }), "SyntaxError");
});
