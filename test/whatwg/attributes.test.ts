/**
 * SPEC.md B1–B15: the IDL surface of WebSocket — constants, read-only attributes, readyState
 * transitions, extensions, protocol, binaryType, the event handler attributes, class strings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import { CloseEvent, MessageEvent, WebSocket } from "../../src/index.js";
import { record } from "../helpers/client-recorder.js";
import { OP } from "../helpers/frames.js";
import { RawPeer, accept, withTimeout } from "../helpers/raw-peer.js";

const NOWHERE = "ws://127.0.0.1:1/";

function fresh(): WebSocket {
  const ws = new WebSocket(NOWHERE);
  ws.close();
  return ws;
}

const CONSTANTS = [
  ["CONNECTING", 0],
  ["OPEN", 1],
  ["CLOSING", 2],
  ["CLOSED", 3],
] as const;

test("B1: the constants exist on the constructor and the prototype, read-only and non-configurable", () => {
  for (const [name, value] of CONSTANTS) {
    for (const target of [WebSocket, WebSocket.prototype] as const) {
      const descriptor = Object.getOwnPropertyDescriptor(target, name);
      assert.deepEqual(descriptor, {
        value,
        writable: false,
        enumerable: true,
        configurable: false,
      });
      assert.throws(
        () => Object.defineProperty(target, name, { value: 9 }),
        TypeError,
        `defineProperty ${name}`,
      );
      assert.equal(Reflect.set(target, name, 9), false);
      assert.equal(Reflect.deleteProperty(target, name), false);
      assert.equal((target as unknown as Record<string, number>)[name], value);
    }
    assert.equal((fresh() as unknown as Record<string, number>)[name], value);
  }
});

test("B1: in strict code assigning or deleting a constant throws TypeError", () => {
  const ws = fresh() as unknown as Record<string, number>;
  assert.throws(() => {
    (WebSocket as unknown as Record<string, number>)["OPEN"] = 5;
  }, TypeError);
  assert.throws(() => {
    ws["CLOSED"] = 5;
  }, TypeError);
  assert.throws(() => {
    delete (WebSocket as unknown as Record<string, number>)["OPEN"];
  }, TypeError);
});

const ATTRIBUTES = ["url", "readyState", "bufferedAmount", "extensions", "protocol"] as const;

test("B2: url, readyState, bufferedAmount, extensions, protocol are getter-only prototype accessors", () => {
  for (const name of ATTRIBUTES) {
    const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
    assert.equal(typeof descriptor.get, "function", name);
    assert.equal(descriptor.set, undefined, name);
    assert.equal(descriptor.enumerable, true, name);
    assert.equal(descriptor.configurable, true, name);
    const ws = fresh();
    assert.equal(Object.getOwnPropertyDescriptor(ws, name), undefined, `no own ${name}`);
    const before = ws[name];
    // Sloppy-mode assignment is ignored: Reflect.set reports the failure instead of throwing.
    assert.equal(Reflect.set(ws, name, 42), false, name);
    assert.equal(ws[name], before, name);
    // Strict mode (ES modules are strict) throws.
    assert.throws(() => {
      (ws as unknown as Record<string, unknown>)[name] = 42;
    }, TypeError);
    // Deleting an own property that does not exist changes nothing.
    assert.equal(Reflect.deleteProperty(ws, name), true);
    assert.equal(ws[name], before, name);
  }
});

test("B2: deleting the prototype accessor makes the attribute undefined", () => {
  const ws = fresh();
  for (const name of ATTRIBUTES) {
    const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
    try {
      assert.equal(Reflect.deleteProperty(WebSocket.prototype, name), true);
      assert.equal((ws as unknown as Record<string, unknown>)[name], undefined, name);
    } finally {
      Object.defineProperty(WebSocket.prototype, name, descriptor);
    }
    assert.notEqual((ws as unknown as Record<string, unknown>)[name], undefined);
  }
});

test("B2: the getters refuse a receiver that is not a WebSocket (TypeError)", () => {
  for (const name of ATTRIBUTES) {
    const getter = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!.get!;
    assert.throws(() => getter.call({}), TypeError, name);
  }
});

test("B3: there is no URL attribute", () => {
  const ws = fresh();
  assert.equal("URL" in ws, false);
  assert.equal((ws as unknown as Record<string, unknown>)["URL"], undefined);
});

test("B4: url is the serialized record after the http→ws rewrite", () => {
  const ws = new WebSocket("HTTP://127.0.0.1:1/a/../b?c");
  assert.equal(ws.url, "ws://127.0.0.1:1/b?c");
  ws.close();
});

test("B5: 0→1 in the open task, 1→2 synchronously in close(), 2→3 in the close task", async (t) => {
  const peer = await RawPeer.start();
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  assert.equal(ws.readyState, WebSocket.CONNECTING);
  await rec.opened();
  assert.equal(rec.events[0]!.readyState, WebSocket.OPEN);
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const frame = await peer.nextFrame();
  assert.equal(frame.opcode, OP.close);
  assert.equal(ws.readyState, WebSocket.CLOSING);
  peer.closeAndEnd();
  await rec.closed();
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assert.deepEqual(
    rec.events.map((e) => [e.type, e.readyState]),
    [
      ["open", 1],
      ["close", 3],
    ],
  );
});

test("B5: 0→2 synchronously in close() while connecting, then 2→3", async () => {
  const ws = new WebSocket(NOWHERE);
  const rec = record(ws);
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  await rec.closed();
  assert.equal(ws.readyState, WebSocket.CLOSED);
});

test("B5: 0→3 in the task that reports a failed handshake", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "status", status: 404 }) });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  const seen: number[] = [];
  const poll = setInterval(() => seen.push(ws.readyState), 1);
  await rec.closed();
  clearInterval(poll);
  assert.ok(!seen.includes(WebSocket.OPEN) && !seen.includes(WebSocket.CLOSING), String(seen));
  assert.equal(ws.readyState, WebSocket.CLOSED);
});

test("B5: 1→2 in a task when the server's Close arrives, then 2→3 (never backwards)", async (t) => {
  const peer = await RawPeer.start();
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  await rec.opened();
  peer.close(1000);
  const echo = await peer.nextFrame();
  assert.equal(echo.opcode, OP.close);
  // The client has processed our Close (it echoed it); the CLOSING task runs soon after.
  await withTimeout(
    (async () => {
      while (ws.readyState !== WebSocket.CLOSING) await new Promise((r) => setImmediate(r));
    })(),
    "readyState CLOSING",
  );
  peer.end();
  await rec.closed();
  assert.equal(ws.readyState, WebSocket.CLOSED);
});

test("B9: extensions is '' before open and stays '' when the server accepts none", async (t) => {
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  assert.equal(ws.extensions, "");
  let inOpen: string | undefined;
  ws.onopen = () => (inOpen = ws.extensions);
  await rec.opened();
  assert.equal(inOpen, "");
  ws.close();
  await rec.closed();
});

test("B9: an extensions header for an extension that was not offered fails the connection", async (t) => {
  const peer = await RawPeer.start({
    respond: () => accept({ extensions: "x-webkit-deflate-frame" }),
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["error", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(ws.extensions, "");
});

test("B9/N22: extensions shows the server's accepted permessage-deflate value exactly as received", async (t) => {
  const value = "permessage-deflate; server_no_context_takeover; client_max_window_bits=12";
  const peer = await RawPeer.start({
    respond: () => accept({ extensions: value }),
    replyToClose: true,
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  assert.equal(ws.extensions, "", "empty until the open task");
  await new Promise((resolve) => (ws.onopen = resolve));
  assert.equal(ws.extensions, value);
  ws.close();
  await new Promise((resolve) => (ws.onclose = resolve));
});

test("B10: protocol is '' until the open task, then the server's choice", async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const peer = await RawPeer.start({
    respond: async () => {
      await gate;
      return accept({ protocol: "chat" });
    },
    replyToClose: true,
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url, ["superchat", "chat"]);
  const rec = record(ws);
  await peer.request();
  assert.equal(ws.protocol, "");
  let inOpen: string | undefined;
  ws.onopen = () => (inOpen = ws.protocol);
  release();
  await rec.opened();
  assert.equal(inOpen, "chat");
  assert.equal(ws.protocol, "chat");
  ws.close();
  await rec.closed();
  assert.equal(ws.protocol, "chat");
});

test("B11: binaryType defaults to blob; only 'blob' and 'arraybuffer' are accepted, silently", () => {
  const ws = fresh();
  assert.equal(ws.binaryType, "blob");
  ws.binaryType = "arraybuffer";
  assert.equal(ws.binaryType, "arraybuffer");
  for (const value of ["", "Blob", "ARRAYBUFFER", "arraybuffer ", "text", "nodebuffer"]) {
    assert.doesNotThrow(() => (ws.binaryType = value));
    assert.equal(ws.binaryType, "arraybuffer", value);
  }
  (ws as unknown as { binaryType: unknown }).binaryType = { toString: () => "blob" };
  assert.equal(ws.binaryType, "blob");
  (ws as unknown as { binaryType: unknown }).binaryType = null;
  assert.equal(ws.binaryType, "blob");
});

const HANDLERS = ["onopen", "onmessage", "onerror", "onclose"] as const;

test("B12: event handlers start null; non-objects store null; objects are stored", () => {
  const ws = fresh();
  for (const name of HANDLERS) {
    assert.equal(ws[name], null, name);
    const fn = (): void => {};
    ws[name] = fn;
    assert.equal(ws[name], fn);
    for (const value of [1, "x", undefined, true, Symbol("s")]) {
      ws[name] = fn;
      (ws as unknown as Record<string, unknown>)[name] = value;
      assert.equal(ws[name], null, `${name} = ${String(value)}`);
    }
    const object = { handleEvent() {} };
    ws[name] = object;
    assert.equal(ws[name], object);
    ws[name] = null;
    assert.equal(ws[name], null);
  }
});

test("B12: a non-callable object handler is stored but never called; null removes a handler", async () => {
  const ws = new WebSocket(NOWHERE);
  const rec = record(ws);
  let calledByHandleEvent = false;
  ws.onerror = {
    handleEvent() {
      calledByHandleEvent = true;
    },
  };
  let closeCalls = 0;
  ws.onclose = () => closeCalls++;
  ws.onclose = null;
  await rec.closed();
  assert.equal(calledByHandleEvent, false);
  assert.equal(closeCalls, 0);
});

test("B12: handlers belong to their socket; the accessors refuse a receiver that is not a WebSocket (TypeError)", () => {
  const one = fresh();
  const two = fresh();
  for (const name of HANDLERS) {
    const fn = (): void => {};
    one[name] = fn;
    assert.equal(one[name], fn, name);
    assert.equal(two[name], null, name);
    one[name] = null;
    const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
    assert.throws(() => descriptor.get!.call({}), TypeError, name);
    assert.throws(() => descriptor.set!.call(new EventTarget(), fn), TypeError, name);
  }
});

test("B13: Object.prototype.toString gives WebSocket, Event, MessageEvent, CloseEvent", async (t) => {
  const peer = await RawPeer.start();
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  assert.equal(Object.prototype.toString.call(ws), "[object WebSocket]");
  await rec.opened();
  peer.sendText("hi");
  await rec.nextMessage();
  peer.destroy();
  await rec.closed();
  const tags = rec.events.map((e) => [e.type, Object.prototype.toString.call(e.event)]);
  assert.deepEqual(tags, [
    ["open", "[object Event]"],
    ["message", "[object MessageEvent]"],
    ["error", "[object Event]"],
    ["close", "[object CloseEvent]"],
  ]);
  assert.equal(
    Object.prototype.toString.call(new MessageEvent("message")),
    "[object MessageEvent]",
  );
  assert.equal(Object.prototype.toString.call(new CloseEvent("close")), "[object CloseEvent]");
});

test("B14: send.length 1, close.length 0; WebSocket extends EventTarget", () => {
  assert.equal(WebSocket.prototype.send.length, 1);
  assert.equal(WebSocket.prototype.close.length, 0);
  assert.equal(Object.getPrototypeOf(WebSocket.prototype), EventTarget.prototype);
  const ws = fresh();
  assert.ok(ws instanceof EventTarget);
  for (const name of ["addEventListener", "removeEventListener", "dispatchEvent"] as const) {
    assert.equal(typeof ws[name], "function");
  }
});

test("B15: methods are writable prototype members; assigning one on an instance shadows it", () => {
  for (const name of ["send", "close"] as const) {
    const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
    assert.equal(descriptor.writable, true);
    assert.equal(descriptor.enumerable, true);
    assert.equal(descriptor.configurable, true);
  }
  const ws = new WebSocket(NOWHERE);
  (ws as unknown as Record<string, unknown>)["close"] = 5;
  assert.equal((ws as unknown as Record<string, unknown>)["close"], 5);
  WebSocket.prototype.close.call(ws);
  assert.equal(ws.readyState, WebSocket.CLOSING);
});
