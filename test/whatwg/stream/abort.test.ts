/**
 * The abort signal of WebSocketStream (SPEC.md O3, O4; WPT stream/tentative/abort.any.js): an
 * aborted signal stops the connection before or during the opening handshake and rejects both
 * promises with its reason; after the connection opened, aborting does nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { WebSocketStream, closeDetails } from "../../../src/index.js";
import { RawPeer, sleep, withTimeout } from "../../helpers/raw-peer.js";
import { rejectionOf } from "../../helpers/stream-client.js";

test("O3: an already-aborted signal rejects opened and closed with an AbortError; no connection is attempted", async (t) => {
  const peer = await RawPeer.start();
  t.after(() => peer.stop());
  const controller = new AbortController();
  controller.abort();
  const wss = new WebSocketStream(peer.url, { signal: controller.signal });
  const opened = await rejectionOf(wss.opened, "opened");
  const closed = await rejectionOf(wss.closed, "closed");
  assert.ok(opened instanceof DOMException);
  assert.equal(opened.name, "AbortError");
  assert.equal(opened.code, 20);
  assert.equal(closed, opened, "both reject with the signal's reason itself");
  assert.equal(closed, controller.signal.reason);
  await sleep(50);
  assert.equal(peer.sockets.length, 0, "no TCP connection was made");
  wss.close(); // does nothing
  wss.close({ closeCode: 1000 });
});

test("O3: the signal's own reason is used, whatever it is", async () => {
  const reason = { why: "changed my mind" };
  const wss = new WebSocketStream("ws://127.0.0.1:1/", { signal: AbortSignal.abort(reason) });
  assert.equal(await rejectionOf(wss.opened, "opened"), reason);
  assert.equal(await rejectionOf(wss.closed, "closed"), reason);
});

test("O4: aborting during the handshake fails the connection and rejects both promises with the reason", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const controller = new AbortController();
  const wss = new WebSocketStream(peer.url, { signal: controller.signal });
  const conn = await peer.connection(); // the request arrived; the server never answers
  controller.abort();
  const opened = await rejectionOf(wss.opened, "opened");
  assert.ok(opened instanceof DOMException);
  assert.equal(opened.name, "AbortError");
  assert.equal(await rejectionOf(wss.closed, "closed"), opened);
  await conn.waitForClose();
  await sleep(10);
  assert.equal(closeDetails(wss)?.cause?.code, "ERR_WS_ABORTED");
  assert.equal(closeDetails(wss)?.initiator, "local");
});

test("O4: aborting before TCP connects also rejects with the reason", async (t) => {
  const peer = await RawPeer.start({ respond: () => ({ type: "silence" }) });
  t.after(() => peer.stop());
  const controller = new AbortController();
  const wss = new WebSocketStream(peer.url, { signal: controller.signal });
  controller.abort(new Error("stop"));
  assert.equal(((await rejectionOf(wss.opened, "opened")) as Error).message, "stop");
  assert.equal(((await rejectionOf(wss.closed, "closed")) as Error).message, "stop");
});

test("O4: aborting after the connection opened does nothing: messages still flow both ways", async (t) => {
  const peer = await RawPeer.start({ replyToClose: true });
  t.after(() => peer.stop());
  const controller = new AbortController();
  const wss = new WebSocketStream(peer.url, { signal: controller.signal });
  const { readable, writable } = await withTimeout(wss.opened, "opened");
  controller.abort();
  const writer = writable.getWriter();
  await writer.write("connected");
  const frame = await peer.nextFrame();
  assert.equal(Buffer.from(frame.payload).toString(), "connected");
  peer.sendText("still here");
  assert.equal((await readable.getReader().read()).value, "still here");
  wss.close({ closeCode: 1000, reason: "done" });
  assert.deepEqual(await withTimeout(wss.closed, "closed"), { closeCode: 1000, reason: "done" });
});
