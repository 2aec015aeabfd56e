/**
 * The terminal helpers the CLI prints peer data through: control characters escaped, JSON that
 * is terminal-safe yet parses back exactly, hex in and out.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  colorEnabled,
  escapeControl,
  paint,
  parseBase64,
  parseHex,
  toHex,
  toTerminalJson,
} from "../../src/cli/terminal.js";
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

test("parseBase64 accepts standard and URL-safe base64, padded or not; refuses the rest", () => {
  assert.deepEqual(parseBase64("AQL/"), Uint8Array.of(1, 2, 255));
  assert.deepEqual(parseBase64("AQL_"), Uint8Array.of(1, 2, 255));
  assert.deepEqual(parseBase64("yv4="), Uint8Array.of(0xca, 0xfe));
  assert.deepEqual(parseBase64("yv4"), Uint8Array.of(0xca, 0xfe));
  assert.deepEqual(parseBase64(""), new Uint8Array(0));
  for (const bad of ["!!", "A", "AQL/=", "a b c d e"])
    assert.equal(parseBase64(bad), undefined, bad);
});

test("colorEnabled: a flag wins, then FORCE_COLOR, then NO_COLOR (non-empty), TERM=dumb, the TTY", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  assert.equal(colorEnabled(tty, {}), true);
  assert.equal(colorEnabled(pipe, {}), false);
  assert.equal(colorEnabled(tty, { NO_COLOR: "1" }), false);
  assert.equal(colorEnabled(tty, { NO_COLOR: "" }), true, "an empty NO_COLOR is unset");
  assert.equal(colorEnabled(tty, { TERM: "dumb" }), false);
  assert.equal(colorEnabled(pipe, { FORCE_COLOR: "1", NO_COLOR: "1" }), true);
  assert.equal(colorEnabled(tty, { FORCE_COLOR: "0" }), true, "FORCE_COLOR=0 forces nothing");
  assert.equal(colorEnabled(pipe, { FORCE_COLOR: "1" }, false), false);
  assert.equal(colorEnabled(pipe, { NO_COLOR: "1" }, true), true);
  assert.equal(paint(false, "red", "x"), "x");
  assert.equal(paint(true, "red", "x"), "\x1b[31mx\x1b[0m");
});
