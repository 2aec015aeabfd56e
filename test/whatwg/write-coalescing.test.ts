/**
 * How the client's writes reach the socket (issue 7): the replies that message handlers send
 * to the messages of one read leave in one system call, although every message is still
 * delivered from its own task (SPEC.md E1); a lone send() is not delayed past its tick; and
 * what is held back that way stays bounded.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "node:net";

import type { MessageEvent } from "../../src/index.js";
import { OP, buildFrame, concat, patternBytes } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { frameText, waitUntil } from "../helpers/raw-peer.js";

/** One call into the socket's write path: how many chunks and bytes it carried. */
interface WriteCall {
  readonly chunks: number;
  readonly bytes: number;
}

/**
 * Records every `_write`/`_writev` (each one system call, or one attempt) of the socket whose
 * local port is `localPort`, from now until the test ends.
 */
function spyOnWrites(t: TestContext, localPort: () => number | undefined): WriteCall[] {
  const calls: WriteCall[] = [];
  const proto = Socket.prototype as unknown as {
    _write: (chunk: Buffer, encoding: string, callback: () => void) => void;
    _writev: (chunks: { chunk: Buffer }[], callback: () => void) => void;
  };
  const write = proto._write;
  const writev = proto._writev;
  proto._write = function (this: Socket, chunk, encoding, callback) {
    if (this.localPort === localPort()) calls.push({ chunks: 1, bytes: chunk.length });
    return write.call(this, chunk, encoding, callback);
  };
  proto._writev = function (this: Socket, chunks, callback) {
    if (this.localPort === localPort()) {
      const bytes = chunks.reduce((sum, entry) => sum + entry.chunk.length, 0);
      calls.push({ chunks: chunks.length, bytes });
    }
    return writev.call(this, chunks, callback);
  };
  t.after(() => {
    proto._write = write;
    proto._writev = writev;
  });
  return calls;
}

test("E1 (◇): the replies to the messages of one read leave in one write; each message is still its own task", async (t) => {
  const { ws, conn } = await openClient(t);
  const calls = spyOnWrites(t, () => conn.socket.remotePort);
  const order: string[] = [];
  ws.binaryType = "arraybuffer";
  ws.onmessage = (event) => {
    const data = new Uint8Array((event as MessageEvent).data as ArrayBuffer);
    order.push(`message ${data[0]}`);
    // Microtasks run between two message events (E1).
    queueMicrotask(() => order.push(`microtask ${data[0]}`));
    ws.send(data);
  };
  const count = 6;
  conn.sendRaw(
    concat(
      ...Array.from({ length: count }, (_, i) =>
        buildFrame({ opcode: OP.binary, payload: Uint8Array.of(i, 1, 2, 3) }),
      ),
    ),
  );
  for (let i = 0; i < count; i++) {
    const frame = await conn.nextFrame();
    assert.deepEqual([...frame.payload], [i, 1, 2, 3]);
  }
  assert.deepEqual(
    order,
    Array.from({ length: count }, (_, i) => [`message ${i}`, `microtask ${i}`]).flat(),
  );
  assert.deepEqual(calls, [{ chunks: count, bytes: count * (2 + 4 + 4) }]);
});

test("E1 (◇): a lone send() is written within the tick it was made in", async (t) => {
  const { ws, conn } = await openClient(t);
  const calls = spyOnWrites(t, () => conn.socket.remotePort);
  const seen = await new Promise<number>((resolve) => {
    setTimeout(() => {
      ws.send("lone");
      process.nextTick(() => resolve(calls.length));
    }, 1);
  });
  assert.equal(seen, 1);
  assert.equal(frameText(await conn.nextFrame()), "lone");

  // Likewise a send() in a message task with no other message queued behind it.
  const inTask = new Promise<number>((resolve) => {
    ws.onmessage = () => {
      ws.send("reply");
      process.nextTick(() => resolve(calls.length));
    };
  });
  conn.sendText("ping");
  assert.equal(await inTask, 2);
  assert.equal(frameText(await conn.nextFrame()), "reply");
});

test("E1 (◇): what the replies of one batch hold back is bounded (64 KiB, then written)", async (t) => {
  const { ws, conn } = await openClient(t);
  const calls = spyOnWrites(t, () => conn.socket.remotePort);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (event) => ws.send((event as MessageEvent).data as ArrayBuffer);
  const count = 40;
  const size = 8 * 1024;
  const payloads = Array.from({ length: count }, (_, i) => patternBytes(size, i + 1));
  conn.sendRaw(concat(...payloads.map((payload) => buildFrame({ opcode: OP.binary, payload }))));
  for (let i = 0; i < count; i++) {
    const frame = await conn.nextFrame();
    assert.ok(Buffer.from(payloads[i]!).equals(frame.payload), `message ${i} intact`);
  }
  await waitUntil(() => calls.reduce((sum, call) => sum + call.chunks, 0) === count, "writes");
  const frameBytes = size + 4 + 4; // 16-bit length form, mask key
  for (const call of calls) assert.ok(call.bytes <= 64 * 1024 + frameBytes, `${call.bytes} B`);
  assert.ok(calls.length >= Math.ceil((count * frameBytes) / (64 * 1024 + frameBytes)));
});
