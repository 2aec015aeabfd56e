/**
 * The SOCKS5 tunnel step (RFC 1928, with RFC 1929 username/password; SPEC.md S4): over a
 * connection to a `socks5:` or `socks5h:` proxy, offer the methods "no authentication" and (when
 * the proxy URL has credentials) "username/password", authenticate if the proxy chooses it, then
 * ask it to CONNECT to the target. `socks5h:` sends the host name for the proxy to resolve
 * (remote DNS); `socks5:` resolves it here and sends the address.
 *
 * @module
 */
import { lookup } from "node:dns";
import { isIP, type Socket } from "node:net";
import type { ProxyConfig, ProxyFailure, TunnelCallback, TunnelTarget } from "./tunnel.js";

const VERSION = 0x05;
const NO_AUTHENTICATION = 0x00;
const USERNAME_PASSWORD = 0x02;
const NO_ACCEPTABLE_METHODS = 0xff;
const CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/** RFC 1928 §6 reply codes. */
const REPLIES: Readonly<Record<number, string>> = {
  0x01: "general SOCKS server failure",
  0x02: "connection not allowed by ruleset",
  0x03: "network unreachable",
  0x04: "host unreachable",
  0x05: "connection refused",
  0x06: "TTL expired",
  0x07: "command not supported",
  0x08: "address type not supported",
};

/**
 * Runs the SOCKS5 exchange on `socket` (already connected to the proxy). Never throws; reports
 * once through `done`, unless aborted.
 */
export function socks5Tunnel(
  socket: Socket,
  proxy: ProxyConfig,
  target: TunnelTarget,
  done: TunnelCallback,
): { abort(): void } {
  const hasCredentials = proxy.username !== undefined || proxy.password !== undefined;
  let settled = false;
  let socketError: Error | undefined;
  let buffered: Buffer = Buffer.alloc(0);
  let stage: "method" | "auth" | "resolving" | "reply" = "method";

  const detach = (): void => {
    socket.off("data", onData);
    socket.off("error", onError);
    socket.off("close", onClose);
  };
  const fail = (failure: ProxyFailure): void => {
    if (settled) return;
    settled = true;
    detach();
    done({ failure });
  };
  const protocolError = (problem: string): void =>
    fail({
      code: "ERR_WS_PROXY_PROTOCOL",
      message: `the SOCKS5 proxy ${proxy.display} ${problem}`,
    });

  const sendConnect = (address: { type: number; bytes: Buffer }): void => {
    if (settled) return;
    stage = "reply";
    const port = Buffer.from([target.port >> 8, target.port & 0xff]);
    const length =
      address.type === ATYP_DOMAIN ? Buffer.from([address.bytes.length]) : Buffer.alloc(0);
    socket.write(
      Buffer.concat([
        Buffer.from([VERSION, CONNECT, 0x00, address.type]),
        length,
        address.bytes,
        port,
      ]),
    );
    onData(Buffer.alloc(0));
  };

  const connectRequest = (): void => {
    const family = isIP(target.host);
    if (family !== 0) {
      sendConnect(addressOf(target.host, family));
      return;
    }
    if (proxy.kind === "socks5h") {
      const name = Buffer.from(target.host, "utf8");
      if (name.length > 255) {
        fail({
          code: "ERR_WS_PROXY_REFUSED",
          message: `the host name is too long for SOCKS5 (${name.length} bytes)`,
        });
        return;
      }
      sendConnect({ type: ATYP_DOMAIN, bytes: name });
      return;
    }
    // socks5: resolve the target here (local DNS).
    stage = "resolving";
    lookup(target.host, (error, address, addressFamily) => {
      if (settled) return;
      if (error !== null) {
        fail({
          code: "ERR_WS_CONNECT_FAILED",
          message: `cannot resolve ${target.host}: ${error.message}`,
          error,
        });
        return;
      }
      sendConnect(addressOf(address, addressFamily));
    });
  };

  function onData(chunk: Buffer): void {
    if (settled) return;
    if (chunk.length > 0)
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (stage === "method") {
      if (buffered.length < 2) return;
      const [version, method] = buffered;
      buffered = buffered.subarray(2);
      if (version !== VERSION) return protocolError("did not answer as SOCKS version 5");
      if (method === NO_ACCEPTABLE_METHODS || (method === USERNAME_PASSWORD && !hasCredentials)) {
        return fail({
          code: "ERR_WS_PROXY_AUTH_REQUIRED",
          message: hasCredentials
            ? `the SOCKS5 proxy ${proxy.display} accepts none of the offered authentication methods`
            : `the SOCKS5 proxy ${proxy.display} requires authentication`,
        });
      }
      if (method === USERNAME_PASSWORD) {
        const user = Buffer.from(proxy.username ?? "", "utf8");
        const pass = Buffer.from(proxy.password ?? "", "utf8");
        if (user.length > 255 || pass.length > 255) {
          return fail({
            code: "ERR_WS_PROXY_AUTH_REQUIRED",
            message: "SOCKS5 user names and passwords are at most 255 bytes (RFC 1929)",
          });
        }
        stage = "auth";
        socket.write(
          Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]),
        );
        return onData(Buffer.alloc(0));
      }
      if (method !== NO_AUTHENTICATION)
        return protocolError(`chose a method not offered (${method})`);
      connectRequest();
      return;
    }
    if (stage === "auth") {
      if (buffered.length < 2) return;
      const status = buffered[1];
      buffered = buffered.subarray(2);
      if (status !== 0x00) {
        return fail({
          code: "ERR_WS_PROXY_AUTH_REQUIRED",
          message: `the SOCKS5 proxy ${proxy.display} refused the credentials`,
        });
      }
      connectRequest();
      return;
    }
    if (stage !== "reply") return;
    if (buffered.length < 5) return;
    const [version, reply, , type, first] = buffered;
    if (version !== VERSION) return protocolError("did not answer as SOCKS version 5");
    if (reply !== 0x00) {
      const meaning = REPLIES[reply!] ?? `reply code ${reply}`;
      return fail({
        code: "ERR_WS_PROXY_REFUSED",
        message: `the SOCKS5 proxy ${proxy.display} refused the tunnel to ${target.host}:${target.port}: ${meaning} (${reply})`,
      });
    }
    const addressLength =
      type === ATYP_IPV4 ? 4 : type === ATYP_IPV6 ? 16 : type === ATYP_DOMAIN ? 1 + first! : -1;
    if (addressLength < 0) return protocolError(`answered with an unknown address type (${type})`);
    const total = 4 + addressLength + 2;
    if (buffered.length < total) return;
    const rest = buffered.subarray(total);
    settled = true;
    detach();
    if (rest.length > 0) socket.unshift(rest);
    done({ socket });
  }
  const onError = (error: Error): void => {
    socketError ??= error;
  };
  const onClose = (): void => {
    fail({
      code: "ERR_WS_PROXY_CONNECT_FAILED",
      message: `the SOCKS5 proxy ${proxy.display} closed the connection during the exchange${socketError === undefined ? "" : `: ${socketError.message}`}`,
      ...(socketError === undefined ? {} : { error: socketError }),
    });
  };

  socket.on("data", onData);
  socket.on("error", onError);
  socket.on("close", onClose);
  socket.write(
    Buffer.from(
      hasCredentials
        ? [VERSION, 2, NO_AUTHENTICATION, USERNAME_PASSWORD]
        : [VERSION, 1, NO_AUTHENTICATION],
    ),
  );
  return {
    abort: () => {
      if (settled) return;
      settled = true;
      detach();
    },
  };
}

function addressOf(address: string, family: number): { type: number; bytes: Buffer } {
  if (family === 4) return { type: ATYP_IPV4, bytes: Buffer.from(address.split(".").map(Number)) };
  const bytes = Buffer.alloc(16);
  const [left = "", right = ""] = address.split("::");
  const head = left === "" ? [] : left.split(":");
  const tail = right === "" ? [] : right.split(":");
  const groups = address.includes("::")
    ? [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail]
    : head;
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return { type: ATYP_IPV6, bytes };
}
