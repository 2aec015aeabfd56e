/**
 * How a WebSocketStream reports the end of its connection (SPEC.md O14–O18, L16–L21; WPT
 * stream/tentative/remote-close.any.js, write.any.js): a clean close resolves `closed` with the
 * peer's code and reason and closes the readable; an unclean one rejects `closed` and errors
 * both streams with the same WebSocketError; a peer Close while written data is unsent, or a Close
 * answered by a dropped TCP connection, is unclean.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { closeDetails } from "../../../src/index.js";
import { OP } from "../../helpers/frames.js";
import { parseCloseFrame, withTimeout } from "../../helpers/raw-peer.js";
import {
  assertInvalidState,
  assertWebSocketError,
  openStream,
  rejectionOf,
} from "../../helpers/stream-client.js";

test("O14: a clean server-initiated close resolves closed with the peer's code; readable done, writable InvalidStateError", async (t) => {
  const { wss, conn, readable, writable } = await openStream(t);
  conn.closeAndEnd(1000);
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1000, reason: "" });
  assert.deepEqual(parseCloseFrame(await conn.nextFrame()), { code: 1000, reason: "" }, "echoed");
  const { done } = await readable.getReader().read();
  assert.equal(done, true);
  assertInvalidState(await rejectionOf(writable.getWriter().ready, "writer.ready"));
  assert.equal(closeDetails(wss)?.initiator, "remote");
  assert.equal(closeDetails(wss)?.wasClean, true);
});

test("O14: a Close with no body gives 1005; a code and reason are passed through, UTF-8 included", async (t) => {
  const cases: [number | undefined, string, number][] = [
    [undefined, "", 1005],
    [4000, "robot", 4000],
    [4000, "ロボット", 4000],
    [1001, "going away", 1001],
    [1011, "", 1011],
  ];
  for (const [code, reason, closeCode] of cases) {
    const { wss, conn } = await openStream(t);
    conn.closeAndEnd(code, reason);
    assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode, reason }, `${code}`);
  }
});

test("O14: messages the peer sent before its Close are all readable before the readable ends", async (t) => {
  const { wss, conn, readable } = await openStream(t);
  for (let i = 0; i < 20; i++) conn.sendText(`m${i}`);
  conn.closeAndEnd(1000, "bye");
  await withTimeout(wss.closed, "closed");
  const received: unknown[] = [];
  for await (const message of readable) received.push(message);
  assert.deepEqual(
    received,
    Array.from({ length: 20 }, (_, i) => `m${i}`),
  );
});

test("O15/L21: an abrupt close (TCP drop, no Close) rejects closed with 1006; both streams error with that same object", async (t) => {
  const { wss, conn, readable, writable } = await openStream(t);
  conn.destroy();
  const error = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  assert.equal(await rejectionOf(readable.getReader().read(), "read"), error);
  assert.equal(await rejectionOf(writable.getWriter().ready, "writer.ready"), error);
  assert.equal(closeDetails(wss)?.wasClean, false);
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_CONNECTION_LOST");
});

test("O15/L21: a TCP reset after open is 1006 too", async (t) => {
  const { wss, conn } = await openStream(t);
  conn.reset();
  assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
});

test("O15/L16 (undici gets this wrong): a Close answered by dropping TCP (no Close back) is unclean, 1006", async (t) => {
  for (const drop of ["destroy", "reset", "end"] as const) {
    const { wss, conn, readable } = await openStream(t);
    wss.close({ closeCode: 4000, reason: "because" });
    assert.equal((await conn.nextFrame()).opcode, OP.close);
    conn[drop]();
    const error = assertWebSocketError(await rejectionOf(wss.closed, drop), 1006, "", drop);
    assert.equal(await rejectionOf(readable.getReader().read(), "read"), error, drop);
    assert.equal(closeDetails(wss)?.wasClean, false, drop);
    assert.equal(closeDetails(wss)?.sentCode, 4000, drop);
  }
});

test("O15: a protocol error from the peer fails the connection: 1006 (the cause stays in closeDetails)", async (t) => {
  // The client waits tcpCloseWaitMs for the server to end TCP after failing (SPEC.md L12).
  const { wss, conn, readable } = await openStream(t, { options: { tcpCloseWaitMs: 100 } });
  conn.sendText("before");
  conn.sendFrame({ opcode: 3, payload: "reserved opcode" });
  const error = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  assert.equal(await rejectionOf(readable.getReader().read(), "read"), error);
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_INVALID_OPCODE");
  // The client told the peer why (1002) before dropping.
  assert.equal(parseCloseFrame(await conn.nextFrame()).code, 1002);
});

test("O17 (⚑): a peer Close while a write is still unsent is unclean: closed rejects with the peer's code; the write rejects with InvalidStateError", async (t) => {
  const { wss, conn, writable } = await openStream(t);
  conn.socket.pause(); // the server reads nothing more: the big message cannot all go out
  const writer = writable.getWriter();
  const big = new Uint8Array(32 * 1024 * 1024);
  const bigWrite = writer.write(big);
  bigWrite.catch(() => {});
  conn.close(4567); // then FIN, as a server that leaves
  conn.end();
  const error = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 4567, "");
  const writeError = assertInvalidState(await rejectionOf(bigWrite, "the big write"));
  assert.notEqual(writeError, error);
  // Later writes reject with that same InvalidStateError (WPT write.any.js).
  assert.equal(await rejectionOf(writer.write("word"), "a later write"), writeError);
  assert.equal(closeDetails(wss)?.wasClean, false);
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_UNSENT_DATA");
});

test("O17: a write that completed before the peer's Close leaves the close clean", async (t) => {
  const { wss, conn, writable } = await openStream(t);
  const writer = writable.getWriter();
  await withTimeout(writer.write(new Uint8Array(1024 * 1024)), "the write");
  assert.equal((await conn.nextFrame()).payload.length, 1024 * 1024);
  conn.closeAndEnd(4567);
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 4567, reason: "" });
});

test("O18: the peer's Close code and reason win even when both ends close at once", async (t) => {
  const { wss, conn } = await openStream(t);
  conn.close(4222, "remote");
  wss.close({ closeCode: 4111, reason: "local" });
  assert.deepEqual(parseCloseFrame(await conn.nextFrame()), { code: 4111, reason: "local" });
  conn.end();
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 4222, reason: "remote" });
});

test("O17 (issue #15): a local close() while a written chunk is still queued in writable is unclean: closed rejects with the echoed code, the unsent write rejects", async (t) => {
  const { wss, conn, writable } = await openStream(t);
  conn.socket.pause(); // the big message cannot all go out yet
  const writer = writable.getWriter();
  const big = writer.write(new Uint8Array(8 * 1024 * 1024)); // handed to the socket
  const queued = writer.write("queued behind it"); // still in the writable's queue
  queued.catch(() => {});
  wss.close({ closeCode: 4000, reason: "local" });
  conn.socket.resume();
  assert.equal((await conn.nextFrame()).payload.length, 8 * 1024 * 1024, "the big message");
  assert.deepEqual(parseCloseFrame(await conn.nextFrame()), { code: 4000, reason: "local" });
  conn.closeAndEnd(4000, "local");
  await withTimeout(big, "the big write, which did go out");
  const error = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 4000, "local");
  assert.ok(error instanceof Error);
  assertInvalidState(await rejectionOf(queued, "the queued write"));
  assert.equal(closeDetails(wss)?.wasClean, false);
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_UNSENT_DATA");
});

test("O17 (issue #15): a peer Close while a chunk is queued behind a pending write: both writes reject, closed rejects", async (t) => {
  const { wss, conn, writable } = await openStream(t);
  conn.socket.pause();
  const writer = writable.getWriter();
  const big = writer.write(new Uint8Array(32 * 1024 * 1024));
  const queued = writer.write("queued");
  big.catch(() => {});
  queued.catch(() => {});
  conn.close(4567);
  conn.end();
  assertWebSocketError(await rejectionOf(wss.closed, "closed"), 4567, "");
  assertInvalidState(await rejectionOf(big, "the big write"));
  await rejectionOf(queued, "the queued write");
  assert.equal(closeDetails(wss)?.wasClean, false);
});

test("O17: a local close() after every write went out stays clean; a write after close() does not make it unclean", async (t) => {
  const { wss, conn, writable } = await openStream(t);
  const writer = writable.getWriter();
  await withTimeout(writer.write("sent"), "the write");
  wss.close({ closeCode: 4000 });
  const late = writer.write("after close");
  late.catch(() => {});
  assert.equal((await conn.nextFrame()).opcode, OP.text);
  assert.deepEqual(parseCloseFrame(await conn.nextFrame()), { code: 4000, reason: "" });
  conn.closeAndEnd(4000);
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 4000, reason: "" });
  assertInvalidState(await rejectionOf(late, "the write after close()"));
});
