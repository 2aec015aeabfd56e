/**
 * Reading and writing messages through a WebSocketStream (SPEC.md O6–O8; WPT
 * stream/tentative/write.any.js): text as strings, binary as Uint8Array, the write conversions
 * and their errors, and writes that are refused once the connection closes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { OP, buildFrame } from "../../helpers/frames.js";
import { accept, frameText, withTimeout } from "../../helpers/raw-peer.js";
import {
  assertInvalidState,
  assertWebSocketError,
  openStream,
  rejectionOf,
} from "../../helpers/stream-client.js";

test("O6: text messages are read as strings, binary ones as plain Uint8Array, in order", async (t) => {
  const { conn, readable } = await openStream(t);
  conn.sendText("héllo 🔌");
  conn.sendBinary(Uint8Array.of(0, 1, 2, 255));
  conn.sendText("");
  conn.sendBinary(new Uint8Array(0));
  conn.sendText("\uFEFFbom kept"); // SPEC.md K11 (★)
  // A message fragmented across frames, and one split across TCP writes.
  conn.sendFrame({ opcode: OP.text, fin: false, payload: "frag" });
  conn.sendFrame({ opcode: OP.cont, fin: true, payload: "mented" });
  const big = new Uint8Array(200_000).map((_, i) => i % 251);
  const bytes = buildFrame({ opcode: OP.binary, payload: big });
  conn.sendRaw(bytes.subarray(0, 1000));
  conn.sendRaw(bytes.subarray(1000));

  const reader = readable.getReader();
  const values: unknown[] = [];
  for (let i = 0; i < 7; i++) values.push((await withTimeout(reader.read(), `message ${i}`)).value);
  assert.equal(values[0], "héllo 🔌");
  assert.equal(
    Object.getPrototypeOf(values[1]),
    Uint8Array.prototype,
    "a Uint8Array, not a Buffer",
  );
  assert.deepEqual(values[1], Uint8Array.of(0, 1, 2, 255));
  assert.equal(values[2], "");
  assert.deepEqual(values[3], new Uint8Array(0));
  assert.equal(values[4], "\uFEFFbom kept");
  assert.equal(values[5], "fragmented");
  assert.equal(Object.getPrototypeOf(values[6]), Uint8Array.prototype);
  assert.deepEqual(values[6], big);
});

test("O6: messages that arrive in the same TCP read as the 101 response are all readable", async (t) => {
  const then = Buffer.concat([
    buildFrame({ opcode: OP.text, payload: "early" }),
    buildFrame({ opcode: OP.binary, payload: Uint8Array.of(42) }),
  ]);
  const { readable } = await openStream(t, { peer: { respond: () => accept({ then }) } });
  const reader = readable.getReader();
  assert.equal((await withTimeout(reader.read(), "first")).value, "early");
  assert.deepEqual((await withTimeout(reader.read(), "second")).value, Uint8Array.of(42));
});

test("O6: each binary message has its own buffer (changing one changes nothing else)", async (t) => {
  const { conn, readable } = await openStream(t);
  // Two small frames in one TCP write: they share the socket's read buffer on arrival.
  conn.sendRaw(
    Buffer.concat([
      buildFrame({ opcode: OP.binary, payload: Uint8Array.of(1, 2, 3) }),
      buildFrame({ opcode: OP.binary, payload: Uint8Array.of(4, 5, 6) }),
    ]),
  );
  const reader = readable.getReader();
  const first = (await reader.read()).value as Uint8Array;
  const second = (await reader.read()).value as Uint8Array;
  assert.notEqual(first.buffer, second.buffer);
  assert.equal(first.buffer.byteLength, 3, "a small message does not keep the whole read alive");
  first.fill(9);
  assert.deepEqual(second, Uint8Array.of(4, 5, 6));
});

test("O7: a string is sent as text (USVString: lone surrogates → U+FFFD), a BufferSource as binary", async (t) => {
  const { conn, writable } = await openStream(t);
  const writer = writable.getWriter();
  const buffer = new ArrayBuffer(8);
  new Uint8Array(buffer).set([1, 2, 3, 4, 5, 6, 7, 8]);
  const writes: [unknown, number, string][] = [
    ["héllo", OP.text, "68c3a96c6c6f"],
    ["a\uD800b", OP.text, "61efbfbd62"],
    [buffer, OP.binary, "0102030405060708"],
    [new Uint8Array(buffer, 2, 3), OP.binary, "030405"],
    [new DataView(buffer, 6), OP.binary, "0708"],
    [
      new Uint16Array([0x0102]),
      OP.binary,
      Buffer.from(new Uint16Array([0x0102]).buffer).toString("hex"),
    ],
    [new Uint8Array(0), OP.binary, ""],
    ["", OP.text, ""],
    [42, OP.text, "3432"],
    [{ toString: () => "obj" }, OP.text, "6f626a"],
    [null, OP.text, "6e756c6c"],
  ];
  for (const [chunk] of writes) await withTimeout(writer.write(chunk as string), "write");
  for (const [chunk, opcode, hex] of writes) {
    const frame = await conn.nextFrame();
    assert.equal(frame.opcode, opcode, String(chunk));
    assert.equal(frame.masked, true);
    assert.equal(Buffer.from(frame.payload).toString("hex"), hex, String(chunk));
  }
});

test("O7: a value that cannot be stringified rejects the write with a TypeError (and errors the writable)", async (t) => {
  const { writable, conn } = await openStream(t);
  const writer = writable.getWriter();
  const cannotStringify = {
    toString() {
      return this;
    },
  };
  const error = await rejectionOf(writer.write(cannotStringify as unknown as string), "write");
  assert.ok(error instanceof TypeError);
  assert.ok(!(error instanceof DOMException));
  await rejectionOf(writer.write(Symbol("s") as unknown as string), "write after a failed one");
  await conn.expectNoFrame(50);
});

test("O7: a resizable ArrayBuffer, a view over shared memory and a SharedArrayBuffer are TypeErrors", async (t) => {
  const resizable = new (
    ArrayBuffer as unknown as new (
      length: number,
      options: { maxByteLength: number },
    ) => ArrayBuffer
  )(16, { maxByteLength: 64 });
  const shared = new SharedArrayBuffer(16);
  for (const chunk of [resizable, new Uint8Array(resizable), new Uint8Array(shared), shared]) {
    const { writable, conn } = await openStream(t);
    const error = await rejectionOf(writable.getWriter().write(chunk as ArrayBuffer), "write");
    assert.ok(error instanceof TypeError, String(chunk));
    await conn.expectNoFrame(20);
  }
});

test("O7: the frame carries a private copy: changing the chunk after write() changes nothing", async (t) => {
  const { writable, conn } = await openStream(t);
  const writer = writable.getWriter();
  const data = Uint8Array.of(1, 2, 3);
  const written = writer.write(data);
  data[0] = 7;
  await withTimeout(written, "write");
  data[1] = 8;
  const frame = await conn.nextFrame();
  assert.deepEqual([...frame.payload], [1, 2, 3]);
});

test("O7: a write resolves once its bytes are handed to the socket, and writes keep their order", async (t) => {
  const { writable, conn } = await openStream(t);
  const writer = writable.getWriter();
  const writes = Array.from({ length: 50 }, (_, i) => writer.write(`m${i}`));
  await withTimeout(Promise.all(writes), "50 writes");
  for (let i = 0; i < 50; i++) assert.equal(frameText(await conn.nextFrame()), `m${i}`);
});

test("O8: writes after close() reject with InvalidStateError and send nothing", async (t) => {
  const { wss, writable, conn } = await openStream(t);
  const writer = writable.getWriter();
  wss.close({ closeCode: 3000 });
  assertInvalidState(await rejectionOf(writer.write("late"), "write after close()"));
  const frame = await conn.nextFrame();
  assert.equal(frame.opcode, OP.close, "only the Close frame went out");
  conn.closeAndEnd(3000);
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 3000, reason: "" });
});

test("O8: after a clean close the writable is errored with InvalidStateError; after an unclean one with the WebSocketError", async (t) => {
  {
    const { wss, writable, conn } = await openStream(t);
    conn.closeAndEnd(1000);
    await withTimeout(wss.closed, "closed");
    const writer = writable.getWriter();
    const error = assertInvalidState(await rejectionOf(writer.write("x"), "write"));
    assert.equal(await rejectionOf(writer.write("y"), "second write"), error, "the same object");
  }
  {
    const { wss, writable, conn } = await openStream(t);
    conn.destroy();
    const closed = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
    assert.equal(await rejectionOf(writable.getWriter().write("x"), "write"), closed);
  }
});
