import { describe, test } from "node:test";
import assert from "node:assert/strict";

import { HandshakeError } from "../../../src/protocol/handshake/handshake-error.js";
import {
  formatExtensions,
  isFieldValue,
  isToken,
  parseExtensions,
  parseProtocolList,
  parseTokenList,
  trimOws,
  validateUserHeaders,
} from "../../../src/protocol/handshake/header-grammar.js";

function throwsCode(fn: () => unknown, code: string, what: string): void {
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof HandshakeError, `${what}: not a HandshakeError`);
      assert.equal(error.code, code, what);
      assert.equal(error.status, undefined, `${what}: grammar errors carry no status`);
      return true;
    },
    what,
  );
}

describe("isToken (RFC 7230 §3.2.6)", () => {
  test("accepts every tchar", () => {
    assert.ok(isToken("!#$%&'*+-.^_`|~0123456789azAZ"));
    assert.ok(isToken("permessage-deflate"));
    assert.ok(isToken("v2.chat.example"));
  });

  test("refuses the empty string, separators, whitespace, controls and non-ASCII", () => {
    for (const text of [
      "",
      "a b",
      "a\tb",
      ...'(),/:;<=>?@[\\]{}"'.split("").map((c) => `a${c}b`),
      "a\0",
      "a\x7f",
      "caf\u00e9",
      "\u{1f600}",
    ]) {
      assert.equal(isToken(text), false, JSON.stringify(text));
    }
  });
});

describe("trimOws and isFieldValue", () => {
  test("trimOws removes only SP and HTAB from both ends", () => {
    assert.equal(trimOws(" \t a b \t "), "a b");
    assert.equal(trimOws("\u00a0a\u00a0"), "\u00a0a\u00a0");
    assert.equal(trimOws("\r\na\n"), "\r\na\n");
    assert.equal(trimOws(" \t "), "");
  });

  test("P17: isFieldValue refuses controls (CR, LF, NUL and the rest but HTAB), DEL and > U+00FF", () => {
    assert.ok(isFieldValue("a b\tc caf\u00e9 \u00ff ~"));
    assert.ok(isFieldValue(""));
    for (const text of ["a\rb", "a\nb", "a\0b", "a\x01b", "a\x1fb", "a\x7fb", "\u20ac", "\u0100"]) {
      assert.equal(isFieldValue(text), false, JSON.stringify(text));
    }
  });
});

describe("parseTokenList (Connection, Upgrade)", () => {
  test("splits on commas, trims OWS and ignores empty elements", () => {
    assert.deepEqual(parseTokenList("keep-alive, Upgrade"), ["keep-alive", "Upgrade"]);
    assert.deepEqual(parseTokenList(" , ,a ,,\tb\t,"), ["a", "b"]);
    assert.deepEqual(parseTokenList(""), []);
    assert.deepEqual(parseTokenList([]), []);
  });

  test("treats several field lines as one list, and keeps odd elements for the caller", () => {
    assert.deepEqual(parseTokenList(["keep-alive", "Upgrade, websocket/13"]), [
      "keep-alive",
      "Upgrade",
      "websocket/13",
    ]);
  });
});

describe("parseProtocolList (Sec-WebSocket-Protocol in a request)", () => {
  test("keeps the client's order across elements and field lines", () => {
    assert.deepEqual(parseProtocolList("chat, superchat"), ["chat", "superchat"]);
    assert.deepEqual(parseProtocolList(["b", "a ,, c"]), ["b", "a", "c"]);
  });

  test("subprotocols differing only in case are distinct (they match case-sensitively, F24)", () => {
    assert.deepEqual(parseProtocolList("chat, Chat"), ["chat", "Chat"]);
  });

  for (const [name, values] of [
    ["an empty field line", ""],
    ["a field line of commas only", " , ,"],
    ["an empty line among others", ["a", ""]],
    ["an element with a space", "a b"],
    ["an element with a separator", "chat/1"],
    ["a quoted element", '"chat"'],
    ["a repeated element", "chat, chat"],
    ["an element repeated across lines", ["chat", "x, chat"]],
  ] as const) {
    test(`G10-style ABNF check: refuses ${name} with ERR_WS_HANDSHAKE_PROTOCOL`, () => {
      throwsCode(() => parseProtocolList(values), "ERR_WS_HANDSHAKE_PROTOCOL", name);
    });
  }
});

describe("parseExtensions (RFC 6455 §9.1)", () => {
  test("N1: parses a bare extension name", () => {
    assert.deepEqual(parseExtensions("permessage-deflate"), [
      { name: "permessage-deflate", params: [] },
    ]);
  });

  test("N3: parses parameters with and without values, in order", () => {
    assert.deepEqual(
      parseExtensions(
        "permessage-deflate; client_max_window_bits; server_max_window_bits=10; server_no_context_takeover",
      ),
      [
        {
          name: "permessage-deflate",
          params: [
            ["client_max_window_bits", true],
            ["server_max_window_bits", "10"],
            ["server_no_context_takeover", true],
          ],
        },
      ],
    );
  });

  test("a quoted-pair may escape HTAB, SP and obs-text (the result is then not a token)", () => {
    for (const escaped of ["\t", " ", "\u00e9"]) {
      assert.throws(() => parseExtensions(`a; b="x\\${escaped}"`), /quoted value is not a token/);
    }
  });

  test("N4: a quoted value is unescaped, and must then be a token", () => {
    assert.deepEqual(parseExtensions('x; a="10"; b="1\\0"; c="\\t\\o\\k"'), [
      {
        name: "x",
        params: [
          ["a", "10"],
          ["b", "10"],
          ["c", "tok"],
        ],
      },
    ]);
  });

  test("accepts OWS around ',', ';' and '=' and ignores empty list elements", () => {
    assert.deepEqual(parseExtensions(" ,a ;\tb = 1 ; c\t, , d ,"), [
      {
        name: "a",
        params: [
          ["b", "1"],
          ["c", true],
        ],
      },
      { name: "d", params: [] },
    ]);
  });

  test("N2: keeps several offers (also of one extension), across field lines, in order", () => {
    assert.deepEqual(
      parseExtensions([
        "permessage-deflate; server_max_window_bits=10",
        "permessage-deflate, x-foo",
      ]),
      [
        { name: "permessage-deflate", params: [["server_max_window_bits", "10"]] },
        { name: "permessage-deflate", params: [] },
        { name: "x-foo", params: [] },
      ],
    );
  });

  test("N5: repeated or unknown parameters are syntax-valid; the extension judges them", () => {
    assert.deepEqual(parseExtensions("a; b; b=1; zz"), [
      {
        name: "a",
        params: [
          ["b", true],
          ["b", "1"],
          ["zz", true],
        ],
      },
    ]);
  });

  for (const [name, values] of [
    ["an empty value", ""],
    ["only commas and OWS", " , \t,"],
    ["an empty line among others", ["a", " "]],
    ["a leading ';'", ";a"],
    ["a trailing ';'", "a;"],
    ["a trailing '; '", "a; "],
    ["an empty parameter", "a;;b"],
    ["a parameter without a name", "a; =1"],
    ["'=' without a value", "a; b="],
    ["'=' followed by OWS only", "a; b= "],
    ["'=' followed by ','", "a; b=, c"],
    ["a quoted value that is not a token", 'a; b="1 0"'],
    ["an empty quoted value", 'a; b=""'],
    ["a quoted value with a separator", 'a; b="x,y"'],
    ["a quoted value with obs-text", 'a; b="caf\u00e9"'],
    ["an unterminated quoted value", 'a; b="10'],
    ["a quoted-pair at the end", 'a; b="1\\'],
    ["a quoted-pair escaping a control", 'a; b="1\\\x01"'],
    ["a quoted-pair escaping obs-text (unescaped, not a token)", 'a; b="1\\\u00e9"'],
    ["a control inside a quoted value", 'a; b="1\x01"'],
    ["text after a quoted value", 'a; b="1"2'],
    ["two tokens as a value", "a; b=1 2"],
    ["two '='", "a; b=1=2"],
    ["a non-token value", "a; b=@"],
    ["a space inside a name", "a b"],
    ["a separator in the name", "a/b"],
    ["a separator in a parameter name", "a; b/c"],
    ["a quoted extension name", '"a"'],
    ["a control character", "a\x01"],
  ] as const) {
    test(`G10/F23: refuses ${name} with ERR_WS_HANDSHAKE_EXTENSIONS`, () => {
      throwsCode(() => parseExtensions(values), "ERR_WS_HANDSHAKE_EXTENSIONS", name);
    });
  }

  test("the error message quotes the value and gives the offset", () => {
    assert.throws(() => parseExtensions("a; b=1 2"), /"a; b=1 2".*offset 7/);
  });

  test("the error message shortens a long value", () => {
    const value = `${"x".repeat(100)} y`;
    assert.throws(
      () => parseExtensions(value),
      (error: unknown) => {
        assert.ok(error instanceof HandshakeError);
        assert.ok(error.message.includes(`"${"x".repeat(64)}…"`), error.message);
        assert.ok(!error.message.includes("x".repeat(65)));
        return true;
      },
    );
  });
});

describe("formatExtensions", () => {
  test("formats names and parameters with '; ' and ', '", () => {
    assert.equal(
      formatExtensions([
        {
          name: "permessage-deflate",
          params: [
            ["client_max_window_bits", "10"],
            ["server_no_context_takeover", true],
          ],
        },
        { name: "x-foo", params: [] },
      ]),
      "permessage-deflate; client_max_window_bits=10; server_no_context_takeover, x-foo",
    );
  });

  test("an empty list formats as the empty string (the header is then left out)", () => {
    assert.equal(formatExtensions([]), "");
  });

  test("round-trips what parseExtensions returns, in canonical spacing", () => {
    const parsed = parseExtensions('a ;b= "1"\t;c , d');
    assert.equal(formatExtensions(parsed), "a; b=1; c, d");
    assert.deepEqual(parseExtensions(formatExtensions(parsed)), parsed);
  });

  for (const [name, extension] of [
    ["a name that is not a token", { name: "a b", params: [] }],
    ["an empty name", { name: "", params: [] }],
    ["a parameter name that is not a token", { name: "a", params: [["b=", true]] }],
    ["a value that is not a token", { name: "a", params: [["b", "1 0"]] }],
    ["a value with CRLF", { name: "a", params: [["b", "1\r\nX: y"]] }],
  ] as const) {
    test(`refuses ${name} with ERR_WS_INVALID_HEADER`, () => {
      throwsCode(() => formatExtensions([extension]), "ERR_WS_INVALID_HEADER", name);
    });
  }
});

describe("validateUserHeaders (P17)", () => {
  const none = (): boolean => false;

  test("returns a copy with values trimmed of OWS, names as given, order kept", () => {
    const input: Array<[string, string]> = [
      ["X-Trace", " \tabc\t "],
      ["Cookie", "a=1"],
      ["cookie", "b=2"],
    ];
    const output = validateUserHeaders(input, none);
    assert.deepEqual(output, [
      ["X-Trace", "abc"],
      ["Cookie", "a=1"],
      ["cookie", "b=2"],
    ]);
    assert.notEqual(output, input);
  });

  test("P17: refuses CR, LF and NUL in values, so no extra header line can be injected", () => {
    for (const value of ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b", "a\x01b", "\u20ac"]) {
      throwsCode(() => validateUserHeaders([["X-A", value]], none), "ERR_WS_INVALID_HEADER", value);
    }
  });

  test("P17: refuses names that are not tokens", () => {
    for (const name of ["", "X A", "X-A:", "X-A\r\n", "caf\u00e9"]) {
      throwsCode(() => validateUserHeaders([[name, "v"]], none), "ERR_WS_INVALID_HEADER", name);
    }
  });

  test("P17: refuses reserved names, whatever their case", () => {
    const isReserved = (name: string): boolean => name === "host";
    for (const name of ["Host", "HOST", "host"]) {
      throwsCode(
        () => validateUserHeaders([[name, "x"]], isReserved),
        "ERR_WS_INVALID_HEADER",
        name,
      );
    }
  });
});
