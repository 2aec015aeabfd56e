/**
 * The ServerWebSocket surface: send, close, readyState, bufferedAmount, protocol, extensions,
 * binaryType, events and on* handlers, ServerCloseEvent, ping/pong, the `closed` promise,
 * destroy() and the remote address.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ServerCloseEvent, ServerWebSocket, type ServerCloseInfo } from "../../src/index.js";
import { OP } from "../helpers/frames.js";
import { CLIENT_KINDS } from "../helpers/peer-clients.js";
import { RawClient, parseClose } from "../helpers/raw-client.js";
import {
  SocketEvents,
  nextConnection,
  startServer,
  waitUntil,
  withTimeout,
} from "../helpers/server-harness.js";

describe("attributes", () => {
  test("readyState goes OPEN → CLOSING → CLOSED; the constants are on the class and instances", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port, "/path?q=1");
    t.after(() => client.destroy());
    const { socket, request } = await accepted;
    assert.equal(request.url, "/path?q=1");
    assert.equal(socket.url, "/path?q=1");
    for (const [name, value] of Object.entries({
      CONNECTING: 0,
      OPEN: 1,
      CLOSING: 2,
      CLOSED: 3,
    })) {
      assert.equal((ServerWebSocket as unknown as Record<string, number>)[name], value);
      assert.equal((socket as unknown as Record<string, number>)[name], value);
    }
    assert.equal(socket.readyState, ServerWebSocket.OPEN);
    assert.equal(socket.protocol, "");
    assert.equal(socket.extensions, "");
    assert.equal(socket.bufferedAmount, 0);
    assert.equal(Object.prototype.toString.call(socket), "[object ServerWebSocket]");
    socket.close(1000);
    assert.equal(socket.readyState, ServerWebSocket.CLOSING);
    assert.deepEqual(await client.nextClose(), { code: 1000, reason: "" });
    client.sendClose(1000);
    const events = new SocketEvents(socket);
    const close = await events.next<ServerCloseEvent>("close");
    assert.equal(close.type, "close");
    assert.equal(socket.readyState, ServerWebSocket.CLOSED);
  });

  test("remoteAddress, remotePort and remoteFamily describe the client", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    assert.equal(socket.remoteAddress, "127.0.0.1");
    assert.equal(socket.remotePort, client.socket.localPort);
    assert.equal(socket.remoteFamily, "IPv4");
  });

  test("sockets cannot be constructed by applications", () => {
    assert.throws(() => new ServerWebSocket(Symbol("x"), {} as never), TypeError);
  });

  test("binaryType: the server option sets the default; arraybuffer, nodebuffer and blob deliver the bytes", async (t) => {
    const { server, port } = await startServer(t, { binaryType: "nodebuffer" });
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const events = new SocketEvents(socket);
    assert.equal(socket.binaryType, "nodebuffer");
    client.sendBinary(Uint8Array.of(1, 2, 3));
    const asBuffer = (await events.next("message")).data as unknown;
    assert.ok(Buffer.isBuffer(asBuffer));
    assert.deepEqual([...asBuffer], [1, 2, 3]);

    socket.binaryType = "arraybuffer";
    client.sendBinary(Uint8Array.of(4, 5));
    const asArrayBuffer = (await events.next("message")).data as unknown;
    assert.ok(asArrayBuffer instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(asArrayBuffer)], [4, 5]);

    socket.binaryType = "blob";
    client.sendBinary(Uint8Array.of(6));
    const asBlob = (await events.next("message")).data as unknown;
    assert.ok(asBlob instanceof Blob);
    assert.deepEqual([...new Uint8Array(await asBlob.arrayBuffer())], [6]);

    // An unknown value is ignored, as on the WHATWG client.
    socket.binaryType = "text";
    assert.equal(socket.binaryType, "blob");

    client.sendText("text stays a string");
    assert.equal((await events.next("message")).data, "text stays a string");
  });

  test("the default binaryType is arraybuffer", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    assert.equal(socket.binaryType, "arraybuffer");
  });
});

describe("send", () => {
  test("strings, ArrayBuffers, views and Blobs arrive in call order with the exact bytes", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const backing = Uint8Array.of(9, 9, 1, 2, 3, 9);
    socket.send("text \u{1F600}");
    socket.send(Uint8Array.of(10, 11).buffer);
    socket.send(backing.subarray(2, 5));
    socket.send(new Blob([Uint8Array.of(20, 21, 22)]));
    socket.send("after the blob");
    socket.send(new DataView(Uint8Array.of(30, 31).buffer));
    socket.send("lone \uD800 surrogate");
    backing.fill(0); // the view's bytes were copied at send()
    const frames = [];
    for (let i = 0; i < 7; i++) frames.push(await client.nextFrame());
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.masked, f.rsv]),
      Array.from({ length: 7 }, (_, i) => [
        [0, 4, 6].includes(i) ? OP.text : OP.binary,
        true,
        false,
        0,
      ]),
    );
    assert.equal(frames[0]!.payload.toString(), "text \u{1F600}");
    assert.deepEqual([...frames[1]!.payload], [10, 11]);
    assert.deepEqual([...frames[2]!.payload], [1, 2, 3]);
    assert.deepEqual([...frames[3]!.payload], [20, 21, 22]);
    assert.equal(frames[4]!.payload.toString(), "after the blob");
    assert.deepEqual([...frames[5]!.payload], [30, 31]);
    assert.deepEqual([...frames[6]!.payload], [...Buffer.from("lone \uFFFD surrogate")]);
  });

  test("send() without an argument throws a TypeError; after close() nothing is sent but bufferedAmount grows", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    assert.throws(() => (socket.send as () => void)(), TypeError);
    socket.send("before");
    socket.close(4000, "end");
    socket.send("after");
    assert.ok(socket.bufferedAmount >= 5);
    const first = await client.nextFrame();
    assert.equal(first.payload.toString(), "before");
    const close = await client.nextFrame();
    assert.deepEqual(parseClose(close), { code: 4000, reason: "end" });
    client.sendClose(4000);
    await withTimeout(socket.closed, "closed");
    assert.equal(client.pendingFrames, 0);
  });
});

describe("events and on* handlers", () => {
  test("onmessage and addEventListener both fire, in registration order; null removes; non-callables are kept but not called", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const calls: string[] = [];
    socket.addEventListener("message", (e) => calls.push(`listener ${String(e.data)}`));
    socket.onmessage = (e) => calls.push(`handler ${String(e.data)}`);
    assert.equal(typeof socket.onmessage, "function");
    client.sendText("one");
    await waitUntil(() => calls.length === 2, "two calls");
    assert.deepEqual(calls, ["listener one", "handler one"]);
    socket.onmessage = null;
    assert.equal(socket.onmessage, null);
    client.sendText("two");
    await waitUntil(() => calls.length === 3, "a third call");
    const object = { handleEvent: () => calls.push("object") };
    socket.onmessage = object;
    assert.equal(socket.onmessage, object);
    socket.onmessage = 42 as never;
    assert.equal(socket.onmessage, null);
    client.sendText("three");
    await waitUntil(() => calls.length === 4, "a fourth call");
    assert.deepEqual(calls, ["listener one", "handler one", "listener two", "listener three"]);
  });

  test("E16: each on* handler keeps the position of its first non-null assignment; null then a new value moves it last", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    for (const type of ["open", "message", "error", "close", "ping", "pong", "drain"] as const) {
      const name = `on${type}` as const;
      const order: string[] = [];
      const a = (): number => order.push("A");
      const b = (): number => order.push("B");
      socket.addEventListener(type, a);
      socket[name] = () => order.push("H1");
      socket.addEventListener(type, b);
      socket.dispatchEvent(new Event(type));
      socket[name] = () => order.push("H2");
      socket.dispatchEvent(new Event(type));
      socket[name] = null;
      socket[name] = () => order.push("H3");
      socket.dispatchEvent(new Event(type));
      assert.deepEqual(order, ["A", "H1", "B", "A", "H2", "B", "A", "B", "H3"], name);
      socket[name] = null;
      socket.removeEventListener(type, a);
      socket.removeEventListener(type, b);
    }
  });

  test("B12: handlers belong to their socket: this is the socket, and two sockets' handlers never mix", async (t) => {
    const { server, port } = await startServer(t);
    const first = nextConnection(server);
    const client1 = await RawClient.connect(port);
    t.after(() => client1.destroy());
    const { socket: socket1 } = await first;
    const second = nextConnection(server);
    const client2 = await RawClient.connect(port);
    t.after(() => client2.destroy());
    const { socket: socket2 } = await second;
    const calls: string[] = [];
    socket1.onmessage = function (this: unknown, e) {
      calls.push(`1 ${String(e.data)} ${this === socket1}`);
    };
    socket2.onmessage = function (this: unknown, e) {
      calls.push(`2 ${String(e.data)} ${this === socket2}`);
    };
    const object = { handleEvent: () => calls.push("object") };
    socket2.onping = object;
    assert.equal(socket1.onping, null);
    assert.equal(socket2.onping, object);
    client1.sendText("a");
    await waitUntil(() => calls.length === 1, "the first message");
    client2.sendText("b");
    await waitUntil(() => calls.length === 2, "the second message");
    socket1.onmessage = null;
    assert.equal(typeof socket2.onmessage, "function");
    client1.sendText("c");
    client2.sendText("d");
    client2.sendPing(new Uint8Array([1]));
    await waitUntil(() => calls.length === 3, "the third message");
    await client2.nextFrame(); // the Pong: the ping event has been dispatched by now
    assert.deepEqual(calls, ["1 a true", "2 b true", "2 d true"]);
  });

  test("B12: the on* accessors refuse a receiver that is not a ServerWebSocket (TypeError)", () => {
    for (const type of ["open", "message", "error", "close", "ping", "pong", "drain"]) {
      const descriptor = Object.getOwnPropertyDescriptor(ServerWebSocket.prototype, `on${type}`)!;
      assert.equal(descriptor.enumerable, true);
      assert.throws(() => descriptor.get!.call({}), TypeError);
      assert.throws(() => descriptor.set!.call(new EventTarget(), () => {}), TypeError);
    }
  });

  test("ServerCloseEvent is an Event with code, reason, wasClean, initiator and cause", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const seen: ServerCloseEvent[] = [];
    socket.onclose = (e) => seen.push(e);
    client.sendClose(4001, "client done");
    assert.deepEqual(await client.nextClose(), { code: 4001, reason: "client done" });
    await waitUntil(() => seen.length === 1, "the close event");
    const event = seen[0]!;
    assert.ok(event instanceof Event);
    assert.ok(event instanceof ServerCloseEvent);
    assert.equal(Object.prototype.toString.call(event), "[object CloseEvent]");
    assert.equal(event.type, "close");
    assert.equal(event.code, 4001);
    assert.equal(event.reason, "client done");
    assert.equal(event.wasClean, true);
    assert.equal(event.initiator, "remote");
    assert.equal(event.cause, undefined);
    await client.waitForEnd();
  });
});

describe("ping and pong", () => {
  test("J5: ping(data) sends a Ping with the payload; the client's Pong fires 'pong'", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const events = new SocketEvents(socket);
    assert.equal(socket.ping("beat"), true);
    assert.equal(socket.ping(Uint8Array.of(1, 2)), true);
    assert.equal(socket.ping(), true);
    const pings = [await client.nextFrame(), await client.nextFrame(), await client.nextFrame()];
    assert.deepEqual(
      pings.map((f) => [f.opcode, f.payload.toString("hex")]),
      [
        [OP.ping, Buffer.from("beat").toString("hex")],
        [OP.ping, "0102"],
        [OP.ping, ""],
      ],
    );
    client.sendPong("beat");
    const pong = await events.next("pong");
    assert.ok(Buffer.isBuffer(pong.data));
    assert.equal((pong.data as Buffer).toString(), "beat");
    assert.throws(() => socket.ping(new Uint8Array(126)), RangeError);
  });

  test("J2: a client Ping fires 'ping' and is answered with the same payload", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const events = new SocketEvents(socket);
    client.sendPing("are you there");
    const ping = await events.next("ping");
    assert.equal((ping.data as Buffer).toString(), "are you there");
    const pong = await client.nextFrame();
    assert.equal(pong.opcode, OP.pong);
    assert.equal(pong.payload.toString(), "are you there");
  });

  for (const kind of CLIENT_KINDS) {
    test(`J2: a ${kind.name} client answers ping(data) and the server sees 'pong' with the payload`, async (t) => {
      const { server, url } = await startServer(t);
      const accepted = nextConnection(server);
      const client = await kind.open(url());
      const { socket } = await accepted;
      const events = new SocketEvents(socket);
      socket.onpong = (e) => assert.ok(Buffer.isBuffer(e.data));
      socket.ping("hello?");
      const pong = await events.next("pong");
      assert.equal((pong.data as Buffer).toString(), "hello?");
      client.close();
      await withTimeout(client.closed, "close");
    });
  }

  test("J8: ping() returns false once the Close is sent", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    socket.close();
    assert.equal(socket.ping("late"), false);
    const frame = await client.nextFrame();
    assert.equal(frame.opcode, OP.close);
    assert.equal(frame.payload.length, 0);
  });
});

describe("closed, destroy()", () => {
  test("closed resolves with {code, reason, wasClean, initiator} for a clean close", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    socket.close(1001, "going away");
    assert.deepEqual(await client.nextClose(), { code: 1001, reason: "going away" });
    client.sendClose(1001, "ok");
    const info = await withTimeout(socket.closed, "closed");
    assert.deepEqual(info, {
      code: 1001,
      reason: "ok",
      wasClean: true,
      initiator: "local",
      sentCode: 1001,
    } satisfies ServerCloseInfo);
    // L11: the server closes TCP once both Close frames are exchanged.
    await client.waitForEnd();
  });

  test("destroy() drops TCP at once, without a Close frame: 1006, not clean, cause ERR_WS_DESTROYED", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    socket.send("queued");
    socket.destroy();
    const info = await withTimeout(socket.closed, "closed");
    assert.equal(info.code, 1006);
    assert.equal(info.wasClean, false);
    assert.equal(info.initiator, "local");
    assert.equal(info.cause?.code, "ERR_WS_DESTROYED");
    await client.waitForClose();
    assert.equal(server.clients.size, 0);
    // Whatever reached the client, it was never a Close frame.
    for (let i = client.pendingFrames; i > 0; i--)
      assert.notEqual((await client.nextFrame()).opcode, OP.close);
  });

  for (const kind of CLIENT_KINDS) {
    test(`destroy(): a ${kind.name} client reports 1006, not clean`, async (t) => {
      const { server, url } = await startServer(t);
      const accepted = nextConnection(server);
      const client = await kind.open(url());
      const { socket } = await accepted;
      socket.destroy();
      assert.deepEqual(await withTimeout(client.closed, "client close"), {
        code: 1006,
        reason: "",
        wasClean: false,
      });
      assert.equal((await socket.closed).code, 1006);
    });
  }

  test("the close event fires after closed resolves, with readyState CLOSED", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const order: string[] = [];
    void socket.closed.then(() => order.push("closed"));
    socket.addEventListener("close", () => order.push(`close event ${socket.readyState}`));
    client.sendClose();
    await client.nextClose();
    await waitUntil(() => order.length === 2, "both");
    assert.deepEqual(order, ["closed", "close event 3"]);
  });
  test("closed, first read after the close event, resolves with the outcome; always the same promise", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const closeEvent = new Promise<ServerCloseEvent>((resolve) =>
      socket.addEventListener("close", (event) => resolve(event)),
    );
    client.sendClose(4001, "bye");
    await client.nextClose();
    const event = await withTimeout(closeEvent, "close event");
    const first = socket.closed;
    assert.equal(socket.closed, first);
    const info = await withTimeout(first, "closed");
    assert.equal(info.code, 4001);
    assert.equal(info.reason, "bye");
    assert.equal(info.wasClean, true);
    assert.equal(info.initiator, "remote");
    assert.equal(event.code, info.code);
  });
});

describe("M2: close(code, reason) validation", () => {
  const valid = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
  ];
  const invalid = [1005, 1006, 1015, 0, 999, 1004, 1016, 2999, 5000, 65535, -1, 1000.5, NaN];

  test("M2: codes 1000–1003, 1007–1014 and 3000–4999 are sent on the wire as given", async (t) => {
    const { server, port } = await startServer(t);
    for (const code of valid) {
      const accepted = nextConnection(server);
      const client = await RawClient.connect(port);
      t.after(() => client.destroy());
      const { socket } = await accepted;
      socket.close(code, `code ${code}`);
      assert.deepEqual(await client.nextClose(), { code, reason: `code ${code}` });
      client.sendClose(code);
      const info = await withTimeout(socket.closed, `closed after ${code}`);
      assert.equal(info.sentCode, code);
      assert.equal(info.wasClean, true);
    }
  });

  test("M2: 1005, 1006, 1015, 0, 999, 1004, 1016, 2999, 5000 (and non-integers) throw InvalidAccessError, and nothing is sent", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    for (const code of invalid) {
      assert.throws(
        () => socket.close(code, "x"),
        (error: unknown) => error instanceof DOMException && error.name === "InvalidAccessError",
        `close(${code})`,
      );
    }
    assert.equal(socket.readyState, ServerWebSocket.OPEN);
    socket.send("still open");
    const frame = await client.nextFrame();
    assert.equal(frame.opcode, OP.text);
  });

  test("M2: a reason over 123 UTF-8 bytes throws SyntaxError; exactly 123 bytes is sent", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const isSyntaxError = (error: unknown): boolean =>
      error instanceof DOMException && error.name === "SyntaxError";
    assert.throws(() => socket.close(1000, "a".repeat(124)), isSyntaxError);
    assert.throws(() => socket.close(1000, "€".repeat(42)), isSyntaxError); // 126 bytes
    assert.equal(socket.readyState, ServerWebSocket.OPEN);
    const reason = "€".repeat(41); // 123 bytes
    socket.close(4000, reason);
    assert.deepEqual(await client.nextClose(), { code: 4000, reason });
  });

  test("close() without a code sends an empty Close; close(undefined, reason) sends 1000 and the reason", async (t) => {
    const { server, port } = await startServer(t);
    let accepted = nextConnection(server);
    let client = await RawClient.connect(port);
    t.after(() => client.destroy());
    let { socket } = await accepted;
    socket.close();
    let frame = await client.nextFrame();
    assert.equal(frame.opcode, OP.close);
    assert.equal(frame.payload.length, 0);
    client.sendClose();
    assert.equal((await socket.closed).code, 1005);

    accepted = nextConnection(server);
    client = await RawClient.connect(port);
    t.after(() => client.destroy());
    ({ socket } = await accepted);
    socket.close(undefined, "bye");
    frame = await client.nextFrame();
    assert.deepEqual(parseClose(frame), { code: 1000, reason: "bye" });
  });

  test("invalid codes still throw after the socket closed; valid ones do nothing", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    socket.destroy();
    await socket.closed;
    await waitUntil(() => socket.readyState === ServerWebSocket.CLOSED, "CLOSED");
    assert.throws(() => socket.close(1006), { name: "InvalidAccessError" });
    socket.close(1000);
    assert.equal(socket.readyState, ServerWebSocket.CLOSED);
  });
});
