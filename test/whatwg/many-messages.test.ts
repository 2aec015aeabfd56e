/**
 * 10 000 messages of deterministic random sizes (0 B – 64 KiB, log-uniform so that every length
 * form is well covered) and kinds (text, ArrayBuffer, typed-array views and DataViews at
 * offsets, a few Blobs), sent in one go just before `close(4321, "done")`: every message must
 * reach the peer intact and in order, then exactly that Close (SPEC.md C5, C10, C11, C15, D15,
 * D18), while bufferedAmount follows B6–B8 and C8.
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import { WebSocket } from "../../src/index.js";
import { OP } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { parseCloseFrame, waitUntil } from "../helpers/raw-peer.js";

const COUNT = 10_000;
const MAX_BYTES = 64 * 1024;
/** Sizes that sit on the length-encoding boundaries (RFC 6455 §5.2), placed at fixed indices. */
const EDGE_SIZES = [0, 1, 125, 126, 127, 65_535, 65_536];

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Planned {
  readonly data: string | ArrayBuffer | ArrayBufferView | Blob;
  readonly opcode: number;
  /** The exact payload the peer must receive. */
  readonly expected: Buffer;
  /** What send() adds to bufferedAmount (C8). */
  readonly size: number;
}

/** [bytes per element, constructor of a view of `length` elements at `offset`]. */
const VIEWS: readonly (readonly [
  number,
  (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView,
])[] = [
  [1, (b, o, n) => new Uint8Array(b, o, n)],
  [2, (b, o, n) => new Uint16Array(b, o, n)],
  [4, (b, o, n) => new Int32Array(b, o, n)],
  [8, (b, o, n) => new Float64Array(b, o, n)],
  [1, (b, o, n) => new DataView(b, o, n)],
];

const TEXT_PIECES = ["a", "Z", " ", "é", "€", "🔌", "ÿ", "\n"];

function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const words = new Uint32Array(bytes.buffer, 0, length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = (random() * 2 ** 32) >>> 0;
  for (let i = words.length * 4; i < length; i++) bytes[i] = (random() * 256) | 0;
  return bytes;
}

function plan(random: () => number, index: number): Planned {
  const size =
    index < EDGE_SIZES.length
      ? EDGE_SIZES[index]!
      : Math.min(MAX_BYTES, Math.floor(Math.pow(MAX_BYTES + 2, random())) - 1);
  if (index % 500 === 250) {
    const bytes = randomBytes(random, size);
    return { data: new Blob([bytes]), opcode: OP.binary, expected: Buffer.from(bytes), size };
  }
  const kind = random();
  if (kind < 0.4) {
    // Text of about `size` UTF-8 bytes, in mixed widths (never over MAX_BYTES).
    const parts: string[] = [];
    let bytes = 0;
    while (bytes < size) {
      const piece = TEXT_PIECES[(random() * TEXT_PIECES.length) | 0]!;
      const width = Buffer.byteLength(piece);
      if (bytes + width > size) break;
      parts.push(piece);
      bytes += width;
    }
    const text = parts.join("");
    return { data: text, opcode: OP.text, expected: Buffer.from(text), size: bytes };
  }
  if (kind < 0.65) {
    const bytes = randomBytes(random, size);
    return {
      data: bytes.buffer as ArrayBuffer,
      opcode: OP.binary,
      expected: Buffer.from(bytes),
      size,
    };
  }
  // A view at an offset into a bigger buffer; the bytes around it must not be sent.
  const [unit, makeView] = VIEWS[(random() * VIEWS.length) | 0]!;
  const length = Math.floor(size / unit);
  const byteLength = length * unit;
  const offset = unit * (1 + ((random() * 7) | 0));
  const backing = randomBytes(random, offset + byteLength + 16);
  const view = makeView(backing.buffer as ArrayBuffer, offset, length);
  const expected = Buffer.from(backing.subarray(offset, offset + byteLength));
  return { data: view, opcode: OP.binary, expected, size: byteLength };
}

test("10 000 random messages sent just before close(4321, 'done') arrive intact and in order, then that Close", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  const random = prng(0x5eed_2026);
  const planned = Array.from({ length: COUNT }, (_, i) => plan(random, i));
  const totalBytes = planned.reduce((sum, p) => sum + p.size, 0);

  // B7, C8: each send() raises bufferedAmount by exactly its payload size, synchronously.
  let expectedBuffered = 0;
  for (const message of planned) {
    ws.send(message.data);
    expectedBuffered += message.size;
    assert.equal(ws.bufferedAmount, expectedBuffered);
  }
  ws.close(4321, "done");
  assert.equal(ws.readyState, WebSocket.CLOSING);
  // B8: a send() after close() still counts, and is never sent.
  ws.send("not sent");
  assert.equal(ws.bufferedAmount, totalBytes + 8);

  for (const [i, message] of planned.entries()) {
    const frame = await conn.nextFrame();
    assert.equal(frame.fin, true, `message ${i}`);
    assert.equal(frame.masked, true, `message ${i}`);
    assert.equal(frame.opcode, message.opcode, `message ${i}: opcode`);
    if (!message.expected.equals(frame.payload)) {
      assert.fail(
        `message ${i}: ${frame.payload.length} bytes received, ${message.expected.length} expected`,
      );
    }
  }
  const close = await conn.nextFrame();
  assert.deepEqual(parseCloseFrame(close), { code: 4321, reason: "done" });
  conn.closeAndEnd(4321, "done");
  const event = await rec.closed(10_000);
  assert.deepEqual([event.code, event.reason, event.wasClean], [4321, "done", true]);
  assert.deepEqual(rec.types(), ["open", "close"]);
  // B6, B8: everything written was subtracted; the post-close send() stays counted.
  await waitUntil(() => ws.bufferedAmount === 8, "bufferedAmount to settle at 8");
  assert.equal(conn.frames.length, COUNT + 1);
  assert.ok(totalBytes > 10_000_000, `the run sent ${totalBytes} bytes`);
});
