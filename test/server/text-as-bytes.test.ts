/**
 * Issue 16 item 5: a relay passes text on without decoding it. `textType = "nodebuffer"`
 * delivers a text message as its validated UTF-8 bytes (`isBinary` false), and `sendText(bytes)`
 * sends bytes as a text message, checked as UTF-8 and copied like binary data (C10).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { WebSocketServer, type ServerWebSocket } from "../../src/index.js";

async function startServer(
  t: { after(fn: () => unknown): void },
  options: { textType?: "string" | "nodebuffer" } = {},
): Promise<{ server: WebSocketServer; port: number }> {
  const server = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    heartbeat: false,
    perMessageDeflate: false,
    ...options,
  });
  t.after(() => server.close({ timeoutMs: 200 }));
  const { port } = await server.ready();
  return { server, port };
}

function connect(port: number): Promise<WebSocket> {
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  return new Promise((resolve, reject) => {
    client.once("open", () => resolve(client));
    client.once("error", reject);
  });
}

function nextMessage(client: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    client.once("message", (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })),
  );
}

test("item 5: with the server option textType 'nodebuffer', text arrives as validated bytes and sendText echoes it as text", async (t) => {
  const { server, port } = await startServer(t, { textType: "nodebuffer" });
  const seen: { data: unknown; isBinary: boolean }[] = [];
  server.on("connection", (socket: ServerWebSocket) => {
    assert.equal(socket.textType, "nodebuffer");
    socket.binaryType = "nodebuffer";
    socket.onmessage = (event) => {
      seen.push({ data: event.data, isBinary: event.isBinary });
      if (event.isBinary) socket.send(event.data as Buffer);
      else socket.sendText(event.data as Buffer);
    };
  });
  const client = await connect(port);
  t.after(() => client.terminate());
  const text = "héllo, wörld — 你好 🌍".repeat(200); // > 1 KiB: copied by the socket
  client.send(text);
  const echoed = await nextMessage(client);
  assert.equal(echoed.isBinary, false);
  assert.equal(echoed.data.toString("utf8"), text);
  client.send(Buffer.from([1, 2, 3]));
  const binary = await nextMessage(client);
  assert.equal(binary.isBinary, true);
  assert.deepEqual([...binary.data], [1, 2, 3]);
  assert.equal(seen.length, 2);
  assert.ok(Buffer.isBuffer(seen[0]!.data), "text is delivered as a Buffer");
  assert.equal((seen[0]!.data as Buffer).toString("utf8"), text);
  assert.equal(seen[0]!.isBinary, false);
  assert.equal(seen[1]!.isBinary, true);
});

test("item 5: textType defaults to 'string' (isBinary false) and can be switched per socket", async (t) => {
  const { server, port } = await startServer(t);
  const kinds: string[] = [];
  server.on("connection", (socket) => {
    assert.equal(socket.textType, "string");
    socket.onmessage = (event) => {
      kinds.push(`${typeof event.data}/${String(event.isBinary)}`);
      socket.textType = "bogus"; // an enumeration attribute ignores other values
      socket.textType = socket.textType === "string" ? "nodebuffer" : "string";
      socket.send("ok");
    };
  });
  const client = await connect(port);
  t.after(() => client.terminate());
  client.send("a");
  await nextMessage(client);
  client.send("b");
  await nextMessage(client);
  assert.deepEqual(kinds, ["string/false", "object/false"]);
});

test("item 5: sendText refuses bytes that are not UTF-8 (ERR_WS_INVALID_UTF8) and Blobs; strings work as send()", async (t) => {
  const { server, port } = await startServer(t);
  const ready = new Promise<ServerWebSocket>((resolve) => server.once("connection", resolve));
  const client = await connect(port);
  t.after(() => client.terminate());
  const socket = await ready;
  assert.throws(() => socket.sendText(Uint8Array.of(0xc3)), { code: "ERR_WS_INVALID_UTF8" });
  assert.throws(() => socket.sendText(new Blob(["x"]) as unknown as Uint8Array), TypeError);
  assert.equal(socket.bufferedAmount, 0, "a refused message is not counted");
  const message = nextMessage(client);
  socket.sendText("€uro");
  const { data, isBinary } = await message;
  assert.equal(isBinary, false);
  assert.equal(data.toString(), "€uro");
});

test("item 5 / C10: sendText copies the caller's bytes (small and large) and keeps order behind a Blob", async (t) => {
  const { server, port } = await startServer(t);
  const sizes = [5, 1024, 1025, 70_000];
  server.on("connection", (socket) => {
    socket.send(new Blob([Uint8Array.of(9)]));
    for (const size of sizes) {
      const bytes = new Uint8Array(size).fill(0x61);
      socket.sendText(bytes);
      bytes.fill(0x62);
    }
    for (const size of sizes) {
      const bytes = Buffer.alloc(size, 0x63);
      socket.sendText(bytes);
      bytes.fill(0x64);
    }
  });
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  t.after(() => client.terminate());
  const received: { data: Buffer; isBinary: boolean }[] = [];
  await new Promise<void>((resolve) => {
    client.on("message", (data: Buffer, isBinary: boolean) => {
      received.push({ data, isBinary });
      if (received.length === 1 + sizes.length * 2) resolve();
    });
  });
  assert.equal(received[0]!.isBinary, true);
  for (const [i, size] of sizes.entries()) {
    const queued = received[1 + i]!;
    assert.equal(queued.isBinary, false);
    assert.equal(queued.data.toString(), "a".repeat(size));
    const direct = received[1 + sizes.length + i]!;
    assert.equal(direct.data.toString(), "c".repeat(size));
  }
});

test("item 5: text as bytes through a relay: one client's text reaches another byte for byte, never decoded", async (t) => {
  const { server, port } = await startServer(t, { textType: "nodebuffer" });
  server.on("connection", (socket) => {
    socket.onmessage = (event) => {
      for (const other of server.clients) {
        if (other === socket) continue;
        if (event.isBinary) other.send(event.data as ArrayBuffer);
        else other.sendText(event.data as Buffer);
      }
    };
  });
  const [a, b] = await Promise.all([connect(port), connect(port)]);
  t.after(() => {
    a.terminate();
    b.terminate();
  });
  // Wait until the server has both.
  for (let i = 0; i < 100 && server.clients.size < 2; i++)
    await new Promise((r) => setTimeout(r, 10));
  const text = "ünïcödé ".repeat(10_000) + "\u{1F600}";
  const message = nextMessage(b);
  a.send(text);
  const { data, isBinary } = await message;
  assert.equal(isBinary, false);
  assert.equal(data.toString("utf8"), text);
});
