/**
 * Processing in order on the server: every message that arrived before the client's Close (or
 * before a protocol error) reaches the application, and what the application answers from its
 * `message` handler goes out before the server's Close — even when the messages and the Close
 * arrive in a single TCP read (Autobahn 3.2/4.x/5.15 "strict", 7.1.6; RFC 6455 §5.5.1).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocketServer } from "../../src/index.js";
import { RFC_MASK_KEY, buildFrame, concat } from "../helpers/frames.js";
import { RawClient, parseClose } from "../helpers/raw-client.js";

const encoder = new TextEncoder();
const text = (payload: string): Uint8Array =>
  buildFrame({ opcode: 1, payload, maskKey: RFC_MASK_KEY });

async function echoServer(
  t: import("node:test").TestContext,
): Promise<{ port: number; received: string[] }> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", heartbeat: false });
  t.after(() => server.close({ timeoutMs: 200 }));
  const received: string[] = [];
  server.on("connection", (socket) => {
    socket.onmessage = (event: MessageEvent) => {
      received.push(event.data as string);
      socket.send(`echo ${event.data as string}`);
    };
  });
  const { port } = await server.ready();
  return { port, received };
}

test("L7/ordering: five messages and a Close in one read: all five delivered and answered before the Close", async (t) => {
  const { port, received } = await echoServer(t);
  const client = await RawClient.connect(port);
  t.after(() => client.destroy());
  const messages = ["one", "two", "three", "four", "five"];
  const close = buildFrame({
    opcode: 8,
    payload: Uint8Array.of(0x0f, 0xa0, ...encoder.encode("bye")),
    maskKey: RFC_MASK_KEY,
  });
  client.write(concat(...messages.map(text), close));
  const answers: string[] = [];
  for (;;) {
    const frame = await client.nextFrame();
    if (frame.opcode === 8) {
      assert.deepEqual(parseClose(frame), { code: 4000, reason: "bye" }, "the Close is echoed");
      break;
    }
    answers.push(frame.payload.toString());
  }
  assert.deepEqual(received, messages);
  assert.deepEqual(
    answers,
    messages.map((m) => `echo ${m}`),
    "every answer precedes the Close",
  );
});

test("H6/ordering: messages then a reserved opcode in one read: answered, then failed with 1002", async (t) => {
  const { port, received } = await echoServer(t);
  const client = await RawClient.connect(port);
  t.after(() => client.destroy());
  client.write(concat(text("a"), text("b"), Uint8Array.of(0x83, 0x80, 1, 2, 3, 4)));
  const frames = [await client.nextFrame(), await client.nextFrame(), await client.nextFrame()];
  assert.deepEqual(received, ["a", "b"]);
  assert.deepEqual(
    frames.slice(0, 2).map((f) => f.payload.toString()),
    ["echo a", "echo b"],
  );
  assert.equal(frames[2]!.opcode, 8);
  assert.equal(parseClose(frames[2]!).code, 1002);
});
