/**
 * SPEC.md S3: the proxy environment rules, table-tested through the one pure function that owns
 * them (src/node/proxy-env.ts). Each row: an environment, a WebSocket URL, and the proxy (with
 * the variable it came from) or `undefined` for a direct connection.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { matchesNoProxy, proxyFromEnvironment } from "../../src/node/proxy-env.js";

const P = "http://proxy.corp:3128";
const Q = "http://other.corp:8080";

const ROWS: [
  name: string,
  env: Record<string, string>,
  url: string,
  expected: string | undefined,
][] = [
  ["nothing set: direct", {}, "ws://example.com/", undefined],
  ["ws: uses HTTP_PROXY", { HTTP_PROXY: P }, "ws://example.com/", `HTTP_PROXY ${P}`],
  ["wss: does not use HTTP_PROXY", { HTTP_PROXY: P }, "wss://example.com/", undefined],
  ["wss: uses HTTPS_PROXY", { HTTPS_PROXY: P }, "wss://example.com/", `HTTPS_PROXY ${P}`],
  ["ws: does not use HTTPS_PROXY", { HTTPS_PROXY: P }, "ws://example.com/", undefined],
  ["ALL_PROXY is the fallback for ws:", { ALL_PROXY: P }, "ws://example.com/", `ALL_PROXY ${P}`],
  ["ALL_PROXY is the fallback for wss:", { ALL_PROXY: P }, "wss://example.com/", `ALL_PROXY ${P}`],
  [
    "HTTPS_PROXY wins over ALL_PROXY",
    { ALL_PROXY: Q, HTTPS_PROXY: P },
    "wss://example.com/",
    `HTTPS_PROXY ${P}`,
  ],
  [
    "lower case wins over upper case (curl)",
    { HTTP_PROXY: Q, http_proxy: P },
    "ws://example.com/",
    `http_proxy ${P}`,
  ],
  [
    "lower-case all_proxy wins over ALL_PROXY",
    { ALL_PROXY: Q, all_proxy: P },
    "ws://example.com/",
    `all_proxy ${P}`,
  ],
  [
    "WSS_PROXY wins over HTTPS_PROXY",
    { HTTPS_PROXY: Q, WSS_PROXY: P },
    "wss://example.com/",
    `WSS_PROXY ${P}`,
  ],
  [
    "WS_PROXY wins over HTTP_PROXY",
    { HTTP_PROXY: Q, ws_proxy: P },
    "ws://example.com/",
    `ws_proxy ${P}`,
  ],
  [
    "an empty variable counts as unset",
    { https_proxy: "", HTTPS_PROXY: P },
    "wss://example.com/",
    `HTTPS_PROXY ${P}`,
  ],
  [
    "a value without a scheme is http://",
    { HTTP_PROXY: "proxy.corp:3128" },
    "ws://example.com/",
    `HTTP_PROXY ${P}`,
  ],
  [
    "socks5h values are kept",
    { ALL_PROXY: "socks5h://s:1080" },
    "wss://example.com/",
    "ALL_PROXY socks5h://s:1080",
  ],
  // Loopback while NO_PROXY is unset (the S3 decision): never proxied.
  [
    "loopback 127.0.0.1, NO_PROXY unset: direct",
    { HTTP_PROXY: P },
    "ws://127.0.0.1:8080/",
    undefined,
  ],
  ["loopback 127.9.9.9, NO_PROXY unset: direct", { HTTP_PROXY: P }, "ws://127.9.9.9/", undefined],
  ["loopback localhost, NO_PROXY unset: direct", { HTTP_PROXY: P }, "ws://localhost/", undefined],
  [
    "loopback a.localhost, NO_PROXY unset: direct",
    { HTTP_PROXY: P },
    "ws://a.localhost/",
    undefined,
  ],
  ["loopback [::1], NO_PROXY unset: direct", { HTTP_PROXY: P }, "ws://[::1]:9/", undefined],
  [
    "NO_PROXY empty counts as unset (loopback direct)",
    { HTTP_PROXY: P, NO_PROXY: "" },
    "ws://127.0.0.1/",
    undefined,
  ],
  [
    "NO_PROXY set: it alone decides, loopback proxied",
    { HTTP_PROXY: P, NO_PROXY: "x.test" },
    "ws://127.0.0.1/",
    `HTTP_PROXY ${P}`,
  ],
  ["not loopback: 128.0.0.1 proxied", { HTTP_PROXY: P }, "ws://128.0.0.1/", `HTTP_PROXY ${P}`],
  // NO_PROXY forms.
  ["NO_PROXY * : direct", { HTTPS_PROXY: P, NO_PROXY: "*" }, "wss://example.com/", undefined],
  [
    "NO_PROXY host matches the host",
    { HTTPS_PROXY: P, NO_PROXY: "example.com" },
    "wss://example.com/",
    undefined,
  ],
  [
    "NO_PROXY host matches subdomains (curl)",
    { HTTPS_PROXY: P, NO_PROXY: "example.com" },
    "wss://a.b.example.com/",
    undefined,
  ],
  [
    "NO_PROXY host does not match a longer name",
    { HTTPS_PROXY: P, NO_PROXY: "example.com" },
    "wss://notexample.com/",
    `HTTPS_PROXY ${P}`,
  ],
  [
    "NO_PROXY .domain matches subdomains",
    { HTTPS_PROXY: P, NO_PROXY: ".example.com" },
    "wss://a.example.com/",
    undefined,
  ],
  [
    "NO_PROXY .domain matches the domain (curl strips the dot)",
    { HTTPS_PROXY: P, NO_PROXY: ".example.com" },
    "wss://example.com/",
    undefined,
  ],
  [
    "NO_PROXY *.domain matches subdomains",
    { HTTPS_PROXY: P, NO_PROXY: "*.example.com" },
    "wss://a.example.com/",
    undefined,
  ],
  [
    "NO_PROXY is case-insensitive",
    { HTTPS_PROXY: P, NO_PROXY: "EXAMPLE.com" },
    "wss://Example.COM/",
    undefined,
  ],
  [
    "NO_PROXY list with spaces",
    { HTTPS_PROXY: P, NO_PROXY: " a.test ,  example.com " },
    "wss://example.com/",
    undefined,
  ],
  [
    "NO_PROXY host:port matches that port",
    { HTTPS_PROXY: P, NO_PROXY: "example.com:8443" },
    "wss://example.com:8443/",
    undefined,
  ],
  [
    "NO_PROXY host:port does not match another port",
    { HTTPS_PROXY: P, NO_PROXY: "example.com:8443" },
    "wss://example.com/",
    `HTTPS_PROXY ${P}`,
  ],
  [
    "NO_PROXY host:443 matches the default wss port",
    { HTTPS_PROXY: P, NO_PROXY: "example.com:443" },
    "wss://example.com/",
    undefined,
  ],
  ["NO_PROXY IP", { HTTP_PROXY: P, NO_PROXY: "10.1.2.3" }, "ws://10.1.2.3/", undefined],
  [
    "NO_PROXY IP does not match another IP",
    { HTTP_PROXY: P, NO_PROXY: "10.1.2.3" },
    "ws://10.1.2.4/",
    `HTTP_PROXY ${P}`,
  ],
  ["NO_PROXY CIDR", { HTTP_PROXY: P, NO_PROXY: "10.0.0.0/8" }, "ws://10.200.3.4/", undefined],
  [
    "NO_PROXY CIDR outside",
    { HTTP_PROXY: P, NO_PROXY: "10.0.0.0/8" },
    "ws://11.0.0.1/",
    `HTTP_PROXY ${P}`,
  ],
  [
    "NO_PROXY CIDR /20 edge",
    { HTTP_PROXY: P, NO_PROXY: "192.168.16.0/20" },
    "ws://192.168.31.255/",
    undefined,
  ],
  [
    "NO_PROXY CIDR /20 just outside",
    { HTTP_PROXY: P, NO_PROXY: "192.168.16.0/20" },
    "ws://192.168.32.0/",
    `HTTP_PROXY ${P}`,
  ],
  [
    "NO_PROXY CIDR does not match names",
    { HTTP_PROXY: P, NO_PROXY: "10.0.0.0/8" },
    "ws://example.com/",
    `HTTP_PROXY ${P}`,
  ],
  [
    "NO_PROXY IPv6 without brackets",
    { HTTP_PROXY: P, NO_PROXY: "fd00::1" },
    "ws://[fd00::1]/",
    undefined,
  ],
  [
    "NO_PROXY IPv6 in another spelling",
    { HTTP_PROXY: P, NO_PROXY: "fd00:0:0:0:0:0:0:1" },
    "ws://[fd00::1]/",
    undefined,
  ],
  [
    "NO_PROXY [IPv6]:port",
    { HTTP_PROXY: P, NO_PROXY: "[fd00::1]:8080" },
    "ws://[fd00::1]:8080/",
    undefined,
  ],
  ["NO_PROXY IPv6 CIDR", { HTTP_PROXY: P, NO_PROXY: "fd00::/8" }, "ws://[fdab::9]/", undefined],
  [
    "NO_PROXY IPv6 CIDR outside",
    { HTTP_PROXY: P, NO_PROXY: "fd00::/8" },
    "ws://[fe80::1]/",
    `HTTP_PROXY ${P}`,
  ],
  [
    "no_proxy wins over NO_PROXY",
    { HTTP_PROXY: P, no_proxy: "a.test", NO_PROXY: "example.com" },
    "ws://example.com/",
    `HTTP_PROXY ${P}`,
  ],
  ["NO_PROXY without a proxy: direct", { NO_PROXY: "a.test" }, "ws://example.com/", undefined],
];

for (const [name, env, url, expected] of ROWS) {
  test(`S3: ${name}`, () => {
    const found = proxyFromEnvironment(new URL(url), env);
    assert.equal(found === undefined ? undefined : `${found.variable} ${found.proxy}`, expected);
  });
}

test("S3: matchesNoProxy ignores empty entries and a lone dot", () => {
  assert.equal(matchesNoProxy("example.com", 80, ", ,."), false);
  assert.equal(matchesNoProxy("example.com.", 80, "example.com"), true);
});
