/**
 * The HTTP CONNECT tunnel step (RFC 9110 §9.3.6; SPEC.md S1, S2): over a connection to an
 * `http:` or `https:` proxy, ask for a tunnel to the target with `CONNECT host:port HTTP/1.1`
 * (and `Proxy-Authorization: Basic …` when the proxy URL has credentials); a 2xx answer turns
 * the connection into the tunnel. `ws:` goes through a tunnel too (never an absolute-URI GET),
 * so intermediaries cannot mangle the upgrade. The proxy's answer is read with the bounded HTTP
 * head parser the handshake uses.
 *
 * @module
 */
import { isIP, type Socket } from "node:net";
import { HttpHeadParser } from "../protocol/handshake/http-head.js";
import {
  basicCredentials,
  type ProxyConfig,
  type TunnelCallback,
  type TunnelTarget,
} from "./tunnel.js";

/**
 * Runs the CONNECT exchange on `socket` (already connected to the proxy). Never throws; reports
 * once through `done`, unless aborted.
 */
export function httpConnectTunnel(
  socket: Socket,
  proxy: ProxyConfig,
  target: TunnelTarget,
  done: TunnelCallback,
): { abort(): void } {
  const authority = `${isIP(target.host) === 6 ? `[${target.host}]` : target.host}:${target.port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.username !== undefined || proxy.password !== undefined) {
    lines.push(
      `Proxy-Authorization: ${basicCredentials(proxy.username ?? "", proxy.password ?? "")}`,
    );
  }
  const parser = new HttpHeadParser("response");
  let settled = false;
  let socketError: Error | undefined;
  const detach = (): void => {
    socket.off("data", onData);
    socket.off("error", onError);
    socket.off("close", onClose);
  };
  const finish: TunnelCallback = (result) => {
    if (settled) return;
    settled = true;
    detach();
    done(result);
  };
  const onData = (chunk: Buffer): void => {
    let head;
    try {
      head = parser.push(chunk);
    } catch (error) {
      finish({
        failure: {
          code: "ERR_WS_PROXY_PROTOCOL",
          message: `the proxy ${proxy.display} sent a malformed answer to CONNECT`,
          error,
        },
      });
      return;
    }
    if (head === undefined) return;
    const response = { status: head.status, statusText: head.statusText, headers: head.headers };
    // 407 is the standard answer; some proxies (tinyproxy 1.11) answer wrong credentials with
    // 401 instead. Either way the cause is authentication, and the status is kept.
    if (head.status === 407 || head.status === 401) {
      finish({
        failure: {
          code: "ERR_WS_PROXY_AUTH_REQUIRED",
          message: `the proxy ${proxy.display} requires authentication (${head.status}${proxy.username === undefined ? "" : "; the credentials were refused"})`,
          response,
        },
      });
      return;
    }
    if (head.status < 200 || head.status > 299) {
      finish({
        failure: {
          code: "ERR_WS_PROXY_REFUSED",
          message:
            `the proxy ${proxy.display} refused the tunnel to ${authority}: ${head.status} ${head.statusText}`.trimEnd(),
          response,
        },
      });
      return;
    }
    detach();
    settled = true;
    // Nothing should follow a 2xx before this end has spoken; if something did, it belongs to
    // the tunnel.
    if (head.rest.length > 0) socket.unshift(Buffer.from(head.rest));
    done({ socket });
  };
  const onError = (error: Error): void => {
    socketError ??= error;
  };
  const onClose = (): void => {
    finish({
      failure: {
        code: "ERR_WS_PROXY_CONNECT_FAILED",
        message: `the proxy ${proxy.display} closed the connection before answering CONNECT${socketError === undefined ? "" : `: ${socketError.message}`}`,
        ...(socketError === undefined ? {} : { error: socketError }),
      },
    });
  };
  socket.on("data", onData);
  socket.on("error", onError);
  socket.on("close", onClose);
  socket.write(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return {
    abort: () => {
      if (settled) return;
      settled = true;
      detach();
    },
  };
}
