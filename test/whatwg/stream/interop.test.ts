/**
 * WebSocketStream against real servers: sockwise's own `WebSocketServer` and the `ws` library's
 * (SPEC.md O5–O7, O10, O12–O15, O18): echo of text and binary, close codes both ways, a
 * server-initiated close after a burst, an abrupt drop, and abort/cancel with a WebSocketError.
 * Each case runs against both servers and checks what both ends saw.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { test, type TestContext } from "node:test";

import { WebSocketServer as WsServer, type WebSocket as WsSocket } from "ws";

import {
  WebSocketError,
  WebSocketServer,
  WebSocketStream,
  type ServerWebSocket,
} from "../../../src/index.js";
import { WAIT_MS, withTimeout } from "../../helpers/raw-peer.js";
import { assertWebSocketError, rejectionOf } from "../../helpers/stream-client.js";

/** The server side of one connection, the same for both servers. */
interface ServerEnd {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Drops TCP without a closing handshake. */
  drop(): void;
  /** Every text message the server received, in order. */
  readonly texts: string[];
  /** The code and reason the server reports once the connection is over. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

interface ServerKind {
  readonly name: string;
  /** Starts an echoing server on 127.0.0.1; stopped after the test. */
  start(t: TestContext): Promise<{ url: string; nextConnection(): Promise<ServerEnd> }>;
}

const MiB = 1024 * 1024;

const SOCKWISE: ServerKind = {
  name: "sockwise server",
  async start(t) {
    const server = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      heartbeat: false,
      maxMessageBytes: 8 * MiB,
      binaryType: "arraybuffer",
      protocols: ["beta"],
    });
    t.after(() => server.close({ timeoutMs: 200 }));
    const { port } = await withTimeout(server.ready(), "the sockwise server to listen");
    const connections: ServerEnd[] = [];
    const waiting: ((end: ServerEnd) => void)[] = [];
    server.on("connection", (socket: ServerWebSocket) => {
      const texts: string[] = [];
      socket.addEventListener("message", (event) => {
        const { data } = event as MessageEvent;
        if (typeof data === "string") texts.push(data);
        socket.send(data);
      });
      const end: ServerEnd = {
        texts,
        send: (data) => socket.send(data),
        close: (code, reason) => socket.close(code, reason),
        drop: () => socket.destroy(),
        closed: socket.closed.then(({ code, reason }) => ({ code, reason })),
      };
      const waiter = waiting.shift();
      if (waiter === undefined) connections.push(end);
      else waiter(end);
    });
    return {
      url: `ws://127.0.0.1:${port}/`,
      nextConnection: () =>
        withTimeout(
          new Promise<ServerEnd>((resolve) => {
            const end = connections.shift();
            if (end === undefined) waiting.push(resolve);
            else resolve(end);
          }),
          "a connection at the sockwise server",
        ),
    };
  },
};

const WS: ServerKind = {
  name: "ws server",
  async start(t) {
    const server = new WsServer({
      host: "127.0.0.1",
      port: 0,
      handleProtocols: (protocols) => (protocols.has("beta") ? "beta" : false),
    });
    await withTimeout(once(server, "listening"), "the ws server to listen");
    t.after(
      () =>
        new Promise<void>((resolve) => {
          for (const client of server.clients) client.terminate();
          server.close(() => resolve());
        }),
    );
    const connections: ServerEnd[] = [];
    const waiting: ((end: ServerEnd) => void)[] = [];
    server.on("connection", (socket: WsSocket) => {
      const texts: string[] = [];
      socket.on("message", (data, isBinary) => {
        if (!isBinary) texts.push(String(data));
        socket.send(data, { binary: isBinary });
      });
      const end: ServerEnd = {
        texts,
        send: (data) => socket.send(data),
        close: (code, reason) => socket.close(code, reason),
        drop: () => socket.terminate(),
        closed: new Promise((resolve) =>
          socket.on("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })),
        ),
      };
      const waiter = waiting.shift();
      if (waiter === undefined) connections.push(end);
      else waiter(end);
    });
    const { port } = server.address() as { port: number };
    return {
      url: `ws://127.0.0.1:${port}/`,
      nextConnection: () =>
        withTimeout(
          new Promise<ServerEnd>((resolve) => {
            const end = connections.shift();
            if (end === undefined) waiting.push(resolve);
            else resolve(end);
          }),
          "a connection at the ws server",
        ),
    };
  },
};

for (const kind of [SOCKWISE, WS]) {
  test(`interop (${kind.name}): O5–O7 text, binary and a 4 MiB message echo back; the subprotocol is agreed`, async (t) => {
    const { url, nextConnection } = await kind.start(t);
    const wss = new WebSocketStream(url, { protocols: ["alpha", "beta"] });
    const { readable, writable, protocol, extensions } = await withTimeout(wss.opened, "opened");
    const server = await nextConnection();
    assert.equal(protocol, "beta");
    // N22/B9: permessage-deflate is offered by default and shown exactly as the server answered.
    assert.equal(
      extensions,
      kind === SOCKWISE
        ? "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        : "", // a ws server declines it unless configured (its default)
    );
    const big = new Uint8Array(4 * MiB).map((_, i) => (i * 31) & 0xff);
    const sent: (string | Uint8Array)[] = [
      "héllo 🔌",
      Uint8Array.of(0, 1, 2, 255),
      "",
      big,
      "last",
    ];
    const writer = writable.getWriter();
    for (const chunk of sent) await withTimeout(writer.write(chunk), "write");
    const reader = readable.getReader();
    for (const chunk of sent) {
      const { value } = await withTimeout(reader.read(), "echo");
      if (typeof chunk === "string") assert.equal(value, chunk);
      else {
        assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype);
        assert.ok(Buffer.from(value as Uint8Array).equals(Buffer.from(chunk)), "binary echo");
      }
    }
    wss.close({ closeCode: 3456, reason: "pizza" });
    assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 3456, reason: "pizza" });
    assert.deepEqual(await withTimeout(server.closed, "server closed"), {
      code: 3456,
      reason: "pizza",
    });
  });

  test(`interop (${kind.name}): O12 writable.close() after writes is a clean close the server sees as 1005`, async (t) => {
    const { url, nextConnection } = await kind.start(t);
    const wss = new WebSocketStream(url);
    const { writable, readable } = await withTimeout(wss.opened, "opened");
    const server = await nextConnection();
    const writer = writable.getWriter();
    void writer.write("one");
    void writer.write("two");
    await withTimeout(writer.close(), "writer.close()");
    assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1005, reason: "" });
    assert.deepEqual(await withTimeout(server.closed, "server closed"), { code: 1005, reason: "" });
    assert.deepEqual(server.texts, ["one", "two"], "the writes went out before the Close");
    // Their echoes came after this end's Close: they are not delivered (SPEC.md D19, L9).
    assert.equal((await readable.getReader().read()).done, true);
  });

  test(`interop (${kind.name}): O14 a server-initiated close after a burst: every message is read, then closed resolves`, async (t) => {
    const { url, nextConnection } = await kind.start(t);
    const wss = new WebSocketStream(url);
    const { readable } = await withTimeout(wss.opened, "opened");
    const server = await nextConnection();
    for (let i = 0; i < 2000; i++)
      server.send(i % 2 === 0 ? `m${i}` : Uint8Array.of(i & 0xff, i >> 8));
    server.close(4001, "bye");
    let i = 0;
    for await (const message of readable) {
      if (i % 2 === 0) assert.equal(message, `m${i}`);
      else assert.deepEqual(message, Uint8Array.of(i & 0xff, i >> 8));
      i++;
    }
    assert.equal(i, 2000);
    assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 4001, reason: "bye" });
    assert.deepEqual(await withTimeout(server.closed, "server closed"), {
      code: 4001,
      reason: "bye",
    });
  });

  test(`interop (${kind.name}): O15 the server dropping the connection rejects closed with 1006 and errors both streams`, async (t) => {
    const { url, nextConnection } = await kind.start(t);
    const wss = new WebSocketStream(url);
    const { readable, writable } = await withTimeout(wss.opened, "opened");
    const server = await nextConnection();
    server.drop();
    const error = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
    assert.equal(await rejectionOf(readable.getReader().read(), "read"), error);
    assert.equal(await rejectionOf(writable.getWriter().write("x"), "write"), error);
  });

  test(`interop (${kind.name}): O13 cancel and abort with a WebSocketError send its code and reason`, async (t) => {
    const { url, nextConnection } = await kind.start(t);
    {
      const wss = new WebSocketStream(url);
      const { readable } = await withTimeout(wss.opened, "opened");
      const server = await nextConnection();
      await readable.cancel(new WebSocketError("", { closeCode: 4000, reason: "cancelled" }));
      assert.deepEqual(await withTimeout(server.closed, "server closed"), {
        code: 4000,
        reason: "cancelled",
      });
      assert.deepEqual(await withTimeout(wss.closed, "closed"), {
        closeCode: 4000,
        reason: "cancelled",
      });
    }
    {
      const wss = new WebSocketStream(url);
      const { writable } = await withTimeout(wss.opened, "opened");
      const server = await nextConnection();
      await writable.abort(new WebSocketError("", { reason: "aborted" }));
      assert.deepEqual(await withTimeout(server.closed, "server closed"), {
        code: 1000,
        reason: "aborted",
      });
      assert.deepEqual(await withTimeout(wss.closed, "closed"), {
        closeCode: 1000,
        reason: "aborted",
      });
    }
  });

  test(
    `interop (${kind.name}): O6/O7 a 64 MiB round trip through a slow reader stays intact`,
    { timeout: 10 * WAIT_MS },
    async (t) => {
      const { url } = await kind.start(t);
      const wss = new WebSocketStream(url);
      const { readable, writable } = await withTimeout(wss.opened, "opened");
      const writer = writable.getWriter();
      const count = 64;
      const writing = (async () => {
        for (let i = 0; i < count; i++) {
          await writer.ready;
          void writer.write(new Uint8Array(MiB).fill(i));
        }
      })();
      const reader = readable.getReader();
      for (let i = 0; i < count; i++) {
        const { value } = await withTimeout(reader.read(), `echo ${i}`);
        const bytes = value as Uint8Array;
        assert.equal(bytes.length, MiB);
        assert.equal(bytes[0], i);
        assert.equal(bytes[MiB - 1], i);
        if (i < 16) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await withTimeout(writing, "the writer");
      reader.releaseLock();
      wss.close();
      await withTimeout(wss.closed, "closed");
    },
  );
}
