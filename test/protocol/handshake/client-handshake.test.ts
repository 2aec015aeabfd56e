import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import type { RandomSource, Sha1 } from "../../../src/protocol/ports.js";
import {
  buildClientRequest,
  ClientHandshake,
  computeAccept,
  validateServerResponse,
  type ClientHandshakeOptions,
  type ClientRequest,
  type ClientRequestOptions,
} from "../../../src/protocol/handshake/client-handshake.js";
import { HandshakeError } from "../../../src/protocol/handshake/handshake-error.js";
import type { ParsedExtension } from "../../../src/protocol/handshake/header-grammar.js";
import {
  concatBytes,
  decodeLatin1,
  encodeLatin1,
} from "../../../src/protocol/handshake/http-head.js";
import { describeSplit, splitEverywhere } from "../../helpers/split.js";

const sha1: Sha1 = { digest: (data) => new Uint8Array(createHash("sha1").update(data).digest()) };

/** A deterministic random source: byte n of all bytes ever filled is `(seed + n) % 256`. */
function fakeRandom(seed = 0): RandomSource & { readonly calls: number } {
  let next = seed;
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    fill(target) {
      calls++;
      for (let i = 0; i < target.length; i++) target[i] = next++ % 256;
    },
  };
}

/** The key the fake random source yields first: base64 of the bytes 0x00–0x0f. */
const KEY_0 = "AAECAwQFBgcICQoLDA0ODw==";

const base: ClientRequestOptions = {
  host: "example.com",
  port: 80,
  secure: false,
  resourceName: "/chat",
};

function build(options: Partial<ClientRequestOptions> = {}): ClientRequest {
  return buildClientRequest({ ...base, ...options }, { random: fakeRandom(), sha1 });
}

function requestText(options: Partial<ClientRequestOptions> = {}): string {
  return decodeLatin1(build(options).bytes);
}

function throwsCode(fn: () => unknown, code: string, what: string): HandshakeError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof HandshakeError,
    `${what}: expected a HandshakeError, got ${String(caught)}`,
  );
  assert.equal(caught.code, code, `${what}: ${caught.message}`);
  return caught;
}

describe("computeAccept", () => {
  test("F21: the RFC 6455 §1.3 test vector", () => {
    assert.equal(computeAccept("dGhlIHNhbXBsZSBub25jZQ==", sha1), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
});

describe("buildClientRequest", () => {
  test("F6, F8, F9, F10: the minimal request, byte for byte", () => {
    const request = build();
    assert.equal(
      decodeLatin1(request.bytes),
      "GET /chat HTTP/1.1\r\n" +
        "Host: example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${KEY_0}\r\n` +
        "Sec-WebSocket-Version: 13\r\n" +
        "\r\n",
    );
    assert.equal(request.key, KEY_0);
    assert.equal(request.expectedAccept, computeAccept(KEY_0, sha1));
    assert.deepEqual(request.protocols, []);
    assert.deepEqual(request.extensions, []);
  });

  test("F6-F13: a request with every option, byte for byte and in order", () => {
    const request = buildClientRequest(
      {
        host: "[::1]",
        port: 9001,
        secure: true,
        resourceName: "/a/b?x=1&y=%20",
        protocols: ["chat", "superchat"],
        extensions: " permessage-deflate; client_max_window_bits ",
        origin: "https://example.org",
        headers: [
          ["Authorization", "Bearer abc"],
          ["X-Trace", " 42\t"],
        ],
      },
      { random: fakeRandom(), sha1 },
    );
    assert.equal(
      decodeLatin1(request.bytes),
      "GET /a/b?x=1&y=%20 HTTP/1.1\r\n" +
        "Host: [::1]:9001\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${KEY_0}\r\n` +
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "Origin: https://example.org\r\n" +
        "Authorization: Bearer abc\r\n" +
        "X-Trace: 42\r\n" +
        "\r\n",
    );
    assert.deepEqual(request.protocols, ["chat", "superchat"]);
    assert.deepEqual(request.extensions, [
      { name: "permessage-deflate", params: [["client_max_window_bits", true]] },
    ]);
  });

  test("F7: Host carries :port only when the port is not the scheme's default", () => {
    const cases = [
      [{ port: 80, secure: false }, "example.com"],
      [{ port: 443, secure: true }, "example.com"],
      [{ port: 443, secure: false }, "example.com:443"],
      [{ port: 80, secure: true }, "example.com:80"],
      [{ port: 8080, secure: false }, "example.com:8080"],
      [{ host: "[2001:db8::1]", port: 443, secure: true }, "[2001:db8::1]"],
      [{ host: "[2001:db8::1]", port: 8443, secure: true }, "[2001:db8::1]:8443"],
      [{ host: "127.0.0.1", port: 1, secure: false }, "127.0.0.1:1"],
    ] as const;
    for (const [options, host] of cases) {
      assert.match(
        requestText(options),
        new RegExp(`\r\nHost: ${host.replace(/[[\]]/g, "\\$&")}\r\n`),
      );
    }
  });

  test("F9, P3: the key is base64 of 16 fresh bytes from the random port, new for every request", () => {
    const random = fakeRandom(100);
    const first = buildClientRequest(base, { random, sha1 });
    const second = buildClientRequest(base, { random, sha1 });
    assert.equal(random.calls, 2);
    assert.equal(
      first.key,
      Buffer.from(Array.from({ length: 16 }, (_, i) => 100 + i)).toString("base64"),
    );
    assert.notEqual(first.key, second.key);
    for (const { key } of [first, second]) {
      assert.match(key, /^[A-Za-z0-9+/]{22}==$/);
      assert.equal(Buffer.from(key, "base64").length, 16);
    }
    assert.equal(
      decodeLatin1(first.bytes).split("Sec-WebSocket-Key").length,
      2,
      "exactly one key header",
    );
  });

  test("F11: subprotocols go in one header, in order; none means no header", () => {
    assert.match(requestText({ protocols: ["b", "a"] }), /\r\nSec-WebSocket-Protocol: b, a\r\n/);
    assert.doesNotMatch(requestText({ protocols: [] }), /Sec-WebSocket-Protocol/);
    assert.doesNotMatch(requestText(), /Sec-WebSocket-Protocol/);
  });

  test("F12: the extension offer is sent as given; absent or empty means no header", () => {
    const offer = "permessage-deflate; client_max_window_bits, permessage-deflate";
    assert.match(
      requestText({ extensions: offer }),
      new RegExp(`\r\nSec-WebSocket-Extensions: ${offer}\r\n`),
    );
    assert.doesNotMatch(requestText({ extensions: "" }), /Sec-WebSocket-Extensions/);
    assert.doesNotMatch(requestText({ extensions: " \t" }), /Sec-WebSocket-Extensions/);
    assert.doesNotMatch(requestText(), /Sec-WebSocket-Extensions/);
  });

  test("F13, F14: no Origin (and no Referer) by default; Origin when given", () => {
    assert.doesNotMatch(requestText(), /Origin|Referer/);
    assert.doesNotMatch(requestText({ origin: "" }), /Origin/);
    assert.match(requestText({ origin: "null" }), /\r\nOrigin: null\r\n/);
  });

  test("P17: an Origin extra header is allowed only when the origin option is not used", () => {
    assert.match(
      requestText({ headers: [["origin", "https://a.example"]] }),
      /\r\norigin: https:\/\/a\.example\r\n/,
    );
    throwsCode(
      () => build({ origin: "https://a.example", headers: [["Origin", "https://b.example"]] }),
      "ERR_WS_INVALID_HEADER",
      "two origins",
    );
  });

  test("P17: extra headers may not override Host, Upgrade, Connection or Sec-WebSocket-*", () => {
    for (const name of [
      "Host",
      "host",
      "Upgrade",
      "CONNECTION",
      "Sec-WebSocket-Key",
      "sec-websocket-version",
      "Sec-WebSocket-Protocol",
      "Sec-WebSocket-Extensions",
      "Sec-WebSocket-Accept",
      "Sec-WebSocket-Anything",
    ]) {
      throwsCode(() => build({ headers: [[name, "x"]] }), "ERR_WS_INVALID_HEADER", name);
    }
  });

  test("P17: extra headers with CR, LF or NUL in the value, or a non-token name, are refused", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["X-A", "a\r\nHost: evil.example"],
      ["X-A", "a\nb"],
      ["X-A", "a\rb"],
      ["X-A", "a\0b"],
      ["X-A", "\u20ac"],
      ["X A", "v"],
      ["X-A\r\nX-B", "v"],
      ["", "v"],
    ];
    for (const header of cases) {
      throwsCode(
        () => build({ headers: [header] }),
        "ERR_WS_INVALID_HEADER",
        JSON.stringify(header),
      );
    }
  });

  test("P17: a host, port or resource name that cannot be sent safely is refused", () => {
    const cases: ReadonlyArray<Partial<ClientRequestOptions>> = [
      { host: "" },
      { host: "a b" },
      { host: "a\r\nX: y" },
      { host: "a/b" },
      { host: "user@a" },
      { host: "caf\u00e9" },
      { port: 0 },
      { port: 65536 },
      { port: 1.5 },
      { port: Number.NaN },
      { resourceName: "" },
      { resourceName: "chat" },
      { resourceName: "/a b" },
      { resourceName: "/a\r\nX: y" },
      { resourceName: "/caf\u00e9" },
    ];
    for (const options of cases) {
      throwsCode(() => build(options), "ERR_WS_INVALID_HEADER", JSON.stringify(options));
    }
    assert.match(requestText({ resourceName: "/" }), /^GET \/ HTTP\/1\.1\r\n/);
    assert.match(requestText({ port: 65535 }), /\r\nHost: example\.com:65535\r\n/);
  });

  test("subprotocols must be tokens and must not repeat exactly", () => {
    for (const protocols of [[""], ["a b"], ["a,b"], ["chat\r\nX: y"], ["chat", "chat"]]) {
      throwsCode(() => build({ protocols }), "ERR_WS_INVALID_HEADER", JSON.stringify(protocols));
    }
    assert.deepEqual(build({ protocols: ["chat", "Chat"] }).protocols, ["chat", "Chat"]);
  });

  test("an extension offer that breaks the §9.1 ABNF is refused, with the parse error as cause", () => {
    for (const extensions of ["permessage-deflate;", 'a; b="1 0"', "a\r\nX: y", ","]) {
      const error = throwsCode(() => build({ extensions }), "ERR_WS_INVALID_HEADER", extensions);
      assert.ok(error.cause instanceof HandshakeError);
      assert.equal(error.cause.code, "ERR_WS_HANDSHAKE_EXTENSIONS");
    }
  });

  test("an origin with a control character is refused", () => {
    throwsCode(() => build({ origin: "https://a\r\nX: y" }), "ERR_WS_INVALID_HEADER", "origin");
  });
});

/** A 101 for `request`, with `lines` replacing or adding header lines. */
function response101(
  request: ClientRequest,
  extraLines: readonly string[] = [],
  statusLine = "HTTP/1.1 101 Switching Protocols",
): string {
  return [
    statusLine,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${request.expectedAccept}`,
    ...extraLines,
    "",
    "",
  ].join("\r\n");
}

type Outcome =
  | {
      readonly type: "open";
      readonly protocol: string;
      readonly extensions: string;
      readonly rest: Uint8Array;
    }
  | {
      readonly type: "error";
      readonly code: string;
      readonly status: number | undefined;
      readonly responseStatus: number | undefined;
    }
  | { readonly type: "incomplete" };

function feed(
  request: ClientRequest,
  chunks: readonly Uint8Array[],
  options?: ClientHandshakeOptions,
): Outcome {
  const handshake = new ClientHandshake(request, options);
  for (const [i, chunk] of chunks.entries()) {
    let result;
    try {
      result = handshake.receive(chunk);
    } catch (error) {
      assert.ok(error instanceof HandshakeError, `not a HandshakeError: ${String(error)}`);
      return {
        type: "error",
        code: error.code,
        status: error.status,
        responseStatus: error.response?.status,
      };
    }
    if (result !== undefined) {
      assert.equal(result.rest, result.head.rest);
      return {
        type: "open",
        protocol: result.protocol,
        extensions: result.extensions,
        rest: concatBytes([result.rest, ...chunks.slice(i + 1)]),
      };
    }
  }
  return { type: "incomplete" };
}

/** Runs the client handshake over `input` split at every byte boundary; all must agree. */
function handshakeEverySplit(
  request: ClientRequest,
  input: string | Uint8Array,
  options?: ClientHandshakeOptions,
): Outcome {
  const bytes = typeof input === "string" ? encodeLatin1(input) : input;
  const expected = feed(request, [bytes], options);
  for (const chunks of splitEverywhere(bytes)) {
    assert.deepEqual(feed(request, chunks, options), expected, `split ${describeSplit(chunks)}`);
  }
  return expected;
}

function expectOpen(outcome: Outcome, protocol = "", extensions = ""): void {
  assert.equal(outcome.type, "open", JSON.stringify(outcome));
  assert.equal((outcome as { protocol: string }).protocol, protocol);
  assert.equal((outcome as { extensions: string }).extensions, extensions);
}

function expectFailure(outcome: Outcome, code: string, responseStatus = 101): void {
  assert.deepEqual(outcome, { type: "error", code, status: undefined, responseStatus });
}

describe("ClientHandshake: a valid 101", () => {
  test("F28: a minimal 101 opens with no subprotocol and no extensions, for every split", () => {
    const request = build();
    expectOpen(handshakeEverySplit(request, response101(request)));
  });

  test("F27: frame bytes that arrive with the head are returned as rest, for every split", () => {
    const request = build();
    const close = Uint8Array.of(0x88, 0x02, 0x03, 0xe8);
    const outcome = handshakeEverySplit(
      request,
      concatBytes([encodeLatin1(response101(request)), close]),
    );
    assert.equal(outcome.type, "open");
    assert.deepEqual((outcome as { rest: Uint8Array }).rest, close);
  });

  test("F26: header names match in any case, and Upgrade's value in any case", () => {
    const request = build();
    const input = [
      "HTTP/1.1 101 Web Socket Protocol Handshake",
      "UPGRADE: WebSocket",
      "connection: keep-alive, UPGRADE",
      `sec-websocket-accept:${request.expectedAccept}`,
      "",
      "",
    ].join("\r\n");
    expectOpen(handshakeEverySplit(request, input));
  });

  test("F20: the upgrade token may sit in a list or in a second Connection header", () => {
    const request = build();
    const input = [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: keep-alive",
      "Connection: , Upgrade",
      `Sec-WebSocket-Accept: ${request.expectedAccept}`,
      "",
      "",
    ].join("\r\n");
    expectOpen(handshakeEverySplit(request, input));
  });

  test("F21: whitespace around the accept value is ignored", () => {
    const request = build();
    const input = response101(request).replace(
      `Accept: ${request.expectedAccept}`,
      `Accept: \t ${request.expectedAccept} \t`,
    );
    expectOpen(handshakeEverySplit(request, input));
    // Also when the caller's headers were not trimmed by our parser.
    const result = validateServerResponse(
      {
        status: 101,
        statusText: "",
        headers: [
          ["Upgrade", " websocket "],
          ["Connection", "Upgrade"],
          ["Sec-WebSocket-Accept", ` ${request.expectedAccept}\t`],
        ],
      },
      request,
    );
    assert.deepEqual(result, { protocol: "", extensions: "" });
  });

  test("F24, F28: the chosen subprotocol is returned when it is one of those requested", () => {
    const request = build({ protocols: ["chat", "superchat"] });
    expectOpen(
      handshakeEverySplit(request, response101(request, ["Sec-WebSocket-Protocol: superchat"])),
      "superchat",
    );
  });

  test("F23, F28: accepted extensions are returned as the raw header value", () => {
    const request = build({ extensions: "permessage-deflate; client_max_window_bits, x-foo" });
    const value = "permessage-deflate;client_max_window_bits=10 ;server_no_context_takeover, x-foo";
    expectOpen(
      handshakeEverySplit(request, response101(request, [`Sec-WebSocket-Extensions: ${value}`])),
      "",
      value,
    );
  });

  test("a hook validates the accepted extensions, given the accepted and offered lists", () => {
    const request = build({ extensions: "permessage-deflate; client_max_window_bits" });
    const calls: Array<[readonly ParsedExtension[], readonly ParsedExtension[]]> = [];
    const options: ClientHandshakeOptions = {
      validateExtensions: (accepted, offered) => {
        calls.push([accepted, offered]);
      },
    };
    const input = response101(request, [
      "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12",
    ]);
    expectOpen(
      feed(request, [encodeLatin1(input)], options),
      "",
      "permessage-deflate; server_max_window_bits=12",
    );
    assert.deepEqual(calls, [
      [
        [{ name: "permessage-deflate", params: [["server_max_window_bits", "12"]] }],
        [{ name: "permessage-deflate", params: [["client_max_window_bits", true]] }],
      ],
    ]);
    calls.length = 0;
    expectOpen(feed(request, [encodeLatin1(response101(request))], options));
    assert.deepEqual(calls, [[[], request.extensions]], "called with [] when none was accepted");
  });

  test("receive returns undefined until the head is complete, then is done", () => {
    const request = build();
    const handshake = new ClientHandshake(request);
    const bytes = encodeLatin1(response101(request));
    assert.equal(handshake.receive(bytes.subarray(0, 10)), undefined);
    assert.equal(handshake.receive(new Uint8Array(0)), undefined);
    const result = handshake.receive(bytes.subarray(10));
    assert.equal(result?.head.status, 101);
    assert.equal(result?.rest.length, 0);
    assert.throws(
      () => handshake.receive(Uint8Array.of(0x81)),
      (error: unknown) => error instanceof Error && !(error instanceof HandshakeError),
    );
  });
});

describe("ClientHandshake: failures", () => {
  test("F17, P10: a redirect fails with the response attached, and is not followed", () => {
    const request = build();
    const input =
      "HTTP/1.1 302 Found\r\nLocation: wss://elsewhere.example/\r\nContent-Length: 0\r\n\r\n";
    expectFailure(handshakeEverySplit(request, input), "ERR_WS_HANDSHAKE_STATUS", 302);
    const error = throwsCode(
      () => new ClientHandshake(request).receive(encodeLatin1(input)),
      "ERR_WS_HANDSHAKE_STATUS",
      "302",
    );
    assert.deepEqual(error.response, {
      status: 302,
      statusText: "Found",
      headers: [
        ["Location", "wss://elsewhere.example/"],
        ["Content-Length", "0"],
      ],
    });
    assert.equal(error.status, undefined);
    assert.match(error.message, /302 "Found"/);
  });

  test("F18: any status other than 101 fails, even with valid upgrade headers", () => {
    const request = build();
    for (const status of [
      "200 OK",
      "400 Bad Request",
      "401 Unauthorized",
      "403 Forbidden",
      "426 Upgrade Required",
      "100 Continue",
      "503 Service Unavailable",
    ]) {
      const input = response101(request, [], `HTTP/1.1 ${status}`);
      expectFailure(
        handshakeEverySplit(request, input),
        "ERR_WS_HANDSHAKE_STATUS",
        Number(status.slice(0, 3)),
      );
    }
  });

  test("F19: a missing, different or repeated Upgrade fails", () => {
    const request = build();
    const without = (line: string): string => response101(request).replace(`${line}\r\n`, "");
    expectFailure(
      handshakeEverySplit(request, without("Upgrade: websocket")),
      "ERR_WS_HANDSHAKE_UPGRADE",
    );
    for (const value of ["websocket2", "websocket, h2c", "web socket", ""]) {
      const input = response101(request).replace("Upgrade: websocket", `Upgrade: ${value}`);
      expectFailure(handshakeEverySplit(request, input), "ERR_WS_HANDSHAKE_UPGRADE");
    }
    expectFailure(
      handshakeEverySplit(request, response101(request, ["Upgrade: websocket"])),
      "ERR_WS_HANDSHAKE_DUPLICATE_HEADER",
    );
  });

  test("F20: a missing Connection, or one without an upgrade token, fails", () => {
    const request = build();
    expectFailure(
      handshakeEverySplit(request, response101(request).replace("Connection: Upgrade\r\n", "")),
      "ERR_WS_HANDSHAKE_CONNECTION",
    );
    for (const value of ["close", "keep-alive", "upgraded", "Upgrade-Insecure"]) {
      const input = response101(request).replace("Connection: Upgrade", `Connection: ${value}`);
      expectFailure(handshakeEverySplit(request, input), "ERR_WS_HANDSHAKE_CONNECTION");
    }
  });

  test("F21: a missing or wrong Sec-WebSocket-Accept fails; the comparison is case-sensitive", () => {
    const request = build();
    const accept = request.expectedAccept;
    expectFailure(
      handshakeEverySplit(
        request,
        response101(request).replace(`Sec-WebSocket-Accept: ${accept}\r\n`, ""),
      ),
      "ERR_WS_HANDSHAKE_ACCEPT",
    );
    for (const wrong of [
      "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
      accept.toLowerCase(),
      accept.slice(0, -1),
      `${accept}=`,
      computeAccept(request.key.toLowerCase(), sha1),
      "",
    ]) {
      const input = response101(request).replace(`Accept: ${accept}`, `Accept: ${wrong}`);
      expectFailure(handshakeEverySplit(request, input), "ERR_WS_HANDSHAKE_ACCEPT");
    }
  });

  test("F22: Sec-WebSocket-Accept, -Protocol and -Extensions may each appear only once", () => {
    const request = build({ protocols: ["chat"], extensions: "permessage-deflate" });
    for (const extra of [
      [`sec-websocket-accept: ${request.expectedAccept}`, "Sec-WebSocket-Protocol: chat"],
      ["Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"],
      [
        "Sec-WebSocket-Protocol: chat",
        "Sec-WebSocket-Extensions: permessage-deflate",
        "Sec-WebSocket-Extensions: permessage-deflate",
      ],
    ]) {
      expectFailure(
        handshakeEverySplit(request, response101(request, extra)),
        "ERR_WS_HANDSHAKE_DUPLICATE_HEADER",
      );
    }
  });

  test("F23: extensions that were not offered, malformed, empty or repeated fail", () => {
    const request = build({ extensions: "permessage-deflate; client_max_window_bits" });
    const none = build();
    for (const [req, value] of [
      [none, "permessage-deflate"],
      [request, "x-foo"],
      [request, "Permessage-Deflate"],
      [request, "permessage-deflate, x-foo"],
      [request, "permessage-deflate;"],
      [request, 'permessage-deflate; server_max_window_bits="1 0"'],
      [request, ""],
      [request, "permessage-deflate, permessage-deflate"],
    ] as const) {
      const input = response101(req, [`Sec-WebSocket-Extensions: ${value}`]);
      expectFailure(handshakeEverySplit(req, input), "ERR_WS_HANDSHAKE_EXTENSIONS");
    }
  });

  test("N6: an error thrown by the extension hook fails the handshake, with the error as cause", () => {
    const request = build({ extensions: "permessage-deflate" });
    const input = encodeLatin1(
      response101(request, ["Sec-WebSocket-Extensions: permessage-deflate; bogus"]),
    );
    const hookError = new RangeError("unknown parameter bogus");
    const wrapped = throwsCode(
      () =>
        new ClientHandshake(request, {
          validateExtensions: () => {
            throw hookError;
          },
        }).receive(input),
      "ERR_WS_HANDSHAKE_EXTENSIONS",
      "hook error",
    );
    assert.equal(wrapped.cause, hookError);
    assert.equal(wrapped.response?.status, 101);
    assert.match(wrapped.message, /unknown parameter bogus/);

    const own = new HandshakeError("ERR_WS_HANDSHAKE_EXTENSIONS", "mine");
    assert.throws(
      () =>
        new ClientHandshake(request, {
          validateExtensions: () => {
            throw own;
          },
        }).receive(input),
      (error: unknown) => error === own,
    );
  });

  test("F24: a subprotocol that was not requested, or differs in case, fails", () => {
    const request = build({ protocols: ["chat", "superchat"] });
    for (const value of ["Chat", "other", "chat, superchat", "chat "]) {
      const input = response101(request, [`Sec-WebSocket-Protocol: ${value}`]);
      const outcome = handshakeEverySplit(request, input);
      if (value === "chat ")
        expectOpen(outcome, "chat"); // OWS is not part of the value
      else expectFailure(outcome, "ERR_WS_HANDSHAKE_PROTOCOL");
    }
  });

  test("F24: a subprotocol when none was requested fails, even an empty header", () => {
    const request = build();
    for (const value of ["chat", ""]) {
      const input = response101(request, [`Sec-WebSocket-Protocol: ${value}`]);
      expectFailure(handshakeEverySplit(request, input), "ERR_WS_HANDSHAKE_PROTOCOL");
    }
  });

  test("F25: no subprotocol, or an empty one, when some were requested fails", () => {
    const request = build({ protocols: ["chat"] });
    expectFailure(handshakeEverySplit(request, response101(request)), "ERR_WS_HANDSHAKE_PROTOCOL");
    expectFailure(
      handshakeEverySplit(request, response101(request, ["Sec-WebSocket-Protocol:  "])),
      "ERR_WS_HANDSHAKE_PROTOCOL",
    );
  });

  test("checks run in RFC 6455 §4.1 order: the status first, the subprotocol last", () => {
    const request = build({ protocols: ["chat"] });
    expectFailure(
      handshakeEverySplit(request, "HTTP/1.1 403 Forbidden\r\n\r\n"),
      "ERR_WS_HANDSHAKE_STATUS",
      403,
    );
    const noUpgradeNoAccept = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n";
    expectFailure(handshakeEverySplit(request, noUpgradeNoAccept), "ERR_WS_HANDSHAKE_UPGRADE");
    const badAcceptBadExt = response101(request, ["Sec-WebSocket-Extensions: x"]).replace(
      request.expectedAccept,
      "AAAA",
    );
    expectFailure(handshakeEverySplit(request, badAcceptBadExt), "ERR_WS_HANDSHAKE_ACCEPT");
    const badExtBadProtocol = response101(request, [
      "Sec-WebSocket-Extensions: x",
      "Sec-WebSocket-Protocol: y",
    ]);
    expectFailure(handshakeEverySplit(request, badExtBadProtocol), "ERR_WS_HANDSHAKE_EXTENSIONS");
  });

  test("G15/P9: the response head is bounded by the limits, which can be set", () => {
    const request = build();
    const input = response101(
      request,
      Array.from({ length: 20 }, (_, i) => `X-Pad-${i}: ${"p".repeat(20)}`),
    );
    expectOpen(handshakeEverySplit(request, input));
    const outcome = handshakeEverySplit(request, input, { limits: { maxHeadBytes: 256 } });
    assert.deepEqual(outcome, {
      type: "error",
      code: "ERR_WS_HTTP_HEAD_TOO_LARGE",
      status: undefined,
      responseStatus: undefined,
    });
    const count = handshakeEverySplit(request, input, { limits: { maxHeaderCount: 5 } });
    assert.equal((count as { code: string }).code, "ERR_WS_HTTP_TOO_MANY_HEADERS");
  });

  test("a malformed response head fails with ERR_WS_HTTP_MALFORMED, for every split", () => {
    const request = build();
    const outcome = handshakeEverySplit(
      request,
      response101(request).replace("Upgrade: websocket\r\n", "Upgrade: websocket\n"),
    );
    assert.deepEqual(outcome, {
      type: "error",
      code: "ERR_WS_HTTP_MALFORMED",
      status: undefined,
      responseStatus: undefined,
    });
  });

  test("after a failure, every later receive throws the same error", () => {
    const request = build();
    const handshake = new ClientHandshake(request);
    const error = throwsCode(
      () => handshake.receive(encodeLatin1("HTTP/1.1 404 Not Found\r\n\r\n")),
      "ERR_WS_HANDSHAKE_STATUS",
      "404",
    );
    assert.throws(
      () => handshake.receive(encodeLatin1("more")),
      (again: unknown) => again === error,
    );
  });

  test("a non-Error thrown by the hook is wrapped too", () => {
    const request = build({ extensions: "x" });
    const error = throwsCode(
      () =>
        validateServerResponse(
          {
            status: 101,
            statusText: "",
            headers: [
              ["Upgrade", "websocket"],
              ["Connection", "upgrade"],
              ["Sec-WebSocket-Accept", request.expectedAccept],
              ["Sec-WebSocket-Extensions", "x"],
            ],
          },
          request,
          {
            validateExtensions: () => {
              throw "nope";
            },
          },
        ),
      "ERR_WS_HANDSHAKE_EXTENSIONS",
      "string thrown",
    );
    assert.equal(error.cause, "nope");
  });
});
