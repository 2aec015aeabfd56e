/**
 * What `event.data` is for binary messages with binaryType "arraybuffer" (SPEC.md E3): an
 * ArrayBuffer of exactly the message's bytes and the application's own, whether the bytes were
 * copied out of the socket's chunk or taken whole (a message reassembled from fragments).
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import type { MessageEvent } from "../../src/index.js";
import { OP, buildFrame, concat, patternBytes } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { withTimeout } from "../helpers/raw-peer.js";

test("E3: ArrayBuffers of whole, fragmented and empty messages are exact, distinct and the application's own", async (t) => {
  const { ws, conn } = await openClient(t);
  ws.binaryType = "arraybuffer";
  const received: ArrayBuffer[] = [];
  const contents: Buffer[] = [];
  const count = 7;
  const done = new Promise<void>((resolve) => {
    ws.onmessage = (event) => {
      const data = (event as MessageEvent).data as ArrayBuffer;
      received.push(data);
      contents.push(Buffer.from(new Uint8Array(data)));
      new Uint8Array(data).fill(0xee); // the application may write to its buffer
      if (received.length === count) resolve();
    };
  });
  const small = patternBytes(100, 1);
  const big = patternBytes(200_000, 2);
  const fragmented = (): Uint8Array =>
    concat(
      buildFrame({ opcode: OP.binary, payload: big.subarray(0, 70_000), fin: false }),
      buildFrame({ opcode: OP.cont, payload: big.subarray(70_000) }),
    );
  const empty = buildFrame({ opcode: OP.binary, payload: new Uint8Array(0) });
  conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.binary, payload: small }),
      fragmented(),
      empty,
      empty,
      fragmented(),
      buildFrame({ opcode: OP.binary, payload: small }),
    ),
  );
  // A message that fills one whole read of its own, after the others.
  setTimeout(() => conn.sendRaw(fragmented()), 20);
  await withTimeout(done, "seven messages");
  const expected = [small, big, new Uint8Array(0), new Uint8Array(0), big, small, big];
  assert.deepEqual(
    received.map((data) => data.byteLength),
    expected.map((bytes) => bytes.length),
  );
  assert.ok(received.every((data) => data instanceof ArrayBuffer));
  assert.equal(new Set(received).size, count, "distinct ArrayBuffers");
  for (let i = 0; i < count; i++) {
    assert.ok(contents[i]!.equals(expected[i]!), `message ${i} intact`);
  }
});
