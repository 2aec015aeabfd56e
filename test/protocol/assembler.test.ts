import assert from "node:assert/strict";
import { isUtf8 as nativeIsUtf8 } from "node:buffer";
import { test } from "node:test";
import { MessageAssembler, type MessageLimits } from "../../src/protocol/assembler.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import type { FrameHeader } from "../../src/protocol/frame-parser.js";
import { OP, concat, hex, toHex, utf8 } from "../helpers/frames.js";

const LIMITS: MessageLimits = { maxMessageBytes: 100, maxFragments: 4 };

function header(opcode: number, payloadLength: number, fin = true): FrameHeader {
  return { fin, rsv: 0, opcode, masked: false, payloadLength };
}

/** Feeds one whole frame; returns the message if it completed one. */
function frame(
  assembler: MessageAssembler,
  opcode: number,
  payload: Uint8Array,
  fin = true,
): { binary: boolean; data: Uint8Array } | undefined {
  const h = header(opcode, payload.length, fin);
  assembler.startFrame(h);
  if (payload.length > 0) assembler.payload(payload);
  return assembler.endFrame(h);
}

function assertProtocolError(fn: () => unknown, code: string, closeCode: number): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.code, code);
    assert.equal(error.closeCode, closeCode);
    return true;
  });
}

test("I1: an unfragmented text or binary frame is a whole message", () => {
  const assembler = new MessageAssembler(LIMITS);
  const text = frame(assembler, OP.text, utf8("Hello"));
  assert.deepEqual(text && { binary: text.binary, data: toHex(text.data) }, {
    binary: false,
    data: "48 65 6c 6c 6f",
  });
  const binary = frame(assembler, OP.binary, hex("00 ff"));
  assert.deepEqual(binary && { binary: binary.binary, data: toHex(binary.data) }, {
    binary: true,
    data: "00 ff",
  });
});

test("I1: a single-piece message is handed over without a copy", () => {
  const assembler = new MessageAssembler(LIMITS);
  const payload = utf8("no copy");
  const message = frame(assembler, OP.binary, payload);
  assert.equal(message?.data, payload);
});

test("H16/I8: an empty message has an empty payload", () => {
  const assembler = new MessageAssembler(LIMITS);
  for (const opcode of [OP.text, OP.binary]) {
    const message = frame(assembler, opcode, new Uint8Array(0));
    assert.equal(message?.data.length, 0);
    assert.equal(message?.binary, opcode === OP.binary);
  }
});

test("I2/I7: fragments are joined in order, with the type of the first frame", () => {
  const assembler = new MessageAssembler(LIMITS);
  assert.equal(frame(assembler, OP.binary, hex("01 02"), false), undefined);
  assert.equal(frame(assembler, OP.cont, hex("03"), false), undefined);
  const message = frame(assembler, OP.cont, hex("04 05"));
  assert.equal(message?.binary, true);
  assert.equal(toHex(message!.data), "01 02 03 04 05");
});

test("I2: a payload delivered in several pieces is joined", () => {
  const assembler = new MessageAssembler(LIMITS);
  const h = header(OP.text, 5);
  assembler.startFrame(h);
  assembler.payload(utf8("He"));
  assembler.payload(utf8("llo"));
  assert.equal(toHex(assembler.endFrame(h)!.data), toHex(utf8("Hello")));
});

test("I8: zero-length fragments are legal anywhere, including the last", () => {
  const assembler = new MessageAssembler(LIMITS);
  assert.equal(frame(assembler, OP.text, new Uint8Array(0), false), undefined);
  assert.equal(frame(assembler, OP.cont, utf8("a"), false), undefined);
  const message = frame(assembler, OP.cont, new Uint8Array(0));
  assert.equal(toHex(message!.data), "61");
});

test("I3: a continuation with no message in progress is a 1002 protocol error", () => {
  const assembler = new MessageAssembler(LIMITS);
  assertProtocolError(
    () => assembler.startFrame(header(OP.cont, 1)),
    "ERR_WS_UNEXPECTED_CONTINUATION",
    1002,
  );
  const after = new MessageAssembler(LIMITS);
  frame(after, OP.text, utf8("done"));
  assertProtocolError(
    () => after.startFrame(header(OP.cont, 0)),
    "ERR_WS_UNEXPECTED_CONTINUATION",
    1002,
  );
});

test("I4: a new text or binary frame inside a fragmented message is a 1002 protocol error", () => {
  for (const opcode of [OP.text, OP.binary]) {
    const assembler = new MessageAssembler(LIMITS);
    frame(assembler, OP.text, utf8("a"), false);
    assertProtocolError(
      () => assembler.startFrame(header(opcode, 1)),
      "ERR_WS_EXPECTED_CONTINUATION",
      1002,
    );
  }
});

test("I14: after a message completes, the next one starts afresh", () => {
  const assembler = new MessageAssembler(LIMITS);
  frame(assembler, OP.binary, hex("01"), false);
  frame(assembler, OP.cont, hex("02"));
  const next = frame(assembler, OP.text, utf8("x"));
  assert.equal(next?.binary, false);
  assert.equal(toHex(next!.data), "78");
});

test("P5: a message of exactly maxMessageBytes is accepted", () => {
  const assembler = new MessageAssembler(LIMITS);
  assert.equal(frame(assembler, OP.binary, new Uint8Array(100))?.data.length, 100);
  frame(assembler, OP.binary, new Uint8Array(60), false);
  assert.equal(frame(assembler, OP.cont, new Uint8Array(40))?.data.length, 100);
});

test("H5/P5: a frame header over maxMessageBytes fails with 1009 before any payload", () => {
  const assembler = new MessageAssembler(LIMITS);
  assertProtocolError(
    () => assembler.startFrame(header(OP.binary, 101)),
    "ERR_WS_MESSAGE_TOO_BIG",
    1009,
  );
  const huge = new MessageAssembler(LIMITS);
  assertProtocolError(
    () => huge.startFrame(header(OP.text, 2 ** 62)),
    "ERR_WS_MESSAGE_TOO_BIG",
    1009,
  );
});

test("P5: the size limit counts every fragment of the message", () => {
  const assembler = new MessageAssembler(LIMITS);
  frame(assembler, OP.binary, new Uint8Array(60), false);
  assertProtocolError(
    () => assembler.startFrame(header(OP.cont, 41)),
    "ERR_WS_MESSAGE_TOO_BIG",
    1009,
  );
});

test("I11/P5: a message may have maxFragments frames; one more fails with 1009", () => {
  const assembler = new MessageAssembler(LIMITS);
  frame(assembler, OP.text, utf8("a"), false);
  frame(assembler, OP.cont, utf8("b"), false);
  frame(assembler, OP.cont, utf8("c"), false);
  assert.equal(toHex(frame(assembler, OP.cont, utf8("d"))!.data), "61 62 63 64");
  // The count starts over with the next message.
  frame(assembler, OP.text, utf8("a"), false);
  frame(assembler, OP.cont, new Uint8Array(0), false);
  frame(assembler, OP.cont, new Uint8Array(0), false);
  frame(assembler, OP.cont, new Uint8Array(0), false);
  assertProtocolError(
    () => assembler.startFrame(header(OP.cont, 0)),
    "ERR_WS_TOO_MANY_FRAGMENTS",
    1009,
  );
});

test("K4: invalid UTF-8 in text fails with 1007 as soon as the piece arrives", () => {
  const assembler = new MessageAssembler(LIMITS);
  assembler.startFrame(header(OP.text, 10, false));
  assembler.payload(utf8("ok"));
  assertProtocolError(() => assembler.payload(hex("c0")), "ERR_WS_INVALID_UTF8", 1007);
});

test("K2: text is validated across fragments; ending inside a sequence fails with 1007", () => {
  const euro = utf8("€");
  const assembler = new MessageAssembler(LIMITS);
  frame(assembler, OP.text, euro.subarray(0, 1), false);
  frame(assembler, OP.cont, euro.subarray(1, 2), false);
  assert.equal(toHex(frame(assembler, OP.cont, euro.subarray(2))!.data), toHex(euro));
  const cut = new MessageAssembler(LIMITS);
  frame(cut, OP.text, euro.subarray(0, 2), false);
  const h = header(OP.cont, 0);
  cut.startFrame(h);
  assertProtocolError(() => cut.endFrame(h), "ERR_WS_INVALID_UTF8", 1007);
});

test("K12: binary messages are never validated", () => {
  const assembler = new MessageAssembler(LIMITS);
  assert.equal(toHex(frame(assembler, OP.binary, hex("c0 ff ed a0"))!.data), "c0 ff ed a0");
});

test("K1: the accelerator is used for text when given", () => {
  let calls = 0;
  const assembler = new MessageAssembler(LIMITS, (bytes) => {
    calls++;
    return nativeIsUtf8(bytes);
  });
  assert.ok(frame(assembler, OP.text, utf8("a long enough ASCII text for the native check")));
  assert.equal(calls, 1);
  assertProtocolError(
    () =>
      frame(
        assembler,
        OP.text,
        concat(utf8("another long enough text for the check, then "), hex("ed a0 80")),
      ),
    "ERR_WS_INVALID_UTF8",
    1007,
  );
  assert.equal(calls, 2);
});

test("L9: after discardFromNowOn, payloads are neither kept nor validated nor limited", () => {
  const assembler = new MessageAssembler(LIMITS);
  frame(assembler, OP.text, utf8("half"), false);
  assembler.discardFromNowOn();
  assert.equal(frame(assembler, OP.cont, hex("c0"), true), undefined, "dropped, not validated");
  assert.equal(frame(assembler, OP.binary, new Uint8Array(500)), undefined, "no size limit");
  for (let i = 0; i < 10; i++) frame(assembler, i === 0 ? OP.text : OP.cont, hex("ff"), false);
  assert.equal(frame(assembler, OP.cont, new Uint8Array(0)), undefined, "no fragment limit");
});

test("L9: after discardFromNowOn, the frame sequence is still checked (1002)", () => {
  const assembler = new MessageAssembler(LIMITS);
  assembler.discardFromNowOn();
  assertProtocolError(
    () => assembler.startFrame(header(OP.cont, 0)),
    "ERR_WS_UNEXPECTED_CONTINUATION",
    1002,
  );
  const inMessage = new MessageAssembler(LIMITS);
  frame(inMessage, OP.binary, hex("01"), false);
  inMessage.discardFromNowOn();
  assertProtocolError(
    () => inMessage.startFrame(header(OP.text, 0)),
    "ERR_WS_EXPECTED_CONTINUATION",
    1002,
  );
});
