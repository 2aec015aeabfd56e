/**
 * The proxy environment rules, as one pure function: which proxy (if any) the environment names
 * for a `ws:` or `wss:` URL, after curl's and undici's `EnvHttpProxyAgent` conventions
 * (SPEC.md S3). Nothing here reads `process.env` itself: the caller passes the environment, so
 * the rules are table-tested (test/node/proxy-env.test.ts).
 *
 * The rules:
 * - `wss:` uses `wss_proxy`, `WSS_PROXY`, `https_proxy`, `HTTPS_PROXY`, then `all_proxy`,
 *   `ALL_PROXY`; `ws:` uses `ws_proxy`, `WS_PROXY`, `http_proxy`, `HTTP_PROXY`, then the
 *   `ALL_PROXY` pair. The first non-empty one wins, so a lower-case name takes precedence over
 *   its upper-case twin, as in curl.
 * - A value without a scheme (`proxy.corp:3128`) is an `http://` proxy, as in curl.
 * - `no_proxy` (or else `NO_PROXY`) is a list separated by commas or white space of: `*` (no
 *   proxy at all); a host name, which matches that host and its subdomains (`example.com` matches
 *   `a.example.com`), with a leading `.` or `*.` ignored (curl); an IP address, IPv6 with or
 *   without brackets; a CIDR block (`10.0.0.0/8`, `fd00::/8`); any of those with `:port`, which
 *   then matches only that port.
 * - ⚑ Loopback (SPEC.md S3): when `NO_PROXY` is unset or empty, `localhost`, `*.localhost`,
 *   127.0.0.0/8 and `::1` never go through the proxy (as Go's `ProxyFromEnvironment` does): a
 *   proxy on another machine would reach its own loopback, not ours. Once `NO_PROXY` is set,
 *   it alone decides, as in curl and undici, so a local debugging proxy can still see loopback
 *   traffic.
 *
 * @module
 */
import { isIP } from "node:net";

/** The environment variables the rules read (a subset of `process.env`). */
export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

/** What the environment says for one URL. */
export interface EnvironmentProxy {
  /** The proxy URL, as written in the variable (with `http://` added when it had no scheme). */
  readonly proxy: string;
  /** The variable it came from, e.g. `HTTPS_PROXY` (for diagnostics; never the value). */
  readonly variable: string;
}

const VARIABLES = {
  "wss:": ["wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"],
  "ws:": ["ws_proxy", "WS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"],
} as const;

/**
 * Returns the proxy the environment names for `url` (a `ws:` or `wss:` URL), or `undefined` when
 * the connection should be direct (no variable set, or `NO_PROXY` matches, or loopback while
 * `NO_PROXY` is unset).
 */
export function proxyFromEnvironment(
  url: URL,
  env: ProxyEnvironment,
): EnvironmentProxy | undefined {
  const names = url.protocol === "wss:" ? VARIABLES["wss:"] : VARIABLES["ws:"];
  let found: EnvironmentProxy | undefined;
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== "") {
      found = {
        proxy: /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`,
        variable: name,
      };
      break;
    }
  }
  if (found === undefined) return undefined;
  const host = bareHost(url.hostname);
  const port = url.port === "" ? (url.protocol === "wss:" ? 443 : 80) : Number(url.port);
  const noProxy = nonEmpty(env["no_proxy"]) ?? nonEmpty(env["NO_PROXY"]);
  if (noProxy === undefined) return isLoopback(host) ? undefined : found;
  return matchesNoProxy(host, port, noProxy) ? undefined : found;
}

/**
 * Whether `host` (a host name or an IP address without brackets) on `port` matches a `NO_PROXY`
 * list.
 */
export function matchesNoProxy(host: string, port: number, list: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  for (const raw of list.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    const { pattern, entryPort } = splitPort(entry);
    if (entryPort !== undefined && entryPort !== port) continue;
    if (pattern === "") continue;
    if (pattern.includes("/")) {
      if (inCidr(name, pattern)) return true;
      continue;
    }
    if (isIP(pattern) !== 0) {
      if (isIP(name) !== 0 && sameAddress(name, pattern)) return true;
      continue;
    }
    const domain = pattern.replace(/^\*?\./, "").replace(/\.$/, "");
    if (domain === "") continue;
    if (name === domain || name.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** `localhost`, `*.localhost`, 127.0.0.0/8, `::1` (and its IPv4-mapped forms). */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  return inCidr(name, "127.0.0.0/8") || inCidr(name, "::1/128");
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

function bareHost(hostname: string): string {
  return hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
}

/** Splits `host:port`, `[v6]:port`, `[v6]`, `v6` (several colons: no port), `cidr/n:port`. */
function splitPort(entry: string): { pattern: string; entryPort: number | undefined } {
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close === -1) return { pattern: entry, entryPort: undefined };
    const rest = entry.slice(close + 1);
    const pattern = entry.slice(1, close) + (rest.startsWith("/") ? rest.replace(/:\d+$/, "") : "");
    const portMatch = /:(\d+)$/.exec(rest);
    return { pattern, entryPort: portMatch === null ? undefined : Number(portMatch[1]) };
  }
  const colons = entry.split(":").length - 1;
  if (colons === 1) {
    const [pattern = "", portText = ""] = entry.split(":");
    if (/^\d+$/.test(portText)) return { pattern, entryPort: Number(portText) };
  }
  return { pattern: entry, entryPort: undefined };
}

/** Whether two IP literals are the same address (so `::1` matches `0:0:0:0:0:0:0:1`). */
function sameAddress(a: string, b: string): boolean {
  const x = toBytes(a);
  const y = toBytes(b);
  return (
    x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i])
  );
}

/** Whether the IP literal `host` lies in `cidr` (`a.b.c.d/n` or `v6/n`); names never do. */
function inCidr(host: string, cidr: string): boolean {
  const slash = cidr.indexOf("/");
  const base = toBytes(cidr.slice(0, slash));
  const bits = Number(cidr.slice(slash + 1));
  let address = toBytes(host);
  if (base === undefined || address === undefined || !Number.isInteger(bits)) return false;
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 blocks.
  if (address.length === 16 && base.length === 4 && isV4Mapped(address))
    address = address.slice(12);
  if (address.length !== base.length || bits < 0 || bits > base.length * 8) return false;
  for (let i = 0; i < base.length; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if ((address[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}

function isV4Mapped(bytes: number[]): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The bytes of an IPv4 or IPv6 literal, or `undefined` for anything else. */
function toBytes(text: string): number[] | undefined {
  const family = isIP(text);
  if (family === 4) return text.split(".").map(Number);
  if (family !== 6) return undefined;
  let head = text;
  let v4Tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    v4Tail = text
      .slice(lastColon + 1)
      .split(".")
      .map(Number);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = "", right] = head.split("::");
  const leftGroups = left === "" ? [] : left.split(":");
  const rightGroups = right === undefined || right === "" ? [] : right.split(":");
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [
    ...leftGroups,
    ...Array<string>(right === undefined ? 0 : missing).fill("0"),
    ...rightGroups,
  ];
  const bytes: number[] = [];
  for (const group of groups) {
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  if (v4Tail.length === 4) bytes.splice(12, 4, ...v4Tail);
  return bytes;
}
