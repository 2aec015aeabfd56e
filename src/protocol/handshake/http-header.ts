/**
 * The shape of one HTTP header field, shared by the head parser, the header grammar and the
 * handshake errors. It sits at the bottom of `protocol/handshake/` so that those three read
 * top-down: `http-header` ← `handshake-error` ← `header-grammar` ← `http-head`.
 *
 * @see RFC 7230 §3.2
 * @module
 */

/**
 * A header field as `[name, value]`: the name as received or given, the value without OWS.
 *
 * @see RFC 7230 §3.2
 */
export type HttpHeader = [name: string, value: string];
