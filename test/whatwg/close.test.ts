/**
 * SPEC.md D1–D24: close(code, reason) — IDL conversions, validation order, every state branch,
 * the exact Close frame on the wire, and what the close event then reports.
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import { WebSocket, closeDetails } from "../../src/index.js";
import { assertThrowsDom, assertThrowsTypeError } from "../helpers/assert-dom.js";
import { record } from "../helpers/client-recorder.js";
import { OP } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { RawPeer, parseCloseFrame, sleep, type ReceivedFrame } from "../helpers/raw-peer.js";

const NOWHERE = "ws://127.0.0.1:1/";

function connecting(): WebSocket {
  return new WebSocket(NOWHERE);
}

/** Opens a client, calls `close(...args)`, and returns the Close frame the peer received. */
async function closeFrameFor(
  t: Parameters<typeof openClient>[0],
  ...args: unknown[]
): Promise<ReceivedFrame> {
  const { ws, conn } = await openClient(t);
  (ws.close as (...a: unknown[]) => void)(...args);
  const frame = await conn.nextFrame();
  assert.equal(frame.opcode, OP.close);
  assert.equal(frame.masked, true);
  return frame;
}

test("D1: close.length is 0 and close() returns undefined in every state", async (t) => {
  assert.equal(WebSocket.prototype.close.length, 0);
  const ws = connecting();
  assert.equal(ws.close(), undefined);
  assert.equal(ws.close(), undefined);
  await record(ws).closed();
  assert.equal(ws.close(1000), undefined);
  const open = await openClient(t);
  assert.equal(open.ws.close(), undefined);
});

test("D2: close(undefined) and close(undefined, undefined) behave like close()", async (t) => {
  for (const args of [[undefined], [undefined, undefined]]) {
    const frame = await closeFrameFor(t, ...args);
    assert.equal(frame.payload.length, 0);
    assert.deepEqual(Array.from(frame.header.subarray(0, 2)), [0x88, 0x80]);
  }
});

// [value, valid?] — [Clamp] unsigned short: ToNumber, NaN → 0, clamp to 0..65535, round half
// to even; then 1000 or 3000–4999 is valid.
const CODE_CONVERSIONS: [string, unknown, boolean][] = [
  ["null → 0", null, false],
  ["NaN → 0", NaN, false],
  ['"string" → NaN → 0', "string", false],
  ['"Close with only reason" → 0', "Close with only reason", false],
  ["true → 1", true, false],
  ["false → 0", false, false],
  ["-5 → 0", -5, false],
  ["-Infinity → 0", -Infinity, false],
  ["66536 → 65535", 66536, false],
  ["Infinity → 65535", Infinity, false],
  ["0.5 → 0 (half to even)", 0.5, false],
  ["[] → 0", [], false],
  ['"1000" → 1000', "1000", true],
  ['["1000"] → 1000', ["1000"], true],
  ["{valueOf: 3000} → 3000", { valueOf: () => 3000 }, true],
  ["999.4 → 999", 999.4, false],
  ["999.5 → 1000", 999.5, true],
  ["999.6 → 1000", 999.6, true],
  ["1000.4 → 1000", 1000.4, true],
  ["1000.5 → 1000 (half to even)", 1000.5, true],
  ["1001.5 → 1002 (half to even)", 1001.5, false],
  ["2999.4 → 2999", 2999.4, false],
  ["2999.5 → 3000 (half to even)", 2999.5, true],
  ["3999.5 → 4000", 3999.5, true],
  ["4998.5 → 4998 (half to even)", 4998.5, true],
  ["4999.4 → 4999", 4999.4, true],
  ["4999.5 → 5000 (half to even)", 4999.5, false],
  ["65535.5 → 65535", 65535.5, false],
];

test("D3: code conversion ([Clamp] unsigned short, half to even) decides validity", () => {
  for (const [name, value, valid] of CODE_CONVERSIONS) {
    const ws = connecting();
    if (valid) assert.doesNotThrow(() => ws.close(value as number), name);
    else assertThrowsDom(() => ws.close(value as number), "InvalidAccessError", name);
    ws.close();
  }
});

test("D3: Symbol and BigInt codes throw a TypeError during conversion", () => {
  const ws = connecting();
  assertThrowsTypeError(() => ws.close(Symbol("c") as unknown as number));
  assertThrowsTypeError(() => ws.close(1000n as unknown as number));
  // The conversion error comes before the reason's conversion and before any step.
  assertThrowsTypeError(() =>
    ws.close(
      Symbol("c") as unknown as number,
      {
        toString() {
          throw new RangeError("reason");
        },
      } as unknown as string,
    ),
  );
  assert.equal(ws.readyState, WebSocket.CONNECTING);
  ws.close();
});

test("D3: the converted code is what goes on the wire", async (t) => {
  const cases: [unknown, number][] = [
    [999.5, 1000],
    [1000.5, 1000],
    [2999.5, 3000],
    ["4000", 4000],
    [4998.5, 4998],
  ];
  for (const [value, code] of cases) {
    const frame = await closeFrameFor(t, value);
    assert.equal(parseCloseFrame(frame).code, code, String(value));
    assert.equal(frame.payload.length, 2);
  }
});

test("D4: the reason is converted with ToString then USVString; toString errors propagate", async (t) => {
  const ws = connecting();
  const boom = new RangeError("boom");
  assert.throws(
    () =>
      ws.close(1000, {
        toString() {
          throw boom;
        },
      } as unknown as string),
    (error) => error === boom,
  );
  assertThrowsTypeError(() => ws.close(1000, Symbol("r") as unknown as string));
  assert.equal(ws.readyState, WebSocket.CONNECTING);
  ws.close();
  const cases: [unknown, string][] = [
    [null, "null"],
    [42, "42"],
    [{ toString: () => "obj" }, "obj"],
    ["a\uD800b", "a\uFFFDb"],
  ];
  for (const [reason, text] of cases) {
    const frame = await closeFrameFor(t, 1000, reason);
    assert.equal(parseCloseFrame(frame).reason, text, String(reason));
  }
});

test("D5: any code other than 1000 or 3000–4999 throws InvalidAccessError (15)", () => {
  const invalid = [0, 1, 500, 999, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1012, 1015];
  invalid.push(1016, 2000, 2999, 5000, 5001, 65535);
  for (const code of invalid) {
    const ws = connecting();
    assertThrowsDom(() => ws.close(code), "InvalidAccessError", String(code));
    assertThrowsDom(() => ws.close(code, "reason"), "InvalidAccessError", String(code));
    assert.equal(ws.readyState, WebSocket.CONNECTING, "nothing happened");
    ws.close();
  }
  for (const code of [1000, 3000, 3001, 3999, 4000, 4999]) {
    const ws = connecting();
    assert.doesNotThrow(() => ws.close(code), String(code));
  }
});

// [description, reason, UTF-8 bytes, valid?]
const REASON_LENGTHS: [string, string, number, boolean][] = [
  ["123 ASCII", "a".repeat(123), 123, true],
  ["124 ASCII", "a".repeat(124), 124, false],
  ['41 × "€"', "€".repeat(41), 123, true],
  ['42 × "€"', "€".repeat(42), 126, false],
  ['30 × "🔌" + 3 ASCII', "🔌".repeat(30) + "abc", 123, true],
  ['31 × "🔌"', "🔌".repeat(31), 124, false],
  ["41 lone surrogates", "\uD807".repeat(41), 123, true],
  ["42 lone surrogates", "\uD807".repeat(42), 126, false],
  ["61 × 'é' + 1 ASCII", "é".repeat(61) + "a", 123, true],
  ["62 × 'é'", "é".repeat(62), 124, false],
  ["empty", "", 0, true],
];

test("D6: a reason over 123 UTF-8 bytes throws SyntaxError (12); bytes are counted, not units", () => {
  for (const [name, reason, bytes, valid] of REASON_LENGTHS) {
    // Buffer encodes a lone surrogate as EF BF BD, like the USVString conversion.
    assert.equal(Buffer.byteLength(reason), bytes, name);
    const ws = connecting();
    if (valid) assert.doesNotThrow(() => ws.close(1000, reason), name);
    else {
      assertThrowsDom(() => ws.close(1000, reason), "SyntaxError", name);
      assertThrowsDom(() => ws.close(undefined, reason), "SyntaxError", name);
      assert.equal(ws.readyState, WebSocket.CONNECTING, "nothing happened");
    }
    ws.close();
  }
});

test("D7: the code is checked before the reason", () => {
  const ws = connecting();
  assertThrowsDom(() => ws.close(2999, "x".repeat(200)), "InvalidAccessError");
  assertThrowsDom(() => ws.close(0, "€".repeat(100)), "InvalidAccessError");
  ws.close();
});

test("D8: the checks run in every state, including CLOSING and CLOSED", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  assertThrowsDom(() => ws.close(1005), "InvalidAccessError", "CLOSING");
  assertThrowsDom(() => ws.close(1000, "a".repeat(124)), "SyntaxError", "CLOSING");
  await conn.nextFrame();
  conn.closeAndEnd();
  await rec.closed();
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assertThrowsDom(() => ws.close(1005), "InvalidAccessError", "CLOSED");
  assertThrowsDom(() => ws.close(1000, "a".repeat(124)), "SyntaxError", "CLOSED");
  assertThrowsDom(() => ws.close(2999, "a".repeat(124)), "InvalidAccessError", "CLOSED");
});

test("D9 (★): a lone surrogate never throws; it is sent as EF BF BD and echoes as U+FFFD", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  assert.doesNotThrow(() => ws.close(1000, "\uD807"));
  const frame = await conn.nextFrame();
  assert.deepEqual(Array.from(frame.payload), [0x03, 0xe8, 0xef, 0xbf, 0xbd]);
  conn.sendFrame({ opcode: OP.close, payload: frame.payload });
  conn.end();
  const event = await rec.closed();
  assert.equal(event.reason, "\uFFFD");
  assert.equal(event.code, 1000);
  assert.equal(event.wasClean, true);
});

test("D10: close() while CLOSING or CLOSED does nothing: one Close frame, one close event", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(1000);
  ws.close(3000, "again");
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const frame = await conn.nextFrame();
  assert.equal(parseCloseFrame(frame).code, 1000);
  let nestedReturned: unknown = "not called";
  ws.onclose = () => {
    nestedReturned = ws.close(4000);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  };
  conn.closeAndEnd(1000);
  await rec.closed();
  await conn.waitForEnd();
  await sleep(20);
  assert.equal(nestedReturned, undefined);
  assert.equal(conn.frames.length, 1);
  assert.deepEqual(rec.types(), ["open", "close"]);
});

test("D11: close() while CONNECTING: CLOSING at once, then error and close 1006; no frame, no open", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url);
  const rec = record(ws);
  const conn = await peer.connection();
  ws.close(3000, "ignored");
  assert.equal(ws.readyState, WebSocket.CLOSING);
  assert.deepEqual(rec.types(), []);
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["error", "close"]);
  assert.equal(event.code, 1006);
  assert.equal(event.reason, "");
  assert.equal(event.wasClean, false);
  await conn.waitForClose();
  assert.equal(conn.frames.length, 0);
  assert.equal(conn.bytesBeforeResponse, 0);
});

test("D11: a code or reason given while CONNECTING is still validated", () => {
  const ws = connecting();
  assertThrowsDom(() => ws.close(1001), "InvalidAccessError");
  assertThrowsDom(() => ws.close(1000, "x".repeat(124)), "SyntaxError");
  assert.equal(ws.readyState, WebSocket.CONNECTING);
  ws.close();
});

test("D12: close() while OPEN sends a Close frame and sets CLOSING before returning", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(4000);
  assert.equal(ws.readyState, WebSocket.CLOSING);
  assert.deepEqual(rec.types(), ["open"]);
  const frame = await conn.nextFrame();
  assert.equal(frame.opcode, OP.close);
  assert.equal(frame.fin, true);
});

test("D13: close() with no arguments sends an empty Close frame (88 80 + mask) and the event shows 1005", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close();
  const frame = await conn.nextFrame();
  assert.equal(frame.header.length, 6);
  assert.deepEqual(Array.from(frame.header.subarray(0, 2)), [0x88, 0x80]);
  assert.equal(frame.payload.length, 0);
  conn.closeAndEnd();
  const event = await rec.closed();
  assert.equal(event.code, 1005);
  assert.equal(event.reason, "");
  assert.equal(event.wasClean, true);
  assert.equal(closeDetails(ws)?.sentCode, 1005);
});

test("D14: close(code) sends the 2-byte big-endian code (1000 → 03 E8)", async (t) => {
  const frame = await closeFrameFor(t, 1000);
  assert.deepEqual(Array.from(frame.header.subarray(0, 2)), [0x88, 0x82]);
  assert.deepEqual(Array.from(frame.payload), [0x03, 0xe8]);
  const frame2 = await closeFrameFor(t, 4999);
  assert.deepEqual(Array.from(frame2.payload), [0x13, 0x87]);
});

test("D15: close(code, reason) sends the code then the reason's UTF-8; an empty reason gives 2 bytes", async (t) => {
  const frame = await closeFrameFor(t, 3000, "x€");
  assert.deepEqual(Array.from(frame.payload), [0x0b, 0xb8, 0x78, 0xe2, 0x82, 0xac]);
  const empty = await closeFrameFor(t, 3000, "");
  assert.deepEqual(Array.from(empty.payload), [0x0b, 0xb8]);
  const longest = await closeFrameFor(t, 1000, "€".repeat(41));
  assert.equal(longest.payload.length, 125);
  assert.equal(parseCloseFrame(longest).reason, "€".repeat(41));
});

test("D16 (★): close(undefined, 'bye') sends 1000 + 'bye'; close(undefined, '') sends an empty body", async (t) => {
  const frame = await closeFrameFor(t, undefined, "bye");
  assert.deepEqual(parseCloseFrame(frame), { code: 1000, reason: "bye" });
  const empty = await closeFrameFor(t, undefined, "");
  assert.equal(empty.payload.length, 0);
});

test("D17: close() after the peer's Close arrived (CLOSING task pending) sends no Close of its own", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  const states: number[] = [];
  ws.onmessage = () => {
    // The peer's Close came in the same read: the engine has already echoed it.
    states.push(ws.readyState);
    ws.close(4000, "mine");
    states.push(ws.readyState);
  };
  conn.sendRaw(
    Buffer.concat([
      Buffer.from([0x81, 0x01, 0x61]),
      Buffer.from([0x88, 0x06, 0x0f, 0xa1]),
      Buffer.from("peer"),
    ]),
  );
  const echo = await conn.nextFrame();
  assert.deepEqual(parseCloseFrame(echo), { code: 4001, reason: "peer" });
  conn.end();
  const event = await rec.closed();
  assert.deepEqual(states, [WebSocket.OPEN, WebSocket.CLOSING]);
  assert.equal(conn.frames.length, 1, "only the echo");
  assert.equal(event.code, 4001);
  assert.equal(event.reason, "peer");
  assert.equal(event.wasClean, true);
});

test("D18: queued send() data goes out before the Close frame and bufferedAmount drains first", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  const big = new Uint8Array(1024 * 1024);
  ws.send(big);
  ws.send(new Blob([big]));
  ws.send("tail");
  ws.close(1000);
  assert.equal(ws.bufferedAmount, 2 * big.length + 4);
  assert.equal((await conn.nextFrame()).payload.length, big.length);
  assert.equal((await conn.nextFrame()).payload.length, big.length);
  assert.equal((await conn.nextFrame()).opcode, OP.text);
  const close = await conn.nextFrame();
  assert.equal(close.opcode, OP.close);
  conn.closeAndEnd(1000);
  const event = await rec.closed();
  assert.equal(event.wasClean, true);
  assert.equal(ws.bufferedAmount, 0);
});

test("D19: after close() returns, incoming messages are not delivered", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(1000);
  await conn.nextFrame();
  conn.sendText("late");
  conn.sendBinary(Uint8Array.of(1));
  conn.closeAndEnd(1000);
  const event = await rec.closed();
  assert.equal(event.wasClean, true);
  assert.deepEqual(rec.types(), ["open", "close"]);
});

test("D19: a message already queued when close() is called is dropped", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.sendRaw(Buffer.from([0x81, 0x01, 0x61, 0x81, 0x01, 0x62]));
  ws.onmessage = () => ws.close(1000);
  await conn.nextFrame();
  conn.closeAndEnd(1000);
  await rec.closed();
  assert.deepEqual(rec.types(), ["open", "message", "close"]);
  assert.deepEqual(rec.messages(), ["a"]);
});

test("D20: the close event carries the peer's code and reason, not the ones close() sent", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(3000, "client");
  await conn.nextFrame();
  conn.closeAndEnd(4321, "server reason");
  const event = await rec.closed();
  assert.equal(event.code, 4321);
  assert.equal(event.reason, "server reason");
  assert.equal(event.wasClean, true);
  assert.equal(closeDetails(ws)?.sentCode, 3000);
});

test("D21: wasClean is true only when both Close frames were exchanged before TCP ended", async (t) => {
  const clean = await openClient(t);
  clean.ws.close(1000);
  await clean.conn.nextFrame();
  clean.conn.close(1000);
  clean.conn.end();
  assert.equal((await clean.rec.closed()).wasClean, true);

  const unclean = await openClient(t);
  unclean.ws.close(1000);
  await unclean.conn.nextFrame();
  unclean.conn.end();
  const event = await unclean.rec.closed();
  assert.equal(event.wasClean, false);
  assert.equal(event.code, 1006);
});

test("D22: the close event waits for the server's delayed Close reply", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  const start = performance.now();
  ws.close(1000);
  await conn.nextFrame();
  await sleep(300);
  assert.deepEqual(rec.types(), ["open"]);
  conn.closeAndEnd(1000);
  const event = await rec.closed();
  assert.ok(performance.now() - start >= 300);
  assert.equal(event.wasClean, true);
  assert.equal(event.code, 1000);
});

test("D23 (★): without a reply the client drops TCP after closeTimeoutMs: 1006, not clean, no error", async (t) => {
  const { ws, conn, rec } = await openClient(t, { second: { closeTimeoutMs: 150 } });
  const start = performance.now();
  ws.close(1000);
  await conn.nextFrame();
  const event = await rec.closed(2000);
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 140 && elapsed < 1500, `closed after ${elapsed} ms`);
  assert.equal(event.code, 1006);
  assert.equal(event.wasClean, false);
  assert.deepEqual(rec.types(), ["open", "close"]);
  await conn.waitForClose();
  assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_CLOSE_TIMEOUT");
});

test("D24: close() never encodes 1005; the event shows 1005 only because the peer echoed an empty Close", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close();
  const frame = await conn.nextFrame();
  assert.equal(frame.payload.length, 0);
  // A peer that answers with its own code: the event shows that code, not 1005 or 1000.
  conn.closeAndEnd(3003);
  const event = await rec.closed();
  assert.equal(event.code, 3003);
});
