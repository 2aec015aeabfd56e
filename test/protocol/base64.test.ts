import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decodeBase64, encodeBase64, strictBase64Length } from "../../src/protocol/base64.js";
import { toHex, utf8 } from "../helpers/frames.js";

test("F: RFC 4648 §10 test vectors encode and decode", () => {
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ];
  for (const [plain, encoded] of vectors) {
    assert.equal(encodeBase64(utf8(plain)), encoded, plain);
    assert.equal(toHex(decodeBase64(encoded)!), toHex(utf8(plain)), encoded);
  }
});

test("F: the RFC 6455 §1.3 sample nonce and accept value", () => {
  assert.equal(encodeBase64(utf8("the sample nonce")), "dGhlIHNhbXBsZSBub25jZQ==");
  assert.equal(
    toHex(decodeBase64("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")!),
    "b3 7a 4f 2c c0 62 4f 16 90 f6 46 06 cf 38 59 45 b2 be c4 ea",
  );
});

test("F: every alphabet character, including + and /, round-trips", () => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const all = new Uint8Array(Buffer.from(alphabet, "base64"));
  assert.equal(all.length, 48);
  const encoded = encodeBase64(all);
  assert.equal(encoded, alphabet);
  assert.equal(toHex(decodeBase64(encoded)!), toHex(all));
});

test("F: decodeBase64 refuses anything but strict padded base64", () => {
  const invalid = [
    "Zg", // missing padding
    "Zg=", // wrong length
    "Zm9vY", // wrong length
    "Zm9v!A==", // bad character
    "Zm9v\u00e9A==", // non-ASCII character
    "Zg==Zg==", // padding before the end
    "Z===", // three padding characters
    "====", // padding only
    "Zm=v", // padding in the middle of the last group
    "Zh==", // non-zero padding bits (1 byte)
    "Zm9=", // non-zero padding bits (2 bytes)
    "Zm9v YmFy", // whitespace
    "Zm9v-_==", // the URL-safe alphabet
  ];
  for (const text of invalid) assert.equal(decodeBase64(text), undefined, JSON.stringify(text));
});

test("F (property): encodeBase64 matches Buffer, and decodeBase64 inverts it", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      const encoded = encodeBase64(bytes);
      assert.equal(encoded, Buffer.from(bytes).toString("base64"));
      assert.equal(toHex(decodeBase64(encoded)!), toHex(bytes));
    }),
    { numRuns: 200 },
  );
});

test("F (property): decodeBase64 accepts exactly the canonical encodings", () => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...alphabet), { maxLength: 16 }).map((cs) => cs.join("")),
      (text) => {
        const decoded = decodeBase64(text);
        const canonical = encodeBase64(Buffer.from(text, "base64")) === text;
        assert.equal(decoded !== undefined, canonical, JSON.stringify(text));
      },
    ),
    { numRuns: 200 },
  );
});

test("G4 (property): strictBase64Length agrees with decodeBase64 without decoding", () => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!-_ \u00e9";
  const check = (text: string): void =>
    assert.equal(strictBase64Length(text), decodeBase64(text)?.length, JSON.stringify(text));
  for (const text of ["", "Zg==", "Zm8=", "Zm9v", "Zh==", "Zm9=", "====", "Z===", "Zg==Zg=="])
    check(text);
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...alphabet), { maxLength: 28 }).map((cs) => cs.join("")),
      check,
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 14, maxLength: 18 }), (bytes) =>
      check(encodeBase64(bytes)),
    ),
    { numRuns: 200 },
  );
});
