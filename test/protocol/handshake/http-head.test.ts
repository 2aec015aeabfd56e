import { describe, test } from "node:test";
import assert from "node:assert/strict";

import { HandshakeError } from "../../../src/protocol/handshake/handshake-error.js";
import {
  concatBytes,
  decodeLatin1,
  DEFAULT_HTTP_HEAD_LIMITS,
  encodeLatin1,
  getHeaderValues,
  HttpHeadParser,
  serializeHead,
  type HttpHeadKind,
  type HttpHeadLimits,
} from "../../../src/protocol/handshake/http-head.js";
import { describeSplit, splitEverywhere } from "../../helpers/split.js";

type Outcome =
  | { readonly type: "head"; readonly head: Record<string, unknown>; readonly rest: Uint8Array }
  | { readonly type: "error"; readonly code: string; readonly status: number | undefined }
  | { readonly type: "incomplete" };

/** Feeds `chunks` to a fresh parser; bytes after the head are the head's `rest` + later chunks. */
function feed(kind: HttpHeadKind, chunks: readonly Uint8Array[], limits?: HttpHeadLimits): Outcome {
  const parser = new HttpHeadParser(kind, limits);
  for (const [i, chunk] of chunks.entries()) {
    let result;
    try {
      result = parser.push(chunk);
    } catch (error) {
      assert.ok(error instanceof HandshakeError, `not a HandshakeError: ${String(error)}`);
      return { type: "error", code: error.code, status: error.status };
    }
    if (result !== undefined) {
      const { rest, ...head } = result;
      return { type: "head", head, rest: concatBytes([rest, ...chunks.slice(i + 1)]) };
    }
  }
  return { type: "incomplete" };
}

/** Replays `input` split at every byte boundary; every split must give the same outcome. */
function parseEverySplit(
  kind: HttpHeadKind,
  input: string | Uint8Array,
  limits?: HttpHeadLimits,
): Outcome {
  const bytes = typeof input === "string" ? encodeLatin1(input) : input;
  const expected = feed(kind, [bytes], limits);
  for (const chunks of splitEverywhere(bytes)) {
    assert.deepEqual(feed(kind, chunks, limits), expected, `split ${describeSplit(chunks)}`);
  }
  return expected;
}

function expectHead(outcome: Outcome): Extract<Outcome, { type: "head" }> {
  assert.equal(outcome.type, "head", JSON.stringify(outcome));
  return outcome as Extract<Outcome, { type: "head" }>;
}

function expectError(outcome: Outcome, code: string, status: number | undefined): void {
  assert.deepEqual(outcome, { type: "error", code, status });
}

describe("HttpHeadParser: request heads", () => {
  test("parses the start line and headers in order, names as received, values without OWS", () => {
    const outcome = parseEverySplit(
      "request",
      "GET /chat?room=1 HTTP/1.1\r\n" +
        "Host: example.com\r\n" +
        "upgrade:websocket\r\n" +
        "CONNECTION: \t keep-alive, Upgrade \t\r\n" +
        "X-Empty:\r\n" +
        "X-Empty-Ows: \t \r\n" +
        "\r\n",
    );
    assert.deepEqual(expectHead(outcome), {
      type: "head",
      head: {
        kind: "request",
        method: "GET",
        target: "/chat?room=1",
        httpVersion: "1.1",
        headers: [
          ["Host", "example.com"],
          ["upgrade", "websocket"],
          ["CONNECTION", "keep-alive, Upgrade"],
          ["X-Empty", ""],
          ["X-Empty-Ows", ""],
        ],
      },
      rest: new Uint8Array(0),
    });
  });

  test("parses a head without header fields and other versions and methods (syntax only)", () => {
    assert.deepEqual(expectHead(parseEverySplit("request", "POST * HTTP/1.0\r\n\r\n")).head, {
      kind: "request",
      method: "POST",
      target: "*",
      httpVersion: "1.0",
      headers: [],
    });
  });

  test("F27/G14: bytes after the blank line are returned as rest, never consumed", () => {
    const head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    const frames = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x0d, 0x0a];
    const input = concatBytes([encodeLatin1(head), Uint8Array.from(frames)]);
    const outcome = expectHead(parseEverySplit("request", input));
    assert.deepEqual(outcome.rest, Uint8Array.from(frames));
  });

  test("rest is a view of the last chunk pushed, not a copy", () => {
    const chunk = encodeLatin1("GET / HTTP/1.1\r\n\r\nabc");
    const head = new HttpHeadParser("request").push(chunk);
    assert.ok(head !== undefined);
    assert.equal(head.rest.buffer, chunk.buffer);
    assert.equal(head.rest.byteOffset, chunk.byteOffset + chunk.length - 3);
    assert.equal(head.rest.length, 3);
  });

  test("a partial line is copied, so the caller may reuse its chunk buffer", () => {
    const parser = new HttpHeadParser("request");
    const chunk = encodeLatin1("GET /abc");
    assert.equal(parser.push(chunk), undefined);
    chunk.fill(0x58);
    const head = parser.push(encodeLatin1(" HTTP/1.1\r\n\r\n"));
    assert.equal(head?.target, "/abc");
  });

  test("an empty chunk is a no-op", () => {
    const parser = new HttpHeadParser("request");
    assert.equal(parser.push(new Uint8Array(0)), undefined);
    assert.equal(parser.push(encodeLatin1("GET / HTTP/1.1\r\n")), undefined);
    assert.equal(parser.push(new Uint8Array(0)), undefined);
    assert.equal(parser.push(encodeLatin1("\r\n"))?.method, "GET");
  });

  test("header bytes are decoded as latin1 (0x80 is U+0080, not windows-1252's €)", () => {
    const input = concatBytes([
      encodeLatin1("GET / HTTP/1.1\r\nX-Latin1: caf"),
      Uint8Array.from([0xe9, 0x20, 0x80, 0xff]),
      encodeLatin1("\r\n\r\n"),
    ]);
    const outcome = expectHead(parseEverySplit("request", input));
    assert.deepEqual(outcome.head["headers"], [["X-Latin1", "café \u0080\u00ff"]]);
  });

  test("received values refuse only NUL, CR and LF: other controls are kept (Fetch's header value)", () => {
    const outcome = expectHead(
      parseEverySplit("request", "GET / HTTP/1.1\r\nX-A: a\x01b\x7fc\r\n\r\n"),
    );
    assert.deepEqual(outcome.head["headers"], [["X-A", "a\x01b\x7fc"]]);
  });
});

describe("HttpHeadParser: response heads", () => {
  test("parses the status line, headers and the frame bytes after the head", () => {
    const input =
      "HTTP/1.1 101 Switching Protocols\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
      "\r\n" +
      "\x88\x02\x03\xe8";
    const outcome = expectHead(parseEverySplit("response", input));
    assert.deepEqual(outcome.head, {
      kind: "response",
      httpVersion: "1.1",
      status: 101,
      statusText: "Switching Protocols",
      headers: [
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="],
      ],
    });
    assert.deepEqual(outcome.rest, Uint8Array.from([0x88, 0x02, 0x03, 0xe8]));
  });

  test("the reason phrase may be empty, with or without its SP, and may hold obs-text", () => {
    for (const [line, statusText] of [
      ["HTTP/1.1 101", ""],
      ["HTTP/1.1 101 ", ""],
      ["HTTP/1.1 403 Forbidden\there", "Forbidden\there"],
      ["HTTP/1.1 404 Nicht gefunden \xfc", "Nicht gefunden \xfc"],
    ] as const) {
      const outcome = expectHead(parseEverySplit("response", `${line}\r\n\r\n`));
      assert.equal(outcome.head["statusText"], statusText, line);
    }
  });

  test("a non-101 response is parsed like any other (the handshake decides)", () => {
    const outcome = expectHead(
      parseEverySplit("response", "HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n"),
    );
    assert.equal(outcome.head["status"], 302);
    assert.equal(outcome.head["httpVersion"], "1.0");
  });
});

describe("HttpHeadParser: malformed heads (400 for a request)", () => {
  const request = "GET / HTTP/1.1\r\n";
  const cases: ReadonlyArray<readonly [string, HttpHeadKind, string]> = [
    ["a header line ending in a bare LF", "request", `${request}Host: a\n\r\n`],
    ["a head ending in a bare LF", "request", `${request}Host: a\r\n\n`],
    ["a start line ending in a bare LF", "request", "GET / HTTP/1.1\nHost: a\r\n\r\n"],
    ["a bare CR inside a value", "request", `${request}X-A: a\rb\r\n\r\n`],
    ["a bare CR right before CRLF", "request", `${request}X-A: ab\r\r\n\r\n`],
    ["an obs-fold continuation (SP)", "request", `${request}X-A: a\r\n  b\r\n\r\n`],
    ["an obs-fold continuation (HTAB)", "response", `HTTP/1.1 101 OK\r\nX-A: a\r\n\tb\r\n\r\n`],
    ["a header line without a colon", "request", `${request}Host\r\n\r\n`],
    ["whitespace between the name and the colon", "request", `${request}Host : a\r\n\r\n`],
    ["an empty header name", "request", `${request}: a\r\n\r\n`],
    ["a header name that is not a token", "response", `HTTP/1.1 101 OK\r\nX(A): a\r\n\r\n`],
    ["a header name with obs-text", "request", `${request}X-\xe9: a\r\n\r\n`],
    ["NUL in a value", "request", `${request}X-A: a\0b\r\n\r\n`],
    ["an empty line before the start line", "request", `\r\n${request}\r\n`],
    ["a request line with two spaces", "request", "GET  / HTTP/1.1\r\n\r\n"],
    ["a request line without a version", "request", "GET /\r\n\r\n"],
    ["a request line with four parts", "request", "GET / x HTTP/1.1\r\n\r\n"],
    ["a lower-case version", "request", "GET / http/1.1\r\n\r\n"],
    ["a two-digit version", "request", "GET / HTTP/1.10\r\n\r\n"],
    ["a method that is not a token", "request", "G(T / HTTP/1.1\r\n\r\n"],
    ["a target with DEL", "request", "GET /\x7f HTTP/1.1\r\n\r\n"],
    ["a target with obs-text", "request", "GET /\xe9 HTTP/1.1\r\n\r\n"],
    ["a two-digit status", "response", "HTTP/1.1 10 OK\r\n\r\n"],
    ["a four-digit status", "response", "HTTP/1.1 1010 OK\r\n\r\n"],
    ["a status below 100", "response", "HTTP/1.1 099 OK\r\n\r\n"],
    ["two spaces before the status", "response", "HTTP/1.1  101 OK\r\n\r\n"],
    ["a non-HTTP protocol name", "response", "ICY 200 OK\r\n\r\n"],
    ["a malformed version", "response", "HTTP/11 101 OK\r\n\r\n"],
    ["a control character in the reason phrase", "response", "HTTP/1.1 101 OK\x01\r\n\r\n"],
  ];
  for (const [name, kind, input] of cases) {
    test(`refuses ${name} (${kind}), for every split`, () => {
      expectError(
        parseEverySplit(kind, input),
        "ERR_WS_HTTP_MALFORMED",
        kind === "request" ? 400 : undefined,
      );
    });
  }

  test("errors carry a stable code, name and message", () => {
    assert.throws(
      () => new HttpHeadParser("request").push(encodeLatin1("GET / HTTP/1.1\nHost: a\r\n\r\n")),
      (error: unknown) => {
        assert.ok(error instanceof HandshakeError);
        assert.equal(error.name, "HandshakeError");
        assert.equal(error.code, "ERR_WS_HTTP_MALFORMED");
        assert.equal(error.status, 400);
        assert.equal(error.response, undefined);
        assert.match(error.message, /bare LF/);
        return true;
      },
    );
  });

  test("after an error, every later push throws the same error", () => {
    const parser = new HttpHeadParser("response");
    let first: unknown;
    try {
      parser.push(encodeLatin1("HTTP/1.1 1 OK\r\n"));
    } catch (error) {
      first = error;
    }
    assert.ok(first instanceof HandshakeError);
    assert.throws(
      () => parser.push(encodeLatin1("\r\n")),
      (error: unknown) => error === first,
    );
  });

  test("pushing after the head was returned is a caller bug (plain Error)", () => {
    const parser = new HttpHeadParser("request");
    assert.ok(parser.push(encodeLatin1("GET / HTTP/1.1\r\n\r\n")) !== undefined);
    assert.throws(
      () => parser.push(encodeLatin1("x")),
      (error: unknown) => error instanceof Error && !(error instanceof HandshakeError),
    );
  });
});

describe("HttpHeadParser: limits (G15, P9)", () => {
  test("the defaults are 8 KiB lines, 100 fields, 16 KiB heads", () => {
    assert.deepEqual(DEFAULT_HTTP_HEAD_LIMITS, {
      maxLineBytes: 8192,
      maxHeaderCount: 100,
      maxHeadBytes: 16384,
    });
  });

  test("G15: a line of exactly maxLineBytes (CRLF included) passes; one more byte is 431", () => {
    const limits = { maxLineBytes: 24 };
    const fits = `X-A: ${"a".repeat(24 - 7)}\r\n`;
    assert.equal(fits.length, 24);
    expectHead(parseEverySplit("request", `GET / HTTP/1.1\r\n${fits}\r\n`, limits));
    const tooLong = `X-A: ${"a".repeat(24 - 6)}\r\n`;
    expectError(
      parseEverySplit("request", `GET / HTTP/1.1\r\n${tooLong}\r\n`, limits),
      "ERR_WS_HTTP_LINE_TOO_LONG",
      431,
    );
    expectError(
      parseEverySplit("response", `HTTP/1.1 101 ${"x".repeat(24)}\r\n\r\n`, limits),
      "ERR_WS_HTTP_LINE_TOO_LONG",
      undefined,
    );
  });

  test("G15: with the default limits, an 8192-byte line passes and an 8193-byte line fails", () => {
    const line = (length: number): string => `X-A: ${"a".repeat(length - 7)}\r\n`;
    for (const [length, ok] of [
      [8192, true],
      [8193, false],
    ] as const) {
      const bytes = encodeLatin1(`GET / HTTP/1.1\r\n${line(length)}\r\n`);
      const oneByteAtATime = [...bytes].map((byte) => Uint8Array.of(byte));
      for (const chunks of [[bytes], oneByteAtATime]) {
        const outcome = feed("request", chunks);
        if (ok) expectHead(outcome);
        else expectError(outcome, "ERR_WS_HTTP_LINE_TOO_LONG", 431);
      }
    }
  });

  test("P9: a line that never ends fails at the first byte over the limit, fed one byte at a time", () => {
    const parser = new HttpHeadParser("request", { maxLineBytes: 64 });
    const bytes = encodeLatin1(`GET /${"a".repeat(200)}`);
    let failedAt = -1;
    for (const [i, byte] of bytes.entries()) {
      try {
        parser.push(Uint8Array.of(byte));
      } catch (error) {
        assert.ok(error instanceof HandshakeError);
        assert.equal(error.code, "ERR_WS_HTTP_LINE_TOO_LONG");
        failedAt = i;
        break;
      }
    }
    assert.equal(failedAt, 64);
  });

  test("G15: exactly maxHeaderCount fields pass; one more is 431", () => {
    const fields = (count: number): string => "X-A: b\r\n".repeat(count);
    const limits = { maxHeaderCount: 3 };
    const ok = expectHead(parseEverySplit("request", `GET / HTTP/1.1\r\n${fields(3)}\r\n`, limits));
    assert.equal((ok.head["headers"] as unknown[]).length, 3);
    expectError(
      parseEverySplit("request", `GET / HTTP/1.1\r\n${fields(4)}\r\n`, limits),
      "ERR_WS_HTTP_TOO_MANY_HEADERS",
      431,
    );
    expectError(
      parseEverySplit("response", `HTTP/1.1 101 OK\r\n${fields(4)}\r\n`, limits),
      "ERR_WS_HTTP_TOO_MANY_HEADERS",
      undefined,
    );
  });

  test("P9: with the defaults, the 101st field fails as it completes, fed one byte at a time", () => {
    const bytes = encodeLatin1(`GET / HTTP/1.1\r\n${"X-A: b\r\n".repeat(150)}`);
    const parser = new HttpHeadParser("request");
    let failedAt = -1;
    for (const [i, byte] of bytes.entries()) {
      try {
        parser.push(Uint8Array.of(byte));
      } catch (error) {
        assert.ok(error instanceof HandshakeError);
        assert.equal(error.code, "ERR_WS_HTTP_TOO_MANY_HEADERS");
        failedAt = i;
        break;
      }
    }
    assert.equal(failedAt, "GET / HTTP/1.1\r\n".length + 101 * 8 - 1);
  });

  test("G15: a head of exactly maxHeadBytes (blank line included) passes; one more byte is 431", () => {
    const limits = { maxHeadBytes: 48 };
    const head = (valueLength: number): string =>
      `GET / HTTP/1.1\r\nX-A: ${"v".repeat(valueLength)}\r\n\r\n`;
    const fits = head(48 - 25);
    assert.equal(fits.length, 48);
    expectHead(parseEverySplit("request", `${fits}trailing frames are not head bytes`, limits));
    expectError(
      parseEverySplit("request", head(48 - 24), limits),
      "ERR_WS_HTTP_HEAD_TOO_LARGE",
      431,
    );
    expectError(
      parseEverySplit("response", `HTTP/1.1 101 OK\r\n${"X-A: b\r\n".repeat(5)}\r\n`, {
        maxHeadBytes: 40,
      }),
      "ERR_WS_HTTP_HEAD_TOO_LARGE",
      undefined,
    );
  });

  test("P9: with the defaults, an endless head fails at byte 16385, fed one byte at a time", () => {
    const field = `X-A: ${"v".repeat(400 - 7)}\r\n`;
    const bytes = encodeLatin1(`GET / HTTP/1.1\r\n${field.repeat(60)}`);
    const parser = new HttpHeadParser("request");
    let failedAt = -1;
    for (const [i, byte] of bytes.entries()) {
      try {
        parser.push(Uint8Array.of(byte));
      } catch (error) {
        assert.ok(error instanceof HandshakeError);
        assert.equal(error.code, "ERR_WS_HTTP_HEAD_TOO_LARGE");
        failedAt = i;
        break;
      }
    }
    assert.equal(failedAt, 16384);
  });

  test("the earliest limit to trip wins, whatever the split (head limit inside a long line)", () => {
    // The head limit trips at the 17th byte of the third line, before it reaches maxLineBytes.
    const limits = { maxLineBytes: 32, maxHeadBytes: 40 };
    const input = `GET / HTTP/1.1\r\nX-A: b\r\nX-B: ${"c".repeat(40)}\r\n\r\n`;
    expectError(parseEverySplit("request", input, limits), "ERR_WS_HTTP_HEAD_TOO_LARGE", 431);
  });

  test("the earliest limit to trip wins, whatever the split (line limit before the head limit)", () => {
    const limits = { maxLineBytes: 20, maxHeadBytes: 60 };
    const input = `GET / HTTP/1.1\r\nX-B: ${"c".repeat(60)}\r\n\r\n`;
    expectError(parseEverySplit("request", input, limits), "ERR_WS_HTTP_LINE_TOO_LONG", 431);
  });

  test("when both limits trip at the same byte, the line limit is reported", () => {
    const limits = { maxLineBytes: 16, maxHeadBytes: 16 };
    expectError(
      parseEverySplit("request", `GET /${"a".repeat(20)} HTTP/1.1\r\n\r\n`, limits),
      "ERR_WS_HTTP_LINE_TOO_LONG",
      431,
    );
  });

  test("a limit that is not a positive integer is a RangeError (NaN must not disable a limit)", () => {
    for (const limits of [
      { maxLineBytes: 0 },
      { maxHeaderCount: -1 },
      { maxHeadBytes: Number.NaN },
      { maxHeadBytes: 1.5 },
      { maxLineBytes: Number.POSITIVE_INFINITY },
    ]) {
      assert.throws(
        () => new HttpHeadParser("request", limits),
        RangeError,
        JSON.stringify(limits),
      );
    }
  });
});

describe("getHeaderValues", () => {
  test("F26: matches names ASCII-case-insensitively and keeps every value in order", () => {
    const headers: Array<[string, string]> = [
      ["Sec-WebSocket-Protocol", "a"],
      ["Host", "h"],
      ["sec-websocket-protocol", "b, c"],
      ["SEC-WEBSOCKET-PROTOCOL", ""],
    ];
    assert.deepEqual(getHeaderValues(headers, "sec-WebSocket-protocol"), ["a", "b, c", ""]);
    assert.deepEqual(getHeaderValues(headers, "HOST"), ["h"]);
    assert.deepEqual(getHeaderValues(headers, "Origin"), []);
  });
});

describe("serializeHead and latin1", () => {
  test("writes the start line, fields and blank line with CRLF, as latin1", () => {
    const bytes = serializeHead("HTTP/1.1 101 Switching Protocols", [
      ["Upgrade", "websocket"],
      ["X-Latin1", "caf\u00e9"],
    ]);
    assert.deepEqual(
      bytes,
      concatBytes([
        encodeLatin1("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-Latin1: caf"),
        Uint8Array.of(0xe9),
        encodeLatin1("\r\n\r\n"),
      ]),
    );
  });

  test("decodeLatin1 round-trips every byte value, also past its internal chunk size", () => {
    const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => i % 256);
    assert.deepEqual(encodeLatin1(decodeLatin1(bytes)), bytes);
    assert.equal(decodeLatin1(Uint8Array.of(0x80)), "\u0080");
  });
});
