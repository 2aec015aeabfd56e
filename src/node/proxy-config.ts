/**
 * Proxy settings: the parsed proxy URL ({@link parseProxyUrl}), the shapes the tunnel steps share
 * (target, result, failure codes), and the two helpers that keep credentials out of messages
 * (SPEC.md S5). The steps themselves are in `proxy.ts`, `http-connect.ts` and `socks5.ts`.
 *
 * @module
 */
import { isIP, type Socket } from "node:net";

/** The proxy schemes sockwise speaks. */
export type ProxyKind = "http" | "https" | "socks5" | "socks5h";

/** A parsed proxy URL. */
export interface ProxyConfig {
  readonly kind: ProxyKind;
  /** The proxy's host (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Percent-decoded user name from the URL, if any. */
  readonly username?: string;
  /** Percent-decoded password from the URL, if any. */
  readonly password?: string;
  /** `scheme://host:port`, without credentials: the only form used in messages. */
  readonly display: string;
}

/** The stable codes of a failed proxy step (docs/errors.md). */
export type ProxyFailureCode =
  | "ERR_WS_PROXY_CONNECT_FAILED"
  | "ERR_WS_PROXY_REFUSED"
  | "ERR_WS_PROXY_AUTH_REQUIRED"
  | "ERR_WS_PROXY_PROTOCOL"
  | "ERR_WS_PROXY_INVALID";

/** Why the tunnel could not be made (structurally a `DialFailure`). */
export interface ProxyFailure {
  /** A proxy code, or `ERR_WS_CONNECT_FAILED` when `socks5:` cannot resolve the target here. */
  readonly code: ProxyFailureCode | "ERR_WS_CONNECT_FAILED";
  readonly message: string;
  /** An HTTP proxy's answer to CONNECT, when it was not 2xx. */
  readonly response?: {
    readonly status: number;
    readonly statusText: string;
    readonly headers: readonly [string, string][];
  };
  readonly error?: unknown;
}

/** The target of the tunnel: the WebSocket URL's host and port. */
export interface TunnelTarget {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
}

/** How a tunnel step reports: once, with the tunnelled socket or a failure. */
export type TunnelCallback = (result: { socket: Socket } | { failure: ProxyFailure }) => void;

/** A tunnel being built. */
export interface Tunnelling {
  /** Destroys the connection to the proxy; the callback is not called afterwards. */
  abort(): void;
}

const DEFAULT_PORTS: Record<ProxyKind, number> = {
  http: 80,
  https: 443,
  socks5: 1080,
  socks5h: 1080,
};

/**
 * Parses a proxy URL: `http://`, `https://`, `socks5://` (the client resolves the target's name)
 * or `socks5h://` (the proxy does), with optional `user:password@`.
 *
 * @throws {TypeError} with `code` ERR_WS_INVALID_OPTION for anything else; the message never
 *   contains the credentials
 */
export function parseProxyUrl(value: string | URL): ProxyConfig {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw proxyOptionError("the proxy is not a valid absolute URL");
  }
  const kind = url.protocol.slice(0, -1).toLowerCase();
  if (kind !== "http" && kind !== "https" && kind !== "socks5" && kind !== "socks5h") {
    throw proxyOptionError(
      `the proxy scheme must be http, https, socks5 or socks5h, not '${kind}'`,
    );
  }
  if (url.hostname === "") throw proxyOptionError("the proxy URL has no host");
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === "" ? DEFAULT_PORTS[kind] : Number(url.port);
  const username = url.username === "" ? undefined : safeDecode(url.username);
  const password = url.password === "" ? undefined : safeDecode(url.password);
  const hostPort = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  return {
    kind,
    host,
    port,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    display: `${kind}://${hostPort}`,
  };
}

/** `Basic base64(user:password)` for Proxy-Authorization (RFC 7617). */
export function basicCredentials(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/** Replaces the userinfo of anything that looks like `scheme://user:pass@host` with `***`. */
export function redactUserinfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, "$1***@");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function proxyOptionError(message: string): TypeError {
  return Object.assign(new TypeError(`Invalid proxy option: ${message}.`), {
    code: "ERR_WS_INVALID_OPTION",
  });
}
