/**
 * `WebSocketError` (SPEC.md O19, after WPT stream/tentative/websocket-error.any.js): a
 * DOMException with `closeCode` and `reason`, validated by the same rules as `WebSocket.close()`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { WebSocketError } from "../../../src/index.js";
import { assertThrowsDom, assertThrowsTypeError } from "../../helpers/assert-dom.js";

test("O19: defaults — name WebSocketError, code 0, message '', closeCode null, reason ''", () => {
  const error = new WebSocketError();
  assert.ok(error instanceof DOMException);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "WebSocketError");
  assert.equal(error.code, 0);
  assert.equal(error.message, "");
  assert.equal(error.closeCode, null);
  assert.equal(error.reason, "");
  assert.equal(Object.prototype.toString.call(error), "[object WebSocketError]");
  assert.equal(WebSocketError.length, 0);
});

test("O19: initialised from the message, closeCode and reason", () => {
  const error = new WebSocketError("message", { closeCode: 3456, reason: "reason" });
  assert.equal(error.name, "WebSocketError");
  assert.equal(error.code, 0);
  assert.equal(error.message, "message");
  assert.equal(error.closeCode, 3456);
  assert.equal(error.reason, "reason");
});

test("O19: a code alone keeps reason ''; a non-empty reason alone means 1000; '' alone, null", () => {
  assert.deepEqual(pick(new WebSocketError("", { closeCode: 3333 })), [3333, ""]);
  assert.deepEqual(pick(new WebSocketError("", { reason: "specified" })), [1000, "specified"]);
  assert.deepEqual(pick(new WebSocketError("", { reason: "" })), [null, ""]);
  assert.deepEqual(pick(new WebSocketError("", { closeCode: 1000 })), [1000, ""]);
  assert.deepEqual(pick(new WebSocketError("", { closeCode: 4999, reason: "x" })), [4999, "x"]);
});

test("O19: an invalid code (999, 1001, 1005, 1006, 2999, 5000, 0) is an InvalidAccessError", () => {
  for (const closeCode of [999, 1001, 1005, 1006, 2999, 5000, 0]) {
    assertThrowsDom(
      () => new WebSocketError("", { closeCode }),
      "InvalidAccessError",
      `${closeCode}`,
    );
  }
});

test("O19: a reason over 123 UTF-8 bytes is a SyntaxError, counted in bytes (32 × 🔌 = 128 B)", () => {
  assertThrowsDom(
    () => new WebSocketError("", { closeCode: 1000, reason: "x".repeat(124) }),
    "SyntaxError",
  );
  assertThrowsDom(() => new WebSocketError("", { reason: "🔌".repeat(32) }), "SyntaxError");
  assertThrowsDom(() => new WebSocketError("", { reason: "🔌".repeat(31) }), "SyntaxError");
  assert.equal(new WebSocketError("", { reason: "€".repeat(41) }).reason.length, 41);
  assert.equal(new WebSocketError("", { reason: "x".repeat(123) }).closeCode, 1000);
});

test("O19: the code is checked before the reason (D7)", () => {
  assertThrowsDom(
    () => new WebSocketError("", { closeCode: 2999, reason: "x".repeat(200) }),
    "InvalidAccessError",
  );
});

test("O19: closeCode is [EnforceRange] unsigned short — NaN, ±Infinity, −1, 65536 are TypeErrors; fractions truncate", () => {
  for (const closeCode of [NaN, Infinity, -Infinity, -1, 65536, "x"]) {
    assertThrowsTypeError(
      () => new WebSocketError("", { closeCode: closeCode as number }),
      String(closeCode),
    );
  }
  assert.equal(new WebSocketError("", { closeCode: 3000.9 }).closeCode, 3000);
  assert.equal(new WebSocketError("", { closeCode: "4000" as unknown as number }).closeCode, 4000);
});

test("O19: init that is not an object is a TypeError; a lone surrogate in the reason becomes U+FFFD", () => {
  assertThrowsTypeError(() => new WebSocketError("", true as unknown as object));
  assertThrowsTypeError(() => new WebSocketError("", 5 as unknown as object));
  assertThrowsTypeError(() => new WebSocketError(Symbol("x") as unknown as string));
  assert.equal(new WebSocketError("", { reason: "a\uD800b" }).reason, "a\uFFFDb");
  assert.equal(new WebSocketError(undefined, undefined).closeCode, null);
  assert.equal(new WebSocketError("", null as unknown as object).reason, "");
});

test("O19: closeCode and reason are read-only accessors on the prototype", () => {
  const error = new WebSocketError("", { closeCode: 3000 });
  for (const name of ["closeCode", "reason"]) {
    const descriptor = Object.getOwnPropertyDescriptor(WebSocketError.prototype, name);
    assert.equal(typeof descriptor?.get, "function", name);
    assert.equal(descriptor?.set, undefined, name);
    assert.equal(descriptor?.enumerable, true, name);
  }
  assert.throws(() => {
    (error as { closeCode: number | null }).closeCode = 4000;
  }, TypeError);
  assert.equal(error.closeCode, 3000);
});

function pick(error: WebSocketError): [number | null, string] {
  return [error.closeCode, error.reason];
}
