/**
 * Receive backpressure at volume (SPEC.md O6, P16): a raw node:net peer sends 1 GiB, in 1 MiB
 * binary messages, as fast as TCP lets it, to a WebSocketStream reader that is slow at first
 * (it sleeps after each message) and then drains quickly. The process's memory must stay bounded
 * (heap + ArrayBuffers sampled throughout), the peer must be held back by TCP flow control while
 * the reader is slow, and every byte must arrive intact and in order.
 */
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { once } from "node:events";
import { test } from "node:test";

import { TIME_SCALE, sleep, withTimeout } from "../../helpers/raw-peer.js";
import { openStream } from "../../helpers/stream-client.js";

const MiB = 1024 * 1024;
const MESSAGE_BYTES = MiB;
const MESSAGES = 1024; // 1 GiB in all
/** The reader sleeps this long after each of the first SLOW_MESSAGES messages. */
const SLOW_MESSAGES = 128;
const SLOW_SLEEP_MS = 5;
/** Generous bounds: the real figures are printed as test diagnostics. */
const MAX_MEMORY_BYTES = 256 * MiB;
const MAX_LAG_BYTES = 64 * MiB;

/**
 * Message i is its index (4 bytes, big-endian) and then 1 MiB − 4 bytes of a random pattern,
 * taken at an offset that depends on i, so that a lost, repeated or reordered message shows.
 */
const pattern = randomFillSync(Buffer.alloc(MESSAGE_BYTES + 4096));
function patternOffset(i: number): number {
  return (i * 7919) % 4096;
}
function expectedTail(i: number): Buffer {
  return pattern.subarray(patternOffset(i), patternOffset(i) + MESSAGE_BYTES - 4);
}

test(
  "O6/P16: 1 GiB from a fast peer to a slow reader: memory stays bounded, the peer is held back, every byte arrives",
  { timeout: 60_000 * TIME_SCALE },
  async (t) => {
    const { conn, readable, wss } = await openStream(t, { peer: { replyToClose: true } });
    const socket = conn.socket;

    // The peer: frames written straight to the socket, waiting for 'drain' whenever the socket
    // says its buffer is full, so the peer itself holds no more than one message.
    let sentBytes = 0;
    let drainWaits = 0;
    const header = Buffer.from([0x82, 127, 0, 0, 0, 0, 0, MESSAGE_BYTES / 65536, 0, 0]);
    const sending = (async () => {
      for (let i = 0; i < MESSAGES; i++) {
        const index = Buffer.alloc(4);
        index.writeUInt32BE(i);
        socket.write(Buffer.concat([header, index]));
        const hasRoom = socket.write(expectedTail(i));
        sentBytes += MESSAGE_BYTES;
        if (!hasRoom) {
          drainWaits++;
          await once(socket, "drain");
        }
      }
    })();

    // Sampling: the process's heap + ArrayBuffers, and how far the peer is ahead of the reader.
    let receivedBytes = 0;
    let maxMemory = 0;
    let maxRss = 0;
    let maxLag = 0;
    let maxSlowLag = 0;
    let isSlow = true;
    const sample = (): void => {
      const usage = process.memoryUsage();
      maxMemory = Math.max(maxMemory, usage.heapUsed + usage.arrayBuffers);
      maxRss = Math.max(maxRss, usage.rss);
      const lag = sentBytes - receivedBytes;
      maxLag = Math.max(maxLag, lag);
      if (isSlow) maxSlowLag = Math.max(maxSlowLag, lag);
    };
    const sampler = setInterval(sample, 25);
    t.after(() => clearInterval(sampler));

    const started = performance.now();
    let slowPhaseMs = 0;
    let drainWaitsWhileSlow = 0;
    const reader = readable.getReader();
    for (let i = 0; i < MESSAGES; i++) {
      const { value, done } = await withTimeout(reader.read(), `message ${i}`);
      assert.equal(done, false, `message ${i}: the stream ended early`);
      const message = value as Uint8Array;
      assert.equal(message.byteLength, MESSAGE_BYTES, `message ${i}: length`);
      const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
      assert.equal(bytes.readUInt32BE(0), i, `message ${i}: index (order)`);
      assert.ok(bytes.subarray(4).equals(expectedTail(i)), `message ${i}: content`);
      receivedBytes += message.byteLength;
      if (i < SLOW_MESSAGES) {
        await sleep(SLOW_SLEEP_MS);
      } else if (isSlow) {
        sample();
        isSlow = false;
        slowPhaseMs = performance.now() - started;
        drainWaitsWhileSlow = drainWaits;
      }
    }
    clearInterval(sampler);
    sample();
    const elapsedMs = performance.now() - started;
    await withTimeout(sending, "the peer to finish sending");

    t.diagnostic(
      `1 GiB in ${(elapsedMs / 1000).toFixed(2)} s (slow phase ${(slowPhaseMs / 1000).toFixed(2)} s); ` +
        `max heap+arrayBuffers ${(maxMemory / MiB).toFixed(1)} MiB, max rss ${(maxRss / MiB).toFixed(1)} MiB; ` +
        `peer ahead of the reader by at most ${(maxSlowLag / MiB).toFixed(1)} MiB while slow, ` +
        `${(maxLag / MiB).toFixed(1)} MiB overall; the peer waited for 'drain' ${drainWaitsWhileSlow} times while the reader was slow`,
    );
    assert.equal(receivedBytes, MESSAGES * MESSAGE_BYTES);
    assert.ok(maxMemory < MAX_MEMORY_BYTES, `heap + arrayBuffers reached ${maxMemory} bytes`);
    assert.ok(
      maxSlowLag < MAX_LAG_BYTES,
      `the peer got ${maxSlowLag} bytes ahead of the slow reader`,
    );
    assert.ok(drainWaitsWhileSlow > 0, "the peer was held back while the reader was slow");

    reader.releaseLock();
    wss.close({ closeCode: 1000, reason: "done" });
    assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1000, reason: "done" });
  },
);
