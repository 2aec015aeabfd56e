/**
 * Parsing and serialising Close frame bodies (RFC 6455 §5.5.1): empty, or a 2-byte big-endian
 * code followed by a UTF-8 reason.
 *
 * @module
 */
import { CloseCode, MAX_CLOSE_REASON_BYTES, isWireCloseCode } from "./close-codes.js";
import { ProtocolError } from "./errors.js";
import { isValidUtf8 } from "./utf8.js";

/** A parsed Close body. */
export interface ClosePayload {
  /** The code, or 1005 (No Status Received) for an empty body. */
  readonly code: number;
  /** The reason, decoded from UTF-8 ("" when absent). A leading BOM is kept (SPEC.md K10). */
  readonly reason: string;
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Parses a received Close body.
 * @throws {ProtocolError} ERR_WS_INVALID_CLOSE_PAYLOAD for a 1-byte body (1002),
 *   ERR_WS_INVALID_CLOSE_CODE for a code that may not be sent (1002),
 *   ERR_WS_INVALID_CLOSE_REASON for a reason that is not UTF-8 (1007)
 * @see RFC 6455 §5.5.1, §7.4; SPEC.md L1–L4
 */
export function parseClosePayload(
  body: Uint8Array,
  isUtf8?: (bytes: Uint8Array) => boolean,
): ClosePayload {
  if (body.length === 0) return { code: CloseCode.NoStatusReceived, reason: "" };
  if (body.length === 1) {
    throw new ProtocolError("ERR_WS_INVALID_CLOSE_PAYLOAD", "a Close body cannot be 1 byte long");
  }
  const code = (body[0]! << 8) | body[1]!;
  if (!isWireCloseCode(code)) {
    throw new ProtocolError(
      "ERR_WS_INVALID_CLOSE_CODE",
      `close code ${code} may not be sent on the wire`,
    );
  }
  const reasonBytes = body.subarray(2);
  if (!isValidUtf8(reasonBytes, isUtf8)) {
    throw new ProtocolError("ERR_WS_INVALID_CLOSE_REASON", "the close reason is not valid UTF-8");
  }
  return { code, reason: decoder.decode(reasonBytes) };
}

/**
 * Serialises a Close body: empty when `code` is undefined, otherwise the code and the reason's
 * UTF-8 bytes. Callers validate the code; this only checks the size.
 * @throws {RangeError} ERR_WS_INVALID_CLOSE_REASON when the reason is over 123 bytes, or a
 *   reason is given without a code
 */
export function serializeClosePayload(code?: number, reason: string | Uint8Array = ""): Uint8Array {
  const reasonBytes = typeof reason === "string" ? encoder.encode(reason) : reason;
  if (code === undefined) {
    if (reasonBytes.length > 0) throw closeArgumentError("a close reason needs a close code");
    return new Uint8Array(0);
  }
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw closeArgumentError(
      `a close reason is at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes, got ${reasonBytes.length}`,
    );
  }
  const body = new Uint8Array(2 + reasonBytes.length);
  body[0] = code >>> 8;
  body[1] = code & 0xff;
  body.set(reasonBytes, 2);
  return body;
}

function closeArgumentError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: "ERR_WS_INVALID_CLOSE_REASON" });
}
