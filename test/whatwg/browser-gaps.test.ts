/**
 * The browser behaviours issue #15 closes: a process-wide base URL (`setGlobalOrigin`, SPEC.md
 * A4, F13), URL credentials sent as Basic authentication (A10), and Web IDL brand checks on
 * every interface (B-section: an operation, getter or setter on a foreign `this` throws a
 * TypeError before converting any argument).
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  CloseEvent,
  MessageEvent,
  ReconnectingWebSocket,
  WebSocket,
  WebSocketError,
  WebSocketStream,
  closeDetails,
  getGlobalOrigin,
  setGlobalOrigin,
} from "../../src/index.js";
import { RawPeer, withTimeout } from "../helpers/raw-peer.js";

async function startPeer(t: TestContext): Promise<RawPeer> {
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  return peer;
}

function resetGlobalOrigin(t: TestContext): void {
  t.after(() => setGlobalOrigin(undefined));
}

function closedEvent(socket: WebSocket): Promise<CloseEvent> {
  return withTimeout(
    new Promise<CloseEvent>((resolve) =>
      socket.addEventListener("close", (event) => resolve(event as CloseEvent), { once: true }),
    ),
    "the close event",
  );
}

// ---- setGlobalOrigin (A4, F13) ----------------------------------------------------------------

test("A4: without a global origin, relative URLs throw SyntaxError and no Origin is sent (unchanged)", async (t) => {
  assert.equal(getGlobalOrigin(), undefined);
  for (const input of ["/path", "?q", "test", ""]) {
    assert.throws(() => new WebSocket(input), { name: "SyntaxError" }, input);
  }
  const peer = await startPeer(t);
  const socket = new WebSocket(peer.url);
  assert.equal((await peer.request()).header("Origin"), undefined);
  socket.close();
});

test("A4, F13: setGlobalOrigin resolves relative URLs (http→ws, https→wss) and supplies Origin", async (t) => {
  resetGlobalOrigin(t);
  const peer = await startPeer(t);
  const port = new URL(peer.url).port;
  setGlobalOrigin(`http://127.0.0.1:${port}/app/page.html`);
  assert.equal(getGlobalOrigin()?.href, `http://127.0.0.1:${port}/app/page.html`);
  const socket = new WebSocket("live?room=1");
  assert.equal(socket.url, `ws://127.0.0.1:${port}/app/live?room=1`);
  const request = await peer.request();
  assert.equal(request.target, "/app/live?room=1");
  assert.equal(request.header("Origin"), `http://127.0.0.1:${port}`);
  socket.close();
  setGlobalOrigin("https://app.example:8443/");
  assert.equal(
    new WebSocketStream("/feed", { signal: AbortSignal.abort() }).url,
    "wss://app.example:8443/feed",
  );
  // getGlobalOrigin returns a copy: changing it changes nothing.
  getGlobalOrigin()!.pathname = "/elsewhere";
  assert.equal(getGlobalOrigin()?.pathname, "/");
});

test("F13: an origin option or an Origin header wins over the global origin; absolute URLs ignore the base", async (t) => {
  resetGlobalOrigin(t);
  const peer = await startPeer(t);
  setGlobalOrigin("https://global.example");
  const first = new WebSocket(peer.url, { origin: "https://option.example" });
  assert.equal((await peer.nextConnection()).request!.header("Origin"), "https://option.example");
  first.close();
  const second = new WebSocket(peer.url, { headers: { Origin: "https://header.example" } });
  const conn = await peer.nextConnection();
  assert.deepEqual(conn.request!.values("Origin"), ["https://header.example"]);
  second.close();
  assert.equal(second.url, peer.url);
});

test("setGlobalOrigin refuses what is not an absolute http(s) URL; undefined clears it", (t) => {
  resetGlobalOrigin(t);
  for (const bad of ["relative", "ftp://h/", "ws://h/"]) {
    assert.throws(() => setGlobalOrigin(bad), { name: "TypeError", code: "ERR_WS_INVALID_OPTION" });
  }
  setGlobalOrigin("http://h/");
  setGlobalOrigin(undefined);
  assert.equal(getGlobalOrigin(), undefined);
});

test("A4: ReconnectingWebSocket resolves relative URLs against the global origin too", async (t) => {
  resetGlobalOrigin(t);
  const peer = await startPeer(t);
  setGlobalOrigin(peer.url.replace("ws:", "http:"));
  const socket = new ReconnectingWebSocket("/r", { initialDelayMs: 10 });
  t.after(() => socket.close());
  assert.equal((await peer.request()).target, "/r");
  assert.equal(socket.url, peer.urlFor("/r"));
});

// ---- URL credentials (A10) --------------------------------------------------------------------

test("A10: URL credentials are sent as Authorization: Basic (percent-decoded); url keeps them", async (t) => {
  const peer = await startPeer(t);
  const url = peer.url.replace("ws://", "ws://al%20ice:p%40ss%3Aword@");
  const socket = new WebSocket(url);
  assert.equal(socket.url, url);
  const expected = `Basic ${Buffer.from("al ice:p@ss:word").toString("base64")}`;
  assert.equal((await peer.nextConnection()).request!.header("Authorization"), expected);
  socket.close();
  // A user name alone is sent too ("user:").
  const userOnly = new WebSocketStream(peer.url.replace("ws://", "ws://solo@"));
  const conn = await peer.nextConnection();
  assert.equal(
    conn.request!.header("Authorization"),
    `Basic ${Buffer.from("solo:").toString("base64")}`,
  );
  userOnly.close();
});

test("A10: an explicit Authorization header wins over URL credentials (one header, the explicit one)", async (t) => {
  const peer = await startPeer(t);
  const socket = new WebSocket(peer.url.replace("ws://", "ws://u:p@"), {
    headers: [["authorization", "Bearer abc"]],
  });
  assert.deepEqual((await peer.request()).values("Authorization"), ["Bearer abc"]);
  socket.close();
});

test("A10: credentials never appear in a SyntaxError message or in closeDetails", async (t) => {
  assert.throws(
    () => new WebSocket("ws://user:hunter2@exa mple.com/"),
    (error: DOMException) => {
      assert.equal(error.name, "SyntaxError");
      assert.ok(!error.message.includes("hunter2"), error.message);
      return true;
    },
  );
  const peer = await RawPeer.start({ respond: () => ({ type: "status", status: 401 }) });
  t.after(() => peer.stop());
  const socket = new WebSocket(peer.url.replace("ws://", "ws://user:hunter2@"));
  await closedEvent(socket);
  const details = closeDetails(socket);
  assert.equal(details?.code, 1006);
  assert.ok(!JSON.stringify(details).includes("hunter2"));
  assert.ok(!JSON.stringify(details).includes(Buffer.from("user:hunter2").toString("base64")));
});

// ---- brand checks (Web IDL) ---------------------------------------------------------------------

/** An argument whose conversion would be observable: the brand check must come first. */
function poison(): { converted: boolean; value: unknown } {
  const state = { converted: false, value: undefined as unknown };
  state.value = {
    toString(): string {
      state.converted = true;
      return "blob";
    },
    valueOf(): number {
      state.converted = true;
      return 1000;
    },
  };
  return state;
}

function assertBrandCheck(name: string, call: (argument: unknown) => unknown): void {
  for (const receiver of [null, undefined, {}, Object.create(WebSocket.prototype), 5]) {
    const p = poison();
    assert.throws(() => call.call(receiver, p.value), TypeError, `${name} on ${String(receiver)}`);
    assert.equal(p.converted, false, `${name}: the argument was converted before the brand check`);
  }
}

function accessor(prototype: object, name: string): PropertyDescriptor {
  const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
  assert.ok(descriptor !== undefined, name);
  return descriptor;
}

test("IDL: every WebSocket operation, getter and setter brand-checks this before converting arguments", () => {
  const proto = WebSocket.prototype;
  // The case the issue names: close() on null threw InvalidAccessError (code converted first).
  assert.throws(() => proto.close.call(null as unknown as WebSocket, 1), TypeError);
  assertBrandCheck("close", function (this: WebSocket, a) {
    return proto.close.call(this, a as number, a as string);
  });
  assertBrandCheck("send", function (this: WebSocket, a) {
    return proto.send.call(this, a as string);
  });
  for (const name of [
    "url",
    "readyState",
    "bufferedAmount",
    "extensions",
    "protocol",
    "binaryType",
  ]) {
    const get = accessor(proto, name).get!;
    assertBrandCheck(`get ${name}`, function (this: unknown) {
      return get.call(this);
    });
  }
  for (const name of ["binaryType", "onopen", "onmessage", "onerror", "onclose"]) {
    const { get, set } = accessor(proto, name);
    assertBrandCheck(`get ${name}`, function (this: unknown) {
      return get!.call(this);
    });
    assertBrandCheck(`set ${name}`, function (this: unknown, a) {
      return set!.call(this, a);
    });
  }
  // The binaryType setter no longer accepts a foreign this, valid value or not.
  assert.throws(() => accessor(proto, "binaryType").set!.call({}, "nonsense"), TypeError);
});

test("IDL: CloseEvent, MessageEvent, WebSocketStream and WebSocketError getters and operations brand-check this", () => {
  for (const name of ["code", "reason", "wasClean"]) {
    const get = accessor(CloseEvent.prototype, name).get!;
    assert.throws(() => get.call(new Event("close")), TypeError, name);
  }
  for (const name of ["data", "origin", "lastEventId", "source", "ports"]) {
    // MessageEvent's members are Node's own (inherited): they brand-check too.
    const descriptor =
      Object.getOwnPropertyDescriptor(MessageEvent.prototype, name) ??
      Object.getOwnPropertyDescriptor(
        Object.getPrototypeOf(MessageEvent.prototype) as object,
        name,
      );
    assert.throws(() => descriptor!.get!.call(new Event("message")), TypeError, name);
  }
  const streamProto = WebSocketStream.prototype;
  for (const name of ["url", "opened", "closed"]) {
    const get = accessor(streamProto, name).get!;
    assert.throws(() => get.call({}), TypeError, name);
  }
  const p = poison();
  const closeInfo = {
    get closeCode(): number {
      p.converted = true;
      return 1000;
    },
  };
  assert.throws(() => streamProto.close.call({} as WebSocketStream, closeInfo), TypeError);
  assert.throws(
    () => streamProto.close.call(null as unknown as WebSocketStream, { closeCode: 9 }),
    TypeError,
  );
  assert.equal(p.converted, false);
  for (const name of ["closeCode", "reason"]) {
    const get = accessor(WebSocketError.prototype, name).get!;
    assert.throws(() => get.call(new DOMException("x")), TypeError, name);
  }
});
