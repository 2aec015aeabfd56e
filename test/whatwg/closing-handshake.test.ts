/**
 * SPEC.md L1–L28 on the client side: Close bodies received, the echo, what is discarded, who
 * closes TCP and when, timeouts, and what the close event reports in each case.
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import { WebSocket, closeDetails } from "../../src/index.js";
import { OP, buildFrame, closeBody, concat } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { parseCloseFrame, sleep, waitUntil } from "../helpers/raw-peer.js";

/** Asserts the client failed the connection with `closeCode` and reports error + 1006. */
async function assertFailed(
  client: Awaited<ReturnType<typeof openClient>>,
  closeCode: number,
  what: string,
): Promise<void> {
  const close = await client.conn.nextFrame();
  assert.equal(close.opcode, OP.close, what);
  assert.equal(parseCloseFrame(close).code, closeCode, what);
  // Answer like a server: echo and end TCP (the failed client processes neither).
  client.conn.closeAndEnd(closeCode);
  const event = await client.rec.closed();
  assert.deepEqual(client.rec.types().slice(-2), ["error", "close"], what);
  assert.deepEqual([event.code, event.reason, event.wasClean], [1006, "", false], what);
}

test("L1: a 1-byte Close body fails the connection with 1002", async (t) => {
  const client = await openClient(t);
  client.conn.sendFrame({ opcode: OP.close, payload: Uint8Array.of(0x03) });
  await assertFailed(client, 1002, "1-byte body");
  assert.equal(closeDetails(client.ws)?.cause?.code, "ERR_WS_INVALID_CLOSE_PAYLOAD");
});

test("L2: a Close payload over 125 bytes (a 124-byte reason) fails with 1002", async (t) => {
  const client = await openClient(t);
  client.conn.sendFrame({ opcode: OP.close, payload: closeBody(1000, "a".repeat(124)) });
  await assertFailed(client, 1002, "126-byte payload");
});

test("L3 (★): received codes outside 1000–1003, 1007–1014, 3000–4999 fail with 1002 (reported as 1006)", async (t) => {
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    const client = await openClient(t);
    client.conn.sendFrame({ opcode: OP.close, payload: closeBody(code, "r") });
    await assertFailed(client, 1002, `code ${code}`);
  }
});

test("L3 (★): every valid received code closes cleanly with that code and reason", async (t) => {
  for (const code of [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
  ]) {
    const { conn, rec } = await openClient(t);
    conn.close(code, `r${code}`);
    const echo = await conn.nextFrame();
    assert.deepEqual(parseCloseFrame(echo), { code, reason: `r${code}` });
    conn.end();
    const event = await rec.closed();
    assert.deepEqual([event.code, event.reason, event.wasClean], [code, `r${code}`, true]);
    assert.deepEqual(rec.types(), ["open", "close"]);
  }
});

test("L4: a close reason that is not UTF-8 fails with 1007", async (t) => {
  for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
    const client = await openClient(t);
    client.conn.close(1000, Uint8Array.from(bad));
    await assertFailed(client, 1007, `reason ${bad.join(" ")}`);
  }
});

test("L5: after its Close the client sends no data frames", async (t) => {
  const { ws, conn } = await openClient(t);
  ws.send("before");
  ws.close(1000);
  ws.send("after");
  ws.send(new Uint8Array(3));
  assert.equal((await conn.nextFrame()).opcode, OP.text);
  assert.equal((await conn.nextFrame()).opcode, OP.close);
  await conn.expectNoFrame(50);
});

test("L6: receiving a Close starts the closing handshake: a task sets CLOSING before TCP ends", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.close(1000);
  await conn.nextFrame();
  await waitUntil(() => ws.readyState === WebSocket.CLOSING, "readyState CLOSING");
  assert.deepEqual(rec.types(), ["open"]);
  conn.end();
  await rec.closed();
});

test("L6: failing the connection sends a Close, so a task sets CLOSING until TCP ends", async (t) => {
  const { ws, conn, rec } = await openClient(t, { peer: { endOnEof: false } });
  conn.sendFrame({ opcode: 0x3 });
  const close = await conn.nextFrame();
  assert.equal(parseCloseFrame(close).code, 1002);
  await waitUntil(() => ws.readyState === WebSocket.CLOSING, "readyState CLOSING");
  assert.deepEqual(rec.types(), ["open"]);
  conn.end();
  await rec.closed();
  assert.deepEqual(rec.types(), ["open", "error", "close"]);
});

test("L7 (★): a received Close is echoed byte for byte; an empty one gets an empty reply (never 1005)", async (t) => {
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["code only", closeBody(1001)],
    ["code and reason", closeBody(4000, "€ reason")],
    ["BOM reason", closeBody(3000, Uint8Array.of(0xef, 0xbb, 0xbf, 0x78))],
  ];
  for (const [name, body] of cases) {
    const { conn, rec } = await openClient(t);
    conn.sendFrame({ opcode: OP.close, payload: body });
    const echo = await conn.nextFrame();
    assert.equal(echo.opcode, OP.close, name);
    assert.equal(echo.masked, true, name);
    assert.deepEqual(Array.from(echo.payload), Array.from(body), name);
    conn.end();
    const event = await rec.closed();
    assert.equal(event.wasClean, true, name);
    assert.equal(event.code, body.length === 0 ? 1005 : (body[0]! << 8) | body[1]!, name);
  }
});

test("L8: data frames after a received Close are discarded", async (t) => {
  const { conn, rec } = await openClient(t);
  conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.close, payload: closeBody(1000) }),
      buildFrame({ opcode: OP.text, payload: "after close" }),
      buildFrame({ opcode: OP.binary, payload: Uint8Array.of(1) }),
    ),
  );
  await conn.nextFrame();
  conn.end();
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "close"]);
  assert.equal(event.wasClean, true);
  await conn.expectNoFrame(20);
});

test("L9: after sending its Close the client keeps reading until the peer's Close; data is not delivered", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(1000);
  await conn.nextFrame();
  conn.sendText("late text");
  conn.sendFrame({ opcode: OP.text, payload: "frag", fin: false });
  conn.sendFrame({ opcode: OP.cont, payload: "ment", fin: true });
  conn.sendFrame({ opcode: OP.ping, payload: "ping" });
  await sleep(30);
  assert.equal(ws.readyState, WebSocket.CLOSING);
  conn.closeAndEnd(1000, "ok");
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "close"]);
  assert.deepEqual([event.code, event.reason, event.wasClean], [1000, "ok", true]);
  // J8 (★): no Pong once the client's Close is out.
  assert.deepEqual(
    conn.frames.map((frame) => frame.opcode),
    [OP.close],
  );
});

test("L10: simultaneous Close frames complete the handshake; each side reports the other's code", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.close(4001, "server");
  ws.close(3001, "client");
  const frame = await conn.nextFrame();
  assert.deepEqual(parseCloseFrame(frame), { code: 3001, reason: "client" });
  conn.end();
  const event = await rec.closed();
  assert.deepEqual([event.code, event.reason, event.wasClean], [4001, "server", true]);
  await conn.expectNoFrame(20);
  assert.equal(conn.frames.length, 1, "the client sent one Close, not an echo as well");
  assert.equal(closeDetails(ws)?.sentCode, 3001);
});

test("L12 (★): after the exchange the client waits for the server to end TCP, then ends it itself; still clean", async (t) => {
  const { ws, conn, rec } = await openClient(t, {
    second: { closeTimeoutMs: 300 },
    peer: { endOnEof: false },
  });
  const start = performance.now();
  ws.close(1000);
  await conn.nextFrame();
  conn.close(1000, "no FIN from me");
  await sleep(100);
  assert.equal(conn.hasEnded, false, "the client must not close TCP first");
  const event = await rec.closed();
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 280, `closed after ${elapsed} ms`);
  assert.deepEqual([event.code, event.reason, event.wasClean], [1000, "no FIN from me", true]);
  assert.deepEqual(rec.types(), ["open", "close"]);
  await conn.waitForEnd();
});

test("L12 (★): by default the client waits about 2 s for the server's FIN after a server-initiated close", async (t) => {
  const { conn, rec } = await openClient(t, { peer: { endOnEof: false } });
  const start = performance.now();
  conn.close(1001);
  await conn.nextFrame();
  const event = await rec.closed(5000);
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 1900 && elapsed < 3500, `closed after ${elapsed} ms`);
  assert.equal(event.wasClean, true);
  assert.equal(event.code, 1001);
});

test("L12 (★): the wait is configurable (tcpCloseWaitMs), after a server-initiated close and after a failure", async (t) => {
  const clean = await openClient(t, { peer: { endOnEof: false }, second: { tcpCloseWaitMs: 150 } });
  const start = performance.now();
  clean.conn.close(4000, "keeps TCP open");
  await clean.conn.nextFrame();
  const event = await clean.rec.closed();
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 140 && elapsed < 1500, `closed after ${elapsed} ms`);
  assert.deepEqual([event.code, event.reason, event.wasClean], [4000, "keeps TCP open", true]);
  await clean.conn.waitForEnd();

  const failed = await openClient(t, {
    peer: { endOnEof: false },
    second: { tcpCloseWaitMs: 150 },
  });
  failed.conn.sendFrame({ opcode: 0x3 });
  await failed.conn.nextFrame();
  const failure = await failed.rec.closed();
  assert.deepEqual([failure.code, failure.wasClean], [1006, false]);
  assert.deepEqual(failed.rec.types(), ["open", "error", "close"]);
});

test("L13: no Close reply within closeTimeoutMs: the client drops TCP, 1006, not clean", async (t) => {
  const { ws, conn, rec } = await openClient(t, { second: { closeTimeoutMs: 100 } });
  ws.close(1000);
  await conn.nextFrame();
  const event = await rec.closed();
  assert.deepEqual([event.code, event.wasClean], [1006, false]);
  await conn.waitForClose();
});

test("L15: the client closes TCP with a FIN (half-close), not a reset, once the server has ended", async (t) => {
  const { ws, conn, rec } = await openClient(t, { peer: { endOnEof: false } });
  ws.close(1000);
  await conn.nextFrame();
  conn.closeAndEnd(1000);
  await conn.waitForEnd();
  await rec.closed();
  await conn.waitForClose();
  assert.equal(conn.hasEnded, true);
  assert.equal(conn.error, undefined, "no ECONNRESET");
});

test("L16: the close is clean when TCP ends after the exchange, even if the server resets it", async (t) => {
  for (const how of ["end", "destroy", "reset"] as const) {
    const { ws, conn, rec } = await openClient(t);
    ws.close(1000);
    await conn.nextFrame();
    conn.close(1000, how);
    await sleep(10);
    conn[how]();
    const event = await rec.closed();
    assert.deepEqual([event.code, event.reason, event.wasClean], [1000, how, true], how);
    assert.deepEqual(rec.types(), ["open", "close"], how);
  }
});

test("L17/L18: code and reason come from the first Close received; an empty one gives 1005 and ''", async (t) => {
  const a = await openClient(t);
  a.conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.close, payload: closeBody(4001, "first") }),
      buildFrame({ opcode: OP.close, payload: closeBody(4002, "second") }),
    ),
  );
  await a.conn.nextFrame();
  a.conn.end();
  const first = await a.rec.closed();
  assert.deepEqual([first.code, first.reason, first.wasClean], [4001, "first", true]);
  const b = await openClient(t);
  b.conn.close();
  await b.conn.nextFrame();
  b.conn.end();
  const empty = await b.rec.closed();
  assert.deepEqual([empty.code, empty.reason, empty.wasClean], [1005, "", true]);
  const c = await openClient(t);
  c.conn.close(1000);
  await c.conn.nextFrame();
  c.conn.end();
  assert.deepEqual([(await c.rec.closed()).code, (await c.rec.closed()).reason], [1000, ""]);
});

test("L19: failing sends one Close and then processes nothing more, not even the peer's Close", async (t) => {
  const { conn, rec } = await openClient(t, { peer: { endOnEof: false } });
  conn.sendFrame({ opcode: 0xf });
  const close = await conn.nextFrame();
  assert.equal(parseCloseFrame(close).code, 1002);
  // The client does not wait for our Close; as a client it leaves ending TCP to the server
  // (STYLE.md §4, RFC 6455 §7.1.1), which ends it right after its own Close.
  conn.close(1000, "too late");
  conn.sendText("also too late");
  conn.end();
  const event = await rec.closed(1000);
  assert.deepEqual([event.code, event.reason, event.wasClean], [1006, "", false]);
  assert.deepEqual(rec.types(), ["open", "error", "close"]);
  await conn.waitForEnd();
  assert.equal(conn.frames.length, 1);
});

test("L20 (★): a bad Close frame is a failure: 1006 and reason '', even though a Close arrived", async (t) => {
  const client = await openClient(t);
  client.conn.close(1005, "not on the wire");
  await assertFailed(client, 1002, "1005 received");
  assert.equal(closeDetails(client.ws)?.cause?.code, "ERR_WS_INVALID_CLOSE_CODE");
});

test("L21: losing TCP while CLOSING (before the peer's Close) fails: error, 1006", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(1000);
  await conn.nextFrame();
  conn.destroy();
  const event = await rec.closed();
  assert.deepEqual(rec.types(), ["open", "error", "close"]);
  assert.deepEqual([event.code, event.wasClean], [1006, false]);
});

test("L23: the client never closes on its own: an idle connection stays open and silent", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  await conn.expectNoFrame(200);
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.deepEqual(rec.types(), ["open"]);
});

test("L24: the client never puts 1005, 1006 or 1015 in a Close frame", async (t) => {
  const sent: number[] = [];
  const a = await openClient(t);
  a.ws.close();
  sent.push(parseCloseFrame(await a.conn.nextFrame()).code);
  const b = await openClient(t);
  b.conn.close();
  sent.push(parseCloseFrame(await b.conn.nextFrame()).code);
  const c = await openClient(t);
  c.conn.sendFrame({ opcode: OP.text, payload: Uint8Array.of(0xff) });
  sent.push(parseCloseFrame(await c.conn.nextFrame()).code);
  const d = await openClient(t);
  d.conn.destroy();
  await d.rec.closed();
  assert.equal(d.conn.frames.length, 0);
  // 1005 here means "empty body": nothing was encoded.
  assert.deepEqual(sent, [1005, 1005, 1007]);
  assert.equal(a.conn.frames[0]!.payload.length, 0);
  assert.equal(b.conn.frames[0]!.payload.length, 0);
});

test("L25 (★): the peer closing while send() data is still unsent makes the close unclean", async (t) => {
  for (const kind of ["string", "Blob"] as const) {
    const { ws, conn, rec } = await openClient(t);
    ws.onmessage = () => {
      // The server's Close arrived in the same read; its CLOSING task has not run yet.
      assert.equal(ws.readyState, WebSocket.OPEN);
      ws.send(kind === "string" ? "reply" : new Blob(["reply"]));
    };
    conn.sendRaw(
      concat(
        buildFrame({ opcode: OP.text, payload: "question" }),
        buildFrame({ opcode: OP.close, payload: closeBody(1000, "bye") }),
      ),
    );
    const echo = await conn.nextFrame();
    assert.deepEqual(parseCloseFrame(echo), { code: 1000, reason: "bye" });
    conn.end();
    const event = await rec.closed();
    assert.deepEqual([event.code, event.reason, event.wasClean], [1000, "bye", false], kind);
    assert.deepEqual(rec.types(), ["open", "message", "close"], kind);
    assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_UNSENT_DATA", kind);
    assert.equal(ws.bufferedAmount, 5, kind);
  }
});

test("L25: data already handed to the network before the peer's Close keeps the close clean", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.send("sent in time");
  await conn.nextFrame();
  conn.close(1000);
  await conn.nextFrame();
  conn.end();
  const event = await rec.closed();
  assert.equal(event.wasClean, true);
  assert.equal(ws.bufferedAmount, 0);
});

test("L26 (★): frames after both Close frames were exchanged are discarded without failing", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close(1000);
  await conn.nextFrame();
  conn.close(1000);
  conn.sendText("after the exchange");
  conn.sendFrame({ opcode: OP.ping });
  conn.sendFrame({ opcode: 0x3 });
  conn.end();
  const event = await rec.closed();
  assert.equal(event.wasClean, true);
  assert.deepEqual(rec.types(), ["open", "close"]);
  await conn.waitForClose();
  assert.equal(conn.frames.length, 1, "no Pong and no 1002");
});

test("L27 (◇ no automatic reconnection): after the server drops the connection, nothing reconnects", async (t) => {
  const { peer, conn, rec } = await openClient(t);
  conn.destroy();
  await rec.closed();
  await sleep(200);
  assert.equal(peer.sockets.length, 1);
});

test("L28: the close event comes last and CLOSED is final", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  conn.closeAndEnd(1000);
  await rec.closed();
  ws.close();
  ws.send("x");
  await sleep(30);
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assert.equal(rec.types().at(-1), "close");
  assert.equal(rec.types().filter((type) => type === "close").length, 1);
});
