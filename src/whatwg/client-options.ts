/**
 * The Node-only options of the WHATWG clients (`WebSocket` and `WebSocketStream`): their types,
 * their validation and how they become a {@link DialOptions}, in one place, so that both
 * classes apply headers, TLS, timeouts and size limits through the same code. Also the
 * subprotocol checks both constructors run (SPEC.md A14–A16, O2).
 *
 * @module
 */
import type { DialFailure, DialOptions, DialTlsOptions } from "../node/dial.js";
import { createDeflateCodec } from "../node/deflate-codec.js";
import { parseProxyUrl, type ProxyConfig } from "../node/proxy.js";
import { proxyFromEnvironment } from "../node/proxy-env.js";
import { globalOriginHeader } from "./global-origin.js";
import {
  buildDeflateOffer,
  type DeflateOfferOptions,
} from "../protocol/extensions/permessage-deflate.js";
import type { DeflateCodec } from "../protocol/ports.js";
import { buildClientRequest } from "../protocol/handshake/client-handshake.js";
import { HandshakeError } from "../protocol/handshake/handshake-error.js";
import { BAD_PORTS, portOf } from "./url.js";
import { isIterableObject, toDOMString } from "./webidl.js";

/** Node-only settings of a client connection (neither browsers nor the standard have them). */
export interface ClientOptions {
  /** Extra request headers. `Host`, `Upgrade`, `Connection` and `Sec-WebSocket-*` are refused. */
  headers?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
  /** An `Origin` header to send (Node has no origin of its own, so none is sent by default). */
  origin?: string;
  /** Resolves relative URLs (Node has no document base URL; without it they throw). */
  baseURL?: string | URL;
  /** TLS trust anchors for `wss:`. */
  ca?: DialTlsOptions["ca"];
  /** A client certificate for `wss:`. */
  cert?: DialTlsOptions["cert"];
  /** The client certificate's key. */
  key?: DialTlsOptions["key"];
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
  /** The TLS SNI name (default: the URL's host name). */
  servername?: string;
  /**
   * Fail the connection if it is not open after this long (default 30 000 ms; at most
   * 2 147 483 647, Node's timer limit).
   */
  handshakeTimeoutMs?: number;
  /**
   * Drop TCP if the server has not answered our Close this long after close() (default
   * 10 000 ms; at most 2 147 483 647; SPEC.md D23). The wait for the server to end TCP once the
   * Close frames were exchanged (2 000 ms, SPEC.md L12) never goes past this deadline either.
   */
  closeTimeoutMs?: number;
  /**
   * How long to wait for the server to end TCP once both Close frames were exchanged, or after
   * this end failed the connection, before ending it here (default 2 000 ms; at most
   * 2 147 483 647; SPEC.md L12). The close stays clean if the Close frames were exchanged.
   */
  tcpCloseWaitMs?: number;
  /** The largest message accepted (default 64 MiB); over it the connection fails with 1009. */
  maxMessageBytes?: number;
  /** The most frames one message may be split into (default 16 384); over it, 1009. */
  maxFragments?: number;
  /**
   * permessage-deflate (RFC 7692). A WHATWG user agent always offers it (SPEC.md F12), so the
   * default is `true`: offer `permessage-deflate; client_max_window_bits`, as browsers do.
   * `false` offers nothing; an object tunes the offer and the compressor.
   */
  perMessageDeflate?: boolean | ClientDeflateOptions;
  /**
   * Keep at most one connection per server (IP address and port) in the CONNECTING state and
   * queue the others, as browsers do (RFC 6455 §4.1 step 2, SPEC.md F3). Off by default: a Node
   * process that opens many connections to one server (a pool, a gateway, a load test) would
   * otherwise wait for each handshake in turn. The wait counts against `handshakeTimeoutMs`.
   */
  serializeConnecting?: boolean;
  /**
   * Reach the server through a proxy (SPEC.md F4, S1–S5): a URL `http://`, `https://` (HTTP
   * CONNECT) or `socks5://`, `socks5h://` (SOCKS5; `h`: the proxy resolves the host name), with
   * optional `user:password@` (sent as `Proxy-Authorization: Basic`, or RFC 1929 for SOCKS5).
   * `true` takes the proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
   * `NO_PROXY`, … see docs/proxies.md); `false` never uses one. Default: the environment only
   * when Node's own switch for it is on (`NODE_USE_ENV_PROXY=1` or `--use-env-proxy`), as for
   * Node's built-in `fetch` and `WebSocket`; otherwise direct.
   */
  proxy?: string | URL | boolean;
}

/** How a client offers and uses permessage-deflate. */
export interface ClientDeflateOptions extends DeflateOfferOptions {
  /** Messages smaller than this many bytes are sent uncompressed (default 1024). */
  thresholdBytes?: number;
  /** zlib compression level 0–9 (default 6). */
  level?: number;
  /** zlib memLevel 1–9 (default 8). */
  memLevel?: number;
}

/** {@link ClientOptions} once checked: what {@link toDialOptions} needs besides URL and protocols. */
export interface ResolvedClientOptions {
  readonly handshakeTimeoutMs: number;
  readonly engine: NonNullable<DialOptions["engine"]>;
  readonly tls: DialTlsOptions;
  readonly origin?: string;
  readonly headers?: readonly (readonly [string, string])[];
  readonly deflate?: DialOptions["deflate"];
  readonly serializeConnecting: boolean;
  /** The proxy to tunnel through, if any. */
  readonly proxy?: ProxyConfig;
  /** A proxy from the environment that cannot be used: the connection fails with this. */
  readonly proxyFailure?: DialFailure;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
/** The longest delay Node's timers accept; longer ones fire after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Checks the Node-only options against the (already parsed) URL, so that misuse throws from the
 * constructor rather than failing the connection later.
 *
 * @throws {RangeError} ERR_WS_INVALID_OPTION for a timeout or limit that is not a positive number
 * @throws {TypeError} ERR_WS_INVALID_HEADER for a header or origin the handshake cannot send
 */
export function resolveClientOptions(url: URL, options: ClientOptions): ResolvedClientOptions {
  const handshakeTimeoutMs = timerOption(
    "handshakeTimeoutMs",
    options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
  );
  if (options.closeTimeoutMs !== undefined) timerOption("closeTimeoutMs", options.closeTimeoutMs);
  if (options.tcpCloseWaitMs !== undefined) timerOption("tcpCloseWaitMs", options.tcpCloseWaitMs);
  if (options.maxMessageBytes !== undefined && !(options.maxMessageBytes > 0)) {
    throw invalidOption("maxMessageBytes", options.maxMessageBytes);
  }
  if (options.maxFragments !== undefined && !(options.maxFragments > 0)) {
    throw invalidOption("maxFragments", options.maxFragments);
  }
  let headers = toHeaderList(options.headers);
  let origin = options.origin === undefined ? undefined : toDOMString(options.origin);
  checkRequestOptions(url, headers, origin);
  // SPEC.md F13: the global origin stands in for a document's when nothing else names one.
  if (origin === undefined && !hasHeader(headers, "origin")) origin = globalOriginHeader();
  // SPEC.md A10: credentials in the URL are sent as Basic authentication, as browsers do; an
  // explicit Authorization header wins.
  if ((url.username !== "" || url.password !== "") && !hasHeader(headers, "authorization")) {
    headers = [...(headers ?? []), ["Authorization", basicAuthorization(url)]];
  }
  const { proxy, proxyFailure } = resolveProxy(url, options.proxy);
  const engine = {
    ...(options.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: options.closeTimeoutMs }),
    ...(options.tcpCloseWaitMs === undefined ? {} : { tcpCloseWaitMs: options.tcpCloseWaitMs }),
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
    ...(options.maxFragments === undefined ? {} : { maxFragments: options.maxFragments }),
  };
  const tls: DialTlsOptions = {
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.cert === undefined ? {} : { cert: options.cert }),
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.rejectUnauthorized === undefined
      ? {}
      : { rejectUnauthorized: options.rejectUnauthorized }),
    ...(options.servername === undefined ? {} : { servername: options.servername }),
  };
  const deflate = resolveDeflate(options.perMessageDeflate);
  const serializeConnecting = options.serializeConnecting ?? false;
  if (typeof serializeConnecting !== "boolean") {
    throw Object.assign(
      new TypeError(
        `The serializeConnecting option must be a boolean, got ${String(serializeConnecting)}.`,
      ),
      { code: "ERR_WS_INVALID_OPTION" },
    );
  }
  return {
    handshakeTimeoutMs,
    serializeConnecting,
    engine,
    tls,
    ...(proxy === undefined ? {} : { proxy }),
    ...(proxyFailure === undefined ? {} : { proxyFailure }),
    ...(origin === undefined ? {} : { origin }),
    ...(headers === undefined ? {} : { headers }),
    ...(deflate === undefined ? {} : { deflate }),
  };
}

const DEFAULT_DEFLATE_THRESHOLD_BYTES = 1024;
let defaultCodec: DeflateCodec | undefined;

/**
 * The permessage-deflate settings of a client, checked now (a bad window or level throws from
 * the constructor).
 * @throws {RangeError} ERR_WS_INVALID_OPTION
 */
function resolveDeflate(value: ClientOptions["perMessageDeflate"]): DialOptions["deflate"] {
  if (value === false) return undefined;
  const settings: ClientDeflateOptions = value === undefined || value === true ? {} : value;
  if (settings === null || typeof settings !== "object") {
    throw invalidOption("perMessageDeflate", value);
  }
  const thresholdBytes = settings.thresholdBytes ?? DEFAULT_DEFLATE_THRESHOLD_BYTES;
  if (typeof thresholdBytes !== "number" || !(thresholdBytes >= 0)) {
    throw invalidOption("perMessageDeflate.thresholdBytes", thresholdBytes);
  }
  const { thresholdBytes: _threshold, level, memLevel, ...offer } = settings;
  buildDeflateOffer(offer); // throws for a window outside 9–15
  const codec =
    level === undefined && memLevel === undefined
      ? (defaultCodec ??= createDeflateCodec())
      : createDeflateCodec({
          ...(level === undefined ? {} : { level }),
          ...(memLevel === undefined ? {} : { memLevel }),
        });
  return { offer, codec, thresholdBytes };
}

/** The options of `dial()` for a validated URL, protocol list and resolved options. */
export function toDialOptions(
  url: URL,
  protocols: readonly string[],
  resolved: ResolvedClientOptions,
): DialOptions {
  return {
    url,
    protocols,
    handshakeTimeoutMs: resolved.handshakeTimeoutMs,
    ...(resolved.serializeConnecting ? { serializeConnecting: true } : {}),
    ...(resolved.proxy === undefined ? {} : { proxy: resolved.proxy }),
    engine: resolved.engine,
    tls: resolved.tls,
    ...(resolved.origin === undefined ? {} : { origin: resolved.origin }),
    ...(resolved.headers === undefined ? {} : { headers: resolved.headers }),
    ...(resolved.deflate === undefined ? {} : { deflate: resolved.deflate }),
  };
}

/**
 * The failure to report, asynchronously, when `url` names a port on Fetch's "bad port" list
 * (SPEC.md A11), or the environment names a proxy that cannot be used: such a connection is
 * never attempted, and nothing is thrown.
 */
export function blockedPortFailure(
  url: URL,
  resolved?: ResolvedClientOptions,
): DialFailure | undefined {
  if (resolved?.proxyFailure !== undefined) return resolved.proxyFailure;
  const port = portOf(url);
  if (!BAD_PORTS.has(port)) return undefined;
  return {
    code: "ERR_WS_BLOCKED_PORT",
    message: `port ${port} is blocked (Fetch "bad port")`,
  };
}

/**
 * SPEC.md A14–A16: each protocol a token, no duplicates (compared ASCII-case-insensitively).
 * @throws {DOMException} SyntaxError
 */
export function validateProtocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (!isToken(protocol)) {
      throw new DOMException(`The subprotocol '${protocol}' is invalid.`, "SyntaxError");
    }
    const folded = protocol.toLowerCase();
    if (seen.has(folded)) {
      throw new DOMException(`The subprotocol '${protocol}' is duplicated.`, "SyntaxError");
    }
    seen.add(folded);
  }
}

const SEPARATORS = new Set('()<>@,;:\\"/[]?={}');

function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || SEPARATORS.has(text[i]!)) return false;
  }
  return true;
}

/** A RangeError with `code` ERR_WS_INVALID_OPTION for an option that must be a positive number. */
function invalidOption(name: string, value: unknown): RangeError {
  return Object.assign(
    new RangeError(`The ${name} option must be a positive number, got ${String(value)}.`),
    { code: "ERR_WS_INVALID_OPTION" },
  );
}

/** A timeout option: a positive number of milliseconds that Node's timers can honour. */
function timerOption(name: string, value: unknown): number {
  if (typeof value !== "number" || !(value > 0) || value > MAX_TIMER_MS) {
    throw Object.assign(
      new RangeError(
        `The ${name} option must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${String(value)}.`,
      ),
      { code: "ERR_WS_INVALID_OPTION" },
    );
  }
  return value;
}

/** The `headers` option as name/value pairs, each converted to a string. */
function toHeaderList(
  headers: ClientOptions["headers"],
): readonly (readonly [string, string])[] | undefined {
  if (headers === undefined) return undefined;
  if (headers === null || typeof headers !== "object") {
    throw headerError("headers must be an object or a list of [name, value] pairs");
  }
  const entries: Iterable<readonly unknown[]> = isIterableObject(headers)
    ? (headers as Iterable<readonly unknown[]>)
    : Object.entries(headers);
  const list: (readonly [string, string])[] = [];
  for (const entry of entries) {
    if (!isIterableObject(entry)) throw headerError("each header must be a [name, value] pair");
    const pair = [...entry];
    if (pair.length !== 2) throw headerError("each header must be a [name, value] pair");
    list.push([toDOMString(pair[0]), toDOMString(pair[1])]);
  }
  return list;
}

/** Stand-in capabilities for a request that is built only to be checked, never sent. */
const INERT_PORTS = {
  random: { fill: (): void => {} },
  sha1: { digest: (): Uint8Array => new Uint8Array(20) },
};

/**
 * Refuses, synchronously, `headers` and `origin` options the handshake could not send (a
 * control character, a reserved name such as `Host` or `Sec-WebSocket-Key`, SPEC.md P17). The
 * handshake module owns those rules, so the request is built once here, with inert ports, and
 * thrown away.
 *
 * @throws {TypeError} with `code` ERR_WS_INVALID_HEADER
 */
function checkRequestOptions(
  url: URL,
  headers: readonly (readonly [string, string])[] | undefined,
  origin: string | undefined,
): void {
  if (headers === undefined && origin === undefined) return;
  try {
    buildClientRequest(
      {
        host: url.hostname,
        // Port 0, a Fetch bad port, fails asynchronously later (SPEC.md A11), not here.
        port: portOf(url) || 80,
        secure: url.protocol === "wss:",
        resourceName: `${url.pathname}${url.search}`,
        ...(origin === undefined ? {} : { origin }),
        ...(headers === undefined ? {} : { headers }),
      },
      INERT_PORTS,
    );
  } catch (error) {
    if (error instanceof HandshakeError) throw headerError(error.message, error);
    throw error;
  }
}

function headerError(message: string, cause?: unknown): TypeError {
  return Object.assign(
    new TypeError(`Invalid WebSocket request header option: ${message}`, { cause }),
    { code: "ERR_WS_INVALID_HEADER" },
  );
}

/** Whether Node's own switch for proxies from the environment is on (Node ≥ 22.21 / 24.5). */
function isNodeEnvProxyOn(): boolean {
  if (process.env["NODE_USE_ENV_PROXY"] === "1") return true;
  return (
    process.execArgv.includes("--use-env-proxy") ||
    (process.env["NODE_OPTIONS"] ?? "").split(/\s+/).includes("--use-env-proxy")
  );
}

/**
 * The proxy of a connection: the explicit `proxy` option (checked now, so misuse throws), or
 * the environment's (whose mistakes fail the connection instead, since the caller did not write
 * them).
 *
 * @throws {TypeError} ERR_WS_INVALID_OPTION for a proxy URL sockwise cannot use
 */
function resolveProxy(
  url: URL,
  option: ClientOptions["proxy"],
): { proxy?: ProxyConfig; proxyFailure?: DialFailure } {
  if (option === false) return {};
  if (option !== undefined && option !== true) {
    if (typeof option !== "string" && !(option instanceof URL)) {
      throw Object.assign(
        new TypeError("The proxy option must be a URL string, a URL, or a boolean."),
        { code: "ERR_WS_INVALID_OPTION" },
      );
    }
    return { proxy: parseProxyUrl(option) };
  }
  if (option === undefined && !isNodeEnvProxyOn()) return {};
  const found = proxyFromEnvironment(url, process.env);
  if (found === undefined) return {};
  try {
    return { proxy: parseProxyUrl(found.proxy) };
  } catch (error) {
    return {
      proxyFailure: {
        code: "ERR_WS_PROXY_INVALID",
        message: `the proxy in ${found.variable} cannot be used: ${(error as Error).message}`,
      },
    };
  }
}

function hasHeader(
  headers: readonly (readonly [string, string])[] | undefined,
  lowerCaseName: string,
): boolean {
  return headers?.some(([name]) => name.toLowerCase() === lowerCaseName) ?? false;
}

/** `Basic base64(user:password)` from the URL's (percent-decoded) userinfo (RFC 7617). */
function basicAuthorization(url: URL): string {
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const pair = `${decode(url.username)}:${decode(url.password)}`;
  return `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
}
