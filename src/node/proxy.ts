/**
 * The proxy step of dialing (SPEC.md F4, S1–S5): TCP (or TLS, for an `https:` proxy) to the
 * proxy, then an HTTP CONNECT ({@link ./http-connect.ts}) or SOCKS5 ({@link ./socks5.ts})
 * tunnel to the target; what comes back is a socket that `dial()` uses exactly as it would a
 * direct TCP connection (TLS to a `wss:` target and the WebSocket handshake run inside it).
 *
 * Proxy credentials (from the proxy URL's userinfo) go on the wire only; every message and
 * diagnostic names the proxy by `ProxyConfig.display` (proxy-config.ts), which never contains them (S5).
 *
 * @module
 */
import { isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { httpConnectTunnel } from "./http-connect.js";
import type { ProxyConfig, TunnelCallback, TunnelTarget, Tunnelling } from "./proxy-config.js";
import { socks5Tunnel } from "./socks5.js";

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
