/**
 * The protocol error catalogue: every way a peer can break RFC 6455, each with a stable
 * `ERR_WS_*` code and the close code sent when the connection is failed for it.
 * docs/errors.md documents each code for users.
 *
 * @module
 */
import { CloseCode } from "./close-codes.js";

/** Every stable error code the protocol core can produce, with its close code. */
export const ProtocolErrorCodes = {
  ERR_WS_INVALID_OPCODE: CloseCode.ProtocolError,
  ERR_WS_UNEXPECTED_RSV: CloseCode.ProtocolError,
  ERR_WS_UNMASKED_FRAME: CloseCode.ProtocolError,
  ERR_WS_MASKED_FRAME: CloseCode.ProtocolError,
  ERR_WS_FRAGMENTED_CONTROL_FRAME: CloseCode.ProtocolError,
  ERR_WS_CONTROL_FRAME_TOO_LONG: CloseCode.ProtocolError,
  ERR_WS_UNEXPECTED_CONTINUATION: CloseCode.ProtocolError,
  ERR_WS_EXPECTED_CONTINUATION: CloseCode.ProtocolError,
  ERR_WS_INVALID_PAYLOAD_LENGTH: CloseCode.ProtocolError,
  ERR_WS_INVALID_CLOSE_PAYLOAD: CloseCode.ProtocolError,
  ERR_WS_INVALID_CLOSE_CODE: CloseCode.ProtocolError,
  ERR_WS_INVALID_CLOSE_REASON: CloseCode.InvalidFramePayloadData,
  ERR_WS_INVALID_UTF8: CloseCode.InvalidFramePayloadData,
  ERR_WS_MESSAGE_TOO_BIG: CloseCode.MessageTooBig,
  ERR_WS_TOO_MANY_FRAGMENTS: CloseCode.MessageTooBig,
  /** permessage-deflate data that does not inflate (★ 1007, SPEC.md N20). */
  ERR_WS_INVALID_COMPRESSED_DATA: CloseCode.InvalidFramePayloadData,
  /** Not the peer's fault: an unexpected failure inside sockwise (a bug); details in `cause`. */
  ERR_WS_INTERNAL_ERROR: CloseCode.InternalError,
} as const;

/** A stable protocol error code. */
export type ProtocolErrorCode = keyof typeof ProtocolErrorCodes;

/**
 * A violation of RFC 6455 by the peer. The engine turns it into "fail the WebSocket
 * connection": a Close frame with {@link ProtocolError.closeCode}, then TCP is closed.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** The stable `ERR_WS_*` code. */
  readonly code: ProtocolErrorCode;
  /** The close code sent to the peer when failing the connection for this error. */
  readonly closeCode: number;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.closeCode = ProtocolErrorCodes[code];
  }
}

/**
 * Why a connection ended without a completed closing handshake, when it was not a protocol
 * error: the close deadline passed, or the transport was lost.
 */
export const AbnormalCauseCodes = {
  /** The peer did not complete the closing handshake before the close deadline. */
  ERR_WS_CLOSE_TIMEOUT: "the closing handshake did not complete before the close deadline",
  /** TCP ended (FIN or reset) before both Close frames were exchanged. */
  ERR_WS_CONNECTION_LOST: "the connection was lost before the closing handshake completed",
  /** The connection was destroyed by the local application. */
  ERR_WS_DESTROYED: "the connection was destroyed locally",
} as const;

/** A stable code for an abnormal closure that was not a protocol error. */
export type AbnormalCauseCode = keyof typeof AbnormalCauseCodes;

/** Why a connection was closed abnormally, carried as `cause` in the close outcome. */
export interface AbnormalCause {
  readonly code: AbnormalCauseCode;
  readonly message: string;
  /** The underlying transport error, if there was one (e.g. `ECONNRESET`). */
  readonly error?: unknown;
}
