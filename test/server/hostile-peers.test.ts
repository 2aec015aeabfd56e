/**
 * Hostile peers (SPEC.md P13): every protocol violation is answered with a Close carrying the
 * right code (1002, 1007, 1009), TCP is ended without waiting for the peer (L19), nothing the
 * peer sends afterwards is processed, the server reports 1006 with the ERR_WS_* cause, and the
 * other connections are not affected.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OP, buildFrame, closeBody, concat, type FrameSpec } from "../helpers/frames.js";
import { WS } from "../helpers/peer-clients.js";
import { RawClient } from "../helpers/raw-client.js";
import {
  SocketEvents,
  nextConnection,
  sleep,
  startServer,
  withTimeout,
} from "../helpers/server-harness.js";

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** A masked frame. */
function masked(spec: FrameSpec): Uint8Array {
  return buildFrame({ maskKey: KEY, ...spec });
}

interface Violation {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly closeCode: number;
  readonly cause: string;
}

const VIOLATIONS: readonly Violation[] = [
  {
    name: "H6: reserved data opcode 0x3",
    bytes: masked({ opcode: 0x3, payload: "x" }),
    closeCode: 1002,
    cause: "ERR_WS_INVALID_OPCODE",
  },
  {
    name: "H6: reserved control opcode 0xB",
    bytes: masked({ opcode: 0xb }),
    closeCode: 1002,
    cause: "ERR_WS_INVALID_OPCODE",
  },
  {
    name: "H7: RSV1 set without an extension",
    bytes: masked({ opcode: OP.text, rsv: 4, payload: "x" }),
    closeCode: 1002,
    cause: "ERR_WS_UNEXPECTED_RSV",
  },
  {
    name: "H7: RSV2 set",
    bytes: masked({ opcode: OP.binary, rsv: 2 }),
    closeCode: 1002,
    cause: "ERR_WS_UNEXPECTED_RSV",
  },
  {
    name: "H7: RSV3 set on a ping",
    bytes: masked({ opcode: OP.ping, rsv: 1 }),
    closeCode: 1002,
    cause: "ERR_WS_UNEXPECTED_RSV",
  },
  {
    name: "H10: an unmasked frame",
    bytes: buildFrame({ opcode: OP.text, payload: "not masked" }),
    closeCode: 1002,
    cause: "ERR_WS_UNMASKED_FRAME",
  },
  {
    name: "H4: a 64-bit length with the top bit set",
    bytes: masked({ opcode: OP.binary, declaredLength: 0x8000_0000_0000_0001n }),
    closeCode: 1002,
    cause: "ERR_WS_INVALID_PAYLOAD_LENGTH",
  },
  {
    name: "I3: a continuation frame with no message in progress",
    bytes: masked({ opcode: OP.cont, payload: "x" }),
    closeCode: 1002,
    cause: "ERR_WS_UNEXPECTED_CONTINUATION",
  },
  {
    name: "I4: a new text frame inside a fragmented message",
    bytes: concat(
      masked({ opcode: OP.text, fin: false, payload: "a" }),
      masked({ opcode: OP.text, payload: "b" }),
    ),
    closeCode: 1002,
    cause: "ERR_WS_EXPECTED_CONTINUATION",
  },
  {
    name: "I6: a fragmented ping",
    bytes: masked({ opcode: OP.ping, fin: false }),
    closeCode: 1002,
    cause: "ERR_WS_FRAGMENTED_CONTROL_FRAME",
  },
  {
    name: "J1: a ping of 126 bytes",
    bytes: masked({ opcode: OP.ping, payload: new Uint8Array(126) }),
    closeCode: 1002,
    cause: "ERR_WS_CONTROL_FRAME_TOO_LONG",
  },
  {
    name: "L2: a Close of 126 bytes",
    bytes: masked({ opcode: OP.close, payload: closeBody(1000, "r".repeat(124)) }),
    closeCode: 1002,
    cause: "ERR_WS_CONTROL_FRAME_TOO_LONG",
  },
  {
    name: "K3: invalid UTF-8 in a text message",
    bytes: masked({ opcode: OP.text, payload: Uint8Array.of(0x61, 0xc0, 0xaf) }),
    closeCode: 1007,
    cause: "ERR_WS_INVALID_UTF8",
  },
  {
    name: "K5: an encoded surrogate",
    bytes: masked({ opcode: OP.text, payload: Uint8Array.of(0xed, 0xa0, 0x80) }),
    closeCode: 1007,
    cause: "ERR_WS_INVALID_UTF8",
  },
  {
    name: "K2: a text message that ends inside a code point, across fragments",
    bytes: concat(
      masked({ opcode: OP.text, fin: false, payload: Uint8Array.of(0x61, 0xe2) }),
      masked({ opcode: OP.cont, fin: true, payload: Uint8Array.of(0x82) }),
    ),
    closeCode: 1007,
    cause: "ERR_WS_INVALID_UTF8",
  },
  {
    name: "K4: invalid UTF-8 fails fast, before the final fragment",
    bytes: masked({ opcode: OP.text, fin: false, payload: Uint8Array.of(0xff) }),
    closeCode: 1007,
    cause: "ERR_WS_INVALID_UTF8",
  },
  {
    name: "K7: a close reason that is not UTF-8",
    bytes: masked({ opcode: OP.close, payload: closeBody(1000, Uint8Array.of(0xff)) }),
    closeCode: 1007,
    cause: "ERR_WS_INVALID_CLOSE_REASON",
  },
  {
    name: "L1: a 1-byte Close body",
    bytes: masked({ opcode: OP.close, payload: Uint8Array.of(0x03) }),
    closeCode: 1002,
    cause: "ERR_WS_INVALID_CLOSE_PAYLOAD",
  },
  ...[1005, 1006, 1015, 999, 1004, 1016, 2999, 5000].map((code): Violation => ({
    name: `L3: close code ${code} on the wire`,
    bytes: masked({ opcode: OP.close, payload: closeBody(code) }),
    closeCode: 1002,
    cause: "ERR_WS_INVALID_CLOSE_CODE",
  })),
  {
    name: "H5/P5: a declared length over maxMessageBytes",
    bytes: masked({ opcode: OP.binary, declaredLength: 2 ** 32 }),
    closeCode: 1009,
    cause: "ERR_WS_MESSAGE_TOO_BIG",
  },
];

describe("protocol violations (P13)", () => {
  for (const violation of VIOLATIONS) {
    test(`${violation.name} → Close ${violation.closeCode}, TCP ends, others unaffected`, async (t) => {
      const { server, port, url } = await startServer(t);
      server.on("connection", (socket) => {
        socket.addEventListener("message", (e) => socket.send(e.data));
      });
      const bystander = await WS.open(url());
      const accepted = nextConnection(server);
      const raw = await RawClient.connect(port);
      t.after(() => raw.destroy());
      const { socket } = await accepted;
      const events = new SocketEvents(socket);
      // A valid message after the violation, in the same write: it must never be processed.
      raw.write(concat(violation.bytes, masked({ opcode: OP.text, payload: "after" })));

      const close = await raw.nextFrame();
      assert.equal(close.opcode, OP.close, "the first answer is the Close");
      assert.equal(close.masked, false);
      assert.equal(close.payload.readUInt16BE(0), violation.closeCode);
      // L19: the server ends TCP without waiting for our Close.
      await raw.waitForEnd();
      const info = await withTimeout(socket.closed, "the server to report");
      assert.deepEqual(
        {
          code: info.code,
          wasClean: info.wasClean,
          initiator: info.initiator,
          sentCode: info.sentCode,
          cause: info.cause?.code,
        },
        {
          code: 1006,
          wasClean: false,
          initiator: "local",
          sentCode: violation.closeCode,
          cause: violation.cause,
        },
      );
      await events.next("close");
      assert.ok(!events.types().includes("message"), "nothing was delivered");
      assert.equal(raw.pendingFrames, 0, "nothing but the Close was sent");

      bystander.send("still fine");
      assert.equal(await bystander.nextMessage(), "still fine");
      assert.equal(server.clients.size, 1);
      bystander.close();
      await withTimeout(bystander.closed, "the bystander to close");
    });
  }

  test("L20: after failing, the peer's Close reply is not processed: still 1006 with the cause", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    raw.write(masked({ opcode: 0x4 }));
    assert.equal((await raw.nextFrame()).payload.readUInt16BE(0), 1002);
    raw.sendClose(1002);
    const info = await socket.closed;
    assert.equal(info.code, 1006);
    assert.equal(info.cause?.code, "ERR_WS_INVALID_OPCODE");
  });

  test("P15: a ping flood is answered without queueing without bound, and the connection stays usable", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    const pings = [];
    for (let i = 0; i < 2000; i++) pings.push(masked({ opcode: OP.ping, payload: "p" }));
    raw.write(concat(...pings, masked({ opcode: OP.text, payload: "done" })));
    const events = new SocketEvents(socket);
    const message = await events.next("message");
    assert.equal(message.data, "done");
    await sleep(100);
    const pongs = raw.pendingFrames;
    assert.ok(pongs >= 1 && pongs <= 2000, `${pongs} pongs`);
    for (let i = 0; i < pongs; i++) assert.equal((await raw.nextFrame()).opcode, OP.pong);
    assert.equal(socket.readyState, 1);
  });

  test("H3/H14: frames split at every byte and non-minimal lengths are accepted", async (t) => {
    const { server, port } = await startServer(t);
    const accepted = nextConnection(server);
    const raw = await RawClient.connect(port);
    t.after(() => raw.destroy());
    const { socket } = await accepted;
    const events = new SocketEvents(socket);
    const bytes = concat(
      masked({ opcode: OP.text, payload: "split", lengthForm: 64 }),
      masked({ opcode: OP.binary, payload: Uint8Array.of(1, 2), lengthForm: 16 }),
    );
    for (const byte of bytes) {
      raw.write(Uint8Array.of(byte));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await events.next("message")).data, "split");
    assert.deepEqual(
      [...new Uint8Array((await events.next("message")).data as ArrayBuffer)],
      [1, 2],
    );
  });
});
