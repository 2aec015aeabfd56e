/**
 * Closing a WebSocketStream from this end (SPEC.md O9–O13, O18, O20, D10–D16; WPT
 * stream/tentative/close.any.js): `close()` argument conversion and validation, the Close frame
 * it sends, closing during the handshake, `writable.close()`, and `writable.abort()` /
 * `readable.cancel()` mapped to the closing handshake.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";

import { WebSocket, WebSocketError, WebSocketStream, closeDetails } from "../../../src/index.js";
import { assertThrowsDom, assertThrowsTypeError } from "../../helpers/assert-dom.js";
import { record } from "../../helpers/client-recorder.js";
import { OP } from "../../helpers/frames.js";
import { RawPeer, parseCloseFrame, sleep, withTimeout } from "../../helpers/raw-peer.js";
import { assertWebSocketError, openStream, rejectionOf } from "../../helpers/stream-client.js";

/** Opens a stream to a peer that echoes the client's Close and ends TCP (a polite server). */
function openEchoing(t: TestContext, options: Parameters<typeof openStream>[1] = {}) {
  return openStream(t, { ...options, peer: { replyToClose: true, ...options.peer } });
}

/** The body of the next frame from the client, which must be a Close, as hex. */
async function closeBodyHex(conn: {
  nextFrame(): Promise<{ opcode: number; payload: Uint8Array }>;
}) {
  const frame = await conn.nextFrame();
  assert.equal(frame.opcode, OP.close, "a Close frame");
  return Buffer.from(frame.payload).toString("hex");
}

test("O9: close(true), close(1) and close('x') are TypeErrors (the argument is a dictionary)", async (t) => {
  const { wss } = await openEchoing(t);
  for (const value of [true, 1, "x"]) {
    assertThrowsTypeError(() => wss.close(value as never), String(value));
  }
  wss.close();
  await withTimeout(wss.closed, "closed");
});

test("O9: closeCode is [EnforceRange] unsigned short: NaN, ±Infinity, −1, 65536 are TypeErrors", async (t) => {
  const { wss, conn } = await openEchoing(t);
  for (const closeCode of [NaN, Infinity, -Infinity, -1, 65536, 70000, "nope"]) {
    assertThrowsTypeError(() => wss.close({ closeCode: closeCode as number }), String(closeCode));
  }
  await conn.expectNoFrame(20);
  // A fraction is truncated: 3000.9 → 3000.
  wss.close({ closeCode: 3000.9 });
  assert.equal(await closeBodyHex(conn), "0bb8");
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 3000, reason: "" });
});

test("O9: codes other than 1000 and 3000–4999 are InvalidAccessErrors (999, 1001, 1005, 2999, 5000, 0)", async (t) => {
  const { wss, conn } = await openEchoing(t);
  for (const closeCode of [999, 1001, 1005, 1006, 1015, 2999, 5000, 0, 65535]) {
    assertThrowsDom(() => wss.close({ closeCode }), "InvalidAccessError", `${closeCode}`);
  }
  await conn.expectNoFrame(20);
  wss.close();
  await withTimeout(wss.closed, "closed");
});

test("O9: a reason over 123 UTF-8 bytes is a SyntaxError (124 × '.', 31 × 🔌); the code is checked first", async (t) => {
  const { wss, conn } = await openEchoing(t);
  assertThrowsDom(() => wss.close({ reason: ".".repeat(124) }), "SyntaxError");
  assertThrowsDom(() => wss.close({ closeCode: 1000, reason: "🔌".repeat(31) }), "SyntaxError");
  assertThrowsDom(
    () => wss.close({ closeCode: 2999, reason: ".".repeat(200) }),
    "InvalidAccessError",
  );
  await conn.expectNoFrame(20);
  wss.close({ closeCode: 4000, reason: "€".repeat(41) }); // 123 bytes: fine
  const body = await closeBodyHex(conn);
  assert.equal(body.length, (2 + 123) * 2);
  assert.deepEqual(await withTimeout(wss.closed, "closed"), {
    closeCode: 4000,
    reason: "€".repeat(41),
  });
});

test("O9/D8: the checks run in every state, even once closed", async (t) => {
  const { wss } = await openEchoing(t);
  wss.close();
  await withTimeout(wss.closed, "closed");
  assertThrowsDom(() => wss.close({ closeCode: 1001 }), "InvalidAccessError");
  assertThrowsDom(() => wss.close({ reason: "x".repeat(124) }), "SyntaxError");
  assertThrowsTypeError(() => wss.close({ closeCode: NaN }));
  wss.close({ closeCode: 1000 }); // valid: does nothing
});

test("O9/D9: a lone surrogate in the reason is sent as U+FFFD (EF BF BD)", async (t) => {
  const { wss, conn } = await openEchoing(t);
  wss.close({ closeCode: 1000, reason: "\uD807" });
  assert.equal(await closeBodyHex(conn), "03e8efbfbd");
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1000, reason: "\uFFFD" });
});

test("O10: close(), close({}), close({ reason: '' }), close(undefined), close(null) send an empty Close → 1005", async (t) => {
  const calls: [string, (wss: WebSocketStream) => void][] = [
    ["close()", (wss) => wss.close()],
    ["close({})", (wss) => wss.close({})],
    ["close({ reason: '' })", (wss) => wss.close({ reason: "" })],
    ["close(undefined)", (wss) => wss.close(undefined)],
    ["close(null)", (wss) => wss.close(null as never)],
  ];
  for (const [what, call] of calls) {
    const { wss, conn } = await openEchoing(t);
    call(wss);
    assert.equal(await closeBodyHex(conn), "", what);
    assert.deepEqual(await withTimeout(wss.closed, what), { closeCode: 1005, reason: "" }, what);
  }
});

test("O10/D16: a non-empty reason without a code is sent as 1000 + reason", async (t) => {
  const { wss, conn } = await openEchoing(t);
  wss.close({ reason: "non-empty" });
  assert.equal(await closeBodyHex(conn), `03e8${Buffer.from("non-empty").toString("hex")}`);
  assert.deepEqual(await withTimeout(wss.closed, "closed"), {
    closeCode: 1000,
    reason: "non-empty",
  });
});

test("O10: the close code is sent to the server and reflected back (3456 'pizza')", async (t) => {
  const { wss, conn } = await openEchoing(t);
  wss.close({ closeCode: 3456, reason: "pizza" });
  assert.deepEqual(parseCloseFrame(await conn.nextFrame()), { code: 3456, reason: "pizza" });
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 3456, reason: "pizza" });
  assert.equal(closeDetails(wss)?.sentCode, 3456);
  assert.equal(closeDetails(wss)?.initiator, "local");
});

test("O10/D10: a second close() does nothing: one Close frame", async (t) => {
  const { wss, conn, peer } = await openStream(t);
  wss.close({ closeCode: 3000 });
  wss.close({ closeCode: 3001 });
  wss.close();
  assert.deepEqual(parseCloseFrame(await conn.nextFrame()), { code: 3000, reason: "" });
  await conn.expectNoFrame(50);
  peer.closeAndEnd(3000);
  await withTimeout(wss.closed, "closed");
});

test("O11: close() during the handshake fails the connection: opened and closed reject with WebSocketErrors", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const wss = new WebSocketStream(peer.url);
  const conn = await peer.connection();
  wss.close({ closeCode: 1000, reason: "ignored" });
  assertWebSocketError(await rejectionOf(wss.opened, "opened"), null, "");
  assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  await conn.waitForClose();
  assert.equal(conn.frames.length, 0, "no Close frame: the connection was never established");
  assert.equal(closeDetails(wss)?.initiator, "local");
});

test("O11: close() right after the constructor (before TCP connects) also rejects both", async () => {
  const wss = new WebSocketStream("ws://127.0.0.1:9/");
  wss.close();
  assertWebSocketError(await rejectionOf(wss.opened, "opened"), null, "");
  assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
});

test("O12: writable.close() sends an empty Close after the queued writes → clean, 1005", async (t) => {
  const { wss, conn, writable } = await openEchoing(t);
  const writer = writable.getWriter();
  void writer.write("one");
  void writer.write("two");
  const closing = writer.close();
  assert.equal(Buffer.from((await conn.nextFrame()).payload).toString(), "one");
  assert.equal(Buffer.from((await conn.nextFrame()).payload).toString(), "two");
  assert.equal(await closeBodyHex(conn), "");
  await withTimeout(closing, "writer.close()");
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1005, reason: "" });
});

test("O12: the writer's close() promise resolves only when the closing handshake completes", async (t) => {
  const { wss, conn, writable } = await openStream(t);
  const started = performance.now();
  let closedAt = 0;
  const closing = writable
    .getWriter()
    .close()
    .then(() => (closedAt = performance.now()));
  assert.equal(await closeBodyHex(conn), "");
  await sleep(300); // the server takes its time to answer
  assert.equal(closedAt, 0, "not resolved before the server's Close");
  conn.closeAndEnd();
  await withTimeout(closing, "writer.close()");
  assert.ok(closedAt - started >= 290, `resolved after ${closedAt - started} ms`);
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1005, reason: "" });
});

test("O12: the writer's close() rejects with the WebSocketError when the close is unclean", async (t) => {
  const { wss, conn, writable } = await openStream(t);
  const closing = writable.getWriter().close();
  assert.equal(await closeBodyHex(conn), "");
  conn.destroy(); // no Close back: 1006
  const error = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  assert.equal(await rejectionOf(closing, "writer.close()"), error);
});

for (const [method, side] of [
  ["abort", "writable"],
  ["cancel", "readable"],
] as const) {
  const act = async (
    info: { readable: ReadableStream; writable: WritableStream },
    reason?: unknown,
  ) => {
    if (side === "writable") await info.writable.abort(reason);
    else await info.readable.cancel(reason);
  };
  const cases: [string, () => unknown, number, string, string][] = [
    ["no reason", () => undefined, 1005, "", ""],
    [
      "a plain object with closeCode/reason (ignored)",
      () => ({ closeCode: 3333, reason: "obsolete" }),
      1005,
      "",
      "",
    ],
    [
      "a WebSocketError with a code",
      () => new WebSocketError("", { closeCode: 3333 }),
      3333,
      "",
      "0d05",
    ],
    [
      "a WebSocketError with a code and reason",
      () => new WebSocketError("", { closeCode: 3456, reason: "set" }),
      3456,
      "set",
      `0d80${Buffer.from("set").toString("hex")}`,
    ],
    [
      "a WebSocketError with a reason only (→ 1000)",
      () => new WebSocketError("", { reason: "specified" }),
      1000,
      "specified",
      `03e8${Buffer.from("specified").toString("hex")}`,
    ],
    [
      "a DOMException carrying closeCode/reason (ignored)",
      () =>
        Object.assign(new DOMException("yes", "DataCloneError"), {
          closeCode: 1000,
          reason: "should be ignored",
        }),
      1005,
      "",
      "",
    ],
    [
      "an object inheriting from WebSocketError.prototype (no brand: ignored)",
      () => Object.create(WebSocketError.prototype) as unknown,
      1005,
      "",
      "",
    ],
  ];
  test(`O13: ${side}.${method}(reason) closes with the code and reason of a WebSocketError only`, async (t) => {
    for (const [what, reason, closeCode, closeReason, body] of cases) {
      const { wss, conn, readable, writable } = await openEchoing(t);
      await withTimeout(act({ readable, writable }, reason()), `${method}(${what})`);
      assert.equal(await closeBodyHex(conn), body, what);
      assert.deepEqual(
        await withTimeout(wss.closed, what),
        { closeCode, reason: closeReason },
        what,
      );
    }
  });
}

test("O13: after readable.cancel() the readable is done; after writable.abort() writes reject with the reason", async (t) => {
  {
    const { readable, wss } = await openEchoing(t);
    const reader = readable.getReader();
    await reader.cancel();
    assert.deepEqual(await reader.closed, undefined);
    await withTimeout(wss.closed, "closed");
  }
  {
    const { writable, wss } = await openEchoing(t);
    const writer = writable.getWriter();
    const reason = new WebSocketError("stop", { closeCode: 4000 });
    await writer.abort(reason);
    assert.equal(await rejectionOf(writer.write("x"), "write after abort"), reason);
    assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 4000, reason: "" });
  }
});

test("O13: breaking out of for-await cancels the readable, which closes the connection without a code", async (t) => {
  const { conn, readable, wss } = await openEchoing(t);
  conn.sendText("first");
  conn.sendText("second");
  for await (const message of readable) {
    assert.equal(message, "first");
    break;
  }
  assert.equal(await closeBodyHex(conn), "");
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1005, reason: "" });
});

test("O18/D20: the peer's code and reason win over the ones close() sent", async (t) => {
  const { wss, conn } = await openStream(t);
  wss.close({ closeCode: 4111, reason: "local" });
  assert.deepEqual(parseCloseFrame(await conn.nextFrame()), { code: 4111, reason: "local" });
  conn.closeAndEnd(4222, "remote");
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 4222, reason: "remote" });
  assert.equal(closeDetails(wss)?.sentCode, 4111);
});

test("O15/D23: an incomplete closing handshake (no Close back before closeTimeoutMs) is unclean: 1006", async (t) => {
  const { wss, conn } = await openStream(t, { options: { closeTimeoutMs: 200 } });
  wss.close({ closeCode: 4000, reason: "because" });
  assert.equal((await conn.nextFrame()).opcode, OP.close);
  const error = assertWebSocketError(await rejectionOf(wss.closed, "closed"), 1006, "");
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_CLOSE_TIMEOUT");
  assert.equal(error.message.length > 0, true);
});

test("O20: WebSocket.close() and WebSocketStream.close() validate alike and send the same Close bodies", async (t) => {
  // Same exceptions for the same (integral, in-range) code and reason.
  const failing: [number | undefined, string | undefined, "InvalidAccessError" | "SyntaxError"][] =
    [
      [999, undefined, "InvalidAccessError"],
      [1001, "x", "InvalidAccessError"],
      [2999, "x".repeat(200), "InvalidAccessError"],
      [5000, undefined, "InvalidAccessError"],
      [undefined, "x".repeat(124), "SyntaxError"],
      [1000, "🔌".repeat(31), "SyntaxError"],
    ];
  const closedSocket = new WebSocket("ws://127.0.0.1:1/");
  closedSocket.close();
  const closedStream = new WebSocketStream("ws://127.0.0.1:1/");
  closedStream.close();
  for (const [code, reason, name] of failing) {
    const what = `${code} ${reason?.length}`;
    assertThrowsDom(() => closedSocket.close(code, reason), name, `WebSocket ${what}`);
    assertThrowsDom(
      () =>
        closedStream.close({
          ...(code === undefined ? {} : { closeCode: code }),
          ...(reason === undefined ? {} : { reason }),
        }),
      name,
      `WebSocketStream ${what}`,
    );
  }
  await rejectionOf(closedStream.closed, "closed");

  // Same Close body on the wire for the same arguments.
  const sending: [number | undefined, string | undefined][] = [
    [undefined, undefined],
    [undefined, ""],
    [undefined, "bye"],
    [1000, undefined],
    [1000, ""],
    [3000, "x"],
    [4999, "€".repeat(41)],
  ];
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  for (const [code, reason] of sending) {
    const ws = new WebSocket(peer.url);
    const rec = record(ws);
    await rec.opened();
    const socketConn = await peer.nextConnection();
    ws.close(code, reason);
    const socketBody = await closeBodyHex(socketConn);
    await rec.closed();

    const wss = new WebSocketStream(peer.url);
    await withTimeout(wss.opened, "opened");
    const streamConn = await peer.nextConnection();
    wss.close({
      ...(code === undefined ? {} : { closeCode: code }),
      ...(reason === undefined ? {} : { reason }),
    });
    const streamBody = await closeBodyHex(streamConn);
    await withTimeout(wss.closed, "closed");
    assert.equal(streamBody, socketBody, `close(${code}, ${JSON.stringify(reason)})`);
  }
});
