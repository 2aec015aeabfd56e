/**
 * The proxy step of dialing (SPEC.md F4, S1–S5): TCP (or TLS, for an `https:` proxy) to the
 * proxy, then an HTTP CONNECT ({@link ./http-connect.ts}) or SOCKS5 ({@link ./socks5.ts})
 * tunnel to the target; what comes back is a socket that `dial()` uses exactly as it would a
 * direct TCP connection (TLS to a `wss:` target and the WebSocket handshake run inside it).
 *
 * Proxy credentials (from the proxy URL's userinfo) go on the wire only; every message and
 * diagnostic names the proxy by {@link ProxyConfig.display}, which never contains them (S5).
 *
 * @module
 */
import { isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { httpConnectTunnel } from "./http-connect.js";
import { socks5Tunnel } from "./socks5.js";
import type { ProxyConfig, ProxyKind, TunnelCallback, TunnelTarget } from "./tunnel.js";

export {
  basicCredentials,
  type ProxyConfig,
  type ProxyFailure,
  type ProxyFailureCode,
  type ProxyKind,
  type TunnelCallback,
  type TunnelTarget,
} from "./tunnel.js";

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

/** TLS settings for the connection to an `https:` proxy. */
export interface ProxyTlsOptions {
  readonly ca?: ConnectionOptions["ca"];
  readonly rejectUnauthorized?: boolean;
}

/**
 * Connects to `proxy` and asks it for a tunnel to `target`. Never throws: the outcome reaches
 * `done` once, unless {@link Tunnelling.abort} is called first.
 */
export function openTunnel(
  proxy: ProxyConfig,
  target: TunnelTarget,
  tls: ProxyTlsOptions,
  done: TunnelCallback,
): Tunnelling {
  let settled = false;
  let socket: Socket | undefined;
  let stepAbort: (() => void) | undefined;
  let socketError: Error | undefined;
  const finish: TunnelCallback = (result) => {
    if (settled) return;
    settled = true;
    if (socket !== undefined) {
      socket.off("error", onError);
      socket.off("close", onClose);
    }
    if ("failure" in result) socket?.destroy();
    done(result);
  };
  const onError = (error: Error): void => {
    socketError ??= error;
  };
  const onClose = (): void => {
    finish({
      failure: {
        code: "ERR_WS_PROXY_CONNECT_FAILED",
        message:
          socketError === undefined
            ? `the proxy ${proxy.display} closed the connection`
            : `cannot reach the proxy ${proxy.display}: ${socketError.message}`,
        ...(socketError === undefined ? {} : { error: socketError }),
      },
    });
  };
  const onConnected = (): void => {
    if (settled) return;
    const s = socket!;
    // The step owns the socket now; it reports errors and closes through its own result.
    s.off("error", onError);
    s.off("close", onClose);
    const step = proxy.kind === "http" || proxy.kind === "https" ? httpConnectTunnel : socks5Tunnel;
    stepAbort = step(s, proxy, target, (result) => {
      settled = true;
      if ("failure" in result) s.destroy();
      done(result);
    }).abort;
  };
  try {
    socket =
      proxy.kind === "https"
        ? tlsConnect(
            {
              host: proxy.host,
              port: proxy.port,
              ...(isIP(proxy.host) === 0 ? { servername: proxy.host } : {}),
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
              rejectUnauthorized: tls.rejectUnauthorized ?? true,
            },
            onConnected,
          )
        : netConnect({ host: proxy.host, port: proxy.port }, onConnected);
  } catch (error) {
    queueMicrotask(() =>
      finish({
        failure: {
          code: "ERR_WS_PROXY_CONNECT_FAILED",
          message: `cannot reach the proxy ${proxy.display}`,
          error,
        },
      }),
    );
    return { abort: () => (settled = true) };
  }
  socket.on("error", onError);
  socket.on("close", onClose);
  return {
    abort: () => {
      if (settled) return;
      settled = true;
      stepAbort?.();
      socket?.destroy();
    },
  };
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
