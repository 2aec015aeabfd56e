/**
 * permessage-deflate negotiation (RFC 7692 §5, §7; SPEC.md N1–N11, N21, F12): the client's
 * offer, the server's choice among offers, and the client's check of the server's answer, as
 * tables. Header values go through the real `Sec-WebSocket-Extensions` parser, so quoted forms
 * are covered as a peer would send them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createDeflateCodec } from "../../../src/node/deflate-codec.js";
import {
  DeflateNegotiationError,
  PerMessageDeflate,
  acceptDeflateResponse,
  buildDeflateOffer,
  negotiateDeflate,
  type DeflateOfferOptions,
  type DeflateParameters,
  type DeflateServerOptions,
} from "../../../src/protocol/extensions/permessage-deflate.js";
import {
  parseExtensions,
  type ParsedExtension,
} from "../../../src/protocol/handshake/header-grammar.js";
import { SERVER_DEFLATE_DEFAULTS } from "../../../src/server/options.js";
import { jsonLikeText, referenceDeflate } from "../../helpers/deflate-harness.js";
import { utf8 } from "../../helpers/frames.js";

function one(header: string): ParsedExtension {
  const parsed = parseExtensions(header);
  assert.equal(parsed.length, 1, header);
  return parsed[0]!;
}

function params(partial: Partial<DeflateParameters> = {}): DeflateParameters {
  return {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    ...partial,
  };
}

function isInvalidOption(error: unknown): boolean {
  return (
    error instanceof RangeError && (error as { code?: unknown }).code === "ERR_WS_INVALID_OPTION"
  );
}

// ---- the client's offer ----------------------------------------------------------------------

describe("F12/N3 buildDeflateOffer", () => {
  const rows: readonly [string, DeflateOfferOptions, string][] = [
    [
      "F12: the default offer is what browsers send",
      {},
      "permessage-deflate; client_max_window_bits",
    ],
    [
      "N3: clientMaxWindowBits false leaves the parameter out",
      { clientMaxWindowBits: false },
      "permessage-deflate",
    ],
    [
      "N3: a client window cap",
      { clientMaxWindowBits: 10 },
      "permessage-deflate; client_max_window_bits=10",
    ],
    [
      "N3/N7: ask for server_no_context_takeover",
      { serverNoContextTakeover: true },
      "permessage-deflate; server_no_context_takeover; client_max_window_bits",
    ],
    [
      "N3/N8: announce client_no_context_takeover",
      { clientNoContextTakeover: true, clientMaxWindowBits: false },
      "permessage-deflate; client_no_context_takeover",
    ],
    [
      "N3/N9: limit the server's window",
      { serverMaxWindowBits: 9, clientMaxWindowBits: 15 },
      "permessage-deflate; server_max_window_bits=9; client_max_window_bits=15",
    ],
    [
      "N3: every parameter",
      {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 12,
        clientMaxWindowBits: 11,
      },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11",
    ],
    [
      "N3: false booleans add nothing",
      { serverNoContextTakeover: false, clientNoContextTakeover: false },
      "permessage-deflate; client_max_window_bits",
    ],
  ];
  for (const [name, options, expected] of rows) {
    test(`${name}: ${JSON.stringify(options)} → ${expected}`, () => {
      assert.equal(buildDeflateOffer(options), expected);
      // The offer is valid Sec-WebSocket-Extensions syntax and a server accepts it.
      assert.ok(negotiateDeflate(parseExtensions(expected)) !== undefined);
    });
  }

  for (const [name, options] of [
    ["N21: serverMaxWindowBits 8 is never offered", { serverMaxWindowBits: 8 }],
    ["N21: clientMaxWindowBits 8 is never offered", { clientMaxWindowBits: 8 }],
    ["N3: serverMaxWindowBits 16", { serverMaxWindowBits: 16 }],
    ["N3: clientMaxWindowBits 7", { clientMaxWindowBits: 7 }],
    ["N3: a fractional window", { serverMaxWindowBits: 10.5 }],
    ["N3: NaN", { clientMaxWindowBits: Number.NaN }],
  ] as const) {
    test(`${name} → RangeError ERR_WS_INVALID_OPTION`, () => {
      assert.throws(() => buildDeflateOffer(options as DeflateOfferOptions), isInvalidOption);
    });
  }
});

// ---- the client's check of the answer --------------------------------------------------------

/** [rule, what was offered, the server's answer, the parameters in force or "fail"]. */
type ClientRow = readonly [string, DeflateOfferOptions, string, DeflateParameters | "fail"];

const CLIENT_ROWS: readonly ClientRow[] = [
  // Plain acceptances (N11: an absent window parameter means 15).
  ["N11: no parameters", {}, "permessage-deflate", params()],
  [
    "N7: server_no_context_takeover added unasked",
    {},
    "permessage-deflate; server_no_context_takeover",
    params({ serverNoContextTakeover: true }),
  ],
  [
    "N7: asked and confirmed",
    { serverNoContextTakeover: true },
    "permessage-deflate; server_no_context_takeover",
    params({ serverNoContextTakeover: true }),
  ],
  [
    "N7★: asked for server_no_context_takeover, answer leaves it out",
    { serverNoContextTakeover: true },
    "permessage-deflate",
    "fail",
  ],
  [
    "N7★: asked, answer has only client_no_context_takeover",
    { serverNoContextTakeover: true },
    "permessage-deflate; client_no_context_takeover",
    "fail",
  ],
  [
    "N8: client_no_context_takeover in the answer",
    {},
    "permessage-deflate; client_no_context_takeover",
    params({ clientNoContextTakeover: true }),
  ],
  [
    "N8: announced in the offer, not echoed: the client still resets",
    { clientNoContextTakeover: true },
    "permessage-deflate",
    params({ clientNoContextTakeover: true }),
  ],
  [
    "N7/N8: both",
    {},
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    params({ serverNoContextTakeover: true, clientNoContextTakeover: true }),
  ],
  // N9: server_max_window_bits.
  [
    "N9: added unasked",
    {},
    "permessage-deflate; server_max_window_bits=10",
    params({ serverMaxWindowBits: 10 }),
  ],
  [
    "N9: equal to the offer",
    { serverMaxWindowBits: 12 },
    "permessage-deflate; server_max_window_bits=12",
    params({ serverMaxWindowBits: 12 }),
  ],
  [
    "N9: below the offer",
    { serverMaxWindowBits: 12 },
    "permessage-deflate; server_max_window_bits=9",
    params({ serverMaxWindowBits: 9 }),
  ],
  [
    "N9: above the offer",
    { serverMaxWindowBits: 12 },
    "permessage-deflate; server_max_window_bits=13",
    "fail",
  ],
  [
    "N9: offered, left out of the answer (means 15 > offer)",
    { serverMaxWindowBits: 12 },
    "permessage-deflate",
    "fail",
  ],
  [
    "N9: 15 when 15 was offered",
    { serverMaxWindowBits: 15 },
    "permessage-deflate; server_max_window_bits=15",
    params(),
  ],
  ["N9: needs a value", {}, "permessage-deflate; server_max_window_bits", "fail"],
  // N10: client_max_window_bits.
  [
    "N10: offered without a value, answered with one",
    {},
    "permessage-deflate; client_max_window_bits=10",
    params({ clientMaxWindowBits: 10 }),
  ],
  [
    "N10: offered without a value, answered with 15",
    {},
    "permessage-deflate; client_max_window_bits=15",
    params(),
  ],
  [
    "N10: not offered, but in the answer",
    { clientMaxWindowBits: false },
    "permessage-deflate; client_max_window_bits=15",
    "fail",
  ],
  [
    "N10: not offered, answer without it",
    { clientMaxWindowBits: false },
    "permessage-deflate",
    params(),
  ],
  [
    "N10: offered 11, answered 12 (above the offer)",
    { clientMaxWindowBits: 11 },
    "permessage-deflate; client_max_window_bits=12",
    "fail",
  ],
  [
    "N10: offered 11, answered 11",
    { clientMaxWindowBits: 11 },
    "permessage-deflate; client_max_window_bits=11",
    params({ clientMaxWindowBits: 11 }),
  ],
  [
    "N10: offered 11, answered 9",
    { clientMaxWindowBits: 11 },
    "permessage-deflate; client_max_window_bits=9",
    params({ clientMaxWindowBits: 9 }),
  ],
  [
    "N10: offered 11, not answered: the client keeps its own cap",
    { clientMaxWindowBits: 11 },
    "permessage-deflate",
    params({ clientMaxWindowBits: 11 }),
  ],
  [
    "N10: a value is required in an answer",
    {},
    "permessage-deflate; client_max_window_bits",
    "fail",
  ],
  // N21: 8-bit windows chosen by the server are accepted (sockwise then never compresses with 8).
  [
    "N21: server_max_window_bits=8 added unasked",
    {},
    "permessage-deflate; server_max_window_bits=8",
    params({ serverMaxWindowBits: 8 }),
  ],
  [
    "N21: client_max_window_bits=8",
    {},
    "permessage-deflate; client_max_window_bits=8",
    params({ clientMaxWindowBits: 8 }),
  ],
  // N4: value syntax.
  [
    "N4: a quoted value",
    {},
    'permessage-deflate; server_max_window_bits="10"',
    params({ serverMaxWindowBits: 10 }),
  ],
  [
    "N4: a quoted client value",
    {},
    'permessage-deflate; client_max_window_bits="9"',
    params({ clientMaxWindowBits: 9 }),
  ],
  [
    "N4: a quoted value with a leading zero",
    {},
    'permessage-deflate; server_max_window_bits="010"',
    "fail",
  ],
  ["N4: a leading zero", {}, "permessage-deflate; server_max_window_bits=010", "fail"],
  ["N4: a leading zero on 8", {}, "permessage-deflate; server_max_window_bits=08", "fail"],
  ["N4: a leading zero (client)", {}, "permessage-deflate; client_max_window_bits=09", "fail"],
  ["N4: 7 is below the range", {}, "permessage-deflate; server_max_window_bits=7", "fail"],
  ["N4: 16 is above the range", {}, "permessage-deflate; server_max_window_bits=16", "fail"],
  ["N4: 0", {}, "permessage-deflate; client_max_window_bits=0", "fail"],
  ["N4: hexadecimal", {}, "permessage-deflate; server_max_window_bits=0xf", "fail"],
  ["N4: a sign", {}, "permessage-deflate; server_max_window_bits=+10", "fail"],
  ["N4: a decimal point", {}, "permessage-deflate; server_max_window_bits=10.0", "fail"],
  ["N4: an exponent", {}, "permessage-deflate; client_max_window_bits=1e1", "fail"],
  ["N4: letters", {}, "permessage-deflate; server_max_window_bits=ten", "fail"],
  [
    "N4: a huge number",
    {},
    "permessage-deflate; server_max_window_bits=100000000000000000015",
    "fail",
  ],
  [
    "N3: server_no_context_takeover takes no value",
    {},
    "permessage-deflate; server_no_context_takeover=1",
    "fail",
  ],
  [
    "N3: client_no_context_takeover takes no value (quoted)",
    {},
    'permessage-deflate; client_no_context_takeover="true"',
    "fail",
  ],
  // N6: unknown and duplicate parameters.
  ["N6: an unknown parameter", {}, "permessage-deflate; x-unknown", "fail"],
  ["N6: an unknown parameter with a value", {}, "permessage-deflate; mem_level=8", "fail"],
  ["N6: a misspelt parameter", {}, "permessage-deflate; server_no_context_take_over", "fail"],
  [
    "N6: a duplicate server_no_context_takeover",
    {},
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "fail",
  ],
  [
    "N6: a duplicate client_no_context_takeover",
    {},
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "fail",
  ],
  [
    "N6: a duplicate server_max_window_bits (same value)",
    {},
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "fail",
  ],
  [
    "N6: a duplicate client_max_window_bits",
    {},
    "permessage-deflate; client_max_window_bits=10; client_max_window_bits=11",
    "fail",
  ],
];

describe("N6–N10 acceptDeflateResponse (the client's check of the server's answer)", () => {
  for (const [rule, offered, answer, expected] of CLIENT_ROWS) {
    const title = `${rule}: offer ${JSON.stringify(offered)}, answer "${answer}" → ${expected === "fail" ? "Fail" : "accepted"}`;
    test(title, () => {
      const response = one(answer);
      if (expected === "fail") {
        assert.throws(
          () => acceptDeflateResponse(response, offered),
          (error: unknown) => error instanceof DeflateNegotiationError,
        );
      } else {
        assert.deepEqual(acceptDeflateResponse(response, offered), expected);
      }
    });
  }

  test("N21: with client_max_window_bits=8 accepted, the client never compresses (sends raw)", () => {
    const parameters = acceptDeflateResponse(one("permessage-deflate; client_max_window_bits=8"));
    const client = new PerMessageDeflate({
      isClient: true,
      parameters,
      codec: createDeflateCodec(),
      thresholdBytes: 0,
    });
    assert.equal(client.compress(utf8(jsonLikeText(16 * 1024))), undefined);
    // It still inflates what the server sends.
    const data = utf8(jsonLikeText(4096));
    assert.deepEqual(client.decompress(referenceDeflate(data), 1 << 20), Buffer.from(data));
  });
});

// ---- the server's choice ---------------------------------------------------------------------

/** [rule, the offer header, server options, the answer or undefined (declined)]. */
type ServerRow = readonly [string, string, DeflateServerOptions, string | undefined];

const DEFAULTS: DeflateServerOptions = {
  serverNoContextTakeover: SERVER_DEFLATE_DEFAULTS.serverNoContextTakeover,
  clientNoContextTakeover: SERVER_DEFLATE_DEFAULTS.clientNoContextTakeover,
};

const SERVER_ROWS: readonly ServerRow[] = [
  [
    "N1/N2: the browser offer, sockwise's defaults",
    "permessage-deflate; client_max_window_bits",
    DEFAULTS,
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
  ],
  [
    "N1/N2: the browser offer, context takeover allowed",
    "permessage-deflate; client_max_window_bits",
    {},
    "permessage-deflate",
  ],
  ["N1: a bare offer", "permessage-deflate", {}, "permessage-deflate"],
  ["N1: only other extensions → declined", "x-webkit-deflate-frame, x-foo; a=1", {}, undefined],
  [
    "N1: another extension before it is skipped",
    "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10",
    {},
    "permessage-deflate; server_max_window_bits=10",
  ],
  // N2: the first acceptable offer wins.
  [
    "N2: the first of two acceptable offers",
    "permessage-deflate; server_max_window_bits=10, permessage-deflate",
    {},
    "permessage-deflate; server_max_window_bits=10",
  ],
  [
    "N2: the first, even if a later one is 'better'",
    "permessage-deflate, permessage-deflate; server_no_context_takeover",
    {},
    "permessage-deflate",
  ],
  // N5: decline an offer and try the next.
  [
    "N5: unknown parameter, then a valid offer",
    "permessage-deflate; x-foo, permessage-deflate; client_max_window_bits",
    {},
    "permessage-deflate",
  ],
  [
    "N5: duplicate parameter, then a valid offer",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate; server_max_window_bits=11",
    {},
    "permessage-deflate; server_max_window_bits=11",
  ],
  [
    "N5: server_max_window_bits=16, then a valid offer",
    "permessage-deflate; server_max_window_bits=16, permessage-deflate",
    {},
    "permessage-deflate",
  ],
  [
    "N5: a leading zero, then a valid offer",
    "permessage-deflate; server_max_window_bits=09, permessage-deflate",
    {},
    "permessage-deflate",
  ],
  [
    "N5: a quoted leading zero, then a valid offer",
    'permessage-deflate; client_max_window_bits="09", permessage-deflate',
    {},
    "permessage-deflate",
  ],
  [
    "N5: client_max_window_bits=7, then a valid offer",
    "permessage-deflate; client_max_window_bits=7, permessage-deflate",
    {},
    "permessage-deflate",
  ],
  [
    "N5: server_max_window_bits without a value, then a valid offer",
    "permessage-deflate; server_max_window_bits, permessage-deflate; client_no_context_takeover",
    {},
    "permessage-deflate; client_no_context_takeover",
  ],
  [
    "N5: a value on a no-value parameter, then a valid offer",
    "permessage-deflate; server_no_context_takeover=yes, permessage-deflate",
    {},
    "permessage-deflate",
  ],
  [
    "N5: every offer invalid → declined",
    "permessage-deflate; x, permessage-deflate; server_max_window_bits=99, permessage-deflate; client_max_window_bits=0",
    {},
    undefined,
  ],
  [
    "N4: a quoted value is accepted",
    'permessage-deflate; server_max_window_bits="10"',
    {},
    "permessage-deflate; server_max_window_bits=10",
  ],
  // N7: server_no_context_takeover.
  [
    "N7: asked for → included",
    "permessage-deflate; server_no_context_takeover",
    { serverNoContextTakeover: false },
    "permessage-deflate; server_no_context_takeover",
  ],
  [
    "N7: added unasked when configured",
    "permessage-deflate",
    { serverNoContextTakeover: true },
    "permessage-deflate; server_no_context_takeover",
  ],
  // N8: client_no_context_takeover.
  [
    "N8: the client's hint is echoed",
    "permessage-deflate; client_no_context_takeover",
    {},
    "permessage-deflate; client_no_context_takeover",
  ],
  [
    "N8: requested by the server's configuration",
    "permessage-deflate",
    { clientNoContextTakeover: true },
    "permessage-deflate; client_no_context_takeover",
  ],
  // N9: server_max_window_bits.
  [
    "N9: the offer's cap is answered",
    "permessage-deflate; server_max_window_bits=10",
    {},
    "permessage-deflate; server_max_window_bits=10",
  ],
  [
    "N9: a smaller configured window wins",
    "permessage-deflate; server_max_window_bits=12",
    { serverMaxWindowBits: 9 },
    "permessage-deflate; server_max_window_bits=9",
  ],
  [
    "N9: the offer's smaller cap wins",
    "permessage-deflate; server_max_window_bits=9",
    { serverMaxWindowBits: 12 },
    "permessage-deflate; server_max_window_bits=9",
  ],
  [
    "N9: added unasked when configured",
    "permessage-deflate",
    { serverMaxWindowBits: 11 },
    "permessage-deflate; server_max_window_bits=11",
  ],
  [
    "N9/N11: 15 configured and not asked → left out",
    "permessage-deflate",
    { serverMaxWindowBits: 15 },
    "permessage-deflate",
  ],
  // N10: client_max_window_bits.
  [
    "N10: not offered → never in the answer, whatever the configuration",
    "permessage-deflate",
    { clientMaxWindowBits: 9 },
    "permessage-deflate",
  ],
  [
    "N10: offered without a value, configured 10",
    "permessage-deflate; client_max_window_bits",
    { clientMaxWindowBits: 10 },
    "permessage-deflate; client_max_window_bits=10",
  ],
  [
    "N10: offered without a value, nothing configured",
    "permessage-deflate; client_max_window_bits",
    {},
    "permessage-deflate",
  ],
  [
    "N10: offered 12, configured 10 → 10",
    "permessage-deflate; client_max_window_bits=12",
    { clientMaxWindowBits: 10 },
    "permessage-deflate; client_max_window_bits=10",
  ],
  [
    "N10: offered 9, configured 12 → 9 (never above the offer)",
    "permessage-deflate; client_max_window_bits=9",
    { clientMaxWindowBits: 12 },
    "permessage-deflate; client_max_window_bits=9",
  ],
  [
    "N10: offered 12, nothing configured → 12",
    "permessage-deflate; client_max_window_bits=12",
    {},
    "permessage-deflate; client_max_window_bits=12",
  ],
  // N21: the peer may choose 8.
  [
    "N21: the client caps the server's window at 8",
    "permessage-deflate; server_max_window_bits=8",
    {},
    "permessage-deflate; server_max_window_bits=8",
  ],
  [
    "N21: the client announces an 8-bit window of its own",
    "permessage-deflate; client_max_window_bits=8",
    {},
    "permessage-deflate; client_max_window_bits=8",
  ],
  [
    "N7–N10: everything at once",
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11",
    { serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
  ],
];

describe("N2/N5/N7–N11/N21 negotiateDeflate (the server's choice)", () => {
  for (const [rule, offer, options, expected] of SERVER_ROWS) {
    test(`${rule}: "${offer}" with ${JSON.stringify(options)} → ${expected ?? "declined"}`, () => {
      const agreement = negotiateDeflate(parseExtensions(offer), options);
      assert.equal(agreement?.response, expected);
      if (agreement === undefined) return;
      // The answer is valid syntax and the parameters in force are what it says (N11).
      const answered = one(agreement.response);
      const has = (name: string): boolean => answered.params.some(([n]) => n === name);
      const value = (name: string): number => {
        const found = answered.params.find(([n]) => n === name);
        return found === undefined ? 15 : Number(found[1]);
      };
      assert.deepEqual(agreement.parameters, {
        serverNoContextTakeover: has("server_no_context_takeover"),
        clientNoContextTakeover: has("client_no_context_takeover"),
        serverMaxWindowBits: value("server_max_window_bits"),
        clientMaxWindowBits: value("client_max_window_bits"),
      });
    });
  }

  test("N2: no offers at all → undefined", () => {
    assert.equal(negotiateDeflate([], {}), undefined);
  });

  test("N21: accepting server_max_window_bits=8, the server never compresses but still inflates", () => {
    const agreement = negotiateDeflate(
      parseExtensions("permessage-deflate; server_max_window_bits=8"),
    );
    assert.ok(agreement !== undefined);
    const server = new PerMessageDeflate({
      isClient: false,
      parameters: agreement.parameters,
      codec: createDeflateCodec(),
      thresholdBytes: 0,
    });
    assert.equal(server.compress(utf8(jsonLikeText(16 * 1024))), undefined);
    const data = utf8(jsonLikeText(4096));
    assert.deepEqual(server.decompress(referenceDeflate(data), 1 << 20), Buffer.from(data));
  });

  test("N21: a client with an 8-bit window (zlib makes it 9) is inflated by the server", () => {
    const agreement = negotiateDeflate(
      parseExtensions("permessage-deflate; client_max_window_bits=8"),
    );
    assert.ok(agreement !== undefined);
    assert.equal(agreement.parameters.clientMaxWindowBits, 8);
    const server = new PerMessageDeflate({
      isClient: false,
      parameters: agreement.parameters,
      codec: createDeflateCodec(),
      thresholdBytes: 0,
    });
    const data = utf8(jsonLikeText(8192));
    // zlib turns a raw 8-bit window into 9: what a real client with "8" sends.
    assert.deepEqual(server.decompress(referenceDeflate(data, 8), 1 << 20), Buffer.from(data));
  });

  for (const [name, options] of [
    ["N21: serverMaxWindowBits 8", { serverMaxWindowBits: 8 }],
    ["N21: clientMaxWindowBits 8", { clientMaxWindowBits: 8 }],
    ["serverMaxWindowBits 16", { serverMaxWindowBits: 16 }],
    ["clientMaxWindowBits 0", { clientMaxWindowBits: 0 }],
    ["serverMaxWindowBits 9.5", { serverMaxWindowBits: 9.5 }],
  ] as const) {
    test(`${name} as a server option → RangeError ERR_WS_INVALID_OPTION (even with no offer)`, () => {
      assert.throws(() => negotiateDeflate([], options as DeflateServerOptions), isInvalidOption);
    });
  }
});

// ---- both ends together ----------------------------------------------------------------------

describe("N2–N11 an offer, the server's answer and the client's check agree", () => {
  test("for every combination of offer options and server options (5 120 pairs)", () => {
    const offers: DeflateOfferOptions[] = [];
    for (const serverNoContextTakeover of [undefined, true])
      for (const clientNoContextTakeover of [undefined, true])
        for (const serverMaxWindowBits of [undefined, 9, 12, 15])
          for (const clientMaxWindowBits of [true, false, 9, 12, 15])
            offers.push({
              ...(serverNoContextTakeover === undefined ? {} : { serverNoContextTakeover }),
              ...(clientNoContextTakeover === undefined ? {} : { clientNoContextTakeover }),
              ...(serverMaxWindowBits === undefined ? {} : { serverMaxWindowBits }),
              clientMaxWindowBits,
            });
    const servers: DeflateServerOptions[] = [];
    for (const serverNoContextTakeover of [false, true])
      for (const clientNoContextTakeover of [false, true])
        for (const serverMaxWindowBits of [undefined, 9, 12, 15])
          for (const clientMaxWindowBits of [undefined, 9, 12, 15])
            servers.push({
              serverNoContextTakeover,
              clientNoContextTakeover,
              ...(serverMaxWindowBits === undefined ? {} : { serverMaxWindowBits }),
              ...(clientMaxWindowBits === undefined ? {} : { clientMaxWindowBits }),
            });
    let pairs = 0;
    for (const offer of offers) {
      const offered = one(buildDeflateOffer(offer));
      for (const server of servers) {
        pairs++;
        const agreement = negotiateDeflate([offered], server);
        const where = `offer ${JSON.stringify(offer)}, server ${JSON.stringify(server)}`;
        assert.ok(agreement !== undefined, `${where}: declined`);
        let client: DeflateParameters;
        try {
          client = acceptDeflateResponse(one(agreement.response), offer);
        } catch (error) {
          assert.fail(`${where}: the client refused "${agreement.response}": ${String(error)}`);
        }
        assert.deepEqual(client, agreement.parameters, where);
        // The answer honours the offer's caps (N9, N10) and requests (N7).
        const p = agreement.parameters;
        if (offer.serverMaxWindowBits !== undefined)
          assert.ok(p.serverMaxWindowBits <= offer.serverMaxWindowBits, where);
        if (typeof offer.clientMaxWindowBits === "number")
          assert.ok(p.clientMaxWindowBits <= offer.clientMaxWindowBits, where);
        if (offer.serverNoContextTakeover === true) assert.ok(p.serverNoContextTakeover, where);
        if (server.serverMaxWindowBits !== undefined)
          assert.ok(p.serverMaxWindowBits <= server.serverMaxWindowBits, where);
        if (server.serverNoContextTakeover === true) assert.ok(p.serverNoContextTakeover, where);
        if (server.clientNoContextTakeover === true) assert.ok(p.clientNoContextTakeover, where);
      }
    }
    assert.equal(pairs, 5120);
  });
});
