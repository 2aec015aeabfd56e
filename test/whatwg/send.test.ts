/**
 * SPEC.md C1–C15: send() — argument conversion, states, message kinds, exact payload bytes,
 * bufferedAmount growth, ordering with Blobs, large payloads, USVString text.
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import { WebSocket } from "../../src/index.js";
import { assertThrowsDom, assertThrowsTypeError } from "../helpers/assert-dom.js";
import { OP, patternBytes } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { frameText, type ReceivedFrame } from "../helpers/raw-peer.js";

const NOWHERE = "ws://127.0.0.1:1/";

/** A resizable ArrayBuffer (ES2024; Node 20 has it, the ES2023 typings do not). */
function resizable(length: number, maxByteLength: number): ArrayBuffer {
  return new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(length, {
    maxByteLength,
  });
}

function bytesOf(frame: ReceivedFrame): number[] {
  return Array.from(frame.payload);
}

test("C1: send() without an argument throws a TypeError, in any state", async (t) => {
  const connecting = new WebSocket(NOWHERE);
  assertThrowsTypeError(() => (connecting.send as () => void)());
  connecting.close();
  const { ws } = await openClient(t);
  assertThrowsTypeError(() => (ws.send as () => void)());
  assert.equal(ws.bufferedAmount, 0);
});

test("C2: send() while CONNECTING throws InvalidStateError (11), after argument conversion", () => {
  const ws = new WebSocket(NOWHERE);
  for (const data of [
    "x",
    "\uD800",
    new ArrayBuffer(3),
    new Uint8Array(2),
    new Blob(["ab"]),
    null,
  ]) {
    assertThrowsDom(() => ws.send(data as string), "InvalidStateError");
  }
  // Conversion comes first: a value that cannot be converted is a TypeError, not a state error.
  assertThrowsTypeError(() => ws.send(Symbol("s") as unknown as string));
  assertThrowsTypeError(() => ws.send(new Uint8Array(new SharedArrayBuffer(4))));
  assert.equal(ws.bufferedAmount, 0);
  ws.close();
});

test("C3: strings and any other value are sent as text (USVString); Symbol → TypeError", async (t) => {
  const { ws, conn } = await openClient(t);
  const cases: [unknown, string][] = [
    ["x", "x"],
    [null, "null"],
    [undefined, "undefined"],
    [1, "1"],
    [true, "true"],
    [{}, "[object Object]"],
    [{ toString: () => "custom" }, "custom"],
    [[1, 2], "1,2"],
  ];
  for (const [data] of cases) ws.send(data as string);
  for (const [data, text] of cases) {
    const frame = await conn.nextFrame();
    assert.equal(frame.opcode, OP.text, String(data));
    assert.equal(frameText(frame), text);
  }
  assertThrowsTypeError(() => ws.send(Symbol("s") as unknown as string));
});

test("C3: ArrayBuffer, every ArrayBufferView (typed arrays, DataView, Buffer) and Blob are binary", async (t) => {
  const { ws, conn } = await openClient(t);
  const source = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const cases: [string, ArrayBuffer | ArrayBufferView | Blob, number[]][] = [
    ["ArrayBuffer", source.slice().buffer, [1, 2, 3, 4, 5, 6, 7, 8]],
    ["Uint8Array", source.slice(), [1, 2, 3, 4, 5, 6, 7, 8]],
    ["Int16Array", new Int16Array(source.slice().buffer), [1, 2, 3, 4, 5, 6, 7, 8]],
    ["Float64Array", new Float64Array(source.slice().buffer), [1, 2, 3, 4, 5, 6, 7, 8]],
    ["BigInt64Array", new BigInt64Array(source.slice().buffer), [1, 2, 3, 4, 5, 6, 7, 8]],
    ["Uint8ClampedArray", new Uint8ClampedArray([9, 300]), [9, 255]],
    ["DataView", new DataView(source.slice().buffer), [1, 2, 3, 4, 5, 6, 7, 8]],
    ["Buffer", Buffer.from([7, 7]), [7, 7]],
    ["Blob", new Blob([Uint8Array.of(4, 2)]), [4, 2]],
  ];
  for (const [, data] of cases) ws.send(data);
  for (const [name, , expected] of cases) {
    const frame = await conn.nextFrame();
    assert.equal(frame.opcode, OP.binary, name);
    assert.deepEqual(bytesOf(frame), expected, name);
  }
});

test("C4 (★): shared or resizable buffers are refused with a TypeError, nothing is sent", async (t) => {
  const { ws, conn } = await openClient(t);
  const refused: [string, unknown][] = [
    ["SharedArrayBuffer", new SharedArrayBuffer(4)],
    ["view over SharedArrayBuffer", new Uint8Array(new SharedArrayBuffer(4))],
    ["DataView over SharedArrayBuffer", new DataView(new SharedArrayBuffer(4))],
    ["resizable ArrayBuffer", resizable(4, 8)],
    ["view over resizable ArrayBuffer", new Uint8Array(resizable(4, 8))],
    [
      "growable SharedArrayBuffer",
      new (SharedArrayBuffer as unknown as new (n: number, o: object) => SharedArrayBuffer)(4, {
        maxByteLength: 8,
      }),
    ],
  ];
  for (const [name, data] of refused) {
    assertThrowsTypeError(() => ws.send(data as ArrayBuffer), name);
  }
  assert.equal(ws.bufferedAmount, 0);
  ws.send("after");
  assert.equal(frameText(await conn.nextFrame()), "after");
});

test("C5: one frame per message, opcode 1 for text and 2 otherwise; a view sends exactly its bytes", async (t) => {
  const { ws, conn } = await openClient(t);
  const buffer = patternBytes(16).buffer;
  ws.send(new Uint8Array(buffer, 3, 5));
  ws.send(new Uint16Array(buffer, 4, 2));
  ws.send(new DataView(buffer, 10));
  ws.send(new Uint8Array(buffer, 16, 0));
  ws.send("héllo");
  const all = new Uint8Array(buffer);
  const expected = [
    Array.from(all.subarray(3, 8)),
    Array.from(all.subarray(4, 8)),
    Array.from(all.subarray(10, 16)),
    [],
  ];
  for (const bytes of expected) {
    const frame = await conn.nextFrame();
    assert.equal(frame.fin, true);
    assert.equal(frame.rsv, 0);
    assert.equal(frame.opcode, OP.binary);
    assert.deepEqual(bytesOf(frame), bytes);
  }
  const text = await conn.nextFrame();
  assert.equal(text.opcode, OP.text);
  assert.equal(text.fin, true);
  assert.deepEqual(bytesOf(text), Array.from(Buffer.from("héllo")));
});

test("C6: while CLOSING or CLOSED send() returns undefined, sends nothing, fires nothing", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(1000);
  assert.equal(ws.readyState, WebSocket.CLOSING);
  assert.equal(ws.send("abc"), undefined);
  assert.equal(ws.send(new Uint8Array(5)), undefined);
  const close = await conn.nextFrame();
  assert.equal(close.opcode, OP.close);
  conn.closeAndEnd(1000);
  await rec.closed();
  assert.equal(ws.send("more"), undefined);
  assert.deepEqual(rec.types(), ["open", "close"]);
  await conn.waitForEnd();
  assert.deepEqual(
    conn.frames.map((f) => f.opcode),
    [OP.close],
  );
  assert.equal(ws.bufferedAmount, 3 + 5 + 4);
});

test("C7: the return value is always undefined", async (t) => {
  const { ws } = await openClient(t);
  for (const data of ["", "x", new ArrayBuffer(2), new Uint8Array(1), new Blob(["b"])]) {
    assert.equal(ws.send(data), undefined);
  }
});

test("C8: bufferedAmount grows by the UTF-8 length (after U+FFFD replacement), byteLength, or size", async (t) => {
  const { ws } = await openClient(t);
  const buffer = new ArrayBuffer(64);
  const cases: [string, string | ArrayBuffer | ArrayBufferView | Blob, number][] = [
    ['"x"', "x", 1],
    ['"å"', "å", 2],
    ['"匶"', "匶", 3],
    ["a surrogate pair", "\uD83D\uDE00", 4],
    ["a lone surrogate", "\uD807", 3],
    ["''", "", 0],
    ["ArrayBuffer(64)", buffer, 64],
    [
      "Uint8Array view of 5 (★ byteLength, not the buffer's length)",
      new Uint8Array(buffer, 3, 5),
      5,
    ],
    ["Float32Array view of 2", new Float32Array(buffer, 8, 2), 8],
    ["DataView of 7", new DataView(buffer, 1, 7), 7],
    ["Blob of 6", new Blob(["abc", "€"]), 6],
  ];
  for (const [name, data, grows] of cases) {
    const before = ws.bufferedAmount;
    ws.send(data);
    assert.equal(ws.bufferedAmount - before, grows, name);
  }
});

test("C9: empty strings and buffers are zero-length messages; an echo returns ''", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.send("");
  ws.send(new ArrayBuffer(0));
  ws.send(new Blob([]));
  const text = await conn.nextFrame();
  assert.equal(text.opcode, OP.text);
  assert.equal(text.payload.length, 0);
  assert.deepEqual(Array.from(text.header.subarray(0, 2)), [0x81, 0x80]);
  for (let i = 0; i < 2; i++) {
    const binary = await conn.nextFrame();
    assert.equal(binary.opcode, OP.binary);
    assert.deepEqual(Array.from(binary.header.subarray(0, 2)), [0x82, 0x80]);
  }
  conn.sendText("");
  assert.equal((await rec.nextMessage()).data, "");
});

test("C10: the bytes are captured when send() is called (later changes to the buffer do not leak)", async (t) => {
  const { ws, conn } = await openClient(t);
  const view = Uint8Array.of(1, 2, 3);
  ws.send(view);
  view.fill(9);
  assert.deepEqual(bytesOf(await conn.nextFrame()), [1, 2, 3]);
});

test("C10: bytes queued behind a Blob are captured too (ArrayBuffer, view, DataView)", async (t) => {
  const { ws, conn } = await openClient(t);
  const buffer = Uint8Array.of(1, 2, 3, 4).buffer;
  const view = Uint8Array.of(5, 6);
  const dataView = new DataView(Uint8Array.of(7, 8).buffer);
  ws.send(new Blob(["b"]));
  ws.send(buffer);
  ws.send(view);
  ws.send(dataView);
  new Uint8Array(buffer).fill(0);
  view.fill(0);
  dataView.setUint16(0, 0);
  assert.equal(frameText(await conn.nextFrame()), "b");
  assert.deepEqual(bytesOf(await conn.nextFrame()), [1, 2, 3, 4]);
  assert.deepEqual(bytesOf(await conn.nextFrame()), [5, 6]);
  assert.deepEqual(bytesOf(await conn.nextFrame()), [7, 8]);
});

test("C11: messages leave in call order; a Blob is never overtaken", async (t) => {
  const { ws, conn } = await openClient(t);
  ws.send("1");
  ws.send(new Blob(["2"]));
  ws.send("3");
  ws.send(new Blob([new Uint8Array(200_000).fill(4)]));
  ws.send(Uint8Array.of(5));
  ws.send(new Blob(["6"]));
  ws.send("7");
  const seen: string[] = [];
  for (let i = 0; i < 7; i++) {
    const frame = await conn.nextFrame();
    seen.push(frame.opcode === OP.text ? frameText(frame) : String(frame.payload[0]));
  }
  assert.deepEqual(seen, ["1", "50", "3", "4", "5", "54", "7"]);
});

test("C12: large payloads round-trip (65 000-char string, 100 000-byte buffer, 65 000-byte Blob)", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.binaryType = "arraybuffer";
  const text = "€abc".repeat(16_250);
  const buffer = patternBytes(100_000);
  const blob = new Blob([patternBytes(65_000, 11)]);
  ws.send(text);
  ws.send(buffer);
  ws.send(blob);
  for (let i = 0; i < 3; i++) {
    const frame = await conn.nextFrame();
    conn.sendFrame({ opcode: frame.opcode, payload: frame.payload });
  }
  assert.equal((await rec.nextMessage()).data, text);
  assert.deepEqual(new Uint8Array((await rec.nextMessage()).data as ArrayBuffer), buffer);
  assert.deepEqual(
    new Uint8Array((await rec.nextMessage()).data as ArrayBuffer),
    patternBytes(65_000, 11),
  );
  assert.equal(text.length, 65_000);
});

test("C13 (◇): sockwise does not cap the outgoing buffer: 8 MiB queued on a stalled peer stays open", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.socket.pause();
  for (let i = 0; i < 128; i++) ws.send(new Uint8Array(64 * 1024));
  assert.equal(ws.bufferedAmount, 8 * 1024 * 1024);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.deepEqual(rec.types(), ["open"]);
  conn.socket.resume();
});

test("C14: unpaired surrogates go out as U+FFFD (EF BF BD); an echo returns them replaced", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.send("a\uDC00xb\uD800xc\uDC00\uD800x");
  const frame = await conn.nextFrame();
  assert.deepEqual(bytesOf(frame), Array.from(Buffer.from("a\uFFFDxb\uFFFDxc\uFFFD\uFFFDx")));
  conn.sendFrame({ opcode: OP.text, payload: frame.payload });
  assert.equal((await rec.nextMessage()).data, "a\uFFFDxb\uFFFDxc\uFFFD\uFFFDx");
});

test("C15: data sent while OPEN is not dropped by a later close(); the Close frame comes last", async (t) => {
  const { ws, conn } = await openClient(t);
  ws.send("first");
  ws.send(new Blob([patternBytes(70_000)]));
  ws.send(patternBytes(10));
  ws.close(1000, "done");
  assert.equal(frameText(await conn.nextFrame()), "first");
  assert.equal((await conn.nextFrame()).payload.length, 70_000);
  assert.deepEqual(bytesOf(await conn.nextFrame()), Array.from(patternBytes(10)));
  const close = await conn.nextFrame();
  assert.equal(close.opcode, OP.close);
  assert.deepEqual(bytesOf(close), [0x03, 0xe8, ...Buffer.from("done")]);
});
