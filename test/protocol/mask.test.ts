import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { applyMask } from "../../src/protocol/mask.js";
import {
  RFC_MASK_KEY,
  hex,
  maskCopy,
  maskCopyFrom,
  patternBytes,
  toHex,
  utf8,
} from "../helpers/frames.js";

test("H11/H12: masking 'Hello' with 37 fa 21 3d gives 7f 9f 4d 51 58 (RFC 6455 §5.7)", () => {
  const bytes = utf8("Hello");
  const next = applyMask(bytes, RFC_MASK_KEY);
  assert.equal(toHex(bytes), "7f 9f 4d 51 58");
  assert.equal(next, 1, "5 bytes leave the key at position 1");
});

test("H11: the same operation unmasks, and the length does not change", () => {
  const bytes = hex("7f 9f 4d 51 58");
  applyMask(bytes, RFC_MASK_KEY, 0);
  assert.equal(new TextDecoder().decode(bytes), "Hello");
});

test("H11: an empty range changes nothing and keeps the key position", () => {
  for (let offset = 0; offset < 4; offset++) {
    assert.equal(applyMask(new Uint8Array(0), RFC_MASK_KEY, offset), offset);
  }
});

test("H11: every length, alignment and key offset matches octet i XOR key[i mod 4]", () => {
  // Lengths straddle the 32-byte word-loop threshold; byte offsets 0–3 exercise the head loop.
  const key = hex("a1 b2 c3 d4");
  const backing = new ArrayBuffer(256);
  for (let length = 0; length <= 80; length++) {
    for (let byteOffset = 0; byteOffset < 4; byteOffset++) {
      for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
        const view = new Uint8Array(backing, byteOffset, length);
        view.set(patternBytes(length, byteOffset + keyOffset));
        const expected = maskCopyFrom(view, key, keyOffset);
        const next = applyMask(view, key, keyOffset);
        const label = `length ${length}, byteOffset ${byteOffset}, keyOffset ${keyOffset}`;
        assert.equal(toHex(view), toHex(expected), label);
        assert.equal(next, (keyOffset + length) & 3, label);
      }
    }
  }
});

test("H11: masking bytes outside the range is impossible (neighbours untouched)", () => {
  const buffer = new Uint8Array(100).fill(0x55);
  applyMask(buffer.subarray(3, 97), hex("ff ff ff ff"));
  assert.equal(buffer[2], 0x55);
  assert.equal(buffer[3], 0xaa);
  assert.equal(buffer[96], 0xaa);
  assert.equal(buffer[97], 0x55);
});

test("H14: masking a payload piece by piece, at every split, equals masking it whole", () => {
  const key = hex("01 02 04 08");
  const payload = patternBytes(70);
  const whole = maskCopy(payload, key);
  for (let at = 0; at <= payload.length; at++) {
    const copy = payload.slice();
    const offset = applyMask(copy.subarray(0, at), key, 0);
    applyMask(copy.subarray(at), key, offset);
    assert.equal(toHex(copy), toHex(whole), `split at ${at}`);
  }
});

test("H11 (property): pieces of any size and any alignment mask like the reference", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.nat(600), { maxLength: 6 }),
      fc.integer({ min: 0, max: 3 }),
      (key, payload, cuts, shift) => {
        const backing = new Uint8Array(payload.length + 4);
        const view = backing.subarray(shift, shift + payload.length);
        view.set(payload);
        let offset = 0;
        let start = 0;
        for (const cut of [...cuts.map((c) => c % (payload.length + 1))].sort((a, b) => a - b)) {
          offset = applyMask(view.subarray(start, cut), key, offset);
          start = cut;
        }
        applyMask(view.subarray(start), key, offset);
        assert.equal(toHex(view), toHex(maskCopy(payload, key)));
      },
    ),
    { numRuns: 200 },
  );
});
