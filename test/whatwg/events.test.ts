/**
 * SPEC.md E1–E24: the events a WebSocket fires — their classes and fields, the tasks they come
 * from, their order in every close sequence (S1–S7), listener order, and what script can (not)
 * learn about failures.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";

import { CloseEvent, MessageEvent, WebSocket, closeDetails } from "../../src/index.js";
import { record } from "../helpers/client-recorder.js";
import { OP, buildFrame, closeBody, concat } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import {
  RawPeer,
  accept,
  parseCloseFrame,
  sleep,
  withTimeout,
  type HandshakeReply,
} from "../helpers/raw-peer.js";
import { TLS_CERT, TLS_KEY } from "../helpers/tls-fixture.js";

/** A few macrotask turns. */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

test("E1: no event fires synchronously inside the constructor, send() or close(), nor in microtasks", async (t) => {
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  assert.deepEqual(rec.types(), []);
  await rec.opened();
  peer.sendText("a");
  await rec.nextMessage();
  ws.send("x");
  assert.deepEqual(rec.types(), ["open", "message"]);
  ws.close();
  assert.deepEqual(rec.types(), ["open", "message"]);
  await rec.closed();

  // close() while CONNECTING fails the connection at once, yet error and close are tasks.
  const early = new WebSocket(peer.url);
  const earlyRec = record(early);
  early.close();
  assert.deepEqual(earlyRec.types(), []);
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.deepEqual(earlyRec.types(), []);
  await earlyRec.closed();
  assert.deepEqual(earlyRec.types(), ["error", "close"]);
});

test("E1: events are dispatched in FIFO order from separate tasks", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  const order: string[] = [];
  ws.onmessage = (event) => {
    order.push(`message ${String((event as MessageEvent).data)}`);
    // A task queued by a listener runs after the tasks already queued.
    setImmediate(() => order.push(`after ${String((event as MessageEvent).data)}`));
  };
  conn.sendRaw(concat(...["1", "2", "3"].map((d) => buildFrame({ opcode: OP.text, payload: d }))));
  await rec.nextMessage();
  await rec.nextMessage();
  await rec.nextMessage();
  await turns();
  assert.deepEqual(order.slice(0, 3), ["message 1", "message 2", "message 3"]);
});

test("E2: open is a plain Event (not bubbling, not cancelable); readyState, protocol, extensions already set", async (t) => {
  const peer = await RawPeer.start({ respond: () => accept({ protocol: "p2" }) });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url, ["p1", "p2"]);
  const rec = record(ws);
  let seen: [number, string, string] | undefined;
  ws.onopen = () => (seen = [ws.readyState, ws.protocol, ws.extensions]);
  const event = await rec.opened();
  assert.equal(event.constructor, Event);
  assert.equal(event.type, "open");
  assert.equal(event.bubbles, false);
  assert.equal(event.cancelable, false);
  // ◇ Node reserves trusted events for its own internals; no user-land event can be trusted.
  assert.equal(event.isTrusted, false);
  assert.deepEqual(seen, [WebSocket.OPEN, "p2", ""]);
});

test("E3: message events: MessageEvent with data, origin, lastEventId '', source null, ports []", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.sendText("héllo");
  const event = await rec.nextMessage();
  assert.ok(event instanceof MessageEvent);
  assert.ok(event instanceof globalThis.MessageEvent);
  assert.equal(event.type, "message");
  assert.equal(event.data, "héllo");
  assert.equal(event.origin, `ws://127.0.0.1:${conn.socket.localPort}`);
  assert.equal(event.lastEventId, "");
  assert.equal(event.source, null);
  assert.deepEqual(event.ports, []);
  assert.equal(event.bubbles, false);
  assert.equal(event.cancelable, false);
  assert.equal(ws.binaryType, "blob");
});

test("E3: binary data is a Blob or an ArrayBuffer according to binaryType when the task runs", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.binary, payload: Uint8Array.of(1, 2) }),
      buildFrame({ opcode: OP.binary, payload: Uint8Array.of(3) }),
      buildFrame({ opcode: OP.binary, payload: Uint8Array.of(4) }),
    ),
  );
  // Both later frames are already queued when the first handler switches the type.
  ws.onmessage = (event) => {
    if ((event as MessageEvent).data instanceof Blob) ws.binaryType = "arraybuffer";
    else ws.binaryType = "blob";
  };
  const first = (await rec.nextMessage()).data as Blob;
  const second = (await rec.nextMessage()).data as ArrayBuffer;
  const third = (await rec.nextMessage()).data as Blob;
  assert.ok(first instanceof Blob);
  assert.deepEqual(new Uint8Array(await first.arrayBuffer()), Uint8Array.of(1, 2));
  assert.equal(first.type, "");
  assert.ok(second instanceof ArrayBuffer);
  assert.deepEqual(new Uint8Array(second), Uint8Array.of(3));
  assert.ok(third instanceof Blob);
});

test("E3: the origin of a wss: URL with a default port has no port", async (t) => {
  const peer = await RawPeer.start({ tls: { key: TLS_KEY, cert: TLS_CERT } });
  t.after(() => peer.stop());
  const ws = new WebSocket(`wss://localhost:${peer.port}/x?y`, { ca: TLS_CERT });
  const rec = record(ws);
  await rec.opened();
  peer.sendText("tls");
  const event = await rec.nextMessage();
  assert.equal(event.origin, `wss://localhost:${peer.port}`);
  assert.equal(new URL("wss://example.com:443/").origin, "wss://example.com");
});

test("E4: a message task that finds readyState ≠ OPEN is dropped silently", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.text, payload: "one" }),
      buildFrame({ opcode: OP.text, payload: "two" }),
      buildFrame({ opcode: OP.binary, payload: Uint8Array.of(3) }),
    ),
  );
  ws.addEventListener("message", () => ws.close(1000), { once: true });
  await conn.nextFrame();
  conn.closeAndEnd(1000);
  await rec.closed();
  assert.deepEqual(rec.messages(), ["one"]);
  assert.deepEqual(rec.types(), ["open", "message", "close"]);
});

test("E5: error is a plain Event named 'error' with no details", async (t) => {
  const { conn, rec } = await openClient(t);
  conn.destroy();
  await rec.closed();
  const error = rec.events.find((e) => e.type === "error")!.event;
  assert.equal(error.constructor, Event);
  assert.equal(error.type, "error");
  assert.equal(error.bubbles, false);
  assert.equal(error.cancelable, false);
  assert.equal("message" in error, false);
  assert.equal("error" in error, false);
  assert.deepEqual(
    Object.keys(error).filter((key) => key !== "isTrusted"),
    [],
  );
});

test("E5: no error event for a clean close, from either side", async (t) => {
  const a = await openClient(t);
  a.ws.close();
  await a.conn.nextFrame();
  a.conn.closeAndEnd();
  await a.rec.closed();
  assert.deepEqual(a.rec.types(), ["open", "close"]);
  const b = await openClient(t);
  b.conn.close(1001, "bye");
  await b.conn.nextFrame();
  b.conn.end();
  await b.rec.closed();
  assert.deepEqual(b.rec.types(), ["open", "close"]);
});

test("E6: readyState is already CLOSED inside onerror and onclose", async (t) => {
  const failed = await openClient(t);
  const states: [string, number][] = [];
  failed.ws.onerror = () => states.push(["error", failed.ws.readyState]);
  failed.ws.onclose = () => states.push(["close", failed.ws.readyState]);
  failed.conn.reset();
  await failed.rec.closed();
  assert.deepEqual(states, [
    ["error", WebSocket.CLOSED],
    ["close", WebSocket.CLOSED],
  ]);
  const clean = await openClient(t);
  clean.ws.close();
  await clean.conn.nextFrame();
  clean.conn.closeAndEnd();
  await clean.rec.closed();
  assert.equal(clean.rec.events.at(-1)!.readyState, WebSocket.CLOSED);
});

test("E7: exactly one close event, and no event after it", async (t) => {
  const { ws, conn, rec } = await openClient(t, { peer: { endOnEof: false } });
  ws.close(1000);
  ws.close();
  await conn.nextFrame();
  conn.close(1000);
  conn.sendText("after the close");
  conn.end();
  await rec.closed();
  ws.close();
  ws.send("x");
  ws.dispatchEvent(new Event("unrelated"));
  await sleep(30);
  assert.deepEqual(rec.types(), ["open", "close"]);
});

test("E8: S1 client-initiated close: open → message* → close {clean, the peer's code}; no error", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.sendText("m1");
  conn.sendText("m2");
  await rec.nextMessage();
  await rec.nextMessage();
  ws.close(1000, "client");
  await conn.nextFrame();
  conn.closeAndEnd(1000, "server");
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "message", "message", "close"]);
  assert.equal(event.wasClean, true);
  assert.equal(event.code, 1000);
  assert.equal(event.reason, "server");
});

test("E9: S2 server-initiated close: every message sent before the Close is delivered, then close", async (t) => {
  const { conn, rec } = await openClient(t);
  conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.text, payload: "m1" }),
      buildFrame({ opcode: OP.text, payload: "m2" }),
      buildFrame({ opcode: OP.close, payload: closeBody(4000, "server done") }),
    ),
  );
  const echo = await conn.nextFrame();
  assert.deepEqual(parseCloseFrame(echo), { code: 4000, reason: "server done" });
  conn.end();
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "message", "message", "close"]);
  assert.deepEqual(rec.messages(), ["m1", "m2"]);
  assert.equal(event.wasClean, true);
  assert.equal(event.code, 4000);
  assert.equal(event.reason, "server done");
});

/** Handshake failures that must all look alike to script (S3). */
const HANDSHAKE_FAILURES: [string, HandshakeReply][] = [
  ["403", { type: "status", status: 403, statusText: "Forbidden" }],
  ["301 redirect", { type: "status", status: 301, headers: [["Location", "ws://127.0.0.1:1/"]] }],
  ["200 (not a WebSocket server)", { type: "status", status: 200, body: "hello" }],
  ["a wrong Sec-WebSocket-Accept", accept({ accept: "dGhlIHNhbXBsZSBub25jZQ==" })],
  ["an unrequested subprotocol", accept({ protocol: "chat" })],
  ["an unoffered extension", accept({ extensions: "x-foo" })],
  ["garbage", { type: "raw", bytes: "NOT HTTP AT ALL\r\n\r\n" }],
];

test("E10: S3 handshake failures: error → close {1006, false, ''}; no open", async (t) => {
  for (const [name, reply] of HANDSHAKE_FAILURES) {
    const peer = await RawPeer.start({ respond: () => reply });
    t.after(() => peer.stop());
    const ws = new WebSocket(peer.url);
    const rec = record(ws);
    const event = await rec.closed();
    assert.deepEqual(rec.types(), ["error", "close"], name);
    assert.equal(event.code, 1006, name);
    assert.equal(event.wasClean, false, name);
    assert.equal(event.reason, "", name);
  }
});

test("E10: S3 also for a refused connection, a silent server (handshake timeout) and a TLS failure", async (t) => {
  const closedServer = createServer();
  const port = await new Promise<number>((resolve) =>
    closedServer.listen(0, "127.0.0.1", () =>
      resolve((closedServer.address() as { port: number }).port),
    ),
  );
  await new Promise<void>((resolve) => closedServer.close(() => resolve()));
  const silent = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => silent.stop());
  const tls = await RawPeer.start({ tls: { key: TLS_KEY, cert: TLS_CERT } });
  t.after(() => tls.stop());
  const sockets = [
    new WebSocket(`ws://127.0.0.1:${port}/`),
    new WebSocket(silent.url, { handshakeTimeoutMs: 100 }),
    new WebSocket(tls.url),
  ];
  const recorders = sockets.map((ws) => record(ws));
  for (const [i, ws] of sockets.entries()) {
    const rec = recorders[i]!;
    const event = await rec.closed();
    assert.deepEqual(rec.types(), ["error", "close"], ws.url);
    assert.deepEqual([event.code, event.wasClean, event.reason], [1006, false, ""], ws.url);
  }
});

test("E11: S4 protocol violation after open: earlier messages → error → close {1006, false}", async (t) => {
  const { conn, rec } = await openClient(t, { peer: { replyToClose: true } });
  conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.text, payload: "before" }),
      buildFrame({ opcode: 0x3, payload: "reserved opcode" }),
      buildFrame({ opcode: OP.text, payload: "after" }),
    ),
  );
  const close = await conn.nextFrame();
  assert.equal(parseCloseFrame(close).code, 1002);
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "message", "error", "close"]);
  assert.deepEqual(rec.messages(), ["before"]);
  assert.equal(event.code, 1006);
  assert.equal(event.wasClean, false);
  assert.equal(event.reason, "");
});

test("E12: S5 the TCP connection drops after open without a Close: error → close {1006, false}", async (t) => {
  for (const drop of ["destroy", "reset", "end"] as const) {
    const { conn, rec } = await openClient(t);
    conn[drop]();
    const event = await rec.closed();
    assert.deepEqual(rec.types(), ["open", "error", "close"], drop);
    assert.equal(event.code, 1006, drop);
    assert.equal(event.wasClean, false, drop);
  }
});

test("E13: S6 close() while CONNECTING: CLOSING → error → close {1006, false}; never open", async (t) => {
  let release: (reply: HandshakeReply) => void = () => {};
  const peer = await RawPeer.start({
    respond: () => new Promise<HandshakeReply>((resolve) => (release = resolve)),
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  await peer.connection();
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  release(accept());
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["error", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(event.wasClean, false);
  await sleep(20);
  assert.deepEqual(rec.types(), ["error", "close"]);
});

test("E14 (★): S7 the closing handshake times out: close {1006, false} with no error event", async (t) => {
  const { ws, conn, rec } = await openClient(t, { second: { closeTimeoutMs: 100 } });
  ws.close(3000);
  await conn.nextFrame();
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(event.wasClean, false);
  assert.equal(event.reason, "");
});

test("E15 (★): an open task that finds readyState ≠ CONNECTING is skipped (close() raced the handshake)", async (t) => {
  const peer = await RawPeer.start();
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  const realSetImmediate = globalThis.setImmediate;
  t.after(() => {
    globalThis.setImmediate = realSetImmediate;
  });
  let raced = false;
  // The handshake completes on the network side and queues the open task. Make script run in
  // a task between the two: the first task queued from the facade's "open" step calls close().
  globalThis.setImmediate = ((callback: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (!raced && /onOpen/.test(new Error().stack ?? "")) {
      raced = true;
      globalThis.setImmediate = realSetImmediate;
      return realSetImmediate(() => {
        assert.equal(ws.readyState, WebSocket.CONNECTING);
        ws.close(1000);
        assert.equal(ws.readyState, WebSocket.CLOSING);
        callback(...args);
      });
    }
    return realSetImmediate(callback, ...args);
  }) as typeof setImmediate;
  const event = await rec.closed();
  assert.equal(raced, true, "the race was staged");
  assert.deepEqual(rec.types(), ["error", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(ws.protocol, "");
  const conn = await peer.connection();
  await conn.waitForClose();
  assert.equal(conn.frames.length, 0);
});

test("E16: the handler attribute keeps the position of its first non-null assignment", () => {
  const ws = new WebSocket("ws://127.0.0.1:1/");
  ws.close();
  const order: string[] = [];
  ws.addEventListener("message", () => order.push("A"));
  ws.onmessage = () => order.push("H1");
  ws.addEventListener("message", () => order.push("B"));
  ws.dispatchEvent(new Event("message"));
  ws.onmessage = () => order.push("H2");
  ws.dispatchEvent(new Event("message"));
  ws.onmessage = null;
  ws.onmessage = () => order.push("H3");
  ws.dispatchEvent(new Event("message"));
  assert.deepEqual(order, ["A", "H1", "B", "A", "H2", "B", "A", "B", "H3"]);
});

test("E17: in a listener this, target and currentTarget are the socket and eventPhase is AT_TARGET", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  const seen: unknown[][] = [];
  ws.onmessage = function (this: unknown, event: Event) {
    seen.push([this === ws, event.target === ws, event.currentTarget === ws, event.eventPhase]);
  };
  ws.addEventListener("message", function (this: unknown, event) {
    seen.push([this === ws, event.target === ws, event.currentTarget === ws, event.eventPhase]);
  });
  conn.sendText("x");
  await rec.nextMessage();
  assert.deepEqual(seen, [
    [true, true, true, 2],
    [true, true, true, 2],
  ]);
});

test("E17: with a single listener too; after the dispatch currentTarget is null, eventPhase NONE, composedPath empty", async (t) => {
  const peer = await RawPeer.start();
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  t.after(() => ws.close());
  await new Promise((resolve) => (ws.onopen = resolve));
  ws.onopen = null;
  const conn = await peer.connection();
  const during: unknown[][] = [];
  const seen = await new Promise<Event>((resolve) => {
    ws.addEventListener("message", function (this: unknown, event) {
      during.push([this === ws, event.target === ws, event.currentTarget === ws, event.eventPhase]);
      during.push(event.composedPath());
      resolve(event);
    });
    conn.sendText("x");
  });
  assert.deepEqual(during, [[true, true, true, 2], [ws]]);
  assert.equal(seen.currentTarget, null);
  assert.equal(seen.eventPhase, 0);
  assert.deepEqual(seen.composedPath(), []);
  assert.equal(seen.target, ws);
  // As in browsers, the event has no own accessors (Node 20's workaround is not needed here).
  assert.equal(Object.hasOwn(seen, "currentTarget"), false);

  // A listener added during a dispatch does not run for that event; for the next one it is
  // the second listener and sees the socket too.
  const calls: unknown[] = [];
  const done = new Promise((resolve) => {
    ws.onmessage = (event) => {
      calls.push(`handler ${String((event as MessageEvent).data)}`);
      if (calls.length > 1) return;
      ws.addEventListener("message", (late) => {
        calls.push(`late ${String((late as MessageEvent).data)}`, late.currentTarget === ws);
        resolve(undefined);
      });
    };
  });
  conn.sendText("y");
  conn.sendText("z");
  await withTimeout(done, "the second message");
  assert.deepEqual(calls, ["handler y", "handler z", "late z", true]);
});

test("E18: events dispatched by script run the handlers; removed listeners do not run", () => {
  const ws = new WebSocket("ws://127.0.0.1:1/");
  ws.close();
  const calls: string[] = [];
  ws.onopen = (event) => calls.push(`onopen ${event.constructor.name}`);
  ws.onmessage = (event) => calls.push(`onmessage ${String((event as MessageEvent).data)}`);
  ws.onerror = () => calls.push("onerror");
  ws.onclose = (event) => calls.push(`onclose ${(event as CloseEvent).code}`);
  const removed = (): number => calls.push("removed");
  ws.addEventListener("close", removed);
  ws.removeEventListener("close", removed);
  ws.dispatchEvent(new Event("open"));
  ws.dispatchEvent(new MessageEvent("message", { data: "synthetic" }));
  ws.dispatchEvent(new Event("error"));
  ws.dispatchEvent(new CloseEvent("close", { code: 4000 }));
  ws.dispatchEvent(new Event("close"));
  assert.deepEqual(calls, [
    "onopen Event",
    "onmessage synthetic",
    "onerror",
    "onclose 4000",
    "onclose undefined",
  ]);
});

test("E19: open fires before a message that arrived in the same TCP read as the 101", async (t) => {
  const frames = concat(
    buildFrame({ opcode: OP.text, payload: "early" }),
    buildFrame({ opcode: OP.close, payload: closeBody(1000, "early close") }),
  );
  const peer = await RawPeer.start({ respond: () => accept({ then: frames }) });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  const echo = await peer.nextFrame();
  assert.deepEqual(parseCloseFrame(echo), { code: 1000, reason: "early close" });
  peer.end();
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "message", "close"]);
  assert.deepEqual(rec.messages(), ["early"]);
  assert.deepEqual([event.code, event.reason, event.wasClean], [1000, "early close", true]);
});

test("E20/P11: failure causes are indistinguishable to script (and never 1015); closeDetails tells them apart", async (t) => {
  const tlsPeer = await RawPeer.start({ tls: { key: TLS_KEY, cert: TLS_CERT } });
  t.after(() => tlsPeer.stop());
  const rejecting = await RawPeer.start({ respond: () => ({ type: "status", status: 403 }) });
  t.after(() => rejecting.stop());
  const violating = await RawPeer.start({
    respond: () => accept({ then: buildFrame({ opcode: 0xb }) }),
    replyToClose: true,
  });
  t.after(() => violating.stop());
  const cases: [string, WebSocket][] = [
    ["tls", new WebSocket(tlsPeer.url)],
    ["403", new WebSocket(rejecting.url)],
    ["protocol violation", new WebSocket(violating.url)],
    ["blocked port", new WebSocket("ws://127.0.0.1:25/")],
  ];
  const seen: string[] = [];
  const causes = new Set<string>();
  const recorders = cases.map(([, ws]) => record(ws));
  for (const [i, [name, ws]] of cases.entries()) {
    const rec = recorders[i]!;
    const event = await rec.closed();
    const error = rec.events.find((e) => e.type === "error")!.event;
    seen.push(
      JSON.stringify({
        types: rec.types().filter((type) => type !== "open"),
        code: event.code,
        reason: event.reason,
        wasClean: event.wasClean,
        errorClass: error.constructor.name,
        errorKeys: Object.keys(error),
      }),
    );
    causes.add(closeDetails(ws)?.cause?.code ?? name);
  }
  assert.equal(new Set(seen).size, 1, seen.join("\n"));
  assert.match(seen[0]!, /"code":1006/);
  assert.equal(causes.size, cases.length, [...causes].join(", "));
  assert.ok(causes.has("ERR_WS_TLS_FAILED"));
});

test("E22 (◇): error and close share one task; on Node, microtasks queued in onerror run after onclose", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  const order: string[] = [];
  ws.onerror = () => {
    order.push("error");
    queueMicrotask(() => order.push("microtask from onerror"));
  };
  ws.onclose = () => order.push("close");
  conn.destroy();
  await rec.closed();
  await turns(1);
  assert.deepEqual(order, ["error", "close", "microtask from onerror"]);
});

test("E23 (◇): an open socket keeps the process alive; once closed nothing holds it", async (t) => {
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const entry = new URL("../../src/index.js", import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { WebSocket } = await import(${JSON.stringify(entry)});
       const ws = new WebSocket(${JSON.stringify(peer.url)});
       ws.onclose = (e) => console.log("closed", e.code, e.wasClean);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  t.after(() => child.kill());
  const conn = await peer.connection();
  await sleep(200);
  assert.equal(child.exitCode, null, "still running while the connection is open");
  const closedAt = performance.now();
  conn.closeAndEnd(1001, "shutting down");
  const code = await withTimeout(exited, "the child process to exit");
  assert.equal(code, 0);
  assert.equal(output.trim(), "closed 1001 true");
  assert.ok(performance.now() - closedAt < 1500, "exits promptly after the close");
});
