/**
 * The small pieces of HTTP header grammar the opening handshake needs: tokens, comma lists,
 * the `Sec-WebSocket-Protocol` list and the `Sec-WebSocket-Extensions` ABNF, plus the rules for
 * header fields supplied by the application.
 *
 * @see RFC 6455 §4.3 (handshake ABNF) and §9.1 (extensions ABNF)
 * @see RFC 7230 §3.2.6 (token, quoted-string) and §7 (the `#rule` list extension)
 * @module
 */
import type { HttpHeader } from "./http-header.js";
import { HandshakeError, quoteForMessage } from "./handshake-error.js";

/**
 * One extension parameter: `[name, value]`, where a parameter without a value has `true`.
 *
 * @see RFC 6455 §9.1 (extension-param)
 */
export type ExtensionParam = readonly [name: string, value: string | true];

/**
 * One element of a `Sec-WebSocket-Extensions` list: an extension name and its parameters, in
 * order. Quoted parameter values are stored unescaped.
 *
 * @see RFC 6455 §9.1 (extension)
 */
export interface ParsedExtension {
  readonly name: string;
  readonly params: readonly ExtensionParam[];
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//       / DIGIT / ALPHA   (RFC 7230 §3.2.6)
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/**
 * Returns whether `text` is an RFC 7230 token: one or more tchars (letters, digits and
 * ``!#$%&'*+-.^_`|~``).
 *
 * @param text - The string to check.
 * @see RFC 7230 §3.2.6; RFC 6455 §4.3 and §9.1 use it for subprotocols and extension names
 */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    if (!isTchar(text.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * Whether `text[start, end)` equals the lower-case ASCII `lower`, ignoring the case of ASCII
 * letters (compared in place: no substring is made).
 */
export function equalsLowerAscii(text: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = text.charCodeAt(start + i);
    const w = lower.charCodeAt(i);
    if (c !== w && !(c >= 0x41 && c <= 0x5a && c + 0x20 === w)) return false;
  }
  return true;
}

/**
 * Whether one comma-separated list value (`#token`) has `lower` as an element, compared ASCII
 * case-insensitively; the same answer as `parseTokenList(value).some(…)` without building the
 * list or any substring.
 */
export function listHasElement(value: string, lower: string): boolean {
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    let from = start;
    let to = end;
    while (from < to && isOwsCode(value.charCodeAt(from))) from++;
    while (to > from && isOwsCode(value.charCodeAt(to - 1))) to--;
    if (equalsLowerAscii(value, from, to, lower)) return true;
    start = end + 1;
  }
  return false;
}

function isOwsCode(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Removes optional whitespace (SP and HTAB only) from both ends of `text`. Unlike
 * `String.prototype.trim`, it leaves other characters alone (e.g. U+00A0).
 *
 * @param text - A header value or list element.
 * @see RFC 7230 §3.2.3 (OWS) and §3.2.4 (OWS around field values is not part of the value)
 */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

/**
 * Returns whether `text` may be sent as a header field value: only HTAB, SP, visible ASCII and
 * obs-text (U+0080–U+00FF, which is sent as one latin1 byte). This is stricter than what is
 * accepted on receipt (where only NUL, CR and LF are refused): be strict in what you send.
 *
 * @param text - A value supplied by the application.
 * @see RFC 7230 §3.2 (field-value = *( field-content / obs-fold ))
 */
export function isFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < SP && c !== HTAB) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

function asList(values: string | readonly string[]): readonly string[] {
  return typeof values === "string" ? [values] : values;
}

/**
 * Splits comma-separated header values (e.g. `Connection: keep-alive, Upgrade`) into their
 * elements, with OWS trimmed and empty elements ignored. Several field lines count as one list
 * joined by commas. Elements are not checked: callers compare them (e.g. to `upgrade`) and an
 * odd element simply does not match.
 *
 * @param values - One header value, or every value of a header that appeared several times.
 * @see RFC 7230 §7 (recipients ignore empty list elements) and §3.2.2 (combining field lines)
 */
export function parseTokenList(values: string | readonly string[]): string[] {
  const elements: string[] = [];
  for (const value of asList(values)) {
    for (const part of value.split(",")) {
      const element = trimOws(part);
      if (element !== "") elements.push(element);
    }
  }
  return elements;
}

/**
 * Parses the subprotocols of a client's `Sec-WebSocket-Protocol` header field(s) (`1#token`),
 * keeping their order. Empty list elements are ignored, but each field line must name at least
 * one subprotocol.
 *
 * @param values - One header value, or every value of a header that appeared several times.
 * @throws {HandshakeError} `ERR_WS_HANDSHAKE_PROTOCOL` if a field line has no element, an element
 *   is not a token, or a subprotocol is repeated (compared case-sensitively, as subprotocols are
 *   matched case-sensitively).
 * @see RFC 6455 §4.3 (Sec-WebSocket-Protocol-Client = 1#token) and §11.3.4
 */
export function parseProtocolList(values: string | readonly string[]): string[] {
  const protocols: string[] = [];
  for (const value of asList(values)) {
    const elements = parseTokenList(value);
    if (elements.length === 0) {
      throw new HandshakeError(
        "ERR_WS_HANDSHAKE_PROTOCOL",
        "Sec-WebSocket-Protocol must name at least one subprotocol",
      );
    }
    for (const element of elements) {
      if (!isToken(element)) {
        throw new HandshakeError(
          "ERR_WS_HANDSHAKE_PROTOCOL",
          `Sec-WebSocket-Protocol element ${quoteForMessage(element)} is not a token`,
        );
      }
      if (protocols.includes(element)) {
        throw new HandshakeError(
          "ERR_WS_HANDSHAKE_PROTOCOL",
          `Sec-WebSocket-Protocol repeats ${quoteForMessage(element)}`,
        );
      }
      protocols.push(element);
    }
  }
  return protocols;
}

/** A cursor over one `Sec-WebSocket-Extensions` field value. */
class ExtensionScanner {
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  get isAtEnd(): boolean {
    return this.#pos >= this.#text.length;
  }

  /** The code unit at the cursor, or -1 at the end. */
  peek(): number {
    return this.#pos < this.#text.length ? this.#text.charCodeAt(this.#pos) : -1;
  }

  advance(): void {
    this.#pos++;
  }

  skipOws(): void {
    while (isOws(this.peek())) this.#pos++;
  }

  /** Reads a token at the cursor, or fails with `what` if there is none. */
  token(what: string): string {
    const start = this.#pos;
    while (isTchar(this.peek())) this.#pos++;
    if (this.#pos === start) throw this.error(`expected ${what}`);
    return this.#text.slice(start, this.#pos);
  }

  /** Reads a quoted-string at the cursor (which is on the opening DQUOTE), unescaped. */
  quotedString(): string {
    this.#pos++;
    let content = "";
    for (;;) {
      const c = this.peek();
      if (c === -1) throw this.error("unterminated quoted-string");
      this.#pos++;
      if (c === DQUOTE) return content;
      if (c === BACKSLASH) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        const escaped = this.peek();
        if (escaped === -1 || !isQuotedPairChar(escaped)) {
          throw this.error("invalid quoted-pair");
        }
        this.#pos++;
        content += String.fromCharCode(escaped);
      } else if (isQdtext(c)) {
        content += String.fromCharCode(c);
      } else {
        throw this.error("invalid character in quoted-string");
      }
    }
  }

  error(problem: string): HandshakeError {
    return new HandshakeError(
      "ERR_WS_HANDSHAKE_EXTENSIONS",
      `invalid Sec-WebSocket-Extensions ${quoteForMessage(this.#text)}: ${problem} at offset ${this.#pos}`,
    );
  }
}

// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text   (RFC 7230 §3.2.6)
function isQdtext(c: number): boolean {
  return (
    c === HTAB ||
    c === SP ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x5b) ||
    (c >= 0x5d && c <= 0x7e) ||
    (c >= 0x80 && c <= 0xff)
  );
}

function isQuotedPairChar(c: number): boolean {
  return c === HTAB || (c >= SP && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

/**
 * Parses `Sec-WebSocket-Extensions` header field(s): a list of `name *( ";" param [ "=" value ] )`,
 * where a value is a token or a quoted-string whose unescaped content is a token. OWS is allowed
 * around `,`, `;` and `=`; empty list elements are ignored, but each field line must hold at
 * least one extension. Parameters are returned as given (repeats included): whether they make
 * sense is for the extension itself to decide (e.g. RFC 7692 §7).
 *
 * @param values - One header value, or every value of a header that appeared several times.
 * @throws {HandshakeError} `ERR_WS_HANDSHAKE_EXTENSIONS` for any syntax error.
 * @see RFC 6455 §9.1 (the extension-list ABNF) and §11.3.2
 */
export function parseExtensions(values: string | readonly string[]): ParsedExtension[] {
  const extensions: ParsedExtension[] = [];
  for (const value of asList(values)) {
    const scanner = new ExtensionScanner(value);
    let countInLine = 0;
    for (;;) {
      scanner.skipOws();
      if (scanner.isAtEnd) break;
      if (scanner.peek() === 0x2c /* , */) {
        scanner.advance();
        continue;
      }
      extensions.push(parseExtension(scanner));
      countInLine++;
      scanner.skipOws();
      if (scanner.isAtEnd) break;
      if (scanner.peek() !== 0x2c /* , */) throw scanner.error('expected "," or ";"');
      scanner.advance();
    }
    // extension-list = 1#extension: a field line with no extension at all is not valid.
    if (countInLine === 0) throw scanner.error("expected an extension");
  }
  return extensions;
}

function parseExtension(scanner: ExtensionScanner): ParsedExtension {
  const name = scanner.token("an extension name");
  const params: ExtensionParam[] = [];
  scanner.skipOws();
  while (scanner.peek() === 0x3b /* ; */) {
    scanner.advance();
    scanner.skipOws();
    const paramName = scanner.token("a parameter name");
    scanner.skipOws();
    let paramValue: string | true = true;
    if (scanner.peek() === 0x3d /* = */) {
      scanner.advance();
      scanner.skipOws();
      if (scanner.peek() === DQUOTE) {
        paramValue = scanner.quotedString();
        // RFC 6455 §9.1: after unescaping, a quoted value must still be a token.
        if (!isToken(paramValue)) throw scanner.error("quoted value is not a token");
      } else {
        paramValue = scanner.token("a parameter value");
      }
      scanner.skipOws();
    }
    params.push([paramName, paramValue]);
  }
  return { name, params };
}

/**
 * Formats extensions as a `Sec-WebSocket-Extensions` value, e.g.
 * `permessage-deflate; client_max_window_bits=10, x-other`. Returns `""` for an empty list (the
 * header must then be left out, never sent empty).
 *
 * @param extensions - The extensions, in order.
 * @throws {HandshakeError} `ERR_WS_INVALID_HEADER` if a name, parameter name or value is not a token.
 * @see RFC 6455 §9.1
 */
export function formatExtensions(extensions: readonly ParsedExtension[]): string {
  return extensions
    .map(({ name, params }) => {
      const parts = [checkFormatToken(name, "extension name")];
      for (const [paramName, value] of params) {
        const param = checkFormatToken(paramName, "extension parameter name");
        parts.push(
          value === true
            ? param
            : `${param}=${checkFormatToken(value, "extension parameter value")}`,
        );
      }
      return parts.join("; ");
    })
    .join(", ");
}

function checkFormatToken(text: string, what: string): string {
  if (!isToken(text)) {
    throw new HandshakeError(
      "ERR_WS_INVALID_HEADER",
      `${what} ${quoteForMessage(text)} is not a token`,
    );
  }
  return text;
}

/**
 * Checks header fields supplied by the application before they are written: each name must be a
 * token, each value a valid field value ({@link isFieldValue}, so no CR, LF or NUL can inject
 * extra lines), and no name may be one the handshake owns. Returns a copy with values trimmed of
 * OWS (as Fetch normalizes header values).
 *
 * @param headers - The application's `[name, value]` pairs.
 * @param isReserved - Whether a lower-cased name is owned by the handshake and may not be given.
 * @throws {HandshakeError} `ERR_WS_INVALID_HEADER` for the first invalid or reserved field.
 * @see SPEC.md P17; RFC 7230 §3.2
 */
export function validateUserHeaders(
  headers: ReadonlyArray<readonly [string, string]>,
  isReserved: (lowerCaseName: string) => boolean,
): HttpHeader[] {
  return headers.map(([name, value]) => {
    if (!isToken(name)) {
      throw new HandshakeError(
        "ERR_WS_INVALID_HEADER",
        `header name ${quoteForMessage(name)} is not a token`,
      );
    }
    if (isReserved(name.toLowerCase())) {
      throw new HandshakeError(
        "ERR_WS_INVALID_HEADER",
        `header ${quoteForMessage(name)} is set by the WebSocket handshake and may not be given`,
      );
    }
    if (!isFieldValue(value)) {
      throw new HandshakeError(
        "ERR_WS_INVALID_HEADER",
        `header ${quoteForMessage(name)} has a value with a control or non-latin1 character`,
      );
    }
    return [name, trimOws(value)];
  });
}
