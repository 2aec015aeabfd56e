import assert from "node:assert/strict";
import { isUtf8 as nativeIsUtf8 } from "node:buffer";
import { test } from "node:test";
import fc from "fast-check";
import { Utf8Validator, isValidUtf8 } from "../../src/protocol/utf8.js";
import { chunkings, cutAt } from "../helpers/chunking.js";
import { concat, hex, toHex, utf8 } from "../helpers/frames.js";
import { INVALID_UTF8 as INVALID, VALID_UTF8 as VALID } from "../helpers/utf8-cases.js";

/** An accelerator that counts its calls, so tests can tell the native path was taken. */
function countingIsUtf8(): { isUtf8: (bytes: Uint8Array) => boolean; calls: number } {
  const spy = {
    calls: 0,
    isUtf8: (bytes: Uint8Array): boolean => {
      spy.calls++;
      return nativeIsUtf8(bytes);
    },
  };
  return spy;
}

/** Pushes chunks; returns the index of the chunk that was refused, or -1. */
function firstRefusedChunk(validator: Utf8Validator, chunks: readonly Uint8Array[]): number {
  return chunks.findIndex((chunk) => !validator.push(chunk));
}

for (const [name, bytesHex] of VALID) {
  test(`K1/K6: ${name} is valid, at every split, with and without the accelerator`, () => {
    const bytes = hex(bytesHex);
    assert.equal(isValidUtf8(bytes), true);
    assert.equal(isValidUtf8(bytes, nativeIsUtf8), true);
    for (const accelerator of [undefined, nativeIsUtf8]) {
      for (const { label, chunks } of chunkings(bytes)) {
        const validator = new Utf8Validator(accelerator);
        assert.equal(firstRefusedChunk(validator, chunks), -1, label);
        assert.equal(validator.end(), true, label);
      }
    }
  });
}

for (const [name, bytesHex, failAt] of INVALID) {
  test(`K5: ${name} is invalid, detected ${failAt === "end" ? "at the end" : "as soon as it arrives (K4)"}`, () => {
    const bytes = hex(bytesHex);
    assert.equal(isValidUtf8(bytes), false);
    assert.equal(isValidUtf8(bytes, nativeIsUtf8), false);
    // Byte by byte, the validator refuses exactly the byte that makes the stream invalid.
    const validator = new Utf8Validator();
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    const refused = firstRefusedChunk(validator, chunks);
    if (failAt === "end") {
      assert.equal(refused, -1, "every byte is a valid prefix");
      assert.equal(validator.end(), false, "the message ends inside a sequence");
    } else {
      assert.equal(refused, failAt);
    }
    for (const { label, chunks: pieces } of chunkings(bytes)) {
      const v = new Utf8Validator();
      const ok = firstRefusedChunk(v, pieces) === -1 && v.end();
      assert.equal(ok, false, label);
    }
  });
}

test("K4: once refused, the validator refuses every later chunk until reset", () => {
  const validator = new Utf8Validator();
  assert.equal(validator.push(hex("c0")), false);
  assert.equal(validator.push(utf8("fine")), false);
  assert.equal(validator.push(new Uint8Array(0)), false);
  validator.reset();
  assert.equal(validator.push(utf8("fine")), true);
  assert.equal(validator.end(), true);
});

test("K2: end() reports a cut-short sequence and resets for the next message", () => {
  const validator = new Utf8Validator();
  assert.equal(validator.push(hex("e2 82")), true);
  assert.equal(validator.end(), false);
  assert.equal(validator.push(hex("ac")), false, "a new message starts on a boundary");
  assert.equal(validator.end(), false, "a refused stream does not end well");
  assert.equal(validator.push(utf8("€")), true, "end() reset the refusal too");
  assert.equal(validator.end(), true);
});

test("K2: reset() forgets a partial code point", () => {
  const validator = new Utf8Validator();
  assert.equal(validator.push(hex("f0 9f")), true);
  validator.reset();
  assert.equal(validator.push(utf8("A")), true);
  assert.equal(validator.end(), true);
});

test("K2: code points cut between chunks are carried across, for every sequence length", () => {
  const text = "aé€😀z";
  const bytes = utf8(text);
  for (const { label, chunks } of chunkings(bytes)) {
    const validator = new Utf8Validator();
    assert.equal(firstRefusedChunk(validator, chunks), -1, label);
    assert.equal(validator.end(), true, label);
  }
});

/** 20 ASCII bytes: enough for the accelerator (used on 16 or more bytes) to take over. */
/** 36 ASCII bytes, so that the accelerator (used on 32 bytes or more) takes part. */
const PAD = utf8("abcdefghijklmnopqrstuvwxyz0123456789");

test("K1: the accelerator judges whole chunks that end on a boundary", () => {
  for (const tail of ["", "é", "€", "😀"]) {
    const spy = countingIsUtf8();
    const validator = new Utf8Validator(spy.isUtf8);
    assert.equal(validator.push(concat(PAD, utf8(tail))), true, JSON.stringify(tail));
    assert.equal(validator.end(), true);
    assert.equal(spy.calls, 1, "one native call for the chunk");
  }
});

test("K2: with the accelerator, a sequence cut at the end of a chunk is carried over", () => {
  // The last 1, 2 or 3 bytes of a 2-, 3- or 4-byte sequence continue in the next chunk.
  for (const char of ["é", "€", "😀"]) {
    const encoded = utf8(char);
    for (let keep = 1; keep < encoded.length; keep++) {
      const spy = countingIsUtf8();
      const validator = new Utf8Validator(spy.isUtf8);
      const label = `${char}, ${keep} byte(s) in the first chunk`;
      assert.equal(validator.push(concat(PAD, encoded.subarray(0, keep))), true, label);
      assert.equal(validator.push(encoded.subarray(keep)), true, label);
      assert.equal(validator.end(), true, label);
      assert.equal(spy.calls, 1, label);
    }
  }
});

test("K4/K5: with the accelerator, invalid bytes inside a long chunk are refused", () => {
  const cases = [
    concat(PAD, hex("c0 80"), PAD),
    concat(PAD, hex("ed a0 80")),
    concat(PAD, hex("f0 90 80 80 80")), // a lead byte followed by four continuation bytes
    concat(PAD, hex("41 80")),
    new Uint8Array(20).fill(0x80), // only continuation bytes
    concat(PAD, hex("f5")), // a refused lead byte at the very end, carried to the byte loop
    concat(PAD, hex("ed a0")), // a surrogate cut at the end of the chunk
  ];
  for (const bytes of cases) {
    const validator = new Utf8Validator(nativeIsUtf8);
    assert.equal(validator.push(bytes), false, toHex(bytes));
  }
});

test("K2: with the accelerator, a sequence left open by the previous chunk is finished first", () => {
  const spy = countingIsUtf8();
  const validator = new Utf8Validator(spy.isUtf8);
  assert.equal(validator.push(hex("f0 9f")), true);
  assert.equal(validator.push(concat(hex("98 80"), PAD)), true);
  assert.equal(validator.end(), true);
  assert.equal(spy.calls, 1);
  const refusing = new Utf8Validator(nativeIsUtf8);
  assert.equal(refusing.push(hex("f0 9f")), true);
  assert.equal(refusing.push(concat(hex("41"), PAD)), false, "the open sequence is broken");
});

test("K1: short chunks never reach the accelerator", () => {
  const spy = countingIsUtf8();
  const validator = new Utf8Validator(spy.isUtf8);
  assert.equal(validator.push(utf8("fifteen bytes!!")), true);
  assert.equal(validator.end(), true);
  assert.equal(spy.calls, 0);
});

test("K3: isValidUtf8 uses the accelerator when given one", () => {
  const spy = countingIsUtf8();
  assert.equal(isValidUtf8(utf8("é"), spy.isUtf8), true);
  assert.equal(spy.calls, 1);
});

/** Bytes that are often UTF-8 and often nearly so: encoded strings, optionally corrupted. */
const utf8ish = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => utf8(s)),
  fc
    .tuple(
      fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    )
    .map(([s, at, byte]) => {
      const bytes = utf8(s);
      bytes[at % bytes.length] = byte;
      return bytes;
    }),
  fc.tuple(fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), fc.nat()).map(([s, cut]) => {
    const bytes = utf8(s);
    return bytes.subarray(0, cut % (bytes.length + 1));
  }),
);

/** Where a WHATWG streaming decoder (the reference) first refuses a byte, or -1. */
function referenceFailIndex(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

test("K1-K5 (property): the validator agrees with a fatal TextDecoder under any chunking", () => {
  fc.assert(
    fc.property(
      utf8ish,
      fc.array(fc.nat(), { maxLength: 5 }),
      fc.boolean(),
      (bytes, cuts, accelerated) => {
        let isValid = true;
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        } catch {
          isValid = false;
        }
        const chunks = cutAt(
          bytes,
          cuts.map((c) => c % (bytes.length + 1)),
        );
        const validator = new Utf8Validator(accelerated ? nativeIsUtf8 : undefined);
        const refused = firstRefusedChunk(validator, chunks);
        const ok = refused === -1 && validator.end();
        assert.equal(ok, isValid);
        assert.equal(isValidUtf8(bytes), isValid);
        // Fail fast: the refused chunk is the one holding the first byte the reference refuses.
        const failAt = referenceFailIndex(bytes);
        if (failAt >= 0) {
          let start = 0;
          const holding = chunks.findIndex((chunk) => {
            const found = failAt < start + chunk.length;
            start += chunk.length;
            return found;
          });
          assert.equal(refused, holding);
        }
      },
    ),
    { numRuns: 200 },
  );
});
