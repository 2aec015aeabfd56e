import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CloseCode,
  MAX_CLOSE_REASON_BYTES,
  isWireCloseCode,
} from "../../src/protocol/close-codes.js";

test("M: CloseCode is pinned to the IANA WebSocket Close Code Number registry", () => {
  // https://www.iana.org/assignments/websocket/websocket.xhtml#close-code-number
  assert.deepEqual(
    { ...CloseCode },
    {
      NormalClosure: 1000,
      GoingAway: 1001,
      ProtocolError: 1002,
      UnsupportedData: 1003,
      Reserved: 1004,
      NoStatusReceived: 1005,
      AbnormalClosure: 1006,
      InvalidFramePayloadData: 1007,
      PolicyViolation: 1008,
      MessageTooBig: 1009,
      MandatoryExtension: 1010,
      InternalError: 1011,
      ServiceRestart: 1012,
      TryAgainLater: 1013,
      BadGateway: 1014,
      TlsHandshake: 1015,
    },
  );
});

test("L2: a close reason is at most 123 bytes (125 minus the 2-byte code)", () => {
  assert.equal(MAX_CLOSE_REASON_BYTES, 123);
});

/** The SPEC.md M table: which codes may appear in a Close frame. */
function onWireBySpec(code: number): boolean {
  if (code >= 1000 && code <= 1003) return true; // Normal, Going Away, Protocol, Unsupported
  if (code >= 1007 && code <= 1014) return true; // 1007–1011 (RFC), 1012–1014 (IANA)
  return code >= 3000 && code <= 4999; // registered and private use
}

test("L3/M1/M3: isWireCloseCode accepts exactly 1000-1003, 1007-1014 and 3000-4999", () => {
  for (let code = 0; code <= 0xffff; code++) {
    assert.equal(isWireCloseCode(code), onWireBySpec(code), `code ${code}`);
  }
});

test("L24/M: 1004, 1005, 1006, 1015, 1016-2999 and 5000+ never go on the wire", () => {
  for (const code of [999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
    assert.equal(isWireCloseCode(code), false, `code ${code}`);
  }
  for (const code of [1000, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    assert.equal(isWireCloseCode(code), true, `code ${code}`);
  }
});

test("M2: values that are not 16-bit integers are never wire codes", () => {
  for (const value of [-1000, 1000.5, 3000.25, Number.NaN, Infinity, -Infinity, 65536 + 1000]) {
    assert.equal(isWireCloseCode(value), false, String(value));
  }
});
