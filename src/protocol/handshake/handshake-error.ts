/**
 * The opening-handshake error catalogue: every way an HTTP upgrade can fail, each with a stable
 * `ERR_WS_*` code. Handshake failures happen before the connection is open, so they never carry
 * a close code (no Close frame is ever sent for them, RFC 6455 §4.2.2 and §7.2.2); a server
 * answers them with an HTTP status instead.
 *
 * @see RFC 6455 §4.1 (client requirements) and §4.2 (server requirements)
 * @module
 */
import type { HttpHeader } from "./http-header.js";

/**
 * Every stable handshake error code, mapped to the HTTP status a server answers with when it
 * rejects an upgrade request for that reason. `undefined` marks codes that only a client raises
 * (about the server's response) or that report caller misuse, which has no HTTP answer.
 *
 * @see RFC 6455 §4.2.1 (what a server checks) and §4.4 (426 for an unsupported version)
 */
export const HandshakeErrorCodes = {
  /** Client: the server answered with a status other than 101 (redirects are not followed). */
  ERR_WS_HANDSHAKE_STATUS: undefined,
  /** Server: the request method is not GET. Answered 405 with `Allow: GET`. */
  ERR_WS_HANDSHAKE_METHOD: 405,
  /** Server: the request is older than HTTP/1.1. */
  ERR_WS_HANDSHAKE_HTTP_VERSION: 400,
  /** Server: the request has no `Host` header. */
  ERR_WS_HANDSHAKE_HOST: 400,
  /** `Upgrade` is missing or does not name `websocket`. */
  ERR_WS_HANDSHAKE_UPGRADE: 400,
  /** `Connection` is missing or has no `upgrade` token. */
  ERR_WS_HANDSHAKE_CONNECTION: 400,
  /** Server: `Sec-WebSocket-Key` is missing or is not base64 of 16 bytes. */
  ERR_WS_HANDSHAKE_KEY: 400,
  /** Server: `Sec-WebSocket-Version` is missing or not 13. Answered 426 with the supported version. */
  ERR_WS_HANDSHAKE_VERSION: 426,
  /** Client: `Sec-WebSocket-Accept` is missing or does not match the key that was sent. */
  ERR_WS_HANDSHAKE_ACCEPT: undefined,
  /** `Sec-WebSocket-Protocol` is malformed, or (client) names a subprotocol that was not requested. */
  ERR_WS_HANDSHAKE_PROTOCOL: 400,
  /** `Sec-WebSocket-Extensions` breaks the ABNF, or (client) accepts an extension not offered. */
  ERR_WS_HANDSHAKE_EXTENSIONS: 400,
  /** A header that may appear at most once appears more than once. */
  ERR_WS_HANDSHAKE_DUPLICATE_HEADER: 400,
  /** The HTTP head is longer than the head-size limit. */
  ERR_WS_HTTP_HEAD_TOO_LARGE: 431,
  /** One line of the HTTP head is longer than the line-length limit. */
  ERR_WS_HTTP_LINE_TOO_LONG: 431,
  /** The HTTP head has more header fields than the header-count limit. */
  ERR_WS_HTTP_TOO_MANY_HEADERS: 431,
  /** The HTTP head does not follow the HTTP/1.1 message syntax. */
  ERR_WS_HTTP_MALFORMED: 400,
  /** Caller misuse: a header name, value or URL part supplied by the application is invalid. */
  ERR_WS_INVALID_HEADER: undefined,
  /** Caller misuse: a response status code or reason phrase supplied by the application is invalid. */
  ERR_WS_INVALID_STATUS: undefined,
} as const;

/**
 * A stable handshake error code.
 *
 * @see RFC 6455 §4.1 and §4.2.1
 */
export type HandshakeErrorCode = keyof typeof HandshakeErrorCodes;

/**
 * What the server answered, attached to every error raised while validating the server's
 * response, so the transport can report why a connection failed (e.g. "403 Forbidden").
 *
 * @see RFC 6455 §4.1 (the client's checks on the response)
 */
export interface HandshakeResponseInfo {
  /** The response status code, e.g. 403 or 302. */
  readonly status: number;
  /** The reason phrase as received (informational only; it may be empty). */
  readonly statusText: string;
  /** Every header field of the response, in order. */
  readonly headers: readonly HttpHeader[];
}

/**
 * Options for {@link HandshakeError}.
 *
 * @see RFC 6455 §4.1 and §4.2.1
 */
export interface HandshakeErrorOptions {
  /** The HTTP status a server answers with; set only for errors raised on the server side. */
  readonly status?: number;
  /** The server's response, for errors raised while validating it on the client side. */
  readonly response?: HandshakeResponseInfo;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * A failed opening handshake. On the client it means "fail the WebSocket connection" before it
 * was ever open (the transport drops TCP; no Close frame is sent). On the server it means
 * answering with an HTTP error ({@link HandshakeError.status}) and not upgrading.
 *
 * @see RFC 6455 §4.1, §4.2.1 and §7.1.7
 */
export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
  /** The stable `ERR_WS_*` code. */
  readonly code: HandshakeErrorCode;
  /**
   * The HTTP status a server should answer with (400, 405, 426, 431); `undefined` when the error
   * was raised on the client side or reports caller misuse.
   */
  readonly status: number | undefined;
  /** The server's response, when the error was raised while validating it (client side). */
  readonly response: HandshakeResponseInfo | undefined;

  /**
   * Creates a handshake error with a stable code.
   *
   * @param code - The stable `ERR_WS_*` code.
   * @param message - A human-readable explanation; it never echoes long peer data.
   * @param options - Server status, client-side response info and cause.
   */
  constructor(code: HandshakeErrorCode, message: string, options: HandshakeErrorOptions = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.status = options.status;
    this.response = options.response;
  }
}

/**
 * Quotes a peer- or caller-supplied string for an error message, shortened so that messages stay
 * small and never carry a large part of peer input.
 *
 * @param text - The string to quote.
 *
 * @see RFC 6455 §10.7 (peer input is untrusted)
 */
export function quoteForMessage(text: string): string {
  const MAX_CHARS = 64;
  return JSON.stringify(text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text);
}
