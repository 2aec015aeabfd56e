/**
 * Assertions for the DOMExceptions the WHATWG WebSocket throws, checking both the `name` and
 * the legacy `code`, as WPT's `assert_throws_dom("SYNTAX_ERR")` does (SPEC.md §0).
 *
 * @module
 */
import assert from "node:assert/strict";

/** The legacy code of each DOMException name the WebSocket API uses. */
export const DOM_EXCEPTION_CODES = {
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidAccessError: 15,
} as const;

/** A DOMException name with a legacy code. */
export type DomExceptionName = keyof typeof DOM_EXCEPTION_CODES;

/**
 * Asserts that `fn` throws a real `DOMException` with the given name and legacy code, and
 * returns it.
 */
export function assertThrowsDom(
  fn: () => unknown,
  name: DomExceptionName,
  what = "",
): DOMException {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  const label = what === "" ? "" : ` (${what})`;
  assert.ok(thrown !== undefined, `expected ${name}${label}, nothing was thrown`);
  assert.ok(
    thrown instanceof DOMException,
    `expected a DOMException ${name}${label}, got ${String(thrown)}`,
  );
  assert.equal(thrown.name, name, `name${label}`);
  assert.equal(thrown.code, DOM_EXCEPTION_CODES[name], `legacy code${label}`);
  return thrown;
}

/** Asserts that `fn` throws a plain `TypeError` (not a DOMException). */
export function assertThrowsTypeError(fn: () => unknown, what = ""): TypeError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof TypeError, `expected a TypeError ${what}, got ${String(thrown)}`);
  return thrown;
}
