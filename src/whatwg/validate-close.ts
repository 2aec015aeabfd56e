/**
 * "Validate close code and reason", shared by `WebSocket.close()` and (later)
 * `WebSocketStream.close()` and `WebSocketError`.
 *
 * @see https://websockets.spec.whatwg.org/#dom-websocket-close steps 1–2
 * @module
 */
import { MAX_CLOSE_REASON_BYTES } from "../protocol/close-codes.js";

const encoder = new TextEncoder();

/**
 * Checks a script-supplied close code and reason. Runs before any state check (SPEC.md D8).
 *
 * @param code the converted code, or undefined when absent
 * @param reason the reason as a USVString, or undefined when absent
 * @returns the reason's UTF-8 bytes (empty when absent)
 * @throws {DOMException} InvalidAccessError when a code is present and is neither 1000 nor
 *   3000–4999; SyntaxError when the reason is longer than 123 UTF-8 bytes. The code check
 *   comes first (SPEC.md D5–D7).
 */
export function validateCloseCodeAndReason(
  code: number | undefined,
  reason: string | undefined,
): Uint8Array {
  if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
    throw new DOMException(
      `The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`,
      "InvalidAccessError",
    );
  }
  if (reason === undefined) return new Uint8Array(0);
  const bytes = encoder.encode(reason);
  if (bytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new DOMException(
      `The close reason must not be longer than ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes (got ${bytes.length}).`,
      "SyntaxError",
    );
  }
  return bytes;
}
