/**
 * SPEC.md Q (the ★ decisions) where no other file already covers them on the client: Q9's two
 * receive rules (H3: a non-minimal length is accepted; K3: invalid UTF-8 fails with 1007).
 * The other decisions are tested under their own items: Q1 (D9, C14), Q2 (D13, D16), Q3 (A15),
 * Q4 (B8, C8), Q5 (K10, K11), Q6 (L3), Q7 (E14), Q8 (E15), Q10 (F3, A11, F12).
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import { closeDetails } from "../../src/index.js";
import { OP, buildFrame, concat } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { parseCloseFrame } from "../helpers/raw-peer.js";

test("Q9/H3 (★): frames with a non-minimal length encoding are accepted", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.binaryType = "arraybuffer";
  conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.text, payload: "short", lengthForm: 16 }),
      buildFrame({ opcode: OP.binary, payload: Uint8Array.of(1, 2, 3), lengthForm: 64 }),
      buildFrame({ opcode: OP.text, payload: "x".repeat(300), lengthForm: 64 }),
    ),
  );
  assert.equal((await rec.nextMessage()).data, "short");
  assert.deepEqual(
    new Uint8Array((await rec.nextMessage()).data as ArrayBuffer),
    Uint8Array.of(1, 2, 3),
  );
  assert.equal((await rec.nextMessage()).data, "x".repeat(300));
  assert.deepEqual(rec.types(), ["open", "message", "message", "message"]);
});

test("Q9/K3 (★): invalid UTF-8 in a text message fails with 1007 (script sees error + 1006)", async (t) => {
  const cases: [string, Uint8Array[]][] = [
    ["a lone continuation byte", [Uint8Array.of(0x61, 0x80)]],
    ["an overlong form", [Uint8Array.of(0xc0, 0xaf)]],
    ["an encoded surrogate", [Uint8Array.of(0xed, 0xa0, 0x80)]],
    ["above U+10FFFF", [Uint8Array.of(0xf4, 0x90, 0x80, 0x80)]],
    ["cut short at the end of the message", [Uint8Array.of(0xe2, 0x82)]],
    ["split across fragments, then invalid", [Uint8Array.of(0xe2), Uint8Array.of(0x28, 0xa1)]],
  ];
  for (const [name, fragments] of cases) {
    const { ws, conn, rec } = await openClient(t, { peer: { replyToClose: true } });
    conn.sendRaw(
      concat(
        ...fragments.map((payload, i) =>
          buildFrame({
            opcode: i === 0 ? OP.text : OP.cont,
            payload,
            fin: i === fragments.length - 1,
          }),
        ),
      ),
    );
    const close = await conn.nextFrame();
    assert.equal(parseCloseFrame(close).code, 1007, name);
    const event = await rec.closed();
    assert.deepEqual(rec.types(), ["open", "error", "close"], name);
    assert.deepEqual([event.code, event.wasClean], [1006, false], name);
    assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_INVALID_UTF8", name);
  }
});

test("Q9/K3: a code point split across fragments is valid and delivered whole", async (t) => {
  const { conn, rec } = await openClient(t);
  conn.sendRaw(
    concat(
      buildFrame({ opcode: OP.text, payload: Uint8Array.of(0xe2), fin: false }),
      buildFrame({ opcode: OP.cont, payload: Uint8Array.of(0x82), fin: false }),
      buildFrame({ opcode: OP.cont, payload: Uint8Array.of(0xac, 0x21), fin: true }),
    ),
  );
  assert.equal((await rec.nextMessage()).data, "€!");
});
