/**
 * permessage-deflate through the WHATWG `WebSocket` (its `perMessageDeflate` option; SPEC.md
 * F12, F23, N6, N18, N20, N22, B9, P11), against a raw server on 127.0.0.1 that answers the
 * handshake as each test chooses and compresses/inflates with `node:zlib` itself.
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { WebSocket, closeDetails, type WebSocketOptions } from "../../src/index.js";
import { record, type Recorder } from "../helpers/client-recorder.js";
import {
  RSV1,
  jsonLikeText,
  randomBytesSeeded,
  referenceDeflate,
  referenceInflate,
} from "../helpers/deflate-harness.js";
import { OP, hex, utf8 } from "../helpers/frames.js";
import { RawPeer, accept, parseCloseFrame, type PeerConnection } from "../helpers/raw-peer.js";

async function start(
  t: TestContext,
  answer: string | undefined,
  options: WebSocketOptions = {},
): Promise<{ ws: WebSocket; rec: Recorder; peer: RawPeer; connection: PeerConnection }> {
  const peer = await RawPeer.start({
    respond: () => accept(answer === undefined ? {} : { extensions: answer }),
    replyToClose: true,
  });
  t.after(() => peer.stop());
  const ws = new WebSocket(peer.url, { closeTimeoutMs: 1000, tcpCloseWaitMs: 500, ...options });
  ws.binaryType = "arraybuffer";
  const rec = record(ws);
  t.after(() => ws.close());
  const connection = await peer.connection();
  return { ws, rec, peer, connection };
}

/** The message a frame from the client carries: inflated when RSV1 is set. */
function messageOf(payload: Uint8Array, rsv: number): Buffer {
  return Buffer.from(rsv === RSV1 ? referenceInflate(payload) : payload);
}

describe("F12/N22 the offer and extensions", () => {
  test("F12/Q10: by default the client offers permessage-deflate; client_max_window_bits, once", async (t) => {
    const { connection, rec } = await start(t, undefined);
    assert.deepEqual(connection.request!.values("Sec-WebSocket-Extensions"), [
      "permessage-deflate; client_max_window_bits",
    ]);
    await rec.opened();
  });

  test("F12: perMessageDeflate: true is the default", async (t) => {
    const { connection } = await start(t, undefined, { perMessageDeflate: true });
    assert.deepEqual(connection.request!.values("Sec-WebSocket-Extensions"), [
      "permessage-deflate; client_max_window_bits",
    ]);
  });

  test("F12: perMessageDeflate: false offers nothing; a server that answers permessage-deflate anyway fails (F23)", async (t) => {
    const { connection, rec, ws } = await start(t, "permessage-deflate", {
      perMessageDeflate: false,
    });
    assert.deepEqual(connection.request!.values("Sec-WebSocket-Extensions"), []);
    const close = await rec.closed();
    assert.deepEqual(rec.types(), ["error", "close"]);
    assert.deepEqual([close.code, close.wasClean, ws.extensions], [1006, false, ""]);
  });

  test("N3: an options object becomes the offer", async (t) => {
    const { connection } = await start(t, undefined, {
      perMessageDeflate: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 12,
        clientMaxWindowBits: 10,
        thresholdBytes: 0,
        level: 9,
        memLevel: 9,
      },
    });
    assert.deepEqual(connection.request!.values("Sec-WebSocket-Extensions"), [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10",
    ]);
  });

  test("N22/B9: extensions is the accepted value exactly as the server sent it", async (t) => {
    const answer = 'permessage-deflate ;client_max_window_bits="12";  server_no_context_takeover';
    const { ws, rec } = await start(t, answer);
    assert.equal(ws.extensions, "");
    await rec.opened();
    assert.equal(ws.extensions, answer);
  });

  test('N22: a server that declines leaves extensions ""', async (t) => {
    const { ws, rec } = await start(t, undefined);
    await rec.opened();
    assert.equal(ws.extensions, "");
  });

  for (const [name, perMessageDeflate] of [
    ["N21: serverMaxWindowBits 8", { serverMaxWindowBits: 8 }],
    ["N21: clientMaxWindowBits 8", { clientMaxWindowBits: 8 }],
    ["clientMaxWindowBits 16", { clientMaxWindowBits: 16 }],
    ["thresholdBytes −1", { thresholdBytes: -1 }],
    ["level 10", { level: 10 }],
    ["memLevel 0", { memLevel: 0 }],
    ["a string", "yes"],
  ] as const) {
    test(`option validation: perMessageDeflate ${name} → RangeError ERR_WS_INVALID_OPTION from the constructor`, () => {
      assert.throws(
        () =>
          new WebSocket("ws://127.0.0.1:1/", {
            perMessageDeflate: perMessageDeflate as unknown as boolean,
          }),
        (error: unknown) =>
          error instanceof RangeError &&
          (error as { code?: unknown }).code === "ERR_WS_INVALID_OPTION",
      );
    });
  }

  const refused: readonly [string, WebSocketOptions["perMessageDeflate"], string][] = [
    ["N6: an unknown parameter", true, "permessage-deflate; x-foo"],
    ["N4/N6: a leading zero", true, "permessage-deflate; server_max_window_bits=09"],
    [
      "N10: client_max_window_bits not offered",
      { clientMaxWindowBits: false },
      "permessage-deflate; client_max_window_bits=10",
    ],
    [
      "N7★: server_no_context_takeover not confirmed",
      { serverNoContextTakeover: true },
      "permessage-deflate",
    ],
    ["N6/F22: permessage-deflate twice", true, "permessage-deflate, permessage-deflate"],
  ];
  for (const [name, perMessageDeflate, answer] of refused) {
    test(`${name}: "${answer}" → error, then close 1006, not clean (P11)`, async (t) => {
      const { ws, rec } = await start(t, answer, { perMessageDeflate: perMessageDeflate! });
      const close = await rec.closed();
      assert.deepEqual(rec.types(), ["error", "close"]);
      assert.deepEqual([close.code, close.wasClean, close.reason], [1006, false, ""]);
      assert.equal(ws.readyState, WebSocket.CLOSED);
      assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_HANDSHAKE_EXTENSIONS");
    });
  }
});

describe("N12–N20 messages through the WHATWG client", () => {
  test('N17: the RFC 7692 frame c1 07 f2 48 cd c9 c9 07 00 is a MessageEvent with data "Hello"', async (t) => {
    const { rec, connection } = await start(t, "permessage-deflate");
    await rec.opened();
    connection.sendRaw(hex("c1 07 f2 48 cd c9 c9 07 00"));
    assert.equal((await rec.nextMessage()).data, "Hello");
  });

  test("N15: compressed binary arrives as an ArrayBuffer of the inflated bytes", async (t) => {
    const { rec, connection } = await start(t, "permessage-deflate");
    await rec.opened();
    const data = utf8(jsonLikeText(100_000));
    connection.sendFrame({ opcode: OP.binary, rsv: RSV1, payload: referenceDeflate(data) });
    const event = await rec.nextMessage();
    assert.ok(event.data instanceof ArrayBuffer);
    assert.deepEqual(Buffer.from(event.data), Buffer.from(data));
  });

  test("N18: default thresholdBytes 1024: 1 023 bytes raw, 1 024 compressed; bufferedAmount counts message bytes", async (t) => {
    const { ws, rec, connection } = await start(t, "permessage-deflate");
    await rec.opened();
    ws.send("a".repeat(1023));
    ws.send("a".repeat(1024));
    ws.send(randomBytesSeeded(2048));
    // C8: bufferedAmount counts the application's bytes, not the compressed ones.
    assert.equal(ws.bufferedAmount, 1023 + 1024 + 2048);
    const frames = [
      await connection.nextFrame(),
      await connection.nextFrame(),
      await connection.nextFrame(),
    ];
    assert.deepEqual(
      frames.map((frame) => frame.rsv),
      [0, RSV1, 0],
    );
    assert.equal(messageOf(frames[1]!.payload, frames[1]!.rsv).toString(), "a".repeat(1024));
  });

  test("N20★/P11: corrupt compressed data → a Close 1007 on the wire; script sees error, then close 1006", async (t) => {
    const { ws, rec, connection } = await start(t, "permessage-deflate");
    await rec.opened();
    connection.sendFrame({ opcode: OP.binary, rsv: RSV1, payload: hex("07 00") });
    assert.equal(parseCloseFrame(await connection.nextFrame()).code, 1007);
    const close = await rec.closed();
    assert.deepEqual(rec.types(), ["open", "error", "close"]);
    assert.deepEqual([close.code, close.wasClean], [1006, false]);
    assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_INVALID_COMPRESSED_DATA");
  });

  test("N20/P7: maxMessageBytes applies to the inflated size → Close 1009", async (t) => {
    const { ws, rec, connection } = await start(t, "permessage-deflate", {
      maxMessageBytes: 50_000,
    });
    await rec.opened();
    connection.sendFrame({
      opcode: OP.binary,
      rsv: RSV1,
      payload: referenceDeflate(new Uint8Array(50_001)),
    });
    assert.equal(parseCloseFrame(await connection.nextFrame()).code, 1009);
    await rec.closed();
    assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_MESSAGE_TOO_BIG");
  });

  test("N13: RSV1 when the server declined permessage-deflate → Close 1002", async (t) => {
    const { ws, rec, connection } = await start(t, undefined);
    await rec.opened();
    connection.sendFrame({ opcode: OP.text, rsv: RSV1, payload: hex("f2 48 cd c9 c9 07 00") });
    assert.equal(parseCloseFrame(await connection.nextFrame()).code, 1002);
    await rec.closed();
    assert.equal(closeDetails(ws)?.cause?.code, "ERR_WS_UNEXPECTED_RSV");
  });
});
