/**
 * The WebSocketStream constructor and `opened` (SPEC.md O1, O2, O5, O16; WPT
 * stream/tentative/constructor.any.js), and the Node-only options it shares with `WebSocket`
 * through src/whatwg/client-options.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  WebSocket,
  WebSocketError,
  WebSocketStream,
  closeDetails,
  type WebSocketStreamOptions,
} from "../../../src/index.js";
import { assertThrowsDom, assertThrowsTypeError } from "../../helpers/assert-dom.js";
import { RawPeer, accept, sleep, withTimeout } from "../../helpers/raw-peer.js";
import { assertWebSocketError, openStream, rejectionOf } from "../../helpers/stream-client.js";
import { TLS_CERT, TLS_KEY } from "../../helpers/tls-fixture.js";

/** A URL whose connection attempt fails at once without touching the network (a bad port). */
const NOWHERE = "ws://127.0.0.1:1/";

/** Constructs a stream and fails it at once, so nothing lingers. */
function construct(url: unknown, options?: unknown): WebSocketStream {
  const wss =
    options === undefined
      ? new WebSocketStream(url as string)
      : new WebSocketStream(url as string, options as WebSocketStreamOptions);
  wss.close();
  return wss;
}

test("O1: WebSocketStream and WebSocketError are exported on their own, apart from WebSocket", () => {
  assert.equal(typeof WebSocketStream, "function");
  assert.equal(typeof WebSocketError, "function");
  assert.equal(WebSocketStream.length, 1);
  assert.ok(!(WebSocketStream.prototype instanceof EventTarget), "not an EventTarget");
  assert.ok(!(WebSocketStream.prototype instanceof WebSocket));
  const wss = construct(NOWHERE);
  assert.equal(Object.prototype.toString.call(wss), "[object WebSocketStream]");
  for (const name of ["url", "opened", "closed", "close"]) {
    assert.ok(Object.getOwnPropertyDescriptor(WebSocketStream.prototype, name)?.enumerable, name);
  }
});

test("O2: no URL is a TypeError; an invalid URL, scheme or fragment is a SyntaxError", () => {
  assertThrowsTypeError(() => new (WebSocketStream as unknown as new () => unknown)());
  for (const url of [
    "invalid:",
    "ws://foo bar.com/",
    "ftp://127.0.0.1/",
    "ws://127.0.0.1/#",
    "/relative",
  ]) {
    assertThrowsDom(() => new WebSocketStream(url), "SyntaxError", url);
  }
});

test("O2: http → ws and https → wss in .url; the URL is a USVString; baseURL resolves relative URLs", () => {
  assert.equal(construct("http://127.0.0.1:1/x?q").url, "ws://127.0.0.1:1/x?q");
  assert.equal(construct("https://127.0.0.1:1/").url, "wss://127.0.0.1:1/");
  assert.equal(construct({ toString: () => NOWHERE }).url, NOWHERE);
  assert.equal(construct(new URL("ws://127.0.0.1:1")).url, NOWHERE);
  assert.equal(construct("/p", { baseURL: "http://127.0.0.1:1/" }).url, "ws://127.0.0.1:1/p");
});

test("O2: options that are not an object (true, 1, 'x') are a TypeError; undefined and null are {}", () => {
  for (const options of [true, 1, "x"]) {
    assertThrowsTypeError(() => new WebSocketStream(NOWHERE, options as never), String(options));
  }
  construct(NOWHERE, undefined);
  construct(NOWHERE, null);
});

test("O2: protocols given as a string (not a list) is a TypeError; so is a non-iterable object", () => {
  assertThrowsTypeError(
    () => new WebSocketStream(NOWHERE, { protocols: "hi" as unknown as string[] }),
  );
  assertThrowsTypeError(
    () => new WebSocketStream(NOWHERE, { protocols: {} as unknown as string[] }),
  );
  assertThrowsTypeError(
    () => new WebSocketStream(NOWHERE, { protocols: null as unknown as string[] }),
  );
});

test("O2: an invalid or duplicate (case-insensitively) protocol is a SyntaxError", () => {
  for (const protocols of [
    [""],
    ["ec ho"],
    ["/echo"],
    ["a\u0000b"],
    ["é"],
    ["a\uD800"],
    ["echo", "eCho"],
  ]) {
    assertThrowsDom(
      () => new WebSocketStream(NOWHERE, { protocols }),
      "SyntaxError",
      JSON.stringify(protocols),
    );
  }
});

test("O2: a signal that is not an AbortSignal is a TypeError", () => {
  for (const signal of [{}, null, true]) {
    assertThrowsTypeError(
      () => new WebSocketStream(NOWHERE, { signal: signal as unknown as AbortSignal }),
      String(signal),
    );
  }
});

test("O2: conversions come first — a TypeError from the options wins over a SyntaxError from the URL", () => {
  assertThrowsTypeError(
    () => new WebSocketStream("invalid:", { protocols: "x" as unknown as string[] }),
  );
  // The URL is checked before the protocols (A17).
  assertThrowsDom(() => new WebSocketStream("invalid:", { protocols: [""] }), "SyntaxError");
});

test("O2 (shared options): Node option misuse throws from the constructor, as for WebSocket", () => {
  const cases: [WebSocketStreamOptions, string][] = [
    [{ handshakeTimeoutMs: -1 }, "ERR_WS_INVALID_OPTION"],
    [{ closeTimeoutMs: 0 }, "ERR_WS_INVALID_OPTION"],
    [{ maxMessageBytes: 0 }, "ERR_WS_INVALID_OPTION"],
    [{ readableHighWaterMarkBytes: -1 }, "ERR_WS_INVALID_OPTION"],
    [{ writableHighWaterMarkBytes: Infinity }, "ERR_WS_INVALID_OPTION"],
    [{ headers: { Host: "evil" } }, "ERR_WS_INVALID_HEADER"],
    [{ headers: [["X-Ok", "a\r\nb"]] }, "ERR_WS_INVALID_HEADER"],
  ];
  for (const [options, code] of cases) {
    assert.throws(
      () => new WebSocketStream(NOWHERE, options),
      (error: unknown) => (error as { code?: unknown }).code === code,
      JSON.stringify(options),
    );
    // The same option gives the same error from WebSocket (one implementation).
    if (!("readableHighWaterMarkBytes" in options) && !("writableHighWaterMarkBytes" in options)) {
      assert.throws(
        () => new WebSocket(NOWHERE, options as never),
        (error: unknown) => (error as { code?: unknown }).code === code,
      );
    }
  }
});

test("O2 (shared options): protocols, headers and origin go into the request", async (t) => {
  const peer = await RawPeer.start({
    respond: () => accept({ protocol: "beta" }),
    replyToClose: true,
  });
  t.after(() => peer.stop());
  const wss = new WebSocketStream(peer.urlFor("/chat?room=1"), {
    protocols: new Set(["alpha", "beta"]),
    headers: { "X-Token": "t0k" },
    origin: "https://app.example",
  });
  const request = await peer.request();
  assert.equal(request.target, "/chat?room=1");
  assert.deepEqual(request.values("Sec-WebSocket-Protocol"), ["alpha, beta"]);
  assert.equal(request.header("X-Token"), "t0k");
  assert.equal(request.header("Origin"), "https://app.example");
  const { protocol } = await withTimeout(wss.opened, "opened");
  assert.equal(protocol, "beta");
  wss.close();
  await withTimeout(wss.closed, "closed");
});

test("O5: opened resolves to { readable, writable, extensions, protocol } of the right types", async (t) => {
  const { readable, writable, extensions, protocol, wss } = await openStream(t, {
    peer: { replyToClose: true },
  });
  // Brand checks: these throw unless the values are real streams.
  ReadableStream.prototype.getReader.call(readable).releaseLock();
  WritableStream.prototype.getWriter.call(writable).releaseLock();
  assert.equal(extensions, "");
  assert.equal(protocol, "");
  assert.equal(await wss.opened, await wss.opened, "the same promise and value every time");
  assert.equal(wss.opened, wss.opened);
  assert.equal(wss.closed, wss.closed);
  wss.close();
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1005, reason: "" });
});

test("O5 (shared options): TLS options apply to wss: (ca, servername)", async (t) => {
  const peer = await RawPeer.start({ tls: { key: TLS_KEY, cert: TLS_CERT }, replyToClose: true });
  t.after(() => peer.stop());
  const wss = new WebSocketStream(`wss://127.0.0.1:${peer.port}/`, {
    ca: TLS_CERT,
    servername: "localhost",
  });
  const { readable } = await withTimeout(wss.opened, "opened over TLS");
  peer.sendText("secret");
  assert.equal((await readable.getReader().read()).value, "secret");
  wss.close();
  await withTimeout(wss.closed, "closed");
  assert.deepEqual(peer.servernames, ["localhost"]);

  const untrusted = new WebSocketStream(`wss://localhost:${peer.port}/`);
  assertWebSocketError(await rejectionOf(untrusted.opened, "opened (untrusted)"), null, "");
  assertWebSocketError(await rejectionOf(untrusted.closed, "closed (untrusted)"), 1006, "");
  assert.equal(closeDetails(untrusted)?.cause?.code, "ERR_WS_TLS_FAILED");
});

test("O16: a refused handshake (404) rejects opened with a fresh WebSocketError and closed with 1006", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "status", status: 404 }) });
  t.after(() => peer.stop());
  const wss = new WebSocketStream(peer.url);
  const openedError = assertWebSocketError(await rejectionOf(wss.opened, "opened"), null, "");
  const closedError = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  assert.notEqual(openedError, closedError, "two distinct errors");
  const details = closeDetails(wss);
  assert.equal(details?.cause?.code, "ERR_WS_HANDSHAKE_STATUS");
  assert.equal(details?.cause?.response?.status, 404);
  assert.equal(details?.initiator, "remote");
});

test("O16: a refused TCP connection and a blocked port reject both promises (never a throw)", async () => {
  const blocked = new WebSocketStream("ws://127.0.0.1:9/"); // a Fetch bad port: never dialled
  assertWebSocketError(await rejectionOf(blocked.opened, "opened"), null, "");
  assertWebSocketError(await rejectionOf(blocked.closed, "closed"), 1006, "");
  assert.equal(closeDetails(blocked)?.cause?.code, "ERR_WS_BLOCKED_PORT");

  // A port nobody listens on: find one by listening and closing.
  const probe = await RawPeer.start();
  const port = probe.port;
  await probe.stop();
  const wss = new WebSocketStream(`ws://127.0.0.1:${port}/`);
  assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  assertWebSocketError(await rejectionOf(wss.opened, "opened"), null, "");
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_CONNECT_FAILED");
});

test("O16 (shared options): handshakeTimeoutMs fails a handshake the server never answers", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const started = performance.now();
  const wss = new WebSocketStream(peer.url, { handshakeTimeoutMs: 150 });
  assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  assert.ok(performance.now() - started >= 140);
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_HANDSHAKE_TIMEOUT");
});

test("O16: a bad accept key fails the connection; nothing opens", async (t) => {
  const peer = await RawPeer.start({ respond: () => accept({ accept: "bm9wZQ==" }) });
  t.after(() => peer.stop());
  const wss = new WebSocketStream(peer.url);
  assertWebSocketError(await rejectionOf(wss.opened, "opened"), null, "");
  assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_HANDSHAKE_ACCEPT");
});

test("O16: rejected opened/closed that nobody awaits never surface as unhandled rejections", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  try {
    new WebSocketStream("ws://127.0.0.1:9/"); // fails asynchronously; nobody listens
    const aborted = new AbortController();
    aborted.abort();
    new WebSocketStream(NOWHERE, { signal: aborted.signal });
    new WebSocketStream(NOWHERE).close();
    await sleep(50);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  assert.deepEqual(unhandled, []);
});
