/**
 * The server side of the opening handshake, sans-I/O: check an upgrade request, then build
 * either the 101 that accepts it or a complete HTTP error response that rejects it. Choosing a
 * subprotocol, negotiating extensions, checking `Origin` and routing on the resource name are
 * the caller's decisions (SPEC.md G6–G10); this module only enforces the protocol's rules.
 *
 * @see RFC 6455 §4.2
 * @module
 */
import { strictBase64Length } from "../base64.js";
import type { Sha1 } from "../ports.js";
import { computeAccept, WEBSOCKET_VERSION } from "./client-handshake.js";
import {
  HandshakeError,
  HandshakeErrorCodes,
  quoteForMessage,
  type HandshakeErrorCode,
} from "./handshake-error.js";
import {
  equalsLowerAscii,
  isToken,
  listHasElement,
  parseExtensions,
  parseProtocolList,
  trimOws,
  validateUserHeaders,
  type ParsedExtension,
} from "./header-grammar.js";
import {
  concatBytes,
  encodeLatin1,
  getHeaderValues,
  serializeHead,
  type HttpHeader,
} from "./http-head.js";

/**
 * The parts of a request head the checks need; Node's `IncomingMessage` maps onto it.
 *
 * @see RFC 6455 §4.2.1
 */
export interface UpgradeRequest {
  /** The method, e.g. `GET`. */
  readonly method: string;
  /** The version without `HTTP/`, e.g. `1.1` (Node's `req.httpVersion`). */
  readonly httpVersion: string;
  /** Every header field in order, duplicates included (Node's `req.rawHeaders`, paired). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/**
 * An upgrade request that passed every check: what the application needs to decide.
 *
 * @see RFC 6455 §4.2.2 (what the server decides on)
 */
export interface AcceptableUpgradeRequest {
  readonly ok: true;
  /** The `Sec-WebSocket-Key`, to pass to {@link buildAcceptResponse}. */
  readonly key: string;
  /** The requested subprotocols, in the client's order (possibly none). */
  readonly protocols: string[];
  /** The client's extension offer, parsed, in order (possibly empty). */
  readonly extensions: ParsedExtension[];
  /** The `Origin` header, if the client sent one (browsers always do). */
  readonly origin: string | undefined;
}

/**
 * An upgrade request that must be refused, and how to refuse it.
 *
 * @see RFC 6455 §4.2.1 and §4.4
 */
export interface RejectedUpgradeRequest {
  readonly ok: false;
  /** The stable code of the first rule broken. */
  readonly code: HandshakeErrorCode;
  /** The HTTP status to answer with (400, 405 or 426). */
  readonly status: number;
  /** Headers the answer must carry (`Allow` for 405; `Sec-WebSocket-Version` for 426). */
  readonly headers: HttpHeader[];
  /** Why, for logs or a plain-text body. */
  readonly message: string;
}

/**
 * The outcome of {@link validateUpgradeRequest}.
 *
 * @see RFC 6455 §4.2.1
 */
export type UpgradeRequestValidation = AcceptableUpgradeRequest | RejectedUpgradeRequest;

/**
 * Checks an upgrade request against RFC 6455 §4.2.1, in its order, and reports the first rule
 * broken as an HTTP answer:
 * - not `GET` → 405 with `Allow: GET` (RFC 9110 §15.5.6 requires the `Allow`);
 * - older than HTTP/1.1 → 400;
 * - no `Host`, or more than one (RFC 9112 §3.2) → 400;
 * - `Upgrade` without a `websocket` token, or `Connection` without `upgrade` → 400;
 * - not exactly one `Sec-WebSocket-Key` that strictly base64-decodes to 16 bytes → 400;
 * - not exactly one `Sec-WebSocket-Version` equal to 13 → 426 with `Sec-WebSocket-Version: 13`
 *   and `Upgrade: websocket` (RFC 9110 §15.5.22 requires `Upgrade` on a 426); a repeated
 *   version header is a 400;
 * - a malformed `Sec-WebSocket-Protocol` list (empty, non-token or repeated element) → 400;
 * - a `Sec-WebSocket-Extensions` offer that breaks the §9.1 ABNF → 400;
 * - more than one `Origin` → 400, since an allow-list check on one of two origins is unsound.
 *
 * @param request - The method, version and headers of the request.
 * @returns `{ ok: true, … }` with what the application decides on, or `{ ok: false, … }`
 *   describing the rejection (send it with {@link buildRejectResponse}).
 * @see RFC 6455 §4.2.1, §4.4, §9.1 and §11.3; SPEC.md G1–G5, G10
 */
export function validateUpgradeRequest(request: UpgradeRequest): UpgradeRequestValidation {
  const fields: string[] = [];
  for (const [name, value] of request.headers) fields.push(name, value);
  return validateRawUpgradeRequest(request.method, request.httpVersion, fields);
}

/**
 * {@link validateUpgradeRequest} for headers given as one flat list of names and values (Node's
 * `req.rawHeaders`), which saves pairing them up on every handshake.
 *
 * @param method - The method, e.g. `GET`.
 * @param httpVersion - The version without `HTTP/`, e.g. `1.1`.
 * @param rawHeaders - Every header field in order, duplicates included: name, value, name, …
 */
export function validateRawUpgradeRequest(
  method: string,
  httpVersion: string,
  rawHeaders: readonly string[],
): UpgradeRequestValidation {
  try {
    return checkUpgradeRequest(method, httpVersion, rawHeaders);
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    const headers: HttpHeader[] = [];
    if (error.code === "ERR_WS_HANDSHAKE_METHOD") headers.push(["Allow", "GET"]);
    if (error.code === "ERR_WS_HANDSHAKE_VERSION") {
      headers.push(["Sec-WebSocket-Version", WEBSOCKET_VERSION], ["Upgrade", "websocket"]);
    }
    return {
      ok: false,
      code: error.code,
      // Every code checkUpgradeRequest and the grammar functions raise has a status in the table.
      status: HandshakeErrorCodes[error.code]!,
      headers,
      message: error.message,
    };
  }
}

/** The request headers the checks read, by index in {@link REQUEST_HEADER_NAMES}. */
const HOST = 0;
const UPGRADE = 1;
const CONNECTION = 2;
const KEY = 3;
const VERSION = 4;
const PROTOCOL = 5;
const EXTENSIONS = 6;
const ORIGIN = 7;
const REQUEST_HEADER_NAMES = [
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "origin",
] as const;

/** The index in {@link REQUEST_HEADER_NAMES} of a field name (any case), or -1. */
function requestHeaderIndex(name: string): number {
  for (let i = 0; i < REQUEST_HEADER_NAMES.length; i++) {
    if (equalsLowerAscii(name, 0, name.length, REQUEST_HEADER_NAMES[i]!)) return i;
  }
  return -1;
}

/** {@link listHasElement} over every field line of a header (one value or several). */
function hasListElement(values: FieldValues, lower: string): boolean {
  if (values === undefined) return false;
  if (typeof values === "string") return listHasElement(values, lower);
  for (const value of values) if (listHasElement(value, lower)) return true;
  return false;
}

/** The values of one header: none, the only one, or every one in order (when repeated). */
type FieldValues = string | readonly string[] | undefined;

/**
 * The values of the header at `index`: `first` unless it was repeated (a bit of `repeated`),
 * in which case every value is gathered, in order (rare: a second pass over the fields).
 */
function fieldValues(
  rawHeaders: readonly string[],
  index: number,
  first: string | undefined,
  repeated: number,
): FieldValues {
  if ((repeated & (1 << index)) === 0) return first;
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (requestHeaderIndex(rawHeaders[i]!) === index) values.push(rawHeaders[i + 1]!);
  }
  return values;
}

/** A header that may appear at most once: its value without OWS, or a duplicate error. */
function atMostOne(
  index: number,
  first: string | undefined,
  repeated: number,
  name: string,
): string | undefined {
  if ((repeated & (1 << index)) !== 0) {
    throw new HandshakeError(
      "ERR_WS_HANDSHAKE_DUPLICATE_HEADER",
      `the request has more than one ${name}`,
    );
  }
  return first === undefined ? undefined : trimOws(first);
}

function checkUpgradeRequest(
  method: string,
  httpVersion: string,
  rawHeaders: readonly string[],
): AcceptableUpgradeRequest {
  // One pass over the fields for the ones the checks read: the first value of each, and a bit
  // for each that is repeated (whose values are then gathered in order). No array, no closure.
  let host: string | undefined;
  let upgrade: string | undefined;
  let connection: string | undefined;
  let key: string | undefined;
  let version: string | undefined;
  let protocol: string | undefined;
  let extensions: string | undefined;
  let origin: string | undefined;
  let seen = 0;
  let repeated = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const index = requestHeaderIndex(rawHeaders[i]!);
    if (index < 0) continue;
    const bit = 1 << index;
    if ((seen & bit) !== 0) {
      repeated |= bit;
      continue;
    }
    seen |= bit;
    const value = rawHeaders[i + 1]!;
    switch (index) {
      case HOST:
        host = value;
        break;
      case UPGRADE:
        upgrade = value;
        break;
      case CONNECTION:
        connection = value;
        break;
      case KEY:
        key = value;
        break;
      case VERSION:
        version = value;
        break;
      case PROTOCOL:
        protocol = value;
        break;
      case EXTENSIONS:
        extensions = value;
        break;
      default:
        origin = value;
    }
  }

  // Item 1 (G1): a GET request at HTTP/1.1 or later. Methods are case-sensitive.
  if (method !== "GET") {
    throw new HandshakeError(
      "ERR_WS_HANDSHAKE_METHOD",
      `the method is ${quoteForMessage(method)}, not GET`,
    );
  }
  if (httpVersion !== "1.1") {
    const parts = /^([0-9]+)\.([0-9]+)$/.exec(httpVersion);
    const major = Number(parts?.[1] ?? 0);
    const minor = Number(parts?.[2] ?? 0);
    if (major < 1 || (major === 1 && minor < 1)) {
      throw new HandshakeError(
        "ERR_WS_HANDSHAKE_HTTP_VERSION",
        `HTTP/${quoteForMessage(httpVersion)} is older than HTTP/1.1`,
      );
    }
  }
  // Item 2 (G2): the server's authority, exactly once.
  const hostValue = atMostOne(HOST, host, repeated, "Host");
  if (hostValue === undefined || hostValue === "") {
    throw new HandshakeError("ERR_WS_HANDSHAKE_HOST", "the request has no Host header");
  }
  // Items 3–4 (G3): the tokens may sit in longer lists, e.g. `Connection: keep-alive, Upgrade`.
  if (!hasListElement(fieldValues(rawHeaders, UPGRADE, upgrade, repeated), "websocket")) {
    throw new HandshakeError(
      "ERR_WS_HANDSHAKE_UPGRADE",
      'the request\'s Upgrade has no "websocket" token',
    );
  }
  if (!hasListElement(fieldValues(rawHeaders, CONNECTION, connection, repeated), "upgrade")) {
    throw new HandshakeError(
      "ERR_WS_HANDSHAKE_CONNECTION",
      'the request\'s Connection has no "upgrade" token',
    );
  }
  // Item 5 (G4): strict padded base64 of a 16-byte nonce, i.e. 24 characters ending "==".
  const keyValue = atMostOne(KEY, key, repeated, "Sec-WebSocket-Key");
  if (keyValue === undefined) {
    throw new HandshakeError("ERR_WS_HANDSHAKE_KEY", "the request has no Sec-WebSocket-Key header");
  }
  if (strictBase64Length(keyValue) !== 16) {
    throw new HandshakeError(
      "ERR_WS_HANDSHAKE_KEY",
      `Sec-WebSocket-Key ${quoteForMessage(keyValue)} is not base64 of 16 bytes`,
    );
  }
  // Item 6 (G5): version 13 only; anything else gets a 426 naming the version we speak.
  const wsVersion = atMostOne(VERSION, version, repeated, "Sec-WebSocket-Version");
  if (wsVersion !== WEBSOCKET_VERSION) {
    throw new HandshakeError(
      "ERR_WS_HANDSHAKE_VERSION",
      wsVersion === undefined
        ? "the request has no Sec-WebSocket-Version header"
        : `Sec-WebSocket-Version ${quoteForMessage(wsVersion)} is not supported (only 13)`,
    );
  }
  // §11.3.4 and §11.3.2: both may appear several times in a request, as one combined list.
  const protocolValues = fieldValues(rawHeaders, PROTOCOL, protocol, repeated);
  const protocols = protocolValues === undefined ? [] : parseProtocolList(protocolValues);
  const extensionValues = fieldValues(rawHeaders, EXTENSIONS, extensions, repeated);
  const offers = extensionValues === undefined ? [] : parseExtensions(extensionValues);
  const originValue = atMostOne(ORIGIN, origin, repeated, "Origin");
  return { ok: true, key: keyValue, protocols, extensions: offers, origin: originValue };
}

const NO_HEADERS: readonly HttpHeader[] = Object.freeze([]);

/** Response headers the handshake owns; extra headers may not set them (SPEC.md P17). */
function isReservedAcceptHeader(name: string): boolean {
  return (
    name === "host" ||
    name === "upgrade" ||
    name === "connection" ||
    name.startsWith("sec-websocket-") ||
    // RFC 9110 §8.6 and RFC 9112 §6.1: no framing headers on a 1xx response.
    name === "content-length" ||
    name === "transfer-encoding"
  );
}

/**
 * What the server chose, for {@link buildAcceptResponse}.
 *
 * @see RFC 6455 §4.2.2 step 5
 */
export interface AcceptResponseOptions {
  /** The chosen subprotocol: one of the client's, byte for byte. Left out when absent or `""`. */
  readonly protocol?: string;
  /** The accepted extensions as a header value. Left out when absent or `""`. */
  readonly extensions?: string;
  /** Extra header fields, sent after the handshake's own. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

/**
 * Builds the 101 that accepts an upgrade: `HTTP/1.1 101 Switching Protocols`, `Upgrade`,
 * `Connection`, `Sec-WebSocket-Accept`, then `Sec-WebSocket-Protocol` and
 * `Sec-WebSocket-Extensions` when chosen (never empty), then the extra headers. Once it is
 * written the connection is open (SPEC.md G12). The caller must choose the subprotocol from the
 * request's list and the extensions from its offer (G9, G10); this function does not know them.
 *
 * @param key - The validated `Sec-WebSocket-Key` from {@link validateUpgradeRequest}.
 * @param options - The chosen subprotocol and extensions, and extra headers.
 * @param sha1 - The SHA-1 port, for the accept value.
 * @throws {HandshakeError} `ERR_WS_INVALID_HEADER` if the subprotocol is not a token, the
 *   extensions break the §9.1 ABNF, or an extra header is invalid or sets `Upgrade`,
 *   `Connection`, `Sec-WebSocket-*`, `Host`, `Content-Length` or `Transfer-Encoding`.
 * @see RFC 6455 §4.2.2 step 5; SPEC.md G9, G11
 */
export function buildAcceptResponse(
  key: string,
  options: AcceptResponseOptions,
  sha1: Sha1,
): Uint8Array {
  return encodeLatin1(buildAcceptResponseHead(key, options, sha1));
}

/**
 * {@link buildAcceptResponse} as a string of latin1 code units (one per byte), for a host that
 * can write such a string without a copy (Node: `socket.write(head, "latin1")`).
 *
 * @throws {HandshakeError} as {@link buildAcceptResponse}
 */
export function buildAcceptResponseHead(
  key: string,
  options: AcceptResponseOptions,
  sha1: Sha1,
): string {
  const protocol = options.protocol ?? "";
  if (protocol !== "" && !isToken(protocol)) {
    throw new HandshakeError(
      "ERR_WS_INVALID_HEADER",
      `subprotocol ${quoteForMessage(protocol)} is not a token`,
    );
  }
  const extensions = trimOws(options.extensions ?? "");
  if (extensions !== "") {
    try {
      parseExtensions(extensions);
    } catch (error) {
      throw new HandshakeError(
        "ERR_WS_INVALID_HEADER",
        `extensions ${quoteForMessage(extensions)} break the RFC 6455 §9.1 ABNF`,
        { cause: error },
      );
    }
  }
  const extraHeaders =
    options.headers === undefined || options.headers.length === 0
      ? NO_HEADERS
      : validateUserHeaders(options.headers, isReservedAcceptHeader);
  // Written out rather than through serializeHead: this runs once per connection.
  let head =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${computeAccept(key, sha1)}\r\n`;
  if (protocol !== "") head += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  if (extensions !== "") head += `Sec-WebSocket-Extensions: ${extensions}\r\n`;
  for (const [name, value] of extraHeaders) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

/**
 * Reason phrases used when {@link buildRejectResponse} is given none.
 *
 * @see RFC 9110 §15 (status codes and their reason phrases)
 */
export const DEFAULT_STATUS_TEXTS: Readonly<Record<number, string>> = Object.freeze({
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
});

/** Response headers a rejection sets itself, for the framing to stay right. */
function isReservedRejectHeader(name: string): boolean {
  return name === "connection" || name === "content-length" || name === "transfer-encoding";
}

/**
 * How to word a rejection, for {@link buildRejectResponse}.
 *
 * @see RFC 6455 §4.2.1 and §4.2.2
 */
export interface RejectResponseOptions {
  /** The reason phrase; defaults to the standard one for common statuses, else empty. */
  readonly statusText?: string;
  /** Extra header fields, e.g. `Sec-WebSocket-Version` for a 426 or `Location` for a redirect. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** The body: a string is sent as UTF-8 with `Content-Type: text/plain; charset=utf-8`. */
  readonly body?: string | Uint8Array;
  /**
   * Write the head only, with the `Content-Type` and `Content-Length` the body would have: the
   * answer to a HEAD request (RFC 9110 §9.3.2).
   */
  readonly omitBody?: boolean;
}

/**
 * Builds a complete HTTP/1.1 response that refuses an upgrade: the status line, `Connection:
 * close`, `Content-Type` for a string body (unless given), `Content-Length`, the extra headers,
 * then the body. The caller writes it and closes TCP; it never sends a Close frame, as the
 * WebSocket connection never existed (SPEC.md G13). If the extra headers include `Upgrade` (as a
 * 426 must), the `Connection` field also lists `Upgrade` (RFC 9110 §7.8).
 *
 * @param status - A redirect or error status, 300–599 (a 1xx or 2xx would not be a refusal).
 * @param options - Reason phrase, extra headers and body.
 * @throws {HandshakeError} `ERR_WS_INVALID_STATUS` for a status outside 300–599 or a reason phrase
 *   with control characters; `ERR_WS_INVALID_HEADER` for an invalid extra header or one that
 *   sets `Connection`, `Content-Length` or `Transfer-Encoding`.
 * @see RFC 6455 §4.2.1 (what to answer) and §4.2.2; SPEC.md G5–G8, G13
 */
export function buildRejectResponse(
  status: number,
  options: RejectResponseOptions = {},
): Uint8Array {
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new HandshakeError(
      "ERR_WS_INVALID_STATUS",
      `status ${String(status)} is not a redirect or error status (300–599)`,
    );
  }
  const statusText = options.statusText ?? DEFAULT_STATUS_TEXTS[status] ?? "";
  // reason-phrase = *( HTAB / SP / VCHAR / obs-text )   (RFC 7230 §3.1.2)
  if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(statusText)) {
    throw new HandshakeError(
      "ERR_WS_INVALID_STATUS",
      `reason phrase ${quoteForMessage(statusText)} has a control or non-latin1 character`,
    );
  }
  const extraHeaders = validateUserHeaders(options.headers ?? [], isReservedRejectHeader);
  const body =
    typeof options.body === "string"
      ? new TextEncoder().encode(options.body)
      : (options.body ?? new Uint8Array(0));
  const hasUpgrade = getHeaderValues(extraHeaders, "Upgrade").length > 0;
  const headers: HttpHeader[] = [["Connection", hasUpgrade ? "Upgrade, close" : "close"]];
  if (
    typeof options.body === "string" &&
    getHeaderValues(extraHeaders, "Content-Type").length === 0
  ) {
    headers.push(["Content-Type", "text/plain; charset=utf-8"]);
  }
  headers.push(["Content-Length", String(body.length)], ...extraHeaders);
  const head = serializeHead(`HTTP/1.1 ${status} ${statusText}`, headers);
  return body.length === 0 || options.omitBody === true ? head : concatBytes([head, body]);
}
