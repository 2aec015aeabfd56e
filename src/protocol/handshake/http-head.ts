/**
 * A bounded, incremental HTTP/1.1 head parser (request or response), and the serializer for the
 * heads the handshake writes. The parser never holds more than one partial line, never reads
 * past the blank line that ends the head, and stops at the first limit that is exceeded.
 *
 * Decisions (see also docs/errors.md):
 * - Lines must end in CRLF. A bare LF or a bare CR is refused as malformed, as Node's own HTTP
 *   parser does since the request-smuggling fixes (CVE-2023-30589): lenient line endings let
 *   two parsers disagree on where a head ends.
 * - Header bytes are decoded as latin1 (one byte, one code unit), so nothing is lost. This is
 *   done by hand: `TextDecoder("latin1")` is windows-1252 in the Encoding Standard.
 * - Received values refuse only NUL, CR and LF (the Fetch definition of a header value); values
 *   written by sockwise are held to the stricter RFC 7230 grammar (see `isFieldValue`).
 * - obs-fold continuation lines, whitespace before the colon and non-token names are refused
 *   (RFC 7230 §3.2.4 requires rejecting the first two in requests; we do it in responses too).
 * - Each limit is checked at the byte that exceeds it, so the outcome (head or error code) is the
 *   same however the input is split into chunks.
 *
 * @see RFC 7230 §3 (message format), §3.2 (header fields) and §3.5 (message parsing robustness)
 * @module
 */
import {
  HandshakeError,
  HandshakeErrorCodes,
  quoteForMessage,
  type HandshakeErrorCode,
} from "./handshake-error.js";
import { isToken } from "./header-grammar.js";
import type { HttpHeader } from "./http-header.js";

export type { HttpHeader } from "./http-header.js";

/**
 * Size limits for one HTTP head; all are positive integers counted in bytes or fields.
 *
 * @see RFC 6455 §10 (security); RFC 6585 §5 (431); SPEC.md P9, G15
 */
export interface HttpHeadLimits {
  /** The longest line (start line or header field), CRLF included. Default 8 KiB. */
  readonly maxLineBytes?: number;
  /** The most header fields. Default 100. */
  readonly maxHeaderCount?: number;
  /** The longest head, from the first byte to the blank line's CRLF included. Default 16 KiB. */
  readonly maxHeadBytes?: number;
}

/**
 * The default head limits: 8 KiB lines, 100 fields, 16 KiB in all. They are generous for a
 * WebSocket handshake (a browser's is well under 2 KiB) while bounding what a slow or hostile
 * peer can make us hold (SPEC.md P9, G15).
 *
 * @see RFC 6585 §5 (431 Request Header Fields Too Large)
 */
export const DEFAULT_HTTP_HEAD_LIMITS: Readonly<Required<HttpHeadLimits>> = Object.freeze({
  maxLineBytes: 8 * 1024,
  maxHeaderCount: 100,
  maxHeadBytes: 16 * 1024,
});

/**
 * Which kind of head a parser reads: a request (server side) or a response (client side).
 *
 * @see RFC 7230 §3.1
 */
export type HttpHeadKind = "request" | "response";

/**
 * A parsed request head, as a server receives it.
 *
 * @see RFC 7230 §3.1.1; RFC 6455 §4.2.1
 */
export interface HttpRequestHead {
  readonly kind: "request";
  /** The method token, e.g. `GET` (case-sensitive, as received). */
  readonly method: string;
  /** The request-target, e.g. `/chat?room=1`. */
  readonly target: string;
  /** The protocol version without the `HTTP/` prefix, e.g. `1.1` (as Node's `httpVersion`). */
  readonly httpVersion: string;
  /** Every header field, in order. */
  readonly headers: HttpHeader[];
  /** The bytes after the head in the last chunk pushed: a view of that chunk, not a copy. */
  readonly rest: Uint8Array;
}

/**
 * A parsed response head, as a client receives it.
 *
 * @see RFC 7230 §3.1.2; RFC 6455 §4.1
 */
export interface HttpResponseHead {
  readonly kind: "response";
  /** The protocol version without the `HTTP/` prefix, e.g. `1.1`. */
  readonly httpVersion: string;
  /** The three-digit status code. */
  readonly status: number;
  /** The reason phrase, possibly empty. */
  readonly statusText: string;
  /** Every header field, in order. */
  readonly headers: HttpHeader[];
  /** The bytes after the head in the last chunk pushed: a view of that chunk, not a copy. */
  readonly rest: Uint8Array;
}

/**
 * The head type a parser of each kind returns.
 *
 * @see RFC 7230 §3.1
 */
export interface HttpHeadByKind {
  request: HttpRequestHead;
  response: HttpResponseHead;
}

interface RequestLine {
  readonly method: string;
  readonly target: string;
  readonly httpVersion: string;
}

interface StatusLine {
  readonly httpVersion: string;
  readonly status: number;
  readonly statusText: string;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

/**
 * Decodes `bytes[start, end)` as latin1, one code unit per byte. A host may supply a native
 * one (Node: `Buffer.prototype.latin1Slice`); {@link decodeLatin1Range} is the portable default.
 *
 * @see RFC 7230 §3.2.4
 */
export type Latin1Decoder = (bytes: Uint8Array, start: number, end: number) => string;

const NO_BYTES = new Uint8Array(0);

/**
 * Parses one HTTP/1.1 head incrementally from chunks of any size, down to one byte at a time.
 * {@link HttpHeadParser.push} returns `undefined` until the blank line that ends the head has
 * arrived, then the parsed head; the bytes after it come back as `rest` for the next layer.
 *
 * A line that arrives whole in one chunk is decoded straight from that chunk (no copy, no view
 * object); only a line split across chunks is copied, into one buffer reused for every line.
 *
 * @see RFC 7230 §3 (HTTP-message = start-line *( header-field CRLF ) CRLF [ message-body ])
 */
export class HttpHeadParser<K extends HttpHeadKind> {
  readonly #kind: K;
  readonly #maxLineBytes: number;
  readonly #maxHeaderCount: number;
  readonly #maxHeadBytes: number;
  readonly #decode: Latin1Decoder;
  /**
   * A copy of the line in progress, `[0, #lineBytes)`, whose bytes arrived in earlier chunks. It
   * grows by doubling, never past `maxLineBytes`, so one-byte chunks cost no per-chunk object.
   */
  #line = NO_BYTES;
  #lineBytes = 0;
  #headBytes = 0;
  /** The parsed start line, once its line is complete (it is checked at once, not at the end). */
  #startLine: RequestLine | StatusLine | undefined;
  readonly #headers: HttpHeader[] = [];
  #isComplete = false;
  #failure: HandshakeError | undefined;

  /**
   * Creates a parser for a request head (server side) or a response head (client side).
   *
   * @param kind - `"request"` or `"response"`.
   * @param limits - Overrides for {@link DEFAULT_HTTP_HEAD_LIMITS}.
   * @param decode - How to decode latin1 bytes (default {@link decodeLatin1Range}); a host with a
   *   native decoder passes it for speed. It must decode exactly one code unit per byte.
   * @throws {RangeError} if a limit is not a positive safe integer (the options layer validates
   *   user input first; this guards the core against NaN silently disabling a limit).
   */
  constructor(kind: K, limits: HttpHeadLimits = {}, decode: Latin1Decoder = decodeLatin1Range) {
    this.#kind = kind;
    this.#maxLineBytes = checkLimit("maxLineBytes", limits.maxLineBytes);
    this.#maxHeaderCount = checkLimit("maxHeaderCount", limits.maxHeaderCount);
    this.#maxHeadBytes = checkLimit("maxHeadBytes", limits.maxHeadBytes);
    this.#decode = decode;
  }

  /**
   * Feeds the next chunk of input. Bytes that belong to the head are consumed (a partial line
   * is copied, so the caller may reuse `chunk`); bytes after the head are returned untouched as
   * `rest`. An empty chunk is a no-op.
   *
   * @param chunk - The next bytes received.
   * @returns `undefined` while the head is incomplete, then the parsed head.
   * @throws {HandshakeError} `ERR_WS_HTTP_LINE_TOO_LONG`, `ERR_WS_HTTP_TOO_MANY_HEADERS` or
   *   `ERR_WS_HTTP_HEAD_TOO_LARGE` (status 431 for a request) when a limit is exceeded, and
   *   `ERR_WS_HTTP_MALFORMED` (400) for a syntax error. Once it has thrown, every later call
   *   throws the same error.
   * @throws {Error} if called again after the head was returned (a caller bug).
   * @see RFC 7230 §3.5
   */
  push(chunk: Uint8Array): HttpHeadByKind[K] | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#isComplete) throw new Error("HttpHeadParser: the head has already been parsed");
    try {
      return this.#parse(chunk);
    } catch (error) {
      if (error instanceof HandshakeError) this.#failure = error;
      throw error;
    }
  }

  #parse(chunk: Uint8Array): HttpHeadByKind[K] | undefined {
    let offset = 0;
    // chunk[textAt, textAt + text.length) decoded once (at most what the head may still hold),
    // so that every line that lies whole in this chunk is read from one string: a head that
    // arrives in one chunk costs one decode, and its lines and fields are substrings.
    let text = "";
    let textAt = 0;
    let decoded = false;
    while (offset < chunk.length) {
      let lf = -1;
      if (this.#lineBytes === 0) {
        if (!decoded) {
          decoded = true;
          textAt = offset;
          const budget = Math.max(0, this.#maxHeadBytes - this.#headBytes);
          text = this.#decode(chunk, offset, Math.min(chunk.length, offset + budget));
        }
        const at = text.indexOf("\n", offset - textAt);
        if (at !== -1) lf = textAt + at;
        else if (textAt + text.length < chunk.length) lf = chunk.indexOf(LF, offset);
      } else {
        lf = chunk.indexOf(LF, offset);
      }
      const end = lf === -1 ? chunk.length : lf + 1;
      // Each limit trips at a byte position, and the earlier one wins, so that splitting the
      // input differently can never change which error is reported.
      const lineLimitAt = offset + this.#maxLineBytes - this.#lineBytes;
      const headLimitAt = offset + this.#maxHeadBytes - this.#headBytes;
      if (lineLimitAt < end && lineLimitAt <= headLimitAt) {
        throw this.#error(
          "ERR_WS_HTTP_LINE_TOO_LONG",
          `a line exceeds ${this.#maxLineBytes} bytes`,
        );
      }
      if (headLimitAt < end) {
        throw this.#error(
          "ERR_WS_HTTP_HEAD_TOO_LARGE",
          `the head exceeds ${this.#maxHeadBytes} bytes`,
        );
      }
      this.#headBytes += end - offset;
      if (lf === -1) {
        this.#appendToLine(chunk, offset, chunk.length);
        return undefined;
      }
      // The line (LF excluded) is line[from, to): in the chunk's text, or decoded from #line
      // when it began in an earlier chunk.
      let line = text;
      let from = offset - textAt;
      let to = lf - textAt;
      if (this.#lineBytes > 0) {
        this.#appendToLine(chunk, offset, lf);
        line = this.#decode(this.#line, 0, this.#lineBytes);
        from = 0;
        to = this.#lineBytes;
        this.#lineBytes = 0;
      }
      offset = end;
      // RFC 7230 §3.5 allows accepting a bare LF; we do not (see the module comment).
      if (to === from || line.charCodeAt(to - 1) !== CR) {
        throw this.#malformed("a line ends in a bare LF instead of CRLF");
      }
      to--;
      // The first CR from `from` on is the line's own (at `to`) unless there is a bare one.
      if (line.indexOf("\r", from) < to) throw this.#malformed("a line contains a bare CR");
      if (to === from) {
        if (this.#startLine === undefined) {
          throw this.#malformed("the head starts with an empty line");
        }
        this.#isComplete = true;
        return this.#finish(chunk.subarray(offset));
      }
      if (this.#startLine === undefined) {
        const startLine = line.slice(from, to);
        this.#startLine =
          this.#kind === "request"
            ? this.#parseRequestLine(startLine)
            : this.#parseStatusLine(startLine);
      } else {
        if (this.#headers.length === this.#maxHeaderCount) {
          throw this.#error(
            "ERR_WS_HTTP_TOO_MANY_HEADERS",
            `the head has more than ${this.#maxHeaderCount} header fields`,
          );
        }
        this.#headers.push(this.#parseHeaderLine(line, from, to));
      }
    }
    return undefined;
  }

  /**
   * Copies `bytes[start, end)` after the line in progress; the limit checks keep it within
   * `maxLineBytes`.
   */
  #appendToLine(bytes: Uint8Array, start: number, end: number): void {
    const needed = this.#lineBytes + (end - start);
    if (needed > this.#line.length) {
      const capacity = Math.max(needed, this.#line.length * 2, 64);
      const grown = new Uint8Array(Math.min(capacity, this.#maxLineBytes));
      grown.set(this.#line.subarray(0, this.#lineBytes));
      this.#line = grown;
    }
    this.#line.set(
      start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end),
      this.#lineBytes,
    );
    this.#lineBytes = needed;
  }

  /**
   * Parses the header line `line[from, to)` (CRLF excluded, already checked for bare CRs): the
   * name and the value without OWS are substrings, no string is made for the whole line.
   */
  #parseHeaderLine(line: string, from: number, to: number): HttpHeader {
    const first = line.charCodeAt(from);
    if (first === SP || first === HTAB) {
      // RFC 7230 §3.2.4: obs-fold is deprecated; a server must reject it (or replace it), and
      // folding has no use in a handshake, so both roles refuse it.
      throw this.#malformed("obsolete line folding is not allowed");
    }
    const colon = line.indexOf(":", from);
    if (colon === -1 || colon >= to) throw this.#malformed("a header line has no colon");
    const name = line.slice(from, colon);
    // Also catches whitespace between the name and the colon (RFC 7230 §3.2.4 MUST reject).
    if (!isToken(name))
      throw this.#malformed(`header name ${quoteForMessage(name)} is not a token`);
    let start = colon + 1;
    let end = to;
    while (start < end && isOws(line.charCodeAt(start))) start++;
    while (end > start && isOws(line.charCodeAt(end - 1))) end--;
    const value = line.slice(start, end);
    if (value.includes("\0")) throw this.#malformed(`header ${name} contains NUL`);
    return [name, value];
  }

  #finish(rest: Uint8Array): HttpHeadByKind[K] {
    const startLine = this.#startLine!;
    const headers = this.#headers;
    const head: HttpRequestHead | HttpResponseHead =
      "method" in startLine
        ? {
            kind: "request",
            method: startLine.method,
            target: startLine.target,
            httpVersion: startLine.httpVersion,
            headers,
            rest,
          }
        : {
            kind: "response",
            httpVersion: startLine.httpVersion,
            status: startLine.status,
            statusText: startLine.statusText,
            headers,
            rest,
          };
    return head as HttpHeadByKind[K];
  }

  // request-line = method SP request-target SP HTTP-version   (RFC 7230 §3.1.1)
  #parseRequestLine(line: string): RequestLine {
    // Exactly two spaces (as `line.split(" ")` giving three parts), without building an array.
    const first = line.indexOf(" ");
    const second = first === -1 ? -1 : line.indexOf(" ", first + 1);
    if (second === -1 || line.includes(" ", second + 1))
      throw this.#malformed("the request line is not `method target version`");
    const method = line.slice(0, first);
    const target = line.slice(first + 1, second);
    if (!isToken(method)) throw this.#malformed("the method is not a token");
    if (!/^[\x21-\x7e]+$/.test(target)) throw this.#malformed("the request target is invalid");
    return { method, target, httpVersion: this.#parseVersion(line.slice(second + 1)) };
  }

  // status-line = HTTP-version SP status-code SP reason-phrase   (RFC 7230 §3.1.2)
  // The SP before an empty reason phrase is optional here (RFC 9112 §4 asks clients to cope).
  #parseStatusLine(line: string): StatusLine {
    const match = /^(\S*) ([1-9][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?$/.exec(line);
    if (match === null) throw this.#malformed("the status line is not `version status reason`");
    return {
      httpVersion: this.#parseVersion(match[1]!),
      status: Number(match[2]),
      statusText: match[3] ?? "",
    };
  }

  // HTTP-version = "HTTP/" DIGIT "." DIGIT   (RFC 7230 §2.6); whether it is acceptable is for
  // the handshake to decide.
  #parseVersion(version: string): string {
    if (version === "HTTP/1.1") return "1.1";
    const match = /^HTTP\/([0-9]\.[0-9])$/.exec(version);
    if (match === null) throw this.#malformed("the HTTP version is invalid");
    return match[1]!;
  }

  #malformed(problem: string): HandshakeError {
    return this.#error("ERR_WS_HTTP_MALFORMED", `malformed HTTP ${this.#kind} head: ${problem}`);
  }

  /** Head errors carry a status only for a request: a client does not answer a bad response. */
  #error(code: HandshakeErrorCode, message: string): HandshakeError {
    const status: number | undefined = HandshakeErrorCodes[code];
    return new HandshakeError(
      code,
      message,
      this.#kind === "request" && status !== undefined ? { status } : {},
    );
  }
}

function checkLimit(name: keyof HttpHeadLimits, value: number | undefined): number {
  if (value === undefined) return DEFAULT_HTTP_HEAD_LIMITS[name];
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Returns every value of the header `name`, compared ASCII-case-insensitively, in order.
 *
 * @param headers - Header fields as `[name, value]`.
 * @param name - The header name to look up, in any case.
 * @see RFC 7230 §3.2 (field names are case-insensitive); RFC 6455 §4.1 (SPEC.md F26)
 */
export function getHeaderValues(
  headers: ReadonlyArray<readonly [string, string]>,
  name: string,
): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [fieldName, value] of headers) {
    if (fieldName.toLowerCase() === wanted) values.push(value);
  }
  return values;
}

/**
 * Serializes an HTTP head: the start line, each `name: value` field, then the blank line, all
 * with CRLF and encoded as latin1. Callers must have validated every part (tokens, no CR, LF or
 * NUL, nothing above U+00FF): this function does not check.
 *
 * @param startLine - The request line or status line, without CRLF.
 * @param headers - The header fields, in order.
 * @see RFC 7230 §3
 */
export function serializeHead(
  startLine: string,
  headers: ReadonlyArray<readonly [string, string]>,
): Uint8Array {
  let text = `${startLine}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return encodeLatin1(`${text}\r\n`);
}

/**
 * Encodes `text` as latin1, one byte per code unit. Code units above U+00FF must have been
 * refused before (they are truncated to their low byte here).
 *
 * @param text - The text to encode.
 *
 * @see RFC 7230 §3.2.4 (field values are octets; obs-text is latin1 at most)
 */
export function encodeLatin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Decodes `bytes` as latin1, one code unit per byte (ISO-8859-1, not windows-1252).
 *
 * @param bytes - The bytes to decode.
 *
 * @see RFC 7230 §3.2.4
 */
export function decodeLatin1(bytes: Uint8Array): string {
  return decodeLatin1Range(bytes, 0, bytes.length);
}

/**
 * Decodes `bytes[start, end)` as latin1, one code unit per byte (the portable
 * {@link Latin1Decoder}).
 *
 * @param bytes - The bytes to decode.
 * @param start - The first index.
 * @param end - The index after the last.
 *
 * @see RFC 7230 §3.2.4
 */
export function decodeLatin1Range(bytes: Uint8Array, start: number, end: number): string {
  // `apply` takes a typed array as its argument list directly (a spread would iterate it);
  // chunks keep the argument count well under engine limits.
  const CHUNK = 4096;
  let text = "";
  for (let i = start; i < end; i += CHUNK) {
    text += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[],
    );
  }
  return text;
}

/**
 * Concatenates byte arrays into a new one.
 *
 * @param parts - The arrays, in order.
 *
 * @see RFC 6455 §4.2.2 (a response head and its body are one write)
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
