/**
 * Web IDL string conversions shared by the socket facades.
 *
 * @see https://webidl.spec.whatwg.org/#js-DOMString
 * @module
 */

/**
 * ToString, as Web IDL's DOMString conversion: a Symbol throws a TypeError (unlike `String()`).
 * @throws {TypeError} for a Symbol; whatever a `toString` throws
 */
export function toDOMString(value: unknown): string {
  if (typeof value === "symbol") throw new TypeError("Cannot convert a Symbol value to a string");
  return `${value as string}`;
}

/**
 * USVString: ToString, then every lone surrogate becomes U+FFFD.
 * @see https://webidl.spec.whatwg.org/#js-USVString
 */
export function toUSVString(value: unknown): string {
  return (toDOMString(value) as string & { toWellFormed(): string }).toWellFormed();
}
