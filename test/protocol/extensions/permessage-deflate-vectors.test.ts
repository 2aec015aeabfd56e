/**
 * The RFC 7692 §7.2.3 examples, byte for byte (SPEC.md N14–N17), through the real Node codec,
 * through {@link PerMessageDeflate} and through engines in both roles (every chunking of the
 * frames). The hex strings are copied from the RFC, not produced by the code under test.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createDeflateCodec } from "../../../src/node/deflate-codec.js";
import {
  PerMessageDeflate,
  type DeflateParameters,
} from "../../../src/protocol/extensions/permessage-deflate.js";
import { ProtocolError } from "../../../src/protocol/errors.js";
import { ROLES, forEveryChunking, out } from "../../helpers/engine-harness.js";
import {
  DeflateHarness,
  NO_TAKEOVER_15,
  forEveryDeflateChunking,
  RSV1,
  TAKEOVER_15,
  jsonLikeText,
  referenceDeflate,
  referenceInflate,
} from "../../helpers/deflate-harness.js";
import { OP, concat, hex, toHex, utf8 } from "../../helpers/frames.js";

const codec = createDeflateCodec();

/** RFC 7692 §7.2.3.1: "Hello" compressed. */
const HELLO = "f2 48 cd c9 c9 07 00";
/** §7.2.3.2: a second "Hello" on the same context (a back-reference into the first). */
const HELLO_AGAIN = "f2 00 11 00 00";
/** §7.2.3.3: "Hello" in a stored (uncompressed) DEFLATE block. */
const STORED = "00 05 00 fa ff 48 65 6c 6c 6f 00";
/** §7.2.3.4: "Hello" in a block with BFINAL set (instead of the sync flush). */
const BFINAL = "f3 48 cd c9 c9 07 00 00";
/** §7.2.3.5: "He" and "llo" in two blocks, the first ended by a sync flush. */
const SPLIT_BLOCKS = "f2 48 05 00 00 00 ff ff ca c9 c9 07 00";

const SINGLE_MESSAGE_VECTORS = [
  ["§7.2.3.1 compressed", HELLO],
  ["§7.2.3.3 stored block", STORED],
  ["§7.2.3.4 BFINAL block", BFINAL],
  ["§7.2.3.5 two blocks", SPLIT_BLOCKS],
] as const;

function pmd(isClient: boolean, parameters: DeflateParameters = TAKEOVER_15): PerMessageDeflate {
  return new PerMessageDeflate({ isClient, parameters, codec, thresholdBytes: 0 });
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe("N17 the Node codec produces the RFC 7692 bytes", () => {
  test('N14/N17: "Hello" deflates to f2 48 cd c9 c9 07 00 (sync flush, 00 00 ff ff removed)', () => {
    assert.equal(toHex(codec.deflate(utf8("Hello"), { windowBits: 15 })), HELLO);
  });

  test('N17/N19: a second "Hello" with the first as the window deflates to f2 00 11 00 00', () => {
    const second = codec.deflate(utf8("Hello"), { windowBits: 15, dictionary: utf8("Hello") });
    assert.equal(toHex(second), HELLO_AGAIN);
  });

  test("N14: every window size 9–15 gives the same bytes for a 5-byte message", () => {
    for (let bits = 9; bits <= 15; bits++) {
      assert.equal(toHex(codec.deflate(utf8("Hello"), { windowBits: bits })), HELLO, `${bits}`);
    }
  });
});

describe("N15–N17 PerMessageDeflate inflates every RFC example", () => {
  for (const isClient of [true, false]) {
    const role = isClient ? "client" : "server";
    for (const [name, vector] of SINGLE_MESSAGE_VECTORS) {
      test(`N15/N16/N17/${role}: ${name} (${vector}) → "Hello"`, () => {
        assert.equal(text(pmd(isClient).decompress(hex(vector), 1024)), "Hello");
      });
    }

    test(`N17/N19/${role}: §7.2.3.2 — with context takeover the second message refers to the first`, () => {
      const p = pmd(isClient);
      assert.equal(text(p.decompress(hex(HELLO), 1024)), "Hello");
      assert.equal(text(p.decompress(hex(HELLO_AGAIN), 1024)), "Hello");
      // The window keeps sliding: a third one still refers to the previous "Hello".
      assert.equal(text(p.decompress(hex(HELLO_AGAIN), 1024)), "Hello");
    });

    test(`N17/N19/N20/${role}: §7.2.3.2 without the peer's context takeover is corrupt → 1007`, () => {
      const p = pmd(isClient, NO_TAKEOVER_15);
      assert.equal(text(p.decompress(hex(HELLO), 1024)), "Hello");
      assert.throws(
        () => p.decompress(hex(HELLO_AGAIN), 1024),
        (error: unknown) =>
          error instanceof ProtocolError &&
          error.code === "ERR_WS_INVALID_COMPRESSED_DATA" &&
          error.closeCode === 1007,
      );
    });

    test(`N16/N19/${role}: a BFINAL message keeps its bytes in the window for the next one`, () => {
      const p = pmd(isClient);
      assert.equal(text(p.decompress(hex(BFINAL), 1024)), "Hello");
      assert.equal(text(p.decompress(hex(HELLO_AGAIN), 1024)), "Hello");
    });
  }
});

describe("N14/N18 PerMessageDeflate compresses only when the message shrinks", () => {
  for (const isClient of [true, false]) {
    const role = isClient ? "client" : "server";
    test(`N18/${role}: "Hello" (7 compressed bytes > 5) is sent uncompressed: compress() → undefined`, () => {
      assert.equal(pmd(isClient).compress(utf8("Hello")), undefined);
    });

    test(`N14/${role}: a compressible message gives exactly zlib's raw DEFLATE, tail removed`, () => {
      const data = utf8(jsonLikeText(4096));
      const compressed = pmd(isClient).compress(data);
      assert.ok(compressed !== undefined);
      assert.equal(toHex(compressed), toHex(referenceDeflate(data)));
      assert.deepEqual(referenceInflate(compressed), Buffer.from(data));
    });
  }
});

describe("N12/N17 the RFC examples as frames through the engine", () => {
  test('N12/N17/client: the exact frame of §7.2.3.1, c1 07 f2 48 cd c9 c9 07 00, is "Hello"', () => {
    forEveryDeflateChunking("client", hex(`c1 07 ${HELLO}`), (h) =>
      h.expect(out.message("text", "Hello")),
    );
  });

  test("N13/client: the same frame without permessage-deflate negotiated fails with 1002", () => {
    forEveryChunking("client", hex(`c1 07 ${HELLO}`), (h) =>
      h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV"),
    );
  });

  for (const role of ROLES) {
    const peer = new DeflateHarness(role);
    for (const [name, vector] of SINGLE_MESSAGE_VECTORS) {
      test(`N12/N15/N16/N17/${role}: ${name} in a text frame with RSV1, every chunking`, () => {
        const input = peer.peerCompressed(OP.text, hex(vector));
        forEveryDeflateChunking(role, input, (h) => h.expect(out.message("text", "Hello")));
      });
    }

    test(`N17/N19/${role}: §7.2.3.1 then §7.2.3.2 in one input → two "Hello" messages`, () => {
      const input = concat(
        peer.peerCompressed(OP.text, hex(HELLO)),
        peer.peerCompressed(OP.text, hex(HELLO_AGAIN)),
      );
      forEveryDeflateChunking(role, input, (h) =>
        h.expect(out.message("text", "Hello"), out.message("text", "Hello")),
      );
    });

    test(`N17/N19/N20/${role}: §7.2.3.2 when the peer announced no context takeover → 1007`, () => {
      const peerNoTakeover =
        role === "server" ? { clientNoContextTakeover: true } : { serverNoContextTakeover: true };
      const h = new DeflateHarness(role, peerNoTakeover);
      h.receive(h.peerCompressed(OP.text, hex(HELLO)), h.peerCompressed(OP.text, hex(HELLO_AGAIN)));
      h.expectFailing(1007, "ERR_WS_INVALID_COMPRESSED_DATA", {
        before: [out.message("text", "Hello")],
      });
    });

    test(`N17/${role}: the same bytes in a binary frame are the binary message "Hello"`, () => {
      const h = new DeflateHarness(role);
      h.receive(h.peerCompressed(OP.binary, hex(HELLO)));
      h.expect(out.message("binary", utf8("Hello")));
    });

    test(`N18/${role}: send("Hello") goes out uncompressed (RSV1 clear), as it would not shrink`, () => {
      const h = new DeflateHarness(role);
      assert.equal(h.engine.send("text", utf8("Hello")), true);
      h.expect(out.sent(OP.text, "Hello"));
    });

    test(`N12/N14/${role}: send() of a compressible message is one FIN frame with RSV1 and zlib's bytes`, () => {
      const h = new DeflateHarness(role);
      const data = utf8(jsonLikeText(2000));
      h.engine.send("text", data.slice());
      const { frames, others } = h.takeFrames();
      assert.deepEqual(others, []);
      assert.equal(frames.length, 1);
      const [frame] = frames;
      assert.equal(frame!.fin, true);
      assert.equal(frame!.rsv, RSV1);
      assert.equal(frame!.opcode, OP.text);
      assert.equal(toHex(frame!.payload), toHex(referenceDeflate(data)));
      assert.ok(frame!.payload.length < data.length / 2);
    });
  }
});

describe("N19/C10 the takeover window is a copy of the bytes, never a view", () => {
  /** Over a 32 KiB window, so that the window is cut from the message alone. */
  const message = (seed: number): Buffer =>
    Buffer.from(
      Array.from({ length: 3000 }, (_, i) => `{"id":${i},"v":"${(i * seed) % 97}"}`).join(","),
    );
  /** Compared without a diff: assert's diff of two 50 KB strings takes minutes. */
  const same = (actual: Uint8Array, expected: Buffer): boolean => expected.equals(actual);

  test("N19/C10: changing a sent Buffer afterwards does not change the next message's dictionary", () => {
    const sender = pmd(false);
    const receiver = pmd(true);
    const first = message(7);
    const firstCompressed = sender.compress(first)!;
    // The application reuses its buffer for the next message (SPEC.md C10): were the window a
    // view of it, the second message would be compressed against itself.
    message(3).copy(first);
    const secondCompressed = sender.compress(message(3))!;
    assert.ok(same(receiver.decompress(firstCompressed, 1 << 20), message(7)), "first message");
    assert.ok(same(receiver.decompress(secondCompressed, 1 << 20), message(3)), "second message");
  });

  test("N19: changing a received message afterwards does not change the next message's dictionary", () => {
    const sender = pmd(false);
    const receiver = pmd(true);
    const firstCompressed = sender.compress(message(5))!;
    const secondCompressed = sender.compress(message(5))!;
    const received = receiver.decompress(firstCompressed, 1 << 20);
    received.fill(0x20); // e.g. a server application given the bytes as a nodebuffer Buffer
    assert.ok(same(receiver.decompress(secondCompressed, 1 << 20), message(5)), "second message");
  });
});
