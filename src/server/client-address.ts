/**
 * The address of the client behind trusted reverse proxies (nginx, a load balancer), for the
 * per-address handshake limit (SPEC.md P9). A proxy's connections all come from its own address;
 * the client's is in `Forwarded` (RFC 7239) or `X-Forwarded-For`, which anyone can write, so they
 * are read only when the TCP peer is a proxy the server was told to trust, and only up to the
 * first hop that is not trusted: each trusted proxy appends the address it received the request
 * from, so the rightmost address that is not itself a trusted proxy is the client.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";

/** Decides whether an address is a trusted proxy. */
export type ProxyTrust = (address: string) => boolean;

/** Trusts nobody: forwarding headers are ignored (the default). */
export const TRUST_NO_PROXY: ProxyTrust = () => false;

/**
 * Builds the trust test from the `trustedProxies` option: exact addresses (IPv4 or IPv6; an
 * IPv4-mapped IPv6 address matches its IPv4 form), or a function.
 * @throws {TypeError} ERR_WS_INVALID_OPTION for an entry that is not an IP address
 */
export function proxyTrust(trusted: readonly string[] | ProxyTrust | undefined): ProxyTrust {
  if (trusted === undefined) return TRUST_NO_PROXY;
  if (typeof trusted === "function") return trusted;
  const addresses = new Set<string>();
  for (const entry of trusted) {
    if (typeof entry !== "string" || !(isIPv4(entry) || isIPv6(entry))) {
      throw Object.assign(
        new TypeError(`trustedProxies must list IP addresses, got ${String(entry)}`),
        { code: "ERR_WS_INVALID_OPTION" },
      );
    }
    addresses.add(normalizeAddress(entry));
  }
  if (addresses.size === 0) return TRUST_NO_PROXY;
  return (address) => addresses.has(normalizeAddress(address));
}

/** An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as its IPv4 form; IPv6 in lower case. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && isIPv4(lower.slice(7)) ? lower.slice(7) : lower;
}

/**
 * The client's address: the TCP peer's, or, when that peer is a trusted proxy, the rightmost
 * address of the forwarding chain that is not a trusted proxy (`Forwarded` wins over
 * `X-Forwarded-For`). A header that names no usable address leaves the peer's address.
 *
 * @param peer - the TCP peer's address (`socket.remoteAddress`)
 * @param rawHeaders - the request's headers as Node's flat `rawHeaders` list
 */
export function clientAddress(
  peer: string | undefined,
  rawHeaders: readonly string[],
  isTrusted: ProxyTrust,
): string | undefined {
  if (peer === undefined || isTrusted === TRUST_NO_PROXY || !isTrusted(peer)) return peer;
  const chain = forwardingChain(rawHeaders);
  // Walk from the nearest hop back towards the client, through trusted proxies only.
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i]!;
    if (!(isIPv4(hop) || isIPv6(hop))) return peer; // "unknown", an obfuscated name: stop
    if (!isTrusted(hop)) return normalizeAddress(hop);
  }
  return chain.length > 0 ? normalizeAddress(chain[0]!) : peer;
}

/** The addresses of `Forwarded: for=` (RFC 7239 §5.2), else of `X-Forwarded-For`, in order. */
function forwardingChain(rawHeaders: readonly string[]): string[] {
  const forwarded: string[] = [];
  const xForwardedFor: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name === "forwarded") {
      for (const element of rawHeaders[i + 1]!.split(",")) {
        for (const pair of element.split(";")) {
          const equals = pair.indexOf("=");
          if (equals === -1 || pair.slice(0, equals).trim().toLowerCase() !== "for") continue;
          forwarded.push(forwardedNode(pair.slice(equals + 1).trim()));
        }
      }
    } else if (name === "x-forwarded-for") {
      for (const entry of rawHeaders[i + 1]!.split(",")) {
        const address = entry.trim();
        if (address !== "") xForwardedFor.push(address);
      }
    }
  }
  return forwarded.length > 0 ? forwarded : xForwardedFor;
}

/**
 * A `for=` node (RFC 7239 §6): a quoted string may carry `"[2001:db8::1]:4711"` or
 * `"192.0.2.1:80"`; the port is dropped.
 */
function forwardedNode(value: string): string {
  let node = value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  if (node.startsWith("[")) {
    const end = node.indexOf("]");
    return end === -1 ? node : node.slice(1, end);
  }
  const colon = node.indexOf(":");
  if (colon !== -1 && node.indexOf(":", colon + 1) === -1) node = node.slice(0, colon);
  return node;
}
