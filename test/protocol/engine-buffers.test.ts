/**
 * Message and frame buffers from the host's allocator (`Accelerators.allocUninitialized`), which
 * in Node is uninitialised memory: the allocator here returns buffers full of 0xEE "garbage",
 * and every test checks that none of it ever reaches the application or the wire.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Accelerators } from "../../src/protocol/ports.js";
import { boundarySplitPoints } from "../helpers/chunking.js";
import { EngineHarness, ROLES, forEveryChunking, out } from "../helpers/engine-harness.js";
import { OP, concat, patternBytes, utf8 } from "../helpers/frames.js";

const GARBAGE = 0xee;

/** An allocator that hands out garbage-filled buffers and records their sizes. */
function garbageAllocator(): { sizes: number[]; accelerators: Accelerators } {
  const sizes: number[] = [];
  return {
    sizes,
    accelerators: {
      allocUninitialized(size) {
        sizes.push(size);
        return new Uint8Array(size).fill(GARBAGE);
      },
    },
  };
}

/** A payload with no 0xEE byte, so that a leaked garbage byte cannot look right by chance. */
function payloadOf(length: number): Uint8Array {
  return patternBytes(length).map((b) => (b === GARBAGE ? 0 : b));
}

for (const role of ROLES) {
  test(`C10/H11/${role}: a message cut by chunk boundaries is written into one buffer of its size, never with a garbage byte`, () => {
    const payload = payloadOf(300);
    const probe = new EngineHarness(role);
    const frame = probe.peerFrame(OP.binary, payload);
    const { sizes, accelerators } = garbageAllocator();
    forEveryChunking(
      role,
      frame,
      (h, chunking) => {
        const outputs = h.take();
        assert.equal(outputs.length, 1);
        const message = outputs[0]!;
        assert.equal(message.type, "message");
        if (message.type !== "message") return;
        assert.ok(Buffer.from(message.data).equals(payload), "every byte is the peer's");
        const headerBytes = frame.length - payload.length;
        let end = 0;
        let cut = false;
        for (const chunk of chunking.chunks.slice(0, -1)) {
          end += chunk.length;
          if (end > headerBytes) cut = true;
        }
        if (!cut) {
          assert.deepEqual(sizes, [], "a payload within one chunk is a view of it: no copy");
        } else {
          assert.deepEqual(sizes, [300], "one buffer of the message's size");
          assert.equal(message.data.byteOffset, 0);
          assert.equal(message.data.buffer.byteLength, 300, "it owns its whole ArrayBuffer");
        }
      },
      {
        accelerators,
        setup: () => {
          sizes.length = 0;
        },
      },
      boundarySplitPoints(frame.length),
    );
  });

  test(`H14/${role}: a fragmented message interleaved with a ping is joined into a fully written buffer`, () => {
    const first = payloadOf(100);
    const second = payloadOf(57);
    const probe = new EngineHarness(role);
    const input = concat(
      probe.peerFrame(OP.text, utf8("a".repeat(100)), { fin: false }),
      probe.peerFrame(OP.ping, "p"),
      probe.peerFrame(OP.cont, utf8("b".repeat(57))),
      probe.peerFrame(OP.binary, first, { fin: false }),
      probe.peerFrame(OP.cont, second),
    );
    const { accelerators } = garbageAllocator();
    forEveryChunking(
      role,
      input,
      (h) => {
        h.expect(
          out.ping("p"),
          out.sent(OP.pong, "p"),
          out.message("text", "a".repeat(100) + "b".repeat(57)),
          out.message("binary", concat(first, second)),
        );
      },
      { accelerators },
      boundarySplitPoints(input.length, 8, 8),
    );
  });

  test(`H11/${role}: a text message that turns invalid midway is never delivered from its half-written buffer`, () => {
    const bytes = concat(utf8("x".repeat(200)), Uint8Array.of(0xff), utf8("y".repeat(99)));
    const probe = new EngineHarness(role);
    const frame = probe.peerFrame(OP.text, bytes);
    const { accelerators } = garbageAllocator();
    forEveryChunking(
      role,
      frame,
      (h) => h.expectFailing(1007, "ERR_WS_INVALID_UTF8"),
      { accelerators },
      [10, 100, 150, frame.length - 5],
    );
  });

  test(`L9/${role}: a message cut by our own Close is dropped with its buffer, and the next one is not mixed in`, () => {
    const { sizes, accelerators } = garbageAllocator();
    const h = new EngineHarness(role, { accelerators });
    const frame = h.peerFrame(OP.binary, payloadOf(300));
    h.receive(frame.subarray(0, 120));
    assert.deepEqual(sizes, [300]);
    h.engine.close(1000);
    h.expect(out.close(1000), out.closing("local"));
    h.receive(frame.subarray(120), h.peerFrame(OP.binary, payloadOf(50)));
    assert.deepEqual(
      h.take().filter((o) => o.type === "message"),
      [],
      "no message once our Close is sent (SPEC.md L9)",
    );
  });
}

test("H8/P2/client: a large frame is built in an uninitialised buffer, every byte written", () => {
  const { sizes, accelerators } = garbageAllocator();
  const h = new EngineHarness("client", { accelerators });
  const payload = payloadOf(10_000);
  h.engine.send("binary", payload);
  payload.fill(0);
  h.expect(out.sent(OP.binary, payloadOf(10_000)));
  assert.deepEqual(sizes, [10_000 + 2 + 2 + 4], "header, extended length, key and payload");
});

test("the pure engine, given no allocator, still reassembles cut messages (zero-filled memory)", () => {
  const h = new EngineHarness("server");
  const frame = h.peerFrame(OP.binary, payloadOf(300));
  h.receive(frame.subarray(0, 50), frame.subarray(50));
  h.expect(out.message("binary", payloadOf(300)));
});
