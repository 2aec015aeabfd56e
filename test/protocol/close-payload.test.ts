import assert from "node:assert/strict";
import { isUtf8 as nativeIsUtf8 } from "node:buffer";
import { test } from "node:test";
import { isWireCloseCode } from "../../src/protocol/close-codes.js";
import { parseClosePayload, serializeClosePayload } from "../../src/protocol/close-payload.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import { closeBody, concat, hex, toHex, utf8 } from "../helpers/frames.js";

function assertProtocolError(fn: () => unknown, code: string, closeCode: number): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.closeCode, closeCode);
    return true;
  });
}

function assertArgumentError(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.equal((error as RangeError & { code?: string }).code, "ERR_WS_INVALID_CLOSE_REASON");
    return true;
  });
}

test("L1/L17: an empty Close body means 1005 and no reason", () => {
  assert.deepEqual(parseClosePayload(new Uint8Array(0)), { code: 1005, reason: "" });
});

test("L1: a 1-byte Close body is a 1002 protocol error", () => {
  for (const byte of [0x00, 0x03, 0xe8, 0xff]) {
    assertProtocolError(
      () => parseClosePayload(Uint8Array.of(byte)),
      "ERR_WS_INVALID_CLOSE_PAYLOAD",
      1002,
    );
  }
});

test("L1/L18: a code alone means an empty reason; code and reason are read big-endian", () => {
  assert.deepEqual(parseClosePayload(hex("03 e8")), { code: 1000, reason: "" });
  assert.deepEqual(parseClosePayload(closeBody(4999, "bye")), { code: 4999, reason: "bye" });
  assert.deepEqual(parseClosePayload(hex("0b b8 c3 a9")), { code: 3000, reason: "é" });
});

test("L3/M1: every code 0-65535 is accepted iff it may go on the wire, else 1002", () => {
  let accepted = 0;
  for (let code = 0; code <= 0xffff; code++) {
    const body = Uint8Array.of(code >> 8, code & 0xff);
    if (isWireCloseCode(code)) {
      assert.deepEqual(parseClosePayload(body), { code, reason: "" }, `code ${code}`);
      accepted++;
    } else {
      assertProtocolError(() => parseClosePayload(body), "ERR_WS_INVALID_CLOSE_CODE", 1002);
    }
  }
  assert.equal(accepted, 4 + 8 + 2000, "1000-1003, 1007-1014, 3000-4999");
});

test("L3: the code is checked before the reason", () => {
  assertProtocolError(() => parseClosePayload(hex("03 ed ff")), "ERR_WS_INVALID_CLOSE_CODE", 1002);
});

test("K7/L4: a reason that is not valid UTF-8 is a 1007 error, with or without accelerator", () => {
  for (const bad of ["ff", "c0 80", "ed a0 80", "e2 82", "f4 90 80 80"]) {
    const body = concat(hex("03 e8"), hex(bad));
    assertProtocolError(() => parseClosePayload(body), "ERR_WS_INVALID_CLOSE_REASON", 1007);
    assertProtocolError(
      () => parseClosePayload(body, nativeIsUtf8),
      "ERR_WS_INVALID_CLOSE_REASON",
      1007,
    );
  }
});

test("K10: a leading BOM in the reason is kept as U+FEFF", () => {
  assert.deepEqual(parseClosePayload(hex("03 e8 ef bb bf 68 69")), {
    code: 1000,
    reason: "\ufeffhi",
  });
});

test("K6/L2: a 125-byte body (123-byte reason) with noncharacters is accepted", () => {
  const reason = "\ufffe".repeat(41); // 41 × 3 bytes = 123
  const body = closeBody(1001, reason);
  assert.equal(body.length, 125);
  assert.deepEqual(parseClosePayload(body), { code: 1001, reason });
  assert.deepEqual(parseClosePayload(body, nativeIsUtf8), { code: 1001, reason });
});

test("L1: serializeClosePayload without a code is an empty body", () => {
  assert.equal(serializeClosePayload().length, 0);
  assert.equal(serializeClosePayload(undefined, "").length, 0);
  assert.equal(serializeClosePayload(undefined, new Uint8Array(0)).length, 0);
});

test("L1: serializeClosePayload writes the code big-endian, then the reason's UTF-8 bytes", () => {
  assert.equal(toHex(serializeClosePayload(1000)), "03 e8");
  assert.equal(toHex(serializeClosePayload(4999, "é")), "13 87 c3 a9");
  assert.equal(toHex(serializeClosePayload(1001, utf8("ok"))), "03 e9 6f 6b");
});

test("L2: a 123-byte reason fits; 124 bytes is a RangeError (counted in bytes)", () => {
  assert.equal(serializeClosePayload(1000, "x".repeat(123)).length, 125);
  assert.equal(serializeClosePayload(1000, "é".repeat(61) + "x").length, 125);
  assertArgumentError(() => serializeClosePayload(1000, "x".repeat(124)));
  assertArgumentError(() => serializeClosePayload(1000, "é".repeat(62)));
  assertArgumentError(() => serializeClosePayload(1000, new Uint8Array(124)));
});

test("L1: a reason without a code is a RangeError", () => {
  assertArgumentError(() => serializeClosePayload(undefined, "why"));
  assertArgumentError(() => serializeClosePayload(undefined, utf8("why")));
});

test("L7: parsing what was serialised gives back the code and reason", () => {
  for (const [code, reason] of [
    [1000, ""],
    [1011, "internal"],
    [3008, "timeout ⏱"],
    [4000, "\ufeffBOM kept"],
  ] as const) {
    assert.deepEqual(parseClosePayload(serializeClosePayload(code, reason)), { code, reason });
  }
});
