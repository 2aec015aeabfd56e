/**
 * The client side of the opening handshake, sans-I/O: build the upgrade request bytes, then read
 * and validate the server's response head. The transport writes {@link ClientRequest.bytes},
 * feeds every received chunk to {@link ClientHandshake.receive}, and hands `rest` (any frame
 * bytes that arrived with the head, SPEC.md F27) to the frame engine once the handshake succeeds.
 *
 * @see RFC 6455 §4.1
 * @see https://websockets.spec.whatwg.org/#concept-websocket-establish
 * @module
 */
import { encodeBase64 } from "../base64.js";
import type { RandomSource, Sha1 } from "../ports.js";
import {
  HandshakeError,
  quoteForMessage,
  type HandshakeErrorCode,
  type HandshakeResponseInfo,
} from "./handshake-error.js";
import {
  isFieldValue,
  isToken,
  parseExtensions,
  parseTokenList,
  trimOws,
  validateUserHeaders,
  type ParsedExtension,
} from "./header-grammar.js";
import {
  encodeLatin1,
  getHeaderValues,
  HttpHeadParser,
  serializeHead,
  type HttpHeader,
  type HttpHeadLimits,
  type HttpResponseHead,
} from "./http-head.js";

/**
 * The GUID appended to the key before hashing, fixed by RFC 6455 §1.3.
 *
 * @see RFC 6455 §1.3 and §4.2.2 step 5.4
 */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * The only protocol version sockwise speaks, sent as `Sec-WebSocket-Version`.
 *
 * @see RFC 6455 §4.1 (request item 9) and §11.3.5
 */
export const WEBSOCKET_VERSION = "13";

/**
 * Computes `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)). The key
 * `dGhlIHNhbXBsZSBub25jZQ==` gives `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
 *
 * @param key - The `Sec-WebSocket-Key` value, as sent.
 * @param sha1 - The SHA-1 port.
 * @see RFC 6455 §1.3 and §4.2.2 step 5.4
 */
export function computeAccept(key: string, sha1: Sha1): string {
  const text = key + WEBSOCKET_GUID;
  if (sha1.digestLatin1ToBase64 !== undefined) return sha1.digestLatin1ToBase64(text);
  return encodeBase64(sha1.digest(encodeLatin1(text)));
}

/**
 * What to put in the upgrade request; the host, port and resource come from the parsed URL.
 *
 * @see RFC 6455 §3 (URIs) and §4.1; SPEC.md F1
 */
export interface ClientRequestOptions {
  /** The URL's host as serialized in the URL (an IPv6 address keeps its brackets). */
  readonly host: string;
  /** The port to connect to; `:port` is added to `Host` only when it is not the default. */
  readonly port: number;
  /** Whether the URL is `wss:` (default port 443) rather than `ws:` (80). */
  readonly secure: boolean;
  /** The resource name: `/` + path, plus `?query` when the query is non-empty. */
  readonly resourceName: string;
  /** The requested subprotocols, in order of preference. */
  readonly protocols?: readonly string[];
  /** The extension offer, e.g. `permessage-deflate; client_max_window_bits`. */
  readonly extensions?: string;
  /** The `Origin` to send; none by default, since a Node process has no origin (SPEC.md F13). */
  readonly origin?: string;
  /** Extra header fields, sent after the handshake's own. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

/**
 * The capabilities {@link buildClientRequest} needs.
 *
 * @see RFC 6455 §4.1 (request item 7) and §10.8
 */
export interface ClientHandshakePorts {
  readonly random: RandomSource;
  readonly sha1: Sha1;
}

/**
 * A built upgrade request and what is needed to validate the response to it.
 *
 * @see RFC 6455 §4.1
 */
export interface ClientRequest {
  /** The exact request bytes to write. */
  readonly bytes: Uint8Array;
  /** The `Sec-WebSocket-Key` sent. */
  readonly key: string;
  /** The `Sec-WebSocket-Accept` the server must answer with. */
  readonly expectedAccept: string;
  /** The requested subprotocols, as sent. */
  readonly protocols: readonly string[];
  /** The extension offer, parsed. */
  readonly extensions: readonly ParsedExtension[];
}

/** Request headers the handshake owns; the application may not set them (SPEC.md P17). */
function isReservedRequestHeader(name: string): boolean {
  return (
    name === "host" ||
    name === "upgrade" ||
    name === "connection" ||
    name.startsWith("sec-websocket-")
  );
}

/**
 * Builds the client's upgrade request: `GET <resource> HTTP/1.1`, then `Host`, `Upgrade`,
 * `Connection`, `Sec-WebSocket-Key` (base64 of 16 fresh random bytes), `Sec-WebSocket-Version`,
 * `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` when non-empty, `Origin` when given,
 * and finally the application's own headers.
 *
 * @param options - The URL parts and the optional subprotocols, offer, origin and headers.
 * @param ports - The random source for the key and SHA-1 for the expected accept value.
 * @throws {HandshakeError} `ERR_WS_INVALID_HEADER` if the host, port or resource name cannot be
 *   sent safely, a subprotocol is not a token or is repeated, the extension offer breaks the
 *   ABNF, the origin is not a valid field value, or an extra header is invalid or overrides
 *   `Host`, `Upgrade`, `Connection`, `Sec-WebSocket-*` (or `Origin` when `origin` is given).
 * @see RFC 6455 §4.1 (the request's items 1–12); SPEC.md F6–F13, P3, P17
 */
export function buildClientRequest(
  options: ClientRequestOptions,
  ports: ClientHandshakePorts,
): ClientRequest {
  const { host, port, secure, resourceName } = options;
  if (!/^[\x21-\x7e]+$/.test(host) || /[/?#@\\]/.test(host)) {
    throw invalid(`host ${quoteForMessage(host)} is not a serialized URL host`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(`port ${String(port)} is not an integer from 1 to 65535`);
  }
  // The URL serializer percent-encodes everything else, so only visible ASCII can be valid.
  if (!/^\/[\x21-\x7e]*$/.test(resourceName)) {
    throw invalid(`resource name ${quoteForMessage(resourceName)} is not "/" + path [+ query]`);
  }
  const protocols = [...(options.protocols ?? [])];
  for (const [i, protocol] of protocols.entries()) {
    if (!isToken(protocol))
      throw invalid(`subprotocol ${quoteForMessage(protocol)} is not a token`);
    // Exact repeats only; the WHATWG constructor also refuses case-insensitive ones (SPEC.md A15).
    if (protocols.indexOf(protocol) !== i) {
      throw invalid(`subprotocol ${quoteForMessage(protocol)} is repeated`);
    }
  }
  const offer = trimOws(options.extensions ?? "");
  let extensions: ParsedExtension[] = [];
  if (offer !== "") {
    try {
      extensions = parseExtensions(offer);
    } catch (error) {
      throw invalid(
        `extension offer ${quoteForMessage(offer)} breaks the RFC 6455 §9.1 ABNF`,
        error,
      );
    }
  }
  const origin = options.origin ?? "";
  if (!isFieldValue(origin)) throw invalid("origin has a control or non-latin1 character");
  const extraHeaders = validateUserHeaders(
    options.headers ?? [],
    (name) => isReservedRequestHeader(name) || (origin !== "" && name === "origin"),
  );

  // F9 / P3: a fresh 16-byte nonce for every connection, from the injected random source.
  const nonce = new Uint8Array(16);
  ports.random.fill(nonce);
  const key = encodeBase64(nonce);

  const defaultPort = secure ? 443 : 80;
  const headers: HttpHeader[] = [
    ["Host", port === defaultPort ? host : `${host}:${port}`],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", WEBSOCKET_VERSION],
  ];
  if (protocols.length > 0) headers.push(["Sec-WebSocket-Protocol", protocols.join(", ")]);
  if (offer !== "") headers.push(["Sec-WebSocket-Extensions", offer]);
  if (origin !== "") headers.push(["Origin", origin]);
  headers.push(...extraHeaders);

  return {
    bytes: serializeHead(`GET ${resourceName} HTTP/1.1`, headers),
    key,
    expectedAccept: computeAccept(key, ports.sha1),
    protocols,
    extensions,
  };
}

function invalid(message: string, cause?: unknown): HandshakeError {
  return new HandshakeError("ERR_WS_INVALID_HEADER", message, cause === undefined ? {} : { cause });
}

/**
 * Checks the extensions a server accepted beyond the generic rules (e.g. permessage-deflate
 * parameters, SPEC.md N6). It runs once the accept value and the generic extension checks have
 * passed (before the subprotocol check), with an empty list when the server accepted no
 * extension, and throws to fail the handshake.
 *
 * @param accepted - The extensions in the response, parsed, in order.
 * @param offered - The extensions the client offered, parsed, in order.
 *
 * @see RFC 6455 §9.1; RFC 7692 §5 and §7
 */
export type ExtensionResponseValidator = (
  accepted: readonly ParsedExtension[],
  offered: readonly ParsedExtension[],
) => void;

/**
 * Optional hooks for {@link validateServerResponse}.
 *
 * @see RFC 6455 §4.1 (the client's check 5)
 */
export interface ServerResponseHooks {
  /** Validates the accepted extensions after the generic checks pass. */
  readonly validateExtensions?: ExtensionResponseValidator;
}

/**
 * What a successful handshake established (SPEC.md F28).
 *
 * @see RFC 6455 §4.1 (extensions and subprotocol in use)
 */
export interface NegotiatedHandshake {
  /** The subprotocol in use, or `""` if none. */
  readonly protocol: string;
  /** The raw `Sec-WebSocket-Extensions` value exactly as received, or `""` if none. */
  readonly extensions: string;
}

/**
 * Validates the server's response head against the request, in the order of RFC 6455 §4.1:
 * the status is 101, `Upgrade` is `websocket`, `Connection` has `upgrade`, the single
 * `Sec-WebSocket-Accept` matches, the extensions are a valid subset of those offered, and the
 * subprotocol is one of those requested (and present when any were requested).
 *
 * @param head - The response's status, reason phrase and headers.
 * @param request - The request it answers.
 * @param hooks - An optional deeper check of the accepted extensions.
 * @returns The negotiated subprotocol and extensions.
 * @throws {HandshakeError} with {@link HandshakeError.response} set:
 *   `ERR_WS_HANDSHAKE_STATUS` (not 101; redirects are not followed),
 *   `ERR_WS_HANDSHAKE_UPGRADE`, `ERR_WS_HANDSHAKE_CONNECTION`, `ERR_WS_HANDSHAKE_ACCEPT`,
 *   `ERR_WS_HANDSHAKE_DUPLICATE_HEADER` (`Upgrade`, `Sec-WebSocket-Accept`, `-Protocol` or
 *   `-Extensions` more than once), `ERR_WS_HANDSHAKE_EXTENSIONS` (bad syntax, not offered,
 *   repeated, or refused by the hook; a hook's own error becomes the `cause` unless it is already
 *   a HandshakeError) and `ERR_WS_HANDSHAKE_PROTOCOL`.
 * @see RFC 6455 §4.1 (the client's checks 1–6) and §11.3; SPEC.md F17–F26
 */
export function validateServerResponse(
  head: Pick<HttpResponseHead, "status" | "statusText" | "headers">,
  request: Pick<ClientRequest, "expectedAccept" | "protocols" | "extensions">,
  hooks: ServerResponseHooks = {},
): NegotiatedHandshake {
  const response: HandshakeResponseInfo = {
    status: head.status,
    statusText: head.statusText,
    headers: head.headers,
  };
  const fail = (code: HandshakeErrorCode, message: string, cause?: unknown): HandshakeError =>
    new HandshakeError(code, message, cause === undefined ? { response } : { response, cause });
  const single = (name: string): string | undefined => {
    const values = getHeaderValues(head.headers, name);
    if (values.length > 1) {
      throw fail("ERR_WS_HANDSHAKE_DUPLICATE_HEADER", `the response has more than one ${name}`);
    }
    return values[0] === undefined ? undefined : trimOws(values[0]);
  };

  // Check 1 (F17, F18): anything but 101 fails, a 3xx included: redirects are never followed.
  if (head.status !== 101) {
    throw fail(
      "ERR_WS_HANDSHAKE_STATUS",
      `the server answered ${head.status} ${quoteForMessage(head.statusText)} instead of 101`,
    );
  }
  // Check 2 (F19): one Upgrade field whose whole value is "websocket", in any case.
  const upgrade = single("Upgrade");
  if (upgrade?.toLowerCase() !== "websocket") {
    throw fail(
      "ERR_WS_HANDSHAKE_UPGRADE",
      upgrade === undefined
        ? "the response has no Upgrade header"
        : `the response's Upgrade is ${quoteForMessage(upgrade)}, not "websocket"`,
    );
  }
  // Check 3 (F20): an "upgrade" token somewhere in the Connection list.
  const connection = parseTokenList(getHeaderValues(head.headers, "Connection"));
  if (!connection.some((token) => token.toLowerCase() === "upgrade")) {
    throw fail("ERR_WS_HANDSHAKE_CONNECTION", 'the response\'s Connection has no "upgrade" token');
  }
  // Check 4 (F21, F22): exactly one accept value, compared case-sensitively after trimming.
  const accept = single("Sec-WebSocket-Accept");
  if (accept !== request.expectedAccept) {
    throw fail(
      "ERR_WS_HANDSHAKE_ACCEPT",
      accept === undefined
        ? "the response has no Sec-WebSocket-Accept header"
        : "the response's Sec-WebSocket-Accept does not match the key sent",
    );
  }
  // Check 5 (F22, F23): a syntactically valid subset of the offer, each extension at most once.
  const extensions = single("Sec-WebSocket-Extensions");
  let accepted: ParsedExtension[] = [];
  if (extensions !== undefined) {
    try {
      accepted = parseExtensions(extensions);
    } catch (error) {
      throw fail("ERR_WS_HANDSHAKE_EXTENSIONS", (error as HandshakeError).message, error);
    }
  }
  const seen = new Set<string>();
  for (const { name } of accepted) {
    if (!request.extensions.some((offered) => offered.name === name)) {
      throw fail(
        "ERR_WS_HANDSHAKE_EXTENSIONS",
        `the server accepted extension ${quoteForMessage(name)}, which was not offered`,
      );
    }
    if (seen.has(name)) {
      throw fail(
        "ERR_WS_HANDSHAKE_EXTENSIONS",
        `the server accepted extension ${quoteForMessage(name)} more than once`,
      );
    }
    seen.add(name);
  }
  if (hooks.validateExtensions !== undefined) {
    try {
      hooks.validateExtensions(accepted, request.extensions);
    } catch (error) {
      if (error instanceof HandshakeError) throw error;
      throw fail(
        "ERR_WS_HANDSHAKE_EXTENSIONS",
        `the server's extension response was refused: ${String(error)}`,
        error,
      );
    }
  }
  // Check 6 (F22, F24, F25): one of the requested values, byte for byte; required if any were
  // requested, and not even an empty header when none were.
  const protocol = single("Sec-WebSocket-Protocol");
  if (protocol === undefined || protocol === "") {
    if (request.protocols.length > 0) {
      throw fail(
        "ERR_WS_HANDSHAKE_PROTOCOL",
        "the server chose none of the requested subprotocols",
      );
    }
  }
  if (protocol !== undefined && !request.protocols.includes(protocol)) {
    throw fail(
      "ERR_WS_HANDSHAKE_PROTOCOL",
      request.protocols.length === 0
        ? "the response has a Sec-WebSocket-Protocol but no subprotocol was requested"
        : `the server chose subprotocol ${quoteForMessage(protocol)}, which was not requested`,
    );
  }
  return { protocol: protocol ?? "", extensions: extensions ?? "" };
}

/**
 * Options for {@link ClientHandshake}.
 *
 * @see RFC 6455 §4.1; SPEC.md P9
 */
export interface ClientHandshakeOptions extends ServerResponseHooks {
  /** Limits for the response head; see {@link HttpHeadLimits}. */
  readonly limits?: HttpHeadLimits;
}

/**
 * A completed client handshake.
 *
 * @see RFC 6455 §4.1; SPEC.md F27, F28
 */
export interface ClientHandshakeResult extends NegotiatedHandshake {
  /** The full response head. */
  readonly head: HttpResponseHead;
  /** Bytes received after the head (already WebSocket frames), to feed to the frame engine. */
  readonly rest: Uint8Array;
}

/**
 * The client's handshake state machine: it reads the response head from received chunks and
 * validates it against the request. It writes nothing: the transport sends
 * {@link ClientRequest.bytes} before the first call, and nothing else until this succeeds
 * (SPEC.md F16).
 *
 * @see RFC 6455 §4.1
 */
export class ClientHandshake {
  readonly #request: ClientRequest;
  readonly #parser: HttpHeadParser<"response">;
  readonly #hooks: ServerResponseHooks;
  #failure: unknown;
  #hasFailed = false;

  /**
   * Starts waiting for the response to `request`.
   *
   * @param request - The request, as built by {@link buildClientRequest} and sent.
   * @param options - Head limits and an optional extension validator.
   * @throws {RangeError} if a head limit is not a positive integer.
   */
  constructor(request: ClientRequest, options: ClientHandshakeOptions = {}) {
    this.#request = request;
    this.#parser = new HttpHeadParser("response", options.limits);
    this.#hooks =
      options.validateExtensions === undefined
        ? {}
        : { validateExtensions: options.validateExtensions };
  }

  /**
   * Feeds received bytes.
   *
   * @param chunk - The next bytes from the server.
   * @returns `undefined` while the head is incomplete; then the negotiated subprotocol and
   *   extensions, the head, and the bytes that followed it.
   * @throws {HandshakeError} for a head that breaks a limit or the HTTP syntax, or a response
   *   that fails {@link validateServerResponse}. After a failure every call throws it again.
   * @throws {Error} if called again after the handshake completed (a caller bug).
   * @see RFC 6455 §4.1; SPEC.md F27
   */
  receive(chunk: Uint8Array): ClientHandshakeResult | undefined {
    if (this.#hasFailed) throw this.#failure;
    try {
      const head = this.#parser.push(chunk);
      if (head === undefined) return undefined;
      const negotiated = validateServerResponse(head, this.#request, this.#hooks);
      return { ...negotiated, head, rest: head.rest };
    } catch (error) {
      if (error instanceof HandshakeError) {
        this.#hasFailed = true;
        this.#failure = error;
      }
      throw error;
    }
  }
}
