import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AbnormalCauseCodes,
  ProtocolError,
  ProtocolErrorCodes,
} from "../../src/protocol/errors.js";

test("P13: every protocol error code maps to the close code SPEC.md asks for", () => {
  assert.deepEqual(
    { ...ProtocolErrorCodes },
    {
      // H6, H7, H10, J1, I3, I4, H4, L1, L3: 1002 Protocol Error.
      ERR_WS_INVALID_OPCODE: 1002,
      ERR_WS_UNEXPECTED_RSV: 1002,
      ERR_WS_UNMASKED_FRAME: 1002,
      ERR_WS_MASKED_FRAME: 1002,
      ERR_WS_FRAGMENTED_CONTROL_FRAME: 1002,
      ERR_WS_CONTROL_FRAME_TOO_LONG: 1002,
      ERR_WS_UNEXPECTED_CONTINUATION: 1002,
      ERR_WS_EXPECTED_CONTINUATION: 1002,
      ERR_WS_INVALID_PAYLOAD_LENGTH: 1002,
      ERR_WS_INVALID_CLOSE_PAYLOAD: 1002,
      ERR_WS_INVALID_CLOSE_CODE: 1002,
      // K3, K7: 1007 Invalid frame payload data.
      ERR_WS_INVALID_CLOSE_REASON: 1007,
      ERR_WS_INVALID_UTF8: 1007,
      // H5, I11, P5: 1009 Message Too Big.
      ERR_WS_MESSAGE_TOO_BIG: 1009,
      ERR_WS_TOO_MANY_FRAGMENTS: 1009,
      // N20 ★: compressed data that does not inflate is invalid payload data.
      ERR_WS_INVALID_COMPRESSED_DATA: 1007,
      ERR_WS_INTERNAL_ERROR: 1011,
    },
  );
});

test("P13: a ProtocolError carries its code, close code, message and cause", () => {
  const inner = new Error("inner");
  const error = new ProtocolError("ERR_WS_INVALID_UTF8", "bad text", { cause: inner });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ProtocolError");
  assert.equal(error.code, "ERR_WS_INVALID_UTF8");
  assert.equal(error.closeCode, 1007);
  assert.equal(error.message, "bad text");
  assert.equal(error.cause, inner);
  assert.equal(new ProtocolError("ERR_WS_MESSAGE_TOO_BIG", "big").cause, undefined);
});

test("L13/L21: the abnormal causes are documented and distinct from protocol errors", () => {
  assert.deepEqual(Object.keys(AbnormalCauseCodes).sort(), [
    "ERR_WS_CLOSE_TIMEOUT",
    "ERR_WS_CONNECTION_LOST",
    "ERR_WS_DESTROYED",
  ]);
  for (const [code, message] of Object.entries(AbnormalCauseCodes)) {
    assert.ok(!(code in ProtocolErrorCodes), code);
    assert.ok(message.length > 0, code);
  }
});
