/**
 * The vocabulary shared by the proxy step of dialing (proxy.ts) and its two tunnels
 * (http-connect.ts, socks5.ts): what a proxy is, where a tunnel goes, how it fails. Kept apart so
 * that the tunnels need not import the module that drives them.
 *
 * @module
 */
import type { Socket } from "node:net";

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

/** `Basic base64(user:password)` for Proxy-Authorization (RFC 7617). */
export function basicCredentials(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}
