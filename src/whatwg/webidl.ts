/**
 * The few Web IDL conversions the WebSocket interface needs, implemented as the Web IDL
 * standard defines them for JavaScript values.
 *
 * @see https://webidl.spec.whatwg.org/#js-type-mapping
 * @module
 */

import { toDOMString } from "../facade/webidl-strings.js";

export { toDOMString, toUSVString } from "../facade/webidl-strings.js";

/**
 * ToNumber, as Web IDL uses it: a Symbol or a BigInt throws a TypeError.
 */
function toNumber(value: unknown): number {
  if (typeof value === "bigint") throw new TypeError("Cannot convert a BigInt value to a number");
  if (typeof value === "symbol") throw new TypeError("Cannot convert a Symbol value to a number");
  return Number(value);
}

/**
 * `[Clamp] unsigned short`: NaN becomes 0, the value is clamped to 0–65535 and rounded half to
 * even (so 2999.5 → 3000 and 1000.5 → 1000).
 * @see https://webidl.spec.whatwg.org/#abstract-opdef-converttoint (the [Clamp] branch)
 */
export function toClampedUnsignedShort(value: unknown): number {
  const x = toNumber(value);
  if (Number.isNaN(x)) return 0;
  const clamped = Math.min(Math.max(x, 0), 0xffff);
  const floor = Math.floor(clamped);
  const fraction = clamped - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * `[EnforceRange] unsigned short`: NaN, ±Infinity and values outside 0–65535 (after truncation)
 * throw a TypeError; fractions are truncated.
 * @throws {TypeError}
 */
export function toEnforcedUnsignedShort(value: unknown): number {
  const x = toNumber(value);
  if (!Number.isFinite(x)) throw new TypeError(`${String(x)} is not a finite number`);
  const truncated = Math.trunc(x);
  if (truncated < 0 || truncated > 0xffff)
    throw new TypeError(`${truncated} is outside the range 0–65535`);
  return truncated === 0 ? 0 : truncated; // no -0
}

/**
 * Plain `unsigned short` (no [Clamp] or [EnforceRange]): modulo 2^16, NaN and ±Infinity → 0.
 */
export function toUnsignedShort(value: unknown): number {
  const x = toNumber(value);
  if (!Number.isFinite(x)) return 0;
  const truncated = Math.trunc(x);
  const wrapped = truncated % 0x10000;
  return wrapped < 0 ? wrapped + 0x10000 : wrapped === 0 ? 0 : wrapped;
}

/**
 * `sequence<DOMString>` from an iterable.
 * @throws {TypeError} when `value` is not iterable
 */
export function toDOMStringSequence(value: unknown): string[] {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    throw new TypeError("Value is not a sequence");
  }
  const iterator = (value as { [Symbol.iterator]?: unknown })[Symbol.iterator];
  if (typeof iterator !== "function") throw new TypeError("Value is not a sequence");
  const out: string[] = [];
  for (const item of value as Iterable<unknown>) out.push(toDOMString(item));
  return out;
}

/** Returns whether `value` is an object with a callable `Symbol.iterator`. */
export function isIterableObject(value: unknown): value is Iterable<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function"
  );
}
