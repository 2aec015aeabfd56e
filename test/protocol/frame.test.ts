import assert from "node:assert/strict";
import { test } from "node:test";
import {
  MAX_CONTROL_PAYLOAD_BYTES,
  MAX_HEADER_BYTES,
  Opcode,
  headerLength,
  isControlOpcode,
  isKnownOpcode,
  writeHeader,
} from "../../src/protocol/frame.js";
import { RFC_MASK_KEY, buildFrame, hex, toHex } from "../helpers/frames.js";

/** Writes a header with `writeHeader` and returns exactly the bytes it wrote. */
function header(
  fin: boolean,
  rsv: number,
  opcode: number,
  payloadLength: number,
  maskKey?: Uint8Array,
): Uint8Array {
  const target = new Uint8Array(MAX_HEADER_BYTES);
  const end = writeHeader(target, 0, fin, rsv, opcode, payloadLength, maskKey);
  assert.equal(end, headerLength(payloadLength, maskKey !== undefined), "returns the end offset");
  return target.subarray(0, end);
}

test("H6: the opcodes are those of RFC 6455 §5.2", () => {
  assert.deepEqual(
    { ...Opcode },
    { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 },
  );
});

test("H6: isKnownOpcode accepts 0-2 and 8-A, refuses reserved 3-7 and B-F", () => {
  const known = [0x0, 0x1, 0x2, 0x8, 0x9, 0xa];
  for (let opcode = 0; opcode <= 0xf; opcode++) {
    assert.equal(isKnownOpcode(opcode), known.includes(opcode), `opcode 0x${opcode.toString(16)}`);
  }
});

test("J1: isControlOpcode is true for 0x8-0xF only", () => {
  for (let opcode = 0; opcode <= 0xf; opcode++) {
    assert.equal(isControlOpcode(opcode), opcode >= 0x8, `opcode 0x${opcode.toString(16)}`);
  }
  assert.equal(MAX_CONTROL_PAYLOAD_BYTES, 125);
  assert.equal(MAX_HEADER_BYTES, 14);
});

test("H2/H3: headerLength uses the shortest form and counts the mask key", () => {
  const cases: [number, number][] = [
    [0, 2],
    [1, 2],
    [125, 2],
    [126, 4],
    [65535, 4],
    [65536, 10],
    [2 ** 32, 10],
    [Number.MAX_SAFE_INTEGER, 10],
  ];
  for (const [length, expected] of cases) {
    assert.equal(headerLength(length, false), expected, `unmasked ${length}`);
    assert.equal(headerLength(length, true), expected + 4, `masked ${length}`);
  }
});

test("H12: writeHeader reproduces the RFC 6455 §5.7 headers", () => {
  // Unmasked "Hello", masked "Hello", the two fragments, unmasked ping, masked pong.
  assert.equal(toHex(header(true, 0, Opcode.Text, 5)), "81 05");
  assert.equal(toHex(header(true, 0, Opcode.Text, 5, RFC_MASK_KEY)), "81 85 37 fa 21 3d");
  assert.equal(toHex(header(false, 0, Opcode.Text, 3)), "01 03");
  assert.equal(toHex(header(true, 0, Opcode.Continuation, 2)), "80 02");
  assert.equal(toHex(header(true, 0, Opcode.Ping, 5)), "89 05");
  assert.equal(toHex(header(true, 0, Opcode.Pong, 5, RFC_MASK_KEY)), "8a 85 37 fa 21 3d");
  // 256 bytes and 65 536 bytes of binary data in a single unmasked frame.
  assert.equal(toHex(header(true, 0, Opcode.Binary, 256)), "82 7e 01 00");
  assert.equal(toHex(header(true, 0, Opcode.Binary, 65536)), "82 7f 00 00 00 00 00 01 00 00");
});

test("H3: writeHeader switches length forms exactly at 126 and 65 536", () => {
  assert.equal(toHex(header(true, 0, Opcode.Binary, 124)), "82 7c");
  assert.equal(toHex(header(true, 0, Opcode.Binary, 125)), "82 7d");
  assert.equal(toHex(header(true, 0, Opcode.Binary, 126)), "82 7e 00 7e");
  assert.equal(toHex(header(true, 0, Opcode.Binary, 65535)), "82 7e ff ff");
  assert.equal(toHex(header(true, 0, Opcode.Binary, 65536)), "82 7f 00 00 00 00 00 01 00 00");
});

test("H2: 64-bit lengths are big-endian across both 32-bit halves", () => {
  assert.equal(
    toHex(header(true, 0, Opcode.Binary, 2 ** 32 + 0x01020304)),
    "82 7f 00 00 00 01 01 02 03 04",
  );
  assert.equal(
    toHex(header(true, 0, Opcode.Binary, Number.MAX_SAFE_INTEGER)),
    "82 7f 00 1f ff ff ff ff ff ff",
  );
  assert.equal(
    toHex(header(true, 0, Opcode.Binary, 0xfedcba98, RFC_MASK_KEY)),
    "82 ff 00 00 00 00 fe dc ba 98 37 fa 21 3d",
  );
});

test("H1: FIN, RSV bits and opcode share byte 0; MASK shares byte 1 with the length", () => {
  assert.equal(toHex(header(false, 0, Opcode.Continuation, 0)), "00 00");
  assert.equal(toHex(header(true, 4, Opcode.Text, 0)), "c1 00"); // RSV1
  assert.equal(toHex(header(true, 2, Opcode.Text, 0)), "a1 00"); // RSV2
  assert.equal(toHex(header(true, 1, Opcode.Text, 0)), "91 00"); // RSV3
  assert.equal(toHex(header(false, 7, 0xf, 0)), "7f 00");
  assert.equal(toHex(header(true, 0, Opcode.Close, 0, hex("00 00 00 00"))), "88 80 00 00 00 00");
});

test("H1: writeHeader writes at an offset and leaves the rest of the buffer alone", () => {
  const target = new Uint8Array(20).fill(0xee);
  const end = writeHeader(target, 3, true, 0, Opcode.Binary, 300, RFC_MASK_KEY);
  assert.equal(end, 3 + 8);
  assert.equal(toHex(target), "ee ee ee 82 fe 01 2c 37 fa 21 3d ee ee ee ee ee ee ee ee ee");
});

test("H2/H3: writeHeader agrees with the reference builder for every length form", () => {
  const lengths = [0, 1, 2, 100, 125, 126, 127, 255, 256, 1000, 65534, 65535, 65536, 65537];
  lengths.push(2 ** 24, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 17, 2 ** 53 - 1);
  for (const length of lengths) {
    for (const maskKey of [undefined, RFC_MASK_KEY]) {
      const expected = buildFrame({
        opcode: Opcode.Binary,
        declaredLength: length,
        ...(maskKey === undefined ? {} : { maskKey }),
      });
      assert.equal(
        toHex(header(true, 0, Opcode.Binary, length, maskKey)),
        toHex(expected),
        `length ${length}, ${maskKey === undefined ? "unmasked" : "masked"}`,
      );
    }
  }
});
