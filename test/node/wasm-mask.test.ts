import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { nodeAccelerators } from "../../src/node/node-ports.js";
import {
  WASM_MIN_BYTES,
  applyMask,
  maskInto,
  maskModuleBytes,
  wasmMaskAvailable,
} from "../../src/node/wasm-mask.js";
import { hex, maskCopy, maskCopyFrom, patternBytes } from "../helpers/frames.js";

/** Lengths around the WebAssembly threshold, its 64-byte stride and its 64 KiB block. */
const LENGTHS = [
  0,
  1,
  63,
  WASM_MIN_BYTES - 1,
  WASM_MIN_BYTES,
  WASM_MIN_BYTES + 1,
  WASM_MIN_BYTES + 63,
  WASM_MIN_BYTES + 64,
  65535,
  65536,
  65537,
  65536 + 64,
  3 * 65536 + 5,
  1 << 20,
];

test("the mask module is valid WebAssembly and Node 20 runs it (SIMD enabled)", () => {
  const api = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } })
    .WebAssembly;
  assert.equal(api.validate(maskModuleBytes(1)), true);
  assert.equal(wasmMaskAvailable, true);
});

test("H11: WebAssembly masking in place matches octet i XOR key[i mod 4] at every size, alignment and key offset", () => {
  const key = hex("a1 b2 c3 d4");
  for (const length of LENGTHS) {
    for (const byteOffset of [0, 1, 3]) {
      for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
        const backing = new Uint8Array(length + 8).fill(0x55);
        const view = backing.subarray(byteOffset, byteOffset + length);
        view.set(patternBytes(length, byteOffset + keyOffset));
        const expected = maskCopyFrom(view, key, keyOffset);
        const next = applyMask(view, key, keyOffset);
        const label = `length ${length}, byteOffset ${byteOffset}, keyOffset ${keyOffset}`;
        assert.ok(Buffer.from(view).equals(expected), label);
        assert.equal(next, (keyOffset + length) & 3, label);
        // Neighbours untouched.
        if (byteOffset > 0) assert.equal(backing[byteOffset - 1], 0x55, label);
        assert.equal(backing[byteOffset + length], 0x55, label);
      }
    }
  }
});

test("H11: maskInto writes the masked source into another buffer and leaves the source as it was", () => {
  const key = hex("37 fa 21 3d");
  for (const length of LENGTHS) {
    for (const keyOffset of [0, 3]) {
      const source = patternBytes(length, 9);
      const original = source.slice();
      const backing = new Uint8Array(length + 2).fill(0x55);
      const target = backing.subarray(1, 1 + length);
      const next = maskInto(source, target, key, keyOffset);
      const label = `length ${length}, keyOffset ${keyOffset}`;
      assert.ok(Buffer.from(target).equals(maskCopyFrom(original, key, keyOffset)), label);
      assert.ok(Buffer.from(source).equals(original), label);
      assert.equal(next, (keyOffset + length) & 3, label);
      assert.equal(backing[0], 0x55, label);
      assert.equal(backing[length + 1], 0x55, label);
    }
  }
});

test("H14: WebAssembly masking piece by piece, split anywhere, equals masking the whole", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 5000 }),
      fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 }),
      (key, length, cuts) => {
        const payload = patternBytes(length, 1);
        const whole = maskCopy(payload, key);
        const at = [...new Set(cuts.map((c) => Math.min(c, length)))].sort((a, b) => a - b);
        let offset = 0;
        let start = 0;
        for (const end of [...at, length]) {
          offset = applyMask(payload.subarray(start, end), key, offset);
          start = end;
        }
        assert.ok(Buffer.from(payload).equals(whole));
        assert.equal(offset, length & 3);
      },
    ),
    { numRuns: 200 },
  );
});

test("the Node ports provide the WebAssembly mask and uninitialised buffers that own their memory", () => {
  assert.equal(nodeAccelerators.applyMask, applyMask);
  assert.equal(nodeAccelerators.maskInto, maskInto);
  const buffer = nodeAccelerators.allocUninitialized!(70000);
  assert.equal(Object.getPrototypeOf(buffer), Uint8Array.prototype);
  assert.equal(buffer.length, 70000);
  assert.equal(buffer.byteOffset, 0);
  assert.equal(buffer.buffer.byteLength, 70000, "the view covers its whole ArrayBuffer");
});
