import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import type { Sha1 } from "../../../src/protocol/ports.js";
import {
  buildClientRequest,
  ClientHandshake,
} from "../../../src/protocol/handshake/client-handshake.js";
import { HandshakeError } from "../../../src/protocol/handshake/handshake-error.js";
import {
  decodeLatin1,
  encodeLatin1,
  HttpHeadParser,
  type HttpHeader,
} from "../../../src/protocol/handshake/http-head.js";
import {
  buildAcceptResponse,
  buildAcceptResponseHead,
  buildRejectResponse,
  DEFAULT_STATUS_TEXTS,
  validateRawUpgradeRequest,
  validateUpgradeRequest,
  type UpgradeRequestValidation,
} from "../../../src/protocol/handshake/server-handshake.js";
import { describeSplit, splitEverywhere } from "../../helpers/split.js";

const sha1: Sha1 = { digest: (data) => new Uint8Array(createHash("sha1").update(data).digest()) };
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** The RFC 6455 §1.2 sample request, with `edit` applied to its header lines. */
function requestHead(
  edit: (lines: string[]) => string[] = (lines) => lines,
  startLine = "GET /chat HTTP/1.1",
): string {
  const lines = [
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${KEY}`,
    "Origin: http://example.com",
    "Sec-WebSocket-Protocol: chat, superchat",
    "Sec-WebSocket-Version: 13",
  ];
  return [startLine, ...edit(lines), "", ""].join("\r\n");
}

const without =
  (prefix: string) =>
  (lines: string[]): string[] =>
    lines.filter((line) => !line.startsWith(prefix));
const replacing =
  (prefix: string, replacement: string) =>
  (lines: string[]): string[] =>
    lines.map((line) => (line.startsWith(prefix) ? replacement : line));
const adding =
  (...extra: string[]) =>
  (lines: string[]): string[] => [...lines, ...extra];

/** Parses `text` as a request head at every split, validates it, and checks all splits agree. */
function validateEverySplit(text: string): UpgradeRequestValidation {
  const bytes = encodeLatin1(text);
  const run = (chunks: readonly Uint8Array[]): UpgradeRequestValidation => {
    const parser = new HttpHeadParser("request");
    for (const chunk of chunks) {
      const head = parser.push(chunk);
      if (head !== undefined) return validateUpgradeRequest(head);
    }
    assert.fail("the head did not complete");
  };
  const expected = run([bytes]);
  for (const chunks of splitEverywhere(bytes)) {
    assert.deepEqual(run(chunks), expected, `split ${describeSplit(chunks)}`);
  }
  return expected;
}

function expectRejected(
  result: UpgradeRequestValidation,
  code: string,
  status: number,
  headers: HttpHeader[] = [],
): void {
  assert.equal(result.ok, false, JSON.stringify(result));
  assert.ok(!result.ok);
  assert.equal(result.code, code, result.message);
  assert.equal(result.status, status);
  assert.deepEqual(result.headers, headers);
  assert.ok(result.message.length > 0);
}

function throwsCode(fn: () => unknown, code: string, what: string): void {
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof HandshakeError, `${what}: not a HandshakeError`);
      assert.equal(error.code, code, `${what}: ${error.message}`);
      return true;
    },
    what,
  );
}

describe("validateUpgradeRequest: acceptable requests", () => {
  test("the RFC 6455 §1.2 sample request passes, for every split", () => {
    assert.deepEqual(validateEverySplit(requestHead()), {
      ok: true,
      key: KEY,
      protocols: ["chat", "superchat"],
      extensions: [],
      origin: "http://example.com",
    });
  });

  test("G6: Origin is optional (a non-browser client)", () => {
    const result = validateEverySplit(requestHead(without("Origin")));
    assert.ok(result.ok);
    assert.equal(result.origin, undefined);
  });

  test("G3: the tokens may sit in lists, in any case, across field lines", () => {
    const result = validateEverySplit(
      requestHead((lines) =>
        replacing(
          "Upgrade",
          "upgrade: h2c, WebSocket",
        )(replacing("Connection", "connection: keep-alive")(lines)).concat("CONNECTION: , UPGRADE"),
      ),
    );
    assert.equal(result.ok, true);
  });

  test("G4, G5: OWS around the key and the version is not part of them", () => {
    const result = validateUpgradeRequest({
      method: "GET",
      httpVersion: "1.1",
      headers: [
        ["Host", "a"],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", ` ${KEY}\t`],
        ["Sec-WebSocket-Version", " 13 "],
      ],
    });
    assert.deepEqual(result, {
      ok: true,
      key: KEY,
      protocols: [],
      extensions: [],
      origin: undefined,
    });
  });

  test("G1: later HTTP versions are accepted", () => {
    for (const httpVersion of ["1.1", "1.2", "2.0", "10.0"]) {
      const result = validateUpgradeRequest({
        method: "GET",
        httpVersion,
        headers: [
          ["Host", "a"],
          ["Upgrade", "websocket"],
          ["Connection", "Upgrade"],
          ["Sec-WebSocket-Key", KEY],
          ["Sec-WebSocket-Version", "13"],
        ],
      });
      assert.equal(result.ok, true, httpVersion);
    }
  });

  test("G10, N2: the extension offer is parsed, in order, across field lines", () => {
    const result = validateEverySplit(
      requestHead(
        adding(
          "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; server_max_window_bits=10",
          "Sec-WebSocket-Extensions: permessage-deflate",
        ),
      ),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.extensions, [
      {
        name: "permessage-deflate",
        params: [
          ["client_max_window_bits", true],
          ["server_max_window_bits", "10"],
        ],
      },
      { name: "permessage-deflate", params: [] },
    ]);
  });

  test("G9: subprotocols from several field lines form one list, in order", () => {
    const result = validateEverySplit(requestHead(adding("sec-websocket-protocol: v2.chat")));
    assert.ok(result.ok);
    assert.deepEqual(result.protocols, ["chat", "superchat", "v2.chat"]);
  });
});

describe("validateUpgradeRequest: rejections", () => {
  test("G1: a method other than GET is a 405 with Allow: GET", () => {
    for (const method of ["POST", "get", "HEAD", "CONNECT"]) {
      expectRejected(
        validateEverySplit(requestHead(undefined, `${method} /chat HTTP/1.1`)),
        "ERR_WS_HANDSHAKE_METHOD",
        405,
        [["Allow", "GET"]],
      );
    }
  });

  test("G1: a version older than HTTP/1.1 is a 400", () => {
    expectRejected(
      validateEverySplit(requestHead(undefined, "GET /chat HTTP/1.0")),
      "ERR_WS_HANDSHAKE_HTTP_VERSION",
      400,
    );
    for (const httpVersion of ["0.9", "1.0", "", "x", "1", "1.1.1"]) {
      expectRejected(
        validateUpgradeRequest({ method: "GET", httpVersion, headers: [] }),
        "ERR_WS_HANDSHAKE_HTTP_VERSION",
        400,
      );
    }
  });

  test("G2: a missing or empty Host is a 400; two Host fields are a 400 (RFC 9112 §3.2)", () => {
    expectRejected(validateEverySplit(requestHead(without("Host"))), "ERR_WS_HANDSHAKE_HOST", 400);
    expectRejected(
      validateEverySplit(requestHead(replacing("Host", "Host: "))),
      "ERR_WS_HANDSHAKE_HOST",
      400,
    );
    expectRejected(
      validateEverySplit(requestHead(adding("host: evil.example"))),
      "ERR_WS_HANDSHAKE_DUPLICATE_HEADER",
      400,
    );
  });

  test("G3: an Upgrade without a websocket token is a 400", () => {
    expectRejected(
      validateEverySplit(requestHead(without("Upgrade"))),
      "ERR_WS_HANDSHAKE_UPGRADE",
      400,
    );
    for (const value of ["h2c", "websocket/13", "web socket", ""]) {
      expectRejected(
        validateEverySplit(requestHead(replacing("Upgrade", `Upgrade: ${value}`))),
        "ERR_WS_HANDSHAKE_UPGRADE",
        400,
      );
    }
  });

  test("G3: a Connection without an upgrade token is a 400", () => {
    expectRejected(
      validateEverySplit(requestHead(without("Connection"))),
      "ERR_WS_HANDSHAKE_CONNECTION",
      400,
    );
    for (const value of ["keep-alive", "close", "Upgrade-Insecure-Requests", "upgrade websocket"]) {
      expectRejected(
        validateEverySplit(requestHead(replacing("Connection", `Connection: ${value}`))),
        "ERR_WS_HANDSHAKE_CONNECTION",
        400,
      );
    }
  });

  test("G4: a missing key, or one that is not strict base64 of 16 bytes, is a 400", () => {
    expectRejected(
      validateEverySplit(requestHead(without("Sec-WebSocket-Key"))),
      "ERR_WS_HANDSHAKE_KEY",
      400,
    );
    for (const key of [
      "",
      "dGhlIHNhbXBsZSBub25jZQ", // no padding
      "dGhlIHNhbXBsZSBub25jZR==", // non-zero padding bits
      "dGhlIHNhbXBsZSBub25j", // 15 bytes
      "dGhlIHNhbXBsZSBub25jZSE=", // 17 bytes
      "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==",
      "dGhlIHNhbXBsZSBub25jZQ-_", // base64url alphabet
      "dGhlIHNh bXBsZSBub25jZQ==",
    ]) {
      expectRejected(
        validateEverySplit(
          requestHead(replacing("Sec-WebSocket-Key", `Sec-WebSocket-Key: ${key}`)),
        ),
        "ERR_WS_HANDSHAKE_KEY",
        400,
      );
    }
  });

  test("G4: two Sec-WebSocket-Key fields are a 400, even when equal", () => {
    expectRejected(
      validateEverySplit(requestHead(adding(`Sec-WebSocket-Key: ${KEY}`))),
      "ERR_WS_HANDSHAKE_DUPLICATE_HEADER",
      400,
    );
  });

  test("G5: a missing or unsupported version is a 426 naming version 13 (and Upgrade)", () => {
    const headers: HttpHeader[] = [
      ["Sec-WebSocket-Version", "13"],
      ["Upgrade", "websocket"],
    ];
    expectRejected(
      validateEverySplit(requestHead(without("Sec-WebSocket-Version"))),
      "ERR_WS_HANDSHAKE_VERSION",
      426,
      headers,
    );
    for (const version of ["8", "12", "14", "13, 8", "013", ""]) {
      expectRejected(
        validateEverySplit(
          requestHead(replacing("Sec-WebSocket-Version", `Sec-WebSocket-Version: ${version}`)),
        ),
        "ERR_WS_HANDSHAKE_VERSION",
        426,
        headers,
      );
    }
  });

  test("G5: two Sec-WebSocket-Version fields are a 400", () => {
    expectRejected(
      validateEverySplit(requestHead(adding("Sec-WebSocket-Version: 8"))),
      "ERR_WS_HANDSHAKE_DUPLICATE_HEADER",
      400,
    );
  });

  test("a malformed Sec-WebSocket-Protocol list (empty, non-token, repeated) is a 400", () => {
    for (const value of ["", "chat superchat", "chat, chat", "chat/1", '"chat"', ","]) {
      expectRejected(
        validateEverySplit(
          requestHead(replacing("Sec-WebSocket-Protocol", `Sec-WebSocket-Protocol: ${value}`)),
        ),
        "ERR_WS_HANDSHAKE_PROTOCOL",
        400,
      );
    }
    expectRejected(
      validateEverySplit(requestHead(adding("Sec-WebSocket-Protocol: chat"))),
      "ERR_WS_HANDSHAKE_PROTOCOL",
      400,
    );
  });

  test("G10: an extension offer that breaks the §9.1 ABNF is a 400", () => {
    for (const value of [
      "",
      "permessage-deflate;",
      'permessage-deflate; a="1 0"',
      "a b",
      "a; b=1 2",
    ]) {
      expectRejected(
        validateEverySplit(requestHead(adding(`Sec-WebSocket-Extensions: ${value}`))),
        "ERR_WS_HANDSHAKE_EXTENSIONS",
        400,
      );
    }
  });

  test("G6, P4: two Origin fields are a 400, as an allow-list check on one of them is unsound", () => {
    expectRejected(
      validateEverySplit(requestHead(adding("Origin: https://evil.example"))),
      "ERR_WS_HANDSHAKE_DUPLICATE_HEADER",
      400,
    );
  });

  test("checks run in RFC 6455 §4.2.1 order: the first rule broken is reported", () => {
    expectRejected(
      validateUpgradeRequest({ method: "POST", httpVersion: "1.0", headers: [] }),
      "ERR_WS_HANDSHAKE_METHOD",
      405,
      [["Allow", "GET"]],
    );
    expectRejected(
      validateUpgradeRequest({ method: "GET", httpVersion: "1.0", headers: [] }),
      "ERR_WS_HANDSHAKE_HTTP_VERSION",
      400,
    );
    expectRejected(
      validateUpgradeRequest({ method: "GET", httpVersion: "1.1", headers: [] }),
      "ERR_WS_HANDSHAKE_HOST",
      400,
    );
    expectRejected(
      validateEverySplit(requestHead((lines) => without("Upgrade")(without("Connection")(lines)))),
      "ERR_WS_HANDSHAKE_UPGRADE",
      400,
    );
    expectRejected(
      validateEverySplit(
        requestHead((lines) =>
          without("Sec-WebSocket-Key")(without("Sec-WebSocket-Version")(lines)),
        ),
      ),
      "ERR_WS_HANDSHAKE_KEY",
      400,
    );
    expectRejected(
      validateEverySplit(
        requestHead((lines) =>
          adding("Sec-WebSocket-Extensions: ;")(
            replacing("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")(lines),
          ),
        ),
      ),
      "ERR_WS_HANDSHAKE_VERSION",
      426,
      [
        ["Sec-WebSocket-Version", "13"],
        ["Upgrade", "websocket"],
      ],
    );
  });
});

describe("validateUpgradeRequest: caller bugs", () => {
  test("an error that is not a HandshakeError (a bug) is thrown, not turned into a rejection", () => {
    assert.throws(
      () => validateUpgradeRequest({ method: "GET", httpVersion: "1.1", headers: null as never }),
      TypeError,
    );
  });
});

describe("buildAcceptResponse", () => {
  test("G11: the RFC 6455 §1.3 sample 101, byte for byte", () => {
    assert.equal(
      decodeLatin1(buildAcceptResponse(KEY, {}, sha1)),
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
        "\r\n",
    );
  });

  test("G9, G10, G11: the chosen subprotocol and extensions, then extra headers, in order", () => {
    const bytes = buildAcceptResponse(
      KEY,
      {
        protocol: "chat",
        extensions: " permessage-deflate; server_no_context_takeover ",
        headers: [
          ["Set-Cookie", "sid=1; HttpOnly"],
          ["X-Server", " sockwise\t"],
        ],
      },
      sha1,
    );
    assert.equal(
      decodeLatin1(bytes),
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
        "Sec-WebSocket-Protocol: chat\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" +
        "Set-Cookie: sid=1; HttpOnly\r\n" +
        "X-Server: sockwise\r\n" +
        "\r\n",
    );
  });

  test("G9, G11: an empty subprotocol or extension value is left out, never sent empty", () => {
    const text = decodeLatin1(buildAcceptResponse(KEY, { protocol: "", extensions: " " }, sha1));
    assert.doesNotMatch(text, /Sec-WebSocket-Protocol|Sec-WebSocket-Extensions/);
  });

  test("a subprotocol that is not a token or extensions that break the ABNF are refused", () => {
    for (const protocol of ["a b", "chat\r\nX: y", "a,b"]) {
      throwsCode(
        () => buildAcceptResponse(KEY, { protocol }, sha1),
        "ERR_WS_INVALID_HEADER",
        protocol,
      );
    }
    for (const extensions of ["permessage-deflate;", "a\r\nX: y", ","]) {
      throwsCode(
        () => buildAcceptResponse(KEY, { extensions }, sha1),
        "ERR_WS_INVALID_HEADER",
        extensions,
      );
    }
  });

  test("P17: extra headers may not set handshake or framing fields, or inject lines", () => {
    for (const name of [
      "Upgrade",
      "connection",
      "Sec-WebSocket-Accept",
      "sec-websocket-protocol",
      "Sec-WebSocket-Extensions",
      "Host",
      "Content-Length",
      "Transfer-Encoding",
    ]) {
      throwsCode(
        () => buildAcceptResponse(KEY, { headers: [[name, "x"]] }, sha1),
        "ERR_WS_INVALID_HEADER",
        name,
      );
    }
    for (const header of [
      ["X-A", "a\r\nSec-WebSocket-Protocol: evil"],
      ["X-A", "a\0"],
      ["X A", "a"],
    ] as const) {
      throwsCode(
        () => buildAcceptResponse(KEY, { headers: [header] }, sha1),
        "ERR_WS_INVALID_HEADER",
        header[0],
      );
    }
  });
});

describe("buildRejectResponse", () => {
  test("G13: a string body is sent as UTF-8 text with Connection: close and its length", () => {
    const body = "Bad WebSocket request: caf\u00e9 \u2713";
    const bytes = buildRejectResponse(400, { body });
    const encoded = new TextEncoder().encode(body);
    const head =
      "HTTP/1.1 400 Bad Request\r\n" +
      "Connection: close\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${encoded.length}\r\n` +
      "\r\n";
    assert.deepEqual(bytes, new Uint8Array([...encodeLatin1(head), ...encoded]));
    assert.equal(encoded.length, body.length + 3);
  });

  test("G3: omitBody (a HEAD answer) writes the head the body would have, and nothing after it", () => {
    const body = "426 Upgrade Required: caf\u00e9\n";
    const full = buildRejectResponse(426, { body, headers: [["Upgrade", "websocket"]] });
    const head = buildRejectResponse(426, {
      body,
      headers: [["Upgrade", "websocket"]],
      omitBody: true,
    });
    const length = new TextEncoder().encode(body).length;
    assert.deepEqual(head, full.subarray(0, full.length - length));
    assert.match(decodeLatin1(head), new RegExp(`Content-Length: ${length}\r\n.*\r\n\r\n$`, "s"));
  });

  test("G13: without a body, Content-Length is 0 and there is no Content-Type", () => {
    assert.equal(
      decodeLatin1(buildRejectResponse(403)),
      "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
  });

  test("a byte body is sent as is; a given Content-Type is not duplicated", () => {
    assert.equal(
      decodeLatin1(
        buildRejectResponse(500, {
          body: Uint8Array.of(0x7b, 0x7d),
          headers: [["Content-Type", "application/json"]],
        }),
      ),
      "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}",
    );
    assert.equal(
      decodeLatin1(
        buildRejectResponse(404, { body: "<p>no</p>", headers: [["content-type", "text/html"]] }),
      ),
      "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 9\r\ncontent-type: text/html\r\n\r\n<p>no</p>",
    );
  });

  test("G5: a 426 from validateUpgradeRequest is sent with the version, Upgrade and Connection: Upgrade, close", () => {
    const rejection = validateEverySplit(
      requestHead(replacing("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")),
    );
    assert.ok(!rejection.ok);
    assert.equal(
      decodeLatin1(buildRejectResponse(rejection.status, { headers: rejection.headers })),
      "HTTP/1.1 426 Upgrade Required\r\n" +
        "Connection: Upgrade, close\r\n" +
        "Content-Length: 0\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Upgrade: websocket\r\n" +
        "\r\n",
    );
  });

  test("G1: a 405 from validateUpgradeRequest carries Allow: GET", () => {
    const rejection = validateEverySplit(requestHead(undefined, "POST /chat HTTP/1.1"));
    assert.ok(!rejection.ok);
    assert.equal(
      decodeLatin1(
        buildRejectResponse(rejection.status, {
          headers: rejection.headers,
          body: rejection.message,
        }),
      ),
      "HTTP/1.1 405 Method Not Allowed\r\n" +
        "Connection: close\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        `Content-Length: ${rejection.message.length}\r\n` +
        "Allow: GET\r\n" +
        "\r\n" +
        rejection.message,
    );
  });

  test("G8: a redirect with a Location and a custom reason phrase", () => {
    assert.equal(
      decodeLatin1(
        buildRejectResponse(307, { statusText: "Go There", headers: [["Location", "/elsewhere"]] }),
      ),
      "HTTP/1.1 307 Go There\r\nConnection: close\r\nContent-Length: 0\r\nLocation: /elsewhere\r\n\r\n",
    );
  });

  test("common statuses get their standard reason phrase; others an empty one", () => {
    const expected: Record<number, string> = {
      400: "Bad Request",
      401: "Unauthorized",
      403: "Forbidden",
      404: "Not Found",
      405: "Method Not Allowed",
      426: "Upgrade Required",
      429: "Too Many Requests",
      431: "Request Header Fields Too Large",
      500: "Internal Server Error",
      503: "Service Unavailable",
    };
    for (const [status, text] of Object.entries(expected)) {
      assert.equal(DEFAULT_STATUS_TEXTS[Number(status)], text);
      assert.match(
        decodeLatin1(buildRejectResponse(Number(status))),
        new RegExp(`^HTTP/1\\.1 ${status} ${text}\r\n`),
      );
    }
    assert.match(decodeLatin1(buildRejectResponse(499)), /^HTTP\/1\.1 499 \r\n/);
    assert.match(
      decodeLatin1(buildRejectResponse(400, { statusText: "" })),
      /^HTTP\/1\.1 400 \r\n/,
    );
  });

  test("a status that is not a redirect or an error, or a reason with controls, is refused", () => {
    for (const status of [101, 200, 299, 600, 400.5, Number.NaN]) {
      throwsCode(() => buildRejectResponse(status), "ERR_WS_INVALID_STATUS", String(status));
    }
    for (const statusText of ["Bad\r\nX: y", "Bad\0", "\u20ac"]) {
      throwsCode(
        () => buildRejectResponse(400, { statusText }),
        "ERR_WS_INVALID_STATUS",
        statusText,
      );
    }
  });

  test("P17: extra headers may not set Connection or the framing, or inject lines", () => {
    for (const name of ["Connection", "content-length", "Transfer-Encoding"]) {
      throwsCode(
        () => buildRejectResponse(400, { headers: [[name, "x"]] }),
        "ERR_WS_INVALID_HEADER",
        name,
      );
    }
    throwsCode(
      () => buildRejectResponse(400, { headers: [["X-A", "a\r\n\r\n<script>"]] }),
      "ERR_WS_INVALID_HEADER",
      "CRLF",
    );
  });

  test("G15: a head that breaks a parser limit is answered with the error's 431", () => {
    const parser = new HttpHeadParser("request", { maxHeaderCount: 2 });
    let status: number | undefined;
    try {
      parser.push(encodeLatin1(requestHead()));
    } catch (error) {
      assert.ok(error instanceof HandshakeError);
      status = error.status;
    }
    assert.equal(status, 431);
    assert.match(
      decodeLatin1(buildRejectResponse(status ?? 500)),
      /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/,
    );
  });
});

describe("client and server together", () => {
  test("G11, F28: a client request accepted by the server opens the client, for every split", () => {
    let n = 0;
    const random = {
      fill: (target: Uint8Array) => target.forEach((_, i) => (target[i] = (n++ * 37) % 256)),
    };
    const request = buildClientRequest(
      {
        host: "localhost",
        port: 8080,
        secure: false,
        resourceName: "/ws",
        protocols: ["v1.chat", "v2.chat"],
        extensions: "permessage-deflate; client_max_window_bits",
        origin: "http://localhost:8080",
      },
      { random, sha1 },
    );
    const checked = validateEverySplit(decodeLatin1(request.bytes));
    assert.ok(checked.ok);
    assert.equal(checked.key, request.key);
    assert.equal(checked.origin, "http://localhost:8080");
    assert.deepEqual(checked.extensions, request.extensions);
    const response = buildAcceptResponse(
      checked.key,
      {
        protocol: checked.protocols[1]!,
        extensions: "permessage-deflate; client_max_window_bits=15",
      },
      sha1,
    );
    const frame = Uint8Array.of(0x81, 0x02, 0x68, 0x69);
    const input = new Uint8Array([...response, ...frame]);
    for (const chunks of splitEverywhere(input)) {
      const handshake = new ClientHandshake(request);
      let result;
      const rest: number[] = [];
      for (const chunk of chunks) {
        if (result === undefined) result = handshake.receive(chunk);
        else rest.push(...chunk);
      }
      assert.ok(result !== undefined, describeSplit(chunks));
      assert.equal(result.protocol, "v2.chat");
      assert.equal(result.extensions, "permessage-deflate; client_max_window_bits=15");
      assert.deepEqual([...result.rest, ...rest], [...frame], describeSplit(chunks));
    }
  });

  test("G13, F18: a server rejection reaches the client as ERR_WS_HANDSHAKE_STATUS with the response", () => {
    const request = buildClientRequest(
      { host: "a", port: 80, secure: false, resourceName: "/" },
      { random: { fill: (target) => target.fill(7) }, sha1 },
    );
    const reply = buildRejectResponse(403, { body: "origin not allowed" });
    assert.throws(
      () => new ClientHandshake(request).receive(reply),
      (error: unknown) => {
        assert.ok(error instanceof HandshakeError);
        assert.equal(error.code, "ERR_WS_HANDSHAKE_STATUS");
        assert.deepEqual(error.response, {
          status: 403,
          statusText: "Forbidden",
          headers: [
            ["Connection", "close"],
            ["Content-Type", "text/plain; charset=utf-8"],
            ["Content-Length", "18"],
          ],
        });
        return true;
      },
    );
  });
});

describe("the handshake's fast paths give the same answers as the plain ones", () => {
  test("G11, F21: a SHA-1 port with digestLatin1ToBase64 yields the same 101, byte for byte", () => {
    const fast: Sha1 = {
      digest: sha1.digest,
      digestLatin1ToBase64: (text) => createHash("sha1").update(text, "latin1").digest("base64"),
    };
    const keys = [
      KEY,
      "AAAAAAAAAAAAAAAAAAAAAA==",
      "/////////////////////w==",
      "x3JJHMbDL1EzLkh9GBhXDw==",
    ];
    const choices = [
      {},
      { protocol: "chat" },
      { extensions: "permessage-deflate; server_no_context_takeover" },
      { protocol: "chat", extensions: "x-foo", headers: [["X-Id", "7"]] as const },
    ];
    for (const key of keys) {
      for (const options of choices) {
        assert.deepEqual(
          buildAcceptResponse(key, options, fast),
          buildAcceptResponse(key, options, sha1),
          `${key} ${JSON.stringify(options)}`,
        );
      }
    }
    for (const options of choices) {
      assert.equal(
        buildAcceptResponseHead(KEY, options, fast),
        decodeLatin1(buildAcceptResponse(KEY, options, sha1)),
      );
    }
    assert.match(
      decodeLatin1(buildAcceptResponse(KEY, {}, fast)),
      /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/,
    );
  });

  test("G1–G6: validateRawUpgradeRequest on a flat list agrees with validateUpgradeRequest", () => {
    const requests: [string, string][][] = [
      [
        ["Host", "a"],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", KEY],
        ["Sec-WebSocket-Version", "13"],
      ],
      [
        ["HOST", "a"],
        ["upgrade", "h2c, WebSocket"],
        ["CONNECTION", "keep-alive,  upgrade "],
        ["sec-websocket-key", ` ${KEY}\t`],
        ["SEC-WEBSOCKET-VERSION", "13"],
        ["Sec-WebSocket-Protocol", "a, b"],
        ["Sec-WebSocket-Protocol", "c"],
        ["ORIGIN", "http://x"],
        ["sec-websocket-extensions", "permessage-deflate"],
      ],
      [
        ["Host", "a"],
        ["Host", "b"],
      ],
      [
        ["Host", "a"],
        ["Upgrade", "websocket"],
        ["Connection", "upgrade-ish, close"],
        ["Sec-WebSocket-Key", KEY],
        ["Sec-WebSocket-Version", "13"],
      ],
      [
        ["Host", "a"],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", "Zm9v"],
        ["Sec-WebSocket-Version", "13"],
      ],
      [
        ["Host", "a"],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", KEY],
        ["Sec-WebSocket-Version", "8"],
      ],
      [
        ["Host", "a"],
        ["Upgrade", "web socket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", KEY],
        ["Sec-WebSocket-Version", "13"],
      ],
    ];
    for (const headers of requests) {
      for (const [method, httpVersion] of [
        ["GET", "1.1"],
        ["GET", "1.0"],
        ["GET", "2.0"],
        ["POST", "1.1"],
      ] as const) {
        assert.deepEqual(
          validateRawUpgradeRequest(method, httpVersion, headers.flat()),
          validateUpgradeRequest({ method, httpVersion, headers }),
          JSON.stringify({ method, httpVersion, headers }),
        );
      }
    }
    const ok = validateRawUpgradeRequest("GET", "1.1", requests[1]!.flat());
    assert.ok(ok.ok);
    assert.equal(ok.key, KEY);
    assert.deepEqual(ok.protocols, ["a", "b", "c"]);
    assert.equal(ok.origin, "http://x");
    assert.equal(validateRawUpgradeRequest("GET", "1.1", requests[3]!.flat()).ok, false);
    assert.equal(validateRawUpgradeRequest("GET", "1.1", requests[6]!.flat()).ok, false);
  });
});
