/**
 * The `node:zlib` permessage-deflate codec (src/node/deflate-codec.ts; SPEC.md N14–N16, N19–N21,
 * P7): one stateless synchronous call per message, context takeover as a preset dictionary,
 * the inflate limit enforced while inflating, options checked. Results are compared with a
 * second implementation: stateful zlib streams (test/helpers/deflate-harness.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createDeflateCodec } from "../../src/node/deflate-codec.js";
import {
  StreamingDeflater,
  StreamingInflater,
  jsonLikeText,
  randomBytesSeeded,
  referenceDeflate,
  referenceInflate,
} from "../helpers/deflate-harness.js";
import { concat, hex, toHex, utf8 } from "../helpers/frames.js";

const codec = createDeflateCodec();

describe("N14/N15 one message per call", () => {
  test("N14: deflate() drops the 00 00 ff ff of the sync flush, and nothing else", () => {
    for (const data of [utf8(""), utf8("a"), utf8(jsonLikeText(5000)), randomBytesSeeded(3000)]) {
      const compressed = codec.deflate(data, { windowBits: 15 });
      assert.equal(toHex(compressed), toHex(referenceDeflate(data)));
      assert.deepEqual(referenceInflate(compressed), Buffer.from(data));
    }
  });

  test("N15: inflate() appends 00 00 ff ff itself and returns exactly the message", () => {
    const data = utf8(jsonLikeText(20_000));
    const result = codec.inflate(referenceDeflate(data), { windowBits: 15, maxBytes: 1 << 20 });
    assert.ok(result instanceof Uint8Array);
    assert.deepEqual(Buffer.from(result), Buffer.from(data));
  });

  test("N15: the caller's input is not modified", () => {
    const compressed = referenceDeflate(utf8(jsonLikeText(1000)));
    const copy = compressed.slice();
    codec.inflate(compressed, { windowBits: 15, maxBytes: 1 << 20 });
    assert.deepEqual(compressed, copy);
    const data = utf8(jsonLikeText(1000));
    const dataCopy = data.slice();
    codec.deflate(data, { windowBits: 15, dictionary: utf8("dictionary") });
    assert.deepEqual(data, dataCopy);
  });

  test("N16: a message ending in a BFINAL block inflates", () => {
    assert.deepEqual(
      codec.inflate(hex("f3 48 cd c9 c9 07 00 00"), { windowBits: 15, maxBytes: 100 }),
      Buffer.from("Hello"),
    );
  });

  test("N20★: corrupt data is reported as 'corrupt', never thrown", () => {
    for (const bytes of ["07", "ff ff ff", "00 05 00 00 00 48 65 6c 6c 6f", "f2 00 11 00 00"]) {
      assert.equal(codec.inflate(hex(bytes), { windowBits: 15, maxBytes: 1000 }), "corrupt", bytes);
    }
  });

  test("N15: an empty message inflates to nothing", () => {
    const result = codec.inflate(new Uint8Array(0), { windowBits: 15, maxBytes: 10 });
    assert.ok(result instanceof Uint8Array);
    assert.equal(result.length, 0);
  });
});

describe("N19 context takeover as a preset dictionary", () => {
  test("N19: deflate with the previous messages as dictionary is inflated by a stateful zlib stream", async () => {
    const messages = Array.from({ length: 8 }, (_, i) => utf8(jsonLikeText(3000, 40 + i)));
    const inflater = new StreamingInflater();
    let history = new Uint8Array(0);
    try {
      for (const message of messages) {
        const compressed = codec.deflate(
          message,
          history.length === 0 ? { windowBits: 15 } : { windowBits: 15, dictionary: history },
        );
        assert.deepEqual(await inflater.decompress(compressed), Buffer.from(message));
        history = concat(history, message).slice(-32768);
      }
    } finally {
      inflater.close();
    }
  });

  test("N19: a stateful zlib stream is inflated with the previous messages as dictionary", async () => {
    const messages = Array.from({ length: 8 }, (_, i) => utf8(jsonLikeText(3000, 60 + i)));
    const deflater = new StreamingDeflater();
    let history = new Uint8Array(0);
    try {
      for (const message of messages) {
        const compressed = await deflater.compress(message);
        const result = codec.inflate(
          compressed,
          history.length === 0
            ? { windowBits: 15, maxBytes: 1 << 20 }
            : { windowBits: 15, maxBytes: 1 << 20, dictionary: history },
        );
        assert.ok(result instanceof Uint8Array);
        assert.deepEqual(Buffer.from(result), Buffer.from(message));
        history = concat(history, message).slice(-32768);
      }
    } finally {
      deflater.close();
    }
  });

  test("N19: a dictionary longer than the window is fine (zlib uses its tail)", () => {
    const dictionary = utf8(jsonLikeText(100_000));
    // The last 500 bytes: within a 10-bit (1 KiB) window of the dictionary's end.
    const message = dictionary.slice(-500);
    const compressed = codec.deflate(message, { windowBits: 10, dictionary });
    assert.ok(compressed.length < 20, `${compressed.length} bytes`);
    const result = codec.inflate(compressed, { windowBits: 10, maxBytes: 1 << 20, dictionary });
    assert.ok(result instanceof Uint8Array);
    assert.deepEqual(Buffer.from(result), Buffer.from(message));
  });

  test("N19: an empty dictionary is the same as none", () => {
    const message = utf8(jsonLikeText(2000));
    assert.equal(
      toHex(codec.deflate(message, { windowBits: 15, dictionary: new Uint8Array(0) })),
      toHex(codec.deflate(message, { windowBits: 15 })),
    );
  });
});

describe("N9/N10/N21 window sizes", () => {
  test("N9: a 9-bit deflate is inflated by a 9-bit zlib stream", async () => {
    const data = utf8(jsonLikeText(50_000));
    const compressed = codec.deflate(data, { windowBits: 9 });
    const inflater = new StreamingInflater(9);
    try {
      assert.deepEqual(await inflater.decompress(compressed), Buffer.from(data));
    } finally {
      inflater.close();
    }
    // A smaller window compresses worse than 15 on the same data.
    assert.ok(compressed.length > codec.deflate(data, { windowBits: 15 }).length);
  });

  test("N21: inflate accepts windowBits 8 (a peer's 8, which zlib produces as 9)", () => {
    const data = utf8(jsonLikeText(10_000));
    const result = codec.inflate(referenceDeflate(data, 8), { windowBits: 8, maxBytes: 1 << 20 });
    assert.ok(result instanceof Uint8Array);
    assert.deepEqual(Buffer.from(result), Buffer.from(data));
  });
});

describe("N20/P7 the inflate limit", () => {
  test("N20: exactly maxBytes inflates; maxBytes − 1 → 'too-big'", () => {
    const data = utf8("x".repeat(65_536));
    const compressed = referenceDeflate(data);
    const ok = codec.inflate(compressed, { windowBits: 15, maxBytes: 65_536 });
    assert.ok(ok instanceof Uint8Array);
    assert.equal(ok.length, 65_536);
    assert.equal(codec.inflate(compressed, { windowBits: 15, maxBytes: 65_535 }), "too-big");
  });

  test("N20: maxBytes 0 with a non-empty message → 'too-big'; with an empty one → empty", () => {
    assert.equal(
      codec.inflate(hex("f2 48 cd c9 c9 07 00"), { windowBits: 15, maxBytes: 0 }),
      "too-big",
    );
    const empty = codec.inflate(hex("00"), { windowBits: 15, maxBytes: 0 });
    assert.ok(empty instanceof Uint8Array);
    assert.equal(empty.length, 0);
  });

  test("P7: a 50 MB bomb stops at the limit quickly (< 250 ms)", () => {
    const bomb = referenceDeflate(new Uint8Array(50_000_000));
    assert.ok(bomb.length < 60_000, `${bomb.length} bytes`);
    const start = performance.now();
    assert.equal(codec.inflate(bomb, { windowBits: 15, maxBytes: 1 << 20 }), "too-big");
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 250, `${elapsed.toFixed(1)} ms`);
  });

  test("P7: a limit above 2 GiB is clamped, not an error", () => {
    const result = codec.inflate(referenceDeflate(utf8("abc")), {
      windowBits: 15,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    assert.ok(result instanceof Uint8Array);
    assert.equal(Buffer.from(result).toString(), "abc");
  });
});

describe("codec options", () => {
  test("level 0 stores, level 9 compresses at least as well as 1", () => {
    const data = utf8(jsonLikeText(30_000));
    const stored = createDeflateCodec({ level: 0 }).deflate(data, { windowBits: 15 });
    assert.ok(stored.length > data.length, "level 0 emits stored blocks");
    assert.deepEqual(referenceInflate(stored), Buffer.from(data));
    const fast = createDeflateCodec({ level: 1 }).deflate(data, { windowBits: 15 });
    const best = createDeflateCodec({ level: 9 }).deflate(data, { windowBits: 15 });
    assert.ok(best.length <= fast.length);
    assert.deepEqual(referenceInflate(best), Buffer.from(data));
  });

  test("memLevel 1 still produces valid DEFLATE", () => {
    const data = utf8(jsonLikeText(30_000));
    const compressed = createDeflateCodec({ memLevel: 1 }).deflate(data, { windowBits: 15 });
    assert.deepEqual(referenceInflate(compressed), Buffer.from(data));
  });

  for (const options of [
    { level: -1 },
    { level: 10 },
    { level: 1.5 },
    { level: Number.NaN },
    { memLevel: 0 },
    { memLevel: 10 },
    { memLevel: 2.5 },
  ]) {
    test(`${JSON.stringify(options)} → RangeError ERR_WS_INVALID_OPTION`, () => {
      assert.throws(
        () => createDeflateCodec(options),
        (error: unknown) =>
          error instanceof RangeError &&
          (error as { code?: unknown }).code === "ERR_WS_INVALID_OPTION",
      );
    });
  }
});
