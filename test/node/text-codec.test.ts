/**
 * Text in and out of the socket classes (src/facade/message-data.ts).
 *
 * `decodeText` takes one of two routes, V8's UTF-8 decoder or ICU's
 * converter through UTF-16, depending on the size of the text and on whether its start and middle
 * are ASCII. Whatever the route, the string must be exactly the one `Buffer#toString` makes of
 * the same valid UTF-8, with a leading BOM kept (SPEC.md K1, K6, K11). `toOutgoing` likewise
 * encodes long non-ASCII texts through UTF-16 and ICU; the bytes must be exactly `Buffer.from`'s,
 * lone surrogates becoming U+FFFD (SPEC.md C5, K9).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import fc from "fast-check";
import { decodeText, toOutgoing } from "../../src/facade/message-data.js";

/** Every length class of code point: ASCII, 2-, 3- and 4-byte sequences, noncharacters, BOM. */
const SAMPLES = ["a", "{", "é", "ü", "Ω", "п", "€", "你", "\uFEFF", "\uFFFE", "\uFFFF", "😀", "𝄞"];

function check(bytes: Uint8Array, label: string): void {
  const expected = Buffer.from(bytes).toString("utf8");
  const actual = decodeText(bytes);
  assert.equal(actual.length, expected.length, `${label}: length`);
  assert.ok(actual === expected, `${label}: the decoded string differs`);
}

test("K1/K11: decodeText of texts on either side of the size and ASCII-probe boundaries equals Buffer#toString", () => {
  const lengths = [0, 1, 255, 256, 257, 1023, 1024, 1025, 4096, 65536, 65537, 1 << 20];
  for (const length of lengths) {
    for (const sample of SAMPLES) {
      const text = sample.repeat(Math.ceil(length / Buffer.byteLength(sample)));
      const bytes = Buffer.from(text, "utf8");
      check(bytes, `${JSON.stringify(sample)} × ${length} B`);
      // ASCII at the start and the middle, dense non-ASCII elsewhere (the V8 route, misjudged).
      if (length >= 1024) {
        const mixed = Buffer.concat([
          Buffer.alloc(300, 0x61),
          bytes,
          Buffer.alloc(bytes.length, 0x62),
          bytes,
        ]);
        check(mixed, `ASCII probes around ${JSON.stringify(sample)} × ${length} B`);
      }
    }
  }
});

test("K11 (★): a leading BOM is kept on both routes", () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  for (const body of ["x", "ascii ".repeat(500), "ü".repeat(2000), "你好".repeat(1000)]) {
    const text = decodeText(Buffer.concat([bom, Buffer.from(body, "utf8")]));
    assert.equal(text.charCodeAt(0), 0xfeff);
    assert.equal(text.slice(1), body);
  }
});

test("K1/K6: decodeText of arbitrary valid UTF-8 (any code points, any length) equals Buffer#toString", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 0x7f }),
          fc.integer({ min: 0x80, max: 0x7ff }),
          fc.integer({ min: 0x800, max: 0xd7ff }),
          fc.integer({ min: 0xe000, max: 0xffff }),
          fc.integer({ min: 0x10000, max: 0x10ffff }),
        ),
        { maxLength: 3000, size: "max" },
      ),
      fc.integer({ min: 0, max: 400 }),
      (codePoints, asciiPrefix) => {
        const text = "a".repeat(asciiPrefix) + String.fromCodePoint(...codePoints);
        const bytes = Buffer.from(text, "utf8");
        // A view in the middle of a larger buffer, as messages cut from a socket read are.
        const host = new Uint8Array(bytes.length + 16);
        host.set(bytes, 7);
        const view = host.subarray(7, 7 + bytes.length);
        assert.equal(decodeText(view), text);
      },
    ),
    { numRuns: 200 },
  );
});

function encoded(text: string): Buffer {
  const outgoing = toOutgoing(text);
  assert.equal(outgoing.kind, "text");
  assert.ok(outgoing.bytes !== undefined);
  assert.equal(outgoing.size, outgoing.bytes.length);
  return Buffer.from(outgoing.bytes.buffer, outgoing.bytes.byteOffset, outgoing.bytes.byteLength);
}

test("C5/K9: long texts of every kind are sent as exactly Buffer.from's UTF-8, lone surrogates as U+FFFD", () => {
  const samples = [...SAMPLES, "\uD800", "\uDC00", "x\uD83D", "\uDE00y"];
  for (const length of [8191, 8192, 8193, 65536, 1 << 20]) {
    for (const sample of samples) {
      const text = sample.repeat(Math.ceil(length / sample.length)).slice(0, length);
      assert.ok(
        encoded(text).equals(Buffer.from(text, "utf8")),
        `${JSON.stringify(sample)} × ${length}`,
      );
      // Non-ASCII only away from the sampled start and middle, and a lone surrogate at the end.
      const hidden = "a".repeat(100) + text + "b".repeat(text.length) + text + "\uD800";
      assert.ok(
        encoded(hidden).equals(Buffer.from(hidden, "utf8")),
        `hidden ${JSON.stringify(sample)}`,
      );
    }
  }
  const lone = "é".repeat(10_000) + "\uD800" + "é".repeat(10_000);
  const bytes = encoded(lone);
  assert.equal(bytes.subarray(20_000, 20_003).toString("hex"), "efbfbd");
});

test("C5/K9: arbitrary strings (surrogates included) are sent as Buffer.from's UTF-8", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 0x7f }),
          fc.integer({ min: 0x80, max: 0xffff }),
          fc.integer({ min: 0xd800, max: 0xdfff }),
        ),
        { minLength: 8000, maxLength: 20_000, size: "max" },
      ),
      (units) => {
        const text = String.fromCharCode(...units);
        assert.ok(encoded(text).equals(Buffer.from(text, "utf8")));
      },
    ),
    { numRuns: 60 },
  );
});

test("bench smoke: `npm run bench:text -- --quick` runs and checks both routes against V8 (not its numbers)", () => {
  const script = fileURLToPath(new URL("../../bench/text-codec.js", import.meta.url));
  const result = spawnSync(process.execPath, [script, "--quick"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 0, result.stderr);
  const rows = result.stdout.split("\n").filter((line) => /^\| \d+ \|/.test(line));
  assert.equal(rows.length, 10, result.stdout);
});
