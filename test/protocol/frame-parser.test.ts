import assert from "node:assert/strict";
import { test } from "node:test";
import { ProtocolError } from "../../src/protocol/errors.js";
import {
  FrameParser,
  type FrameHeader,
  type FrameParserOptions,
  type FrameSink,
} from "../../src/protocol/frame-parser.js";
import { boundarySplitPoints, chunkings } from "../helpers/chunking.js";
import {
  OP,
  RFC_MASK_KEY,
  buildFrame,
  concat,
  hex,
  patternBytes,
  toHex,
  utf8,
} from "../helpers/frames.js";

/** Records what the parser reports, joining consecutive payload pieces (they depend on chunking). */
class RecordingSink implements FrameSink {
  readonly #events: (string | Uint8Array[])[] = [];
  parser: FrameParser | undefined;
  haltOn: "header" | "payload" | "end" | undefined;
  throwOnHeader: Error | undefined;

  get events(): string[] {
    return this.#events.map((e) => (typeof e === "string" ? e : `payload ${toHex(concat(...e))}`));
  }

  onFrameHeader(header: FrameHeader): void {
    this.#events.push(describe("header", header));
    if (this.throwOnHeader !== undefined) throw this.throwOnHeader;
    if (this.haltOn === "header") this.parser?.halt();
  }

  onFramePayload(bytes: Uint8Array): void {
    assert.ok(bytes.length > 0, "payload pieces are never empty");
    const last = this.#events.at(-1);
    if (Array.isArray(last)) last.push(bytes.slice());
    else this.#events.push([bytes.slice()]);
    if (this.haltOn === "payload") this.parser?.halt();
  }

  onFrameEnd(header: FrameHeader): void {
    this.#events.push(describe("end", header));
    if (this.haltOn === "end") this.parser?.halt();
  }
}

function describe(what: string, h: FrameHeader): string {
  const fin = h.fin ? "fin" : "more";
  return `${what} op=${h.opcode} ${fin} rsv=${h.rsv} ${h.masked ? "masked" : "unmasked"} len=${h.payloadLength}`;
}

/** Pushes `chunks`; returns the events and the ProtocolError code, if one was thrown. */
function parse(
  chunks: readonly Uint8Array[],
  options: FrameParserOptions,
): { events: string[]; error?: string } {
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, options);
  try {
    for (const chunk of chunks) parser.push(chunk);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.closeCode, error.code === "ERR_WS_MESSAGE_TOO_BIG" ? 1009 : 1002);
    return { events: sink.events, error: error.code };
  }
  return { events: sink.events };
}

interface ParserCase {
  readonly name: string;
  readonly input: Uint8Array;
  readonly options: FrameParserOptions;
  readonly events: readonly string[];
  readonly error?: string;
  /** For large inputs, split only at these points (plus whole and byte by byte). */
  readonly splitPoints?: readonly number[];
}

const CLIENT: FrameParserOptions = { expectMasked: false }; // a client receives unmasked frames
const SERVER: FrameParserOptions = { expectMasked: true }; // a server receives masked frames

const hello = "payload 48 65 6c 6c 6f";
const big256 = patternBytes(256);
const big65536 = patternBytes(65536);

const CASES: readonly ParserCase[] = [
  {
    name: "H12: a single-frame unmasked text message 'Hello'",
    input: hex("81 05 48 65 6c 6c 6f"),
    options: CLIENT,
    events: ["header op=1 fin rsv=0 unmasked len=5", hello, "end op=1 fin rsv=0 unmasked len=5"],
  },
  {
    name: "H12/H11: a single-frame masked text message 'Hello' is unmasked",
    input: hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
    options: SERVER,
    events: ["header op=1 fin rsv=0 masked len=5", hello, "end op=1 fin rsv=0 masked len=5"],
  },
  {
    name: "H12/I2: a fragmented unmasked text message",
    input: hex("01 03 48 65 6c 80 02 6c 6f"),
    options: CLIENT,
    events: [
      "header op=1 more rsv=0 unmasked len=3",
      "payload 48 65 6c",
      "end op=1 more rsv=0 unmasked len=3",
      "header op=0 fin rsv=0 unmasked len=2",
      "payload 6c 6f",
      "end op=0 fin rsv=0 unmasked len=2",
    ],
  },
  {
    name: "H12: an unmasked ping 'Hello'",
    input: hex("89 05 48 65 6c 6c 6f"),
    options: CLIENT,
    events: ["header op=9 fin rsv=0 unmasked len=5", hello, "end op=9 fin rsv=0 unmasked len=5"],
  },
  {
    name: "H12: a masked pong 'Hello'",
    input: hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"),
    options: SERVER,
    events: ["header op=10 fin rsv=0 masked len=5", hello, "end op=10 fin rsv=0 masked len=5"],
  },
  {
    name: "H12/H2: 256 bytes of binary data (82 7E 01 00)",
    input: concat(hex("82 7e 01 00"), big256),
    options: CLIENT,
    events: [
      "header op=2 fin rsv=0 unmasked len=256",
      `payload ${toHex(big256)}`,
      "end op=2 fin rsv=0 unmasked len=256",
    ],
  },
  {
    name: "H12/H2: 65 536 bytes of binary data (82 7F 00 00 00 00 00 01 00 00)",
    input: concat(hex("82 7f 00 00 00 00 00 01 00 00"), big65536),
    options: CLIENT,
    events: [
      "header op=2 fin rsv=0 unmasked len=65536",
      `payload ${toHex(big65536)}`,
      "end op=2 fin rsv=0 unmasked len=65536",
    ],
    splitPoints: boundarySplitPoints(65546),
  },
  {
    name: "H11/H2: a masked 300-byte frame (16-bit length) unmasks across the key cycle",
    input: buildFrame({ opcode: OP.binary, payload: patternBytes(300), maskKey: RFC_MASK_KEY }),
    options: SERVER,
    events: [
      "header op=2 fin rsv=0 masked len=300",
      `payload ${toHex(patternBytes(300))}`,
      "end op=2 fin rsv=0 masked len=300",
    ],
  },
  {
    name: "H3: a non-minimal 16-bit length is accepted",
    input: buildFrame({ opcode: OP.text, payload: "Hello", lengthForm: 16 }),
    options: CLIENT,
    events: ["header op=1 fin rsv=0 unmasked len=5", hello, "end op=1 fin rsv=0 unmasked len=5"],
  },
  {
    name: "H3: a non-minimal 64-bit length is accepted, masked",
    input: buildFrame({ opcode: OP.text, payload: "Hello", lengthForm: 64, maskKey: RFC_MASK_KEY }),
    options: SERVER,
    events: ["header op=1 fin rsv=0 masked len=5", hello, "end op=1 fin rsv=0 masked len=5"],
  },
  {
    name: "H16: zero-length payloads end at once, for every opcode",
    input: hex("01 00 80 00 02 00 88 00 89 00 8a 00"),
    options: CLIENT,
    events: [
      "header op=1 more rsv=0 unmasked len=0",
      "end op=1 more rsv=0 unmasked len=0",
      "header op=0 fin rsv=0 unmasked len=0",
      "end op=0 fin rsv=0 unmasked len=0",
      "header op=2 more rsv=0 unmasked len=0",
      "end op=2 more rsv=0 unmasked len=0",
      "header op=8 fin rsv=0 unmasked len=0",
      "end op=8 fin rsv=0 unmasked len=0",
      "header op=9 fin rsv=0 unmasked len=0",
      "end op=9 fin rsv=0 unmasked len=0",
      "header op=10 fin rsv=0 unmasked len=0",
      "end op=10 fin rsv=0 unmasked len=0",
    ],
  },
  {
    name: "H16: a masked zero-length frame carries a key and no payload",
    input: hex("82 80 01 02 03 04 81 81 01 02 03 04 40"),
    options: SERVER,
    events: [
      "header op=2 fin rsv=0 masked len=0",
      "end op=2 fin rsv=0 masked len=0",
      "header op=1 fin rsv=0 masked len=1",
      "payload 41",
      "end op=1 fin rsv=0 masked len=1",
    ],
  },
  {
    name: "H14: several frames in one read, each with its own key",
    input: concat(
      buildFrame({ opcode: OP.text, payload: "ab", maskKey: hex("01 02 03 04") }),
      buildFrame({ opcode: OP.ping, payload: "cd", maskKey: hex("a0 b0 c0 d0") }),
      buildFrame({ opcode: OP.binary, payload: "ef", maskKey: hex("ff ff ff ff") }),
    ),
    options: SERVER,
    events: [
      "header op=1 fin rsv=0 masked len=2",
      "payload 61 62",
      "end op=1 fin rsv=0 masked len=2",
      "header op=9 fin rsv=0 masked len=2",
      "payload 63 64",
      "end op=9 fin rsv=0 masked len=2",
      "header op=2 fin rsv=0 masked len=2",
      "payload 65 66",
      "end op=2 fin rsv=0 masked len=2",
    ],
  },
  {
    name: "J1: a 125-byte control frame is accepted",
    input: buildFrame({ opcode: OP.ping, payload: patternBytes(125) }),
    options: CLIENT,
    events: [
      "header op=9 fin rsv=0 unmasked len=125",
      `payload ${toHex(patternBytes(125))}`,
      "end op=9 fin rsv=0 unmasked len=125",
    ],
  },
  {
    name: "H7: RSV1 is accepted when an extension defines it",
    input: hex("c1 01 41"),
    options: { expectMasked: false, allowedRsv: 4 },
    events: [
      "header op=1 fin rsv=4 unmasked len=1",
      "payload 41",
      "end op=1 fin rsv=4 unmasked len=1",
    ],
  },
  {
    name: "H7: RSV1 without an extension fails (1002)",
    input: hex("c1 01 41"),
    options: CLIENT,
    events: [],
    error: "ERR_WS_UNEXPECTED_RSV",
  },
  {
    name: "H7: RSV2 fails even when RSV1 is allowed (1002)",
    input: hex("a1 00"),
    options: { expectMasked: false, allowedRsv: 4 },
    events: [],
    error: "ERR_WS_UNEXPECTED_RSV",
  },
  {
    name: "H7: RSV3 fails (1002)",
    input: hex("91 80 00 00 00 00"),
    options: SERVER,
    events: [],
    error: "ERR_WS_UNEXPECTED_RSV",
  },
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode): ParserCase => ({
    name: `H6: reserved opcode 0x${opcode.toString(16)} fails (1002)`,
    input: Uint8Array.of(0x80 | opcode, 0x00),
    options: CLIENT,
    events: [],
    error: "ERR_WS_INVALID_OPCODE",
  })),
  {
    name: "H10: a masked frame sent to a client fails (1002)",
    input: hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
    options: CLIENT,
    events: [],
    error: "ERR_WS_MASKED_FRAME",
  },
  {
    name: "H10: an unmasked frame sent to a server fails (1002)",
    input: hex("81 05 48 65 6c 6c 6f"),
    options: SERVER,
    events: [],
    error: "ERR_WS_UNMASKED_FRAME",
  },
  ...[OP.close, OP.ping, OP.pong].map((opcode): ParserCase => ({
    name: `I6/J1: a control frame (0x${opcode.toString(16)}) with FIN=0 fails (1002)`,
    input: Uint8Array.of(opcode, 0x00),
    options: CLIENT,
    events: [],
    error: "ERR_WS_FRAGMENTED_CONTROL_FRAME",
  })),
  {
    name: "J1: a control frame with a 16-bit length fails (1002), even a small one",
    input: buildFrame({ opcode: OP.ping, payload: "x", lengthForm: 16 }),
    options: CLIENT,
    events: [],
    error: "ERR_WS_CONTROL_FRAME_TOO_LONG",
  },
  {
    name: "J1: a 126-byte Close fails (1002)",
    input: buildFrame({ opcode: OP.close, payload: patternBytes(126), maskKey: RFC_MASK_KEY }),
    options: SERVER,
    events: [],
    error: "ERR_WS_CONTROL_FRAME_TOO_LONG",
  },
  {
    name: "J1: a pong with a 64-bit length fails (1002)",
    input: buildFrame({ opcode: OP.pong, declaredLength: 1, lengthForm: 64 }),
    options: CLIENT,
    events: [],
    error: "ERR_WS_CONTROL_FRAME_TOO_LONG",
  },
  {
    name: "H4: a 64-bit length with the top bit set fails (1002)",
    input: buildFrame({ opcode: OP.binary, declaredLength: 0x8000000000000000n }),
    options: CLIENT,
    events: [],
    error: "ERR_WS_INVALID_PAYLOAD_LENGTH",
  },
  {
    name: "H4: the largest 64-bit length fails (1002)",
    input: buildFrame({
      opcode: OP.binary,
      declaredLength: 0xffffffffffffffffn,
      maskKey: RFC_MASK_KEY,
    }),
    options: SERVER,
    events: [],
    error: "ERR_WS_INVALID_PAYLOAD_LENGTH",
  },
  {
    name: "P6: a length above 2^53 - 1 is refused before anything is allocated (1009)",
    input: buildFrame({ opcode: OP.binary, declaredLength: 2n ** 53n }),
    options: CLIENT,
    events: [],
    error: "ERR_WS_MESSAGE_TOO_BIG",
  },
  {
    name: "P6: 2^63 - 1 is refused (1009)",
    input: buildFrame({ opcode: OP.text, declaredLength: 2n ** 63n - 1n }),
    options: CLIENT,
    events: [],
    error: "ERR_WS_MESSAGE_TOO_BIG",
  },
  {
    name: "P6/H2: 2^53 - 1 is read exactly (the sink judges it against its limit)",
    input: buildFrame({ opcode: OP.binary, declaredLength: 2n ** 53n - 1n }),
    options: CLIENT,
    events: ["header op=2 fin rsv=0 unmasked len=9007199254740991"],
  },
  {
    name: "H14: a valid frame then an invalid one: the first is reported in full",
    input: concat(hex("82 01 ff"), hex("83 00")),
    options: CLIENT,
    events: [
      "header op=2 fin rsv=0 unmasked len=1",
      "payload ff",
      "end op=2 fin rsv=0 unmasked len=1",
    ],
    error: "ERR_WS_INVALID_OPCODE",
  },
];

for (const c of CASES) {
  test(`${c.name}, at every split`, () => {
    for (const { label, chunks } of chunkings(c.input, c.splitPoints)) {
      const result = parse(chunks, c.options);
      assert.deepEqual(result.events, c.events, label);
      assert.equal(result.error, c.error, label);
    }
  });
}

test("H6/H7/H10/J1: structural errors are raised from the first two bytes alone", () => {
  const twoByteErrors: [string, FrameParserOptions, string][] = [
    ["c1 7f", CLIENT, "ERR_WS_UNEXPECTED_RSV"],
    ["83 7f", CLIENT, "ERR_WS_INVALID_OPCODE"],
    ["82 ff", CLIENT, "ERR_WS_MASKED_FRAME"],
    ["82 7f", SERVER, "ERR_WS_UNMASKED_FRAME"],
    ["09 00", CLIENT, "ERR_WS_FRAGMENTED_CONTROL_FRAME"],
    ["89 7e", CLIENT, "ERR_WS_CONTROL_FRAME_TOO_LONG"],
  ];
  for (const [bytesHex, options, code] of twoByteErrors) {
    const bytes = hex(bytesHex);
    const first = parse([bytes.subarray(0, 1)], options);
    assert.equal(first.error, undefined, `${bytesHex}: one byte is not enough to judge`);
    assert.equal(parse([bytes.subarray(0, 1), bytes.subarray(1)], options).error, code, bytesHex);
  }
});

test("H4: the top-bit check waits for the whole 64-bit length", () => {
  const bytes = buildFrame({ opcode: OP.binary, declaredLength: 0x8000000000000000n });
  assert.equal(parse([bytes.subarray(0, 9)], CLIENT).error, undefined);
  assert.equal(
    parse([bytes.subarray(0, 9), bytes.subarray(9)], CLIENT).error,
    "ERR_WS_INVALID_PAYLOAD_LENGTH",
  );
});

test("H14: a header is reported only when complete, and before any payload byte", () => {
  const input = buildFrame({
    opcode: OP.binary,
    payload: patternBytes(200),
    maskKey: RFC_MASK_KEY,
  });
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, SERVER);
  parser.push(input.slice(0, 7)); // 2 + 2 + 3 of the 4 key bytes
  assert.deepEqual(sink.events, []);
  parser.push(input.slice(7, 8));
  assert.deepEqual(sink.events, ["header op=2 fin rsv=0 masked len=200"]);
  parser.push(input.slice(8, 9));
  assert.equal(sink.events.length, 2);
  parser.push(input.slice(9));
  assert.equal(sink.events.at(-1), "end op=2 fin rsv=0 masked len=200");
});

test("H14: payload pieces are views of the pushed chunk, unmasked in place", () => {
  const chunk = buildFrame({ opcode: OP.binary, payload: "abc", maskKey: RFC_MASK_KEY });
  let piece: Uint8Array | undefined;
  const parser = new FrameParser(
    {
      onFrameHeader() {},
      onFramePayload(bytes) {
        piece = bytes;
      },
      onFrameEnd() {},
    },
    SERVER,
  );
  parser.push(chunk);
  assert.equal(piece?.buffer, chunk.buffer);
  assert.equal(toHex(chunk.subarray(6)), toHex(utf8("abc")));
});

test("H7: setAllowedRsv changes which RSV bits are accepted", () => {
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, CLIENT);
  parser.setAllowedRsv(4);
  parser.push(hex("c2 00"));
  assert.deepEqual(sink.events, [
    "header op=2 fin rsv=4 unmasked len=0",
    "end op=2 fin rsv=4 unmasked len=0",
  ]);
  parser.setAllowedRsv(0);
  assert.throws(
    () => parser.push(hex("c2 00")),
    (e: unknown) => e instanceof ProtocolError && e.code === "ERR_WS_UNEXPECTED_RSV",
  );
});

test("L19: halt() in onFrameEnd ignores the rest of the chunk and later chunks", () => {
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, CLIENT);
  sink.parser = parser;
  sink.haltOn = "end";
  assert.equal(parser.halted, false);
  parser.push(hex("88 00 81 01 41"));
  assert.equal(parser.halted, true);
  parser.push(hex("81 01 42"));
  assert.deepEqual(sink.events, [
    "header op=8 fin rsv=0 unmasked len=0",
    "end op=8 fin rsv=0 unmasked len=0",
  ]);
});

test("L19: halt() in onFrameHeader stops before the payload and the frame end", () => {
  for (const input of [hex("82 02 01 02 81 00"), hex("82 00 81 00")]) {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, CLIENT);
    sink.parser = parser;
    sink.haltOn = "header";
    parser.push(input);
    assert.deepEqual(sink.events, [sink.events[0]!]);
    assert.match(sink.events[0]!, /^header op=2/);
  }
});

test("L19: halt() in onFramePayload stops before the frame end", () => {
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, CLIENT);
  sink.parser = parser;
  sink.haltOn = "payload";
  parser.push(hex("82 02 01"));
  parser.push(hex("02 81 00"));
  assert.deepEqual(sink.events, ["header op=2 fin rsv=0 unmasked len=2", "payload 01"]);
});

test("P13: an error thrown by the sink propagates out of push()", () => {
  const sink = new RecordingSink();
  const error = new ProtocolError("ERR_WS_MESSAGE_TOO_BIG", "too big");
  sink.throwOnHeader = error;
  const parser = new FrameParser(sink, CLIENT);
  assert.throws(
    () => parser.push(hex("82 05")),
    (e: unknown) => e === error,
  );
});

test("H14: an empty chunk changes nothing, between and inside frames", () => {
  const result = parse(
    [new Uint8Array(0), hex("81"), new Uint8Array(0), hex("01 41"), new Uint8Array(0)],
    CLIENT,
  );
  assert.deepEqual(result.events, [
    "header op=1 fin rsv=0 unmasked len=1",
    "payload 41",
    "end op=1 fin rsv=0 unmasked len=1",
  ]);
});
