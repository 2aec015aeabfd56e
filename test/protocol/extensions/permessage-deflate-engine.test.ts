/**
 * permessage-deflate in the engine (RFC 7692 §6, §7.2; SPEC.md N12–N20, P7), both roles: RSV1
 * rules, fragmented compressed messages at every split, uncompressed messages after negotiation,
 * context takeover on and off in both directions (checked against a stateful zlib stream, a
 * second implementation), window sizes, corrupt data, UTF-8 after inflating, size limits.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Role } from "../../../src/protocol/engine.js";
import type { DeflateParameters } from "../../../src/protocol/extensions/permessage-deflate.js";
import { EngineHarness, ROLES, forEveryChunking, out } from "../../helpers/engine-harness.js";
import {
  DeflateHarness,
  RSV1,
  StreamingDeflater,
  StreamingInflater,
  forEveryDeflateChunking,
  jsonLikeText,
  randomBytesSeeded,
  referenceDeflate,
  referenceInflate,
} from "../../helpers/deflate-harness.js";
import { OP, concat, hex, utf8 } from "../../helpers/frames.js";

/** The parameter that governs what `role`'s peer compresses. */
function peerParameter(role: Role, noContextTakeover: boolean): Partial<DeflateParameters> {
  return role === "server"
    ? { clientNoContextTakeover: noContextTakeover }
    : { serverNoContextTakeover: noContextTakeover };
}

/** The parameter that governs what `role` itself compresses. */
function ownParameter(role: Role, noContextTakeover: boolean): Partial<DeflateParameters> {
  return role === "server"
    ? { serverNoContextTakeover: noContextTakeover }
    : { clientNoContextTakeover: noContextTakeover };
}

function ownWindow(role: Role, bits: number): Partial<DeflateParameters> {
  return role === "server" ? { serverMaxWindowBits: bits } : { clientMaxWindowBits: bits };
}

function peerWindow(role: Role, bits: number): Partial<DeflateParameters> {
  return role === "server" ? { clientMaxWindowBits: bits } : { serverMaxWindowBits: bits };
}

/** Similar messages, as a feed would send them: same shape, different values. */
function similarMessages(count: number, size = 900): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => utf8(jsonLikeText(size, 100 + i)));
}

const TEXT = jsonLikeText(600);
const COMPRESSED_TEXT = referenceDeflate(utf8(TEXT));

for (const role of ROLES) {
  const peer = new DeflateHarness(role);
  const f = peer.peerFrame.bind(peer);

  describe(`N12/N13 RSV1 rules (${role})`, () => {
    test(`N13/${role}: RSV1 on a text or binary frame without permessage-deflate → 1002`, () => {
      for (const opcode of [OP.text, OP.binary]) {
        forEveryChunking(role, f(opcode, COMPRESSED_TEXT, { rsv: RSV1 }), (h) =>
          h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV"),
        );
      }
    });

    test(`N13/${role}: RSV1 on a continuation without permessage-deflate → 1002`, () => {
      const plain = new EngineHarness(role);
      plain.receive(
        plain.peerFrame(OP.text, "ab", { fin: false }),
        plain.peerFrame(OP.cont, "c", { rsv: RSV1 }),
      );
      plain.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV");
    });

    test(`N12/${role}: RSV1 on the first frame only: a continuation with RSV1 → 1002`, () => {
      const half = Math.floor(COMPRESSED_TEXT.length / 2);
      const input = concat(
        f(OP.text, COMPRESSED_TEXT.subarray(0, half), { fin: false, rsv: RSV1 }),
        f(OP.cont, COMPRESSED_TEXT.subarray(half), { rsv: RSV1 }),
      );
      forEveryDeflateChunking(role, input, (h) => h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV"));
    });

    test(`N12/${role}: RSV1 on a continuation of an uncompressed message → 1002`, () => {
      const input = concat(f(OP.binary, "ab", { fin: false }), f(OP.cont, "cd", { rsv: RSV1 }));
      forEveryDeflateChunking(role, input, (h) => h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV"));
    });

    for (const [name, opcode] of [
      ["ping", OP.ping],
      ["pong", OP.pong],
      ["close", OP.close],
    ] as const) {
      test(`N12/N18/${role}: RSV1 on a ${name} frame → 1002, even with permessage-deflate`, () => {
        const payload = opcode === OP.close ? hex("03 e8") : utf8("x");
        forEveryDeflateChunking(role, f(opcode, payload, { rsv: RSV1 }), (h) =>
          h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV"),
        );
      });
    }

    test(`N12/${role}: a ping with RSV1 between the fragments of a compressed message → 1002`, () => {
      const input = concat(
        f(OP.text, COMPRESSED_TEXT.subarray(0, 10), { fin: false, rsv: RSV1 }),
        f(OP.ping, "p", { rsv: RSV1 }),
        f(OP.cont, COMPRESSED_TEXT.subarray(10)),
      );
      const h = new DeflateHarness(role);
      h.receive(input);
      h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV");
    });

    for (const rsv of [1, 2, 3, 5, 6, 7]) {
      test(`N12/${role}: RSV bits ${rsv.toString(2).padStart(3, "0")} are still refused with permessage-deflate → 1002`, () => {
        forEveryDeflateChunking(role, f(OP.text, COMPRESSED_TEXT, { rsv }), (h) =>
          h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV"),
        );
      });
    }
  });

  describe(`N12/N15 fragmented compressed messages (${role})`, () => {
    test(`N12/N15/${role}: two fragments, split at every byte of the compressed payload`, () => {
      for (let at = 0; at <= COMPRESSED_TEXT.length; at++) {
        const h = new DeflateHarness(role);
        h.receive(
          f(OP.text, COMPRESSED_TEXT.subarray(0, at), { fin: false, rsv: RSV1 }),
          f(OP.cont, COMPRESSED_TEXT.subarray(at)),
        );
        try {
          h.expect(out.message("text", TEXT));
        } catch (error) {
          if (error instanceof Error) error.message = `[split at ${at}] ${error.message}`;
          throw error;
        }
      }
    });

    test(`N12/N15/${role}: one byte per fragment, with a ping answered in the middle`, () => {
      const frames: Uint8Array[] = [];
      COMPRESSED_TEXT.forEach((byte, i) => {
        const last = i === COMPRESSED_TEXT.length - 1;
        frames.push(
          f(i === 0 ? OP.text : OP.cont, Uint8Array.of(byte), {
            fin: last,
            rsv: i === 0 ? RSV1 : 0,
          }),
        );
        if (i === 100) frames.push(f(OP.ping, "mid"));
      });
      const h = new DeflateHarness(role);
      h.receive(concat(...frames));
      h.expect(out.ping("mid"), out.sent(OP.pong, "mid"), out.message("text", TEXT));
    });

    test(`N12/N15/${role}: three fragments (empty first), every chunking of the input`, () => {
      const input = concat(
        f(OP.binary, new Uint8Array(0), { fin: false, rsv: RSV1 }),
        f(OP.cont, COMPRESSED_TEXT.subarray(0, 7), { fin: false }),
        f(OP.cont, COMPRESSED_TEXT.subarray(7)),
      );
      forEveryDeflateChunking(
        role,
        input,
        (h) => h.expect(out.message("binary", utf8(TEXT))),
        {},
        {},
        [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, input.length - 1],
      );
    });

    test(`N15/${role}: a compressed message with an empty payload is the empty message`, () => {
      forEveryDeflateChunking(role, f(OP.text, new Uint8Array(0), { rsv: RSV1 }), (h) =>
        h.expect(out.message("text", "")),
      );
    });

    test(`N15/${role}: zlib's own empty message (00) is the empty message`, () => {
      forEveryDeflateChunking(role, f(OP.binary, hex("00"), { rsv: RSV1 }), (h) =>
        h.expect(out.message("binary", "")),
      );
    });
  });

  describe(`N18 uncompressed messages after negotiation (${role})`, () => {
    test(`N18/${role}: text and binary frames with RSV1 clear are taken as they are, between compressed ones`, () => {
      const input = concat(
        f(OP.text, "plain"),
        f(OP.text, COMPRESSED_TEXT, { rsv: RSV1 }),
        f(OP.binary, hex("f2 48 cd c9 c9 07 00")),
        f(OP.text, "frag", { fin: false }),
        f(OP.cont, "mented"),
      );
      forEveryDeflateChunking(
        role,
        input,
        (h) =>
          h.expect(
            out.message("text", "plain"),
            out.message("text", TEXT),
            out.message("binary", hex("f2 48 cd c9 c9 07 00")),
            out.message("text", "fragmented"),
          ),
        {},
        {},
        [3, 8, 20, 200, 700, input.length - 3],
      );
    });

    test(`N18/K/${role}: an uncompressed text message is still checked as UTF-8 (1007)`, () => {
      forEveryDeflateChunking(role, f(OP.text, hex("ce ba e1 bd b9 cf 83 ce bc ff")), (h) =>
        h.expectFailing(1007, "ERR_WS_INVALID_UTF8"),
      );
    });

    test(`N18/${role}: messages below thresholdBytes go out uncompressed, the rest compressed`, () => {
      const h = new DeflateHarness(role, {}, { thresholdBytes: 100 });
      const small = utf8("a".repeat(99));
      const large = utf8("a".repeat(100));
      h.engine.send("text", small);
      h.engine.send("text", large);
      const { frames } = h.takeFrames();
      assert.deepEqual(
        frames.map((frame) => [frame.rsv, frame.payload.length]),
        [
          [0, 99],
          [RSV1, referenceDeflate(large).length],
        ],
      );
    });

    test(`N18/${role}: incompressible data goes out uncompressed (never larger than the message)`, () => {
      const h = new DeflateHarness(role);
      const random = randomBytesSeeded(4096);
      h.engine.send("binary", random.slice());
      const { frames } = h.takeFrames();
      assert.equal(frames.length, 1);
      assert.equal(frames[0]!.rsv, 0);
      assert.deepEqual(frames[0]!.payload, random);
    });

    test(`N18/${role}: control frames are never compressed; sendFrame() fragments are sent as given`, () => {
      const h = new DeflateHarness(role);
      const compressible = utf8("z".repeat(125));
      h.engine.ping(compressible);
      h.engine.pong(compressible);
      h.engine.sendFrame(OP.text, utf8("y".repeat(500)), false);
      h.engine.sendFrame(OP.cont, utf8("y".repeat(500)), true);
      h.engine.close(1000, "z".repeat(100));
      const { frames } = h.takeFrames();
      assert.deepEqual(
        frames.map((frame) => [frame.opcode, frame.rsv, frame.payload.length]),
        [
          [OP.ping, 0, 125],
          [OP.pong, 0, 125],
          [OP.text, 0, 500],
          [OP.cont, 0, 500],
          [OP.close, 0, 102],
        ],
      );
    });
  });

  describe(`N19 context takeover (${role})`, () => {
    test(`N19/${role}: sending with takeover: a run of similar messages is smaller, and a zlib stream inflates it`, async () => {
      const messages = similarMessages(20);
      const sizes: Record<string, number> = {};
      for (const noTakeover of [false, true]) {
        const h = new DeflateHarness(role, ownParameter(role, noTakeover));
        for (const message of messages) h.engine.send("text", message.slice());
        const { frames } = h.takeFrames();
        assert.equal(frames.length, messages.length);
        assert.ok(frames.every((frame) => frame.rsv === RSV1 && frame.fin));
        sizes[String(noTakeover)] = frames.reduce((n, frame) => n + frame.wireBytes, 0);
        // The peer: one stateful inflater per direction, as RFC 7692 §7.2.2 describes.
        const inflater = new StreamingInflater();
        try {
          for (const [i, frame] of frames.entries()) {
            assert.deepEqual(await inflater.decompress(frame.payload), Buffer.from(messages[i]!));
            // Without takeover every message also inflates on its own.
            if (noTakeover)
              assert.deepEqual(referenceInflate(frame.payload), Buffer.from(messages[i]!));
          }
        } finally {
          inflater.close();
        }
        if (!noTakeover) {
          // With takeover later messages refer to earlier ones: on their own they do not inflate.
          const standalone = frames.slice(1).filter((frame, i) => {
            try {
              return (
                Buffer.compare(referenceInflate(frame.payload), Buffer.from(messages[i + 1]!)) === 0
              );
            } catch {
              return false;
            }
          });
          assert.ok(standalone.length < frames.length - 1, "takeover was used");
        }
      }
      assert.ok(
        sizes["false"]! < sizes["true"]! * 0.8,
        `with takeover ${sizes["false"]} bytes, without ${sizes["true"]} bytes`,
      );
    });

    test(`N19/${role}: sending with takeover, skipped messages (raw) stay out of the window`, async () => {
      const h = new DeflateHarness(role, ownParameter(role, false), { thresholdBytes: 64 });
      const a = utf8(jsonLikeText(3000, 1));
      const b = utf8(jsonLikeText(3000, 2));
      const sent = [a, utf8("short"), randomBytesSeeded(2000), b, a];
      for (const [i, message] of sent.entries())
        h.engine.send(i === 2 ? "binary" : "text", message.slice());
      const { frames } = h.takeFrames();
      assert.deepEqual(
        frames.map((frame) => frame.rsv),
        [RSV1, 0, 0, RSV1, RSV1],
      );
      const inflater = new StreamingInflater();
      try {
        for (const [i, frame] of frames.entries()) {
          const expected = Buffer.from(sent[i]!);
          if (frame.rsv === RSV1)
            assert.deepEqual(await inflater.decompress(frame.payload), expected);
          else assert.deepEqual(Buffer.from(frame.payload), expected);
        }
      } finally {
        inflater.close();
      }
    });

    test(`N19/${role}: receiving with takeover: a zlib stream's messages (with back-references) all inflate`, async () => {
      const messages = [...similarMessages(12), utf8(TEXT), utf8(TEXT)];
      const deflater = new StreamingDeflater();
      const compressed: Uint8Array[] = [];
      try {
        for (const message of messages) compressed.push(await deflater.compress(message));
      } finally {
        deflater.close();
      }
      // The last message repeats the one before: a few bytes of back-reference.
      assert.ok(compressed.at(-1)!.length < 20);
      const input = concat(...compressed.map((c) => f(OP.text, c, { rsv: RSV1 })));
      const h = new DeflateHarness(role, peerParameter(role, false));
      h.receive(input);
      h.expect(...messages.map((m) => out.message("text", m)));
      // Interleaved uncompressed messages do not disturb the window.
      const h2 = new DeflateHarness(role, peerParameter(role, false));
      h2.receive(
        ...compressed.flatMap((c, i) => [
          f(OP.text, c, { rsv: RSV1 }),
          f(OP.binary, utf8(`raw ${i}`)),
        ]),
      );
      h2.expect(
        ...messages.flatMap((m, i) => [out.message("text", m), out.message("binary", `raw ${i}`)]),
      );
    });

    test(`N19/N20/${role}: receiving without takeover: a back-reference into an earlier message → 1007`, async () => {
      const deflater = new StreamingDeflater();
      let first: Uint8Array;
      let second: Uint8Array;
      try {
        first = await deflater.compress(utf8(TEXT));
        second = await deflater.compress(utf8(TEXT));
      } finally {
        deflater.close();
      }
      const h = new DeflateHarness(role, peerParameter(role, true));
      h.receive(f(OP.text, first, { rsv: RSV1 }), f(OP.text, second, { rsv: RSV1 }));
      h.expectFailing(1007, "ERR_WS_INVALID_COMPRESSED_DATA", {
        before: [out.message("text", TEXT)],
      });
    });

    test(`N19/${role}: our takeover and the peer's are independent (one on, one off)`, async () => {
      const messages = similarMessages(6);
      const deflater = new StreamingDeflater();
      const compressed: Uint8Array[] = [];
      try {
        for (const message of messages) compressed.push(await deflater.compress(message));
      } finally {
        deflater.close();
      }
      // We keep no context for sending, but the peer keeps its own: both directions work.
      const h = new DeflateHarness(role, {
        ...ownParameter(role, true),
        ...peerParameter(role, false),
      });
      for (const [i, c] of compressed.entries()) {
        h.receive(f(OP.text, c, { rsv: RSV1 }));
        h.engine.send("text", messages[i]!.slice());
      }
      const { frames, others } = h.takeFrames();
      assert.equal(others.length, messages.length);
      for (const [i, frame] of frames.entries()) {
        assert.deepEqual(referenceInflate(frame.payload), Buffer.from(messages[i]!));
      }
    });
  });

  describe(`N9/N10/N11 window sizes (${role})`, () => {
    test(`N9/N10/${role}: with a 9-bit window our stream is inflated by a 9-bit zlib inflater`, async () => {
      const h = new DeflateHarness(role, ownWindow(role, 9));
      const messages = similarMessages(5, 4000);
      for (const message of messages) h.engine.send("text", message.slice());
      const { frames } = h.takeFrames();
      const inflater = new StreamingInflater(9);
      try {
        for (const [i, frame] of frames.entries()) {
          assert.equal(frame.rsv, RSV1);
          assert.deepEqual(await inflater.decompress(frame.payload), Buffer.from(messages[i]!));
        }
      } finally {
        inflater.close();
      }
    });

    test(`N9/N10/N20/${role}: with the peer's 9-bit window only 512 bytes are kept: a reference further back → 1007`, async () => {
      // 1 000 random bytes twice, as two messages from a 15-bit stream with takeover: the
      // second is one back-reference 1 000 bytes into the first, beyond a 9-bit window.
      const block = randomBytesSeeded(1000, 3);
      const deflater = new StreamingDeflater(15);
      let first: Uint8Array;
      let second: Uint8Array;
      try {
        first = await deflater.compress(block);
        second = await deflater.compress(block);
      } finally {
        deflater.close();
      }
      assert.ok(second.length < 20);
      const input = concat(f(OP.binary, first, { rsv: RSV1 }), f(OP.binary, second, { rsv: RSV1 }));
      const h = new DeflateHarness(role, peerWindow(role, 9));
      h.receive(input);
      h.expectFailing(1007, "ERR_WS_INVALID_COMPRESSED_DATA", {
        before: [out.message("binary", block)],
      });
      // The same messages are fine when the peer's window is 15 (N11: the default).
      const h15 = new DeflateHarness(role);
      h15.receive(input);
      h15.expect(out.message("binary", block), out.message("binary", block));
    });

    test(`N21/${role}: with an 8-bit window for our compressor nothing is compressed`, () => {
      const h = new DeflateHarness(role, ownWindow(role, 8));
      h.engine.send("text", utf8(jsonLikeText(5000)));
      const { frames } = h.takeFrames();
      assert.equal(frames[0]!.rsv, 0);
    });

    test(`N21/${role}: a peer's 8-bit window (zlib really uses 9) inflates`, () => {
      const data = utf8(jsonLikeText(5000));
      const h = new DeflateHarness(role, peerWindow(role, 8));
      h.receive(f(OP.text, referenceDeflate(data, 8), { rsv: RSV1 }));
      h.expect(out.message("text", data));
    });
  });

  describe(`N20 corrupt data, UTF-8 and limits (${role})`, () => {
    for (const [name, bytes] of [
      ["the reserved block type 11", "07 00"],
      ["a stored block whose NLEN is not ~LEN", "00 05 00 00 00 48 65 6c 6c 6f"],
      ["0xff bytes", "ff ff ff ff"],
      ["an invalid distance (before the start, no window)", "f2 00 11 00 00"],
      ["random bytes", Buffer.from(randomBytesSeeded(64, 9)).toString("hex")],
    ] as const) {
      test(`N20★/${role}: corrupt DEFLATE data (${name}) → 1007`, () => {
        forEveryDeflateChunking(
          role,
          f(OP.binary, hex(bytes), { rsv: RSV1 }),
          (h) => h.expectFailing(1007, "ERR_WS_INVALID_COMPRESSED_DATA"),
          {},
          {},
          [1, 2, 3],
        );
      });
    }

    test(`N20/K/${role}: compressed text that inflates to invalid UTF-8 → 1007; the same as binary is fine`, () => {
      const invalid = concat(utf8("valid start "), hex("ed a0 80"), utf8(" end"));
      const compressed = referenceDeflate(invalid);
      forEveryDeflateChunking(role, f(OP.text, compressed, { rsv: RSV1 }), (h) =>
        h.expectFailing(1007, "ERR_WS_INVALID_UTF8"),
      );
      forEveryDeflateChunking(role, f(OP.binary, compressed, { rsv: RSV1 }), (h) =>
        h.expect(out.message("binary", invalid)),
      );
    });

    test(`K/${role}: compressed text with a code point split across fragments of the compressed data`, () => {
      const data = utf8("✓".repeat(300));
      const compressed = referenceDeflate(data);
      for (let at = 0; at <= compressed.length; at++) {
        const h = new DeflateHarness(role);
        h.receive(
          f(OP.text, compressed.subarray(0, at), { fin: false, rsv: RSV1 }),
          f(OP.cont, compressed.subarray(at)),
        );
        h.expect(out.message("text", data));
      }
    });

    test(`N20/P7/${role}: inflating to exactly maxMessageBytes is fine, one byte more → 1009`, () => {
      const limit = 10_000;
      const exact = utf8("a".repeat(limit));
      const over = utf8("a".repeat(limit + 1));
      const h = new DeflateHarness(role, {}, { maxMessageBytes: limit });
      h.receive(f(OP.text, referenceDeflate(exact), { rsv: RSV1 }));
      h.expect(out.message("text", exact));
      const h2 = new DeflateHarness(role, {}, { maxMessageBytes: limit });
      h2.receive(f(OP.text, referenceDeflate(over), { rsv: RSV1 }));
      h2.expectFailing(1009, "ERR_WS_MESSAGE_TOO_BIG");
    });

    test(`N20/${role}: incompressible data at the limit may exceed it compressed (DEFLATE overhead)`, () => {
      const limit = 4096;
      const random = randomBytesSeeded(limit, 5);
      const compressed = referenceDeflate(random);
      assert.ok(compressed.length > limit);
      const h = new DeflateHarness(role, {}, { maxMessageBytes: limit });
      h.receive(f(OP.binary, compressed, { rsv: RSV1 }));
      h.expect(out.message("binary", random));
    });

    test(`P5/P7/${role}: a compressed frame far above the limit fails on its header, before buffering`, () => {
      const h = new DeflateHarness(role, {}, { maxMessageBytes: 1024 });
      // Only the header arrives (64-bit length form, plus the mask key from a client): 1 MiB announced.
      const headerBytes = 10 + (h.peerMasks ? 4 : 0);
      h.receive(
        f(OP.binary, new Uint8Array(0), { rsv: RSV1, declaredLength: 1 << 20 }).subarray(
          0,
          headerBytes,
        ),
      );
      h.expectFailing(1009, "ERR_WS_MESSAGE_TOO_BIG");
    });

    test(`P5/${role}: maxFragments counts the frames of a compressed message`, () => {
      const h = new DeflateHarness(role, {}, { maxFragments: 3 });
      h.receive(
        f(OP.text, COMPRESSED_TEXT.subarray(0, 1), { fin: false, rsv: RSV1 }),
        f(OP.cont, COMPRESSED_TEXT.subarray(1, 2), { fin: false }),
        f(OP.cont, COMPRESSED_TEXT.subarray(2, 3), { fin: false }),
        f(OP.cont, COMPRESSED_TEXT.subarray(3)),
      );
      h.expectFailing(1009, "ERR_WS_TOO_MANY_FRAGMENTS");
    });

    test(`L9/${role}: compressed data after our Close is not inflated (corrupt data is not noticed)`, () => {
      const h = new DeflateHarness(role);
      h.engine.close(1000);
      h.take();
      h.receive(f(OP.binary, hex("07 00"), { rsv: RSV1 }), h.peerClose(1000));
      const outputs = h.take();
      assert.ok(outputs.every((o) => o.type !== "message"));
      assert.ok(!outputs.some((o) => o.type === "write"), "no second Close is sent");
    });
  });
}
