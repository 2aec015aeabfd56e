/**
 * The terminal helpers the CLI prints peer data through: control characters escaped, JSON that
 * is terminal-safe yet parses back exactly, hex in and out.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeControl, parseHex, toHex, toTerminalJson } from "../../src/cli/terminal.js";
import { RAW_CONTROL } from "../helpers/cli-process.js";

/** Every code unit that must never reach a terminal raw, plus some that may. */
const HOSTILE =
  Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join("") +
  "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069 é ✓ 😀";

test("escapeControl escapes C0, DEL, C1, bidi controls and backslash; keeps the rest", () => {
  assert.equal(escapeControl("plain ✓ 😀"), "plain ✓ 😀");
  assert.equal(escapeControl("a\tb\nc\rd\\e"), "a\\tb\\nc\\rd\\\\e");
  assert.equal(
    escapeControl("\x1b[31m\x07\x7f\x9b\u202e"),
    "\\u001b[31m\\u0007\\u007f\\u009b\\u202e",
  );
  const escaped = escapeControl(HOSTILE);
  assert.doesNotMatch(escaped, RAW_CONTROL);
  assert.doesNotMatch(escaped, /\n/);
  assert.ok(escaped.endsWith(" é ✓ 😀"));
});

test("toTerminalJson leaves nothing raw and parses back to the same value", () => {
  const value = { data: HOSTILE, nested: [HOSTILE, "\u2028\u2029"] };
  const json = toTerminalJson(value);
  assert.doesNotMatch(json, RAW_CONTROL);
  assert.doesNotMatch(json, /[\n\u2028\u2029]/);
  assert.deepEqual(JSON.parse(json), value);
  assert.equal(toTerminalJson({ a: "plain" }), '{"a":"plain"}');
});

test("parseHex accepts spaced, packed and colon-separated hex; refuses the rest", () => {
  assert.deepEqual(parseHex("01 02 ff"), Uint8Array.of(1, 2, 255));
  assert.deepEqual(parseHex("0102FF"), Uint8Array.of(1, 2, 255));
  assert.deepEqual(parseHex("de:ad:be:ef"), Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
  assert.deepEqual(parseHex(""), new Uint8Array(0));
  assert.equal(parseHex("0"), undefined);
  assert.equal(parseHex("0g"), undefined);
  assert.equal(parseHex("0x01"), undefined);
});

test("toHex prints short payloads whole and elides long ones", () => {
  assert.equal(toHex(Uint8Array.of(0, 15, 255)), "00 0f ff");
  const long = toHex(new Uint8Array(100).fill(0xab));
  assert.equal(long, `${Array(64).fill("ab").join(" ")} … (100 bytes)`);
});
