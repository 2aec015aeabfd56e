/**
 * The `WebSocketCloseInfo` dictionary of the WebSocketStream draft, and its Web IDL conversion,
 * shared by `WebSocketStream.close()` and the `WebSocketError` constructor.
 *
 * @see https://github.com/whatwg/websockets/pull/48 (WS-48, "WebSocketCloseInfo")
 * @module
 */
import { toEnforcedUnsignedShort, toUSVString } from "../webidl.js";

/** A close code and reason: what `close()` takes and what `closed` resolves to. */
export interface WebSocketCloseInfo {
  /** 1000 or 3000–4999 when given to `close()`; any code the peer sent in `closed`. */
  closeCode?: number;
  /** At most 123 UTF-8 bytes. Default "". */
  reason?: string;
}

/** A converted {@link WebSocketCloseInfo}: `closeCode` absent or an integer, `reason` a USVString. */
export interface ConvertedCloseInfo {
  readonly closeCode: number | undefined;
  readonly reason: string;
}

/**
 * Converts a JavaScript value to the `WebSocketCloseInfo` IDL dictionary: `undefined` and `null`
 * are the empty dictionary; any other non-object is a TypeError; members are read in
 * lexicographic order, `closeCode` as `[EnforceRange] unsigned short` (NaN, ±Infinity and values
 * outside 0–65535 throw a TypeError, fractions are truncated) and `reason` as a USVString
 * (default "").
 *
 * @throws {TypeError}
 * @see https://webidl.spec.whatwg.org/#js-dictionary
 */
export function toCloseInfo(value: unknown, context: string): ConvertedCloseInfo {
  if (value === undefined || value === null) return { closeCode: undefined, reason: "" };
  if (typeof value !== "object" && typeof value !== "function") {
    throw new TypeError(`${context}: the close info must be an object.`);
  }
  const dictionary = value as { closeCode?: unknown; reason?: unknown };
  const code = dictionary.closeCode;
  const closeCode = code === undefined ? undefined : toEnforcedUnsignedShort(code);
  const reason = dictionary.reason;
  return { closeCode, reason: reason === undefined ? "" : toUSVString(reason) };
}
