/**
 * The client's address behind trusted proxies (issue 16 item 1, SPEC.md P9): `Forwarded`
 * (RFC 7239) or `X-Forwarded-For`, read only when the TCP peer is trusted, walked from the
 * nearest hop back to the first address that is not a trusted proxy.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { clientAddress, proxyTrust } from "../../src/server/client-address.js";

const trustLocal = proxyTrust(["127.0.0.1", "::1", "10.0.0.2"]);

const CASES: [
  string,
  string | undefined,
  string[],
  ReturnType<typeof proxyTrust>,
  string | undefined,
][] = [
  [
    "no trust: the peer",
    "127.0.0.1",
    ["X-Forwarded-For", "1.2.3.4"],
    proxyTrust(undefined),
    "127.0.0.1",
  ],
  [
    "untrusted peer: the peer",
    "192.0.2.9",
    ["X-Forwarded-For", "1.2.3.4"],
    trustLocal,
    "192.0.2.9",
  ],
  ["trusted peer, one hop", "127.0.0.1", ["X-Forwarded-For", "1.2.3.4"], trustLocal, "1.2.3.4"],
  [
    "the rightmost untrusted hop wins",
    "127.0.0.1",
    ["X-Forwarded-For", "6.6.6.6, 1.2.3.4, 10.0.0.2"],
    trustLocal,
    "1.2.3.4",
  ],
  [
    "two header lines are one list",
    "127.0.0.1",
    ["X-Forwarded-For", "6.6.6.6", "x-forwarded-for", "1.2.3.4"],
    trustLocal,
    "1.2.3.4",
  ],
  [
    "Forwarded wins over X-Forwarded-For",
    "127.0.0.1",
    ["X-Forwarded-For", "1.2.3.4", "Forwarded", "for=5.6.7.8;proto=http"],
    trustLocal,
    "5.6.7.8",
  ],
  [
    "Forwarded IPv6 with a port",
    "::1",
    ["Forwarded", 'for="[2001:db8:cafe::17]:4711"'],
    trustLocal,
    "2001:db8:cafe::17",
  ],
  [
    "Forwarded IPv4 with a port, two elements",
    "127.0.0.1",
    ["Forwarded", 'for=6.6.6.6, for="192.0.2.60:80";by=10.0.0.2'],
    trustLocal,
    "192.0.2.60",
  ],
  [
    "an obfuscated hop stops the walk",
    "127.0.0.1",
    ["Forwarded", "for=_hidden"],
    trustLocal,
    "127.0.0.1",
  ],
  ["no header: the peer", "127.0.0.1", ["Host", "x"], trustLocal, "127.0.0.1"],
  [
    "an IPv4-mapped peer is trusted as its IPv4 form",
    "127.0.0.1",
    ["X-Forwarded-For", "::ffff:1.2.3.4"],
    proxyTrust(["::ffff:127.0.0.1"]),
    "1.2.3.4",
  ],
  [
    "every hop trusted: the leftmost",
    "127.0.0.1",
    ["X-Forwarded-For", "10.0.0.2"],
    trustLocal,
    "10.0.0.2",
  ],
  ["unknown peer", undefined, ["X-Forwarded-For", "1.2.3.4"], trustLocal, undefined],
];

for (const [name, peer, headers, trust, expected] of CASES) {
  test(`P9/client address: ${name}`, () => {
    assert.equal(clientAddress(peer, headers, trust), expected);
  });
}

test("P9/client address: a trust function is used as given", () => {
  const trust = proxyTrust((address) => address.startsWith("10."));
  assert.equal(clientAddress("10.1.1.1", ["X-Forwarded-For", "8.8.8.8"], trust), "8.8.8.8");
});
