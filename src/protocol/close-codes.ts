/**
 * The WebSocket close-code registry and the rules for which codes may travel in a Close frame.
 *
 * @see RFC 6455 §7.4
 * @see https://www.iana.org/assignments/websocket/websocket.xhtml#close-code-number
 * @module
 */

/** Named close codes from RFC 6455 §7.4.1 and the IANA registry. */
export const CloseCode = {
  NormalClosure: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved; never sent. */
  Reserved: 1004,
  /** Made up locally when a received Close had no code; never sent. */
  NoStatusReceived: 1005,
  /** Made up locally when no Close was received; never sent. */
  AbnormalClosure: 1006,
  InvalidFramePayloadData: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  /** Made up locally for TLS failures; never sent (WHATWG clients report 1006 instead). */
  TlsHandshake: 1015,
} as const;

/** One of the named codes in {@link CloseCode}. */
export type NamedCloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The longest close reason, in UTF-8 bytes: a control frame carries at most 125 bytes. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Returns whether `code` may appear in a Close frame on the wire: 1000–1003, 1007–1014 and
 * 3000–4999. Everything else (0–999, 1004–1006, 1015, 1016–2999, 5000+, and any value that is
 * not an integer, such as 1000.5, which would be sent truncated) is refused, as the
 * checklist decides for the codes RFC 6455 leaves open (SPEC.md L3, M1–M3).
 */
export function isWireCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) ||
      (code >= 1007 && code <= 1014) ||
      (code >= 3000 && code <= 4999))
  );
}
