/**
 * Engine framing and masking (SPEC.md H, P1, P2): what each role sends, byte for byte, and how it
 * judges the frames it receives, with every input replayed at every split.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../../src/protocol/engine.js";
import { boundarySplitPoints } from "../helpers/chunking.js";
import { EngineHarness, ROLES, forEveryChunking, out } from "../helpers/engine-harness.js";
import { fakePorts } from "../helpers/fake-ports.js";
import {
  OP,
  RFC_MASK_KEY,
  buildFrame,
  concat,
  hex,
  patternBytes,
  toHex,
  utf8,
} from "../helpers/frames.js";

test("H12/client: a text frame 'Hello' from the server is one message", () => {
  forEveryChunking("client", hex("81 05 48 65 6c 6c 6f"), (h) => {
    h.expect(out.message("text", "Hello"));
  });
});

test("H12/server: a masked text frame 'Hello' from the client is unmasked", () => {
  forEveryChunking("server", hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), (h) => {
    h.expect(out.message("text", "Hello"));
  });
});

test("H12/server: sending 'Hello' writes exactly 81 05 48 65 6c 6c 6f", () => {
  const h = new EngineHarness("server");
  assert.equal(h.engine.send("text", utf8("Hello")), true);
  h.expect(out.write(hex("81 05 48 65 6c 6c 6f")));
});

test("H12/client: sending 'Hello' with key 37 fa 21 3d writes exactly the RFC bytes", () => {
  const h = new EngineHarness("client", { script: [RFC_MASK_KEY] });
  h.engine.send("text", utf8("Hello"));
  h.expect(out.write(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")));
});

test("H12/server: sendFrame writes the RFC's fragmented 'Hello' (01 03 48 65 6c, 80 02 6c 6f)", () => {
  const h = new EngineHarness("server");
  assert.equal(h.engine.sendFrame(OP.text, utf8("Hel"), false), true);
  assert.equal(h.engine.sendFrame(OP.cont, utf8("lo"), true), true);
  h.expect(out.write(hex("01 03 48 65 6c 80 02 6c 6f")));
});

test("H12/client: a masked pong 'Hello' is 8a 85 37 fa 21 3d 7f 9f 4d 51 58", () => {
  const h = new EngineHarness("client", { script: [RFC_MASK_KEY] });
  h.engine.pong(utf8("Hello"));
  h.expect(out.write(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")));
});

test("H12/server: an unmasked ping 'Hello' is 89 05 48 65 6c 6c 6f", () => {
  const h = new EngineHarness("server");
  h.engine.ping(utf8("Hello"));
  h.expect(out.write(hex("89 05 48 65 6c 6c 6f")));
});

test("H12/server: 256 and 65 536 binary bytes get the RFC headers 82 7E 01 00 and 82 7F …", () => {
  const h = new EngineHarness("server");
  h.engine.send("binary", patternBytes(256));
  h.expect(out.write(concat(hex("82 7e 01 00"), patternBytes(256))));
  h.engine.send("binary", patternBytes(65536));
  h.expect(out.write(concat(hex("82 7f 00 00 00 00 00 01 00 00"), patternBytes(65536))));
});

for (const role of ROLES) {
  test(`H2/H3/${role}: every length is sent with the shortest length form`, () => {
    const h = new EngineHarness(role);
    for (const length of [0, 1, 125, 126, 127, 1024, 1025, 65535, 65536, 70000]) {
      const payload = patternBytes(length);
      h.engine.send("binary", payload);
      // The reference builder uses the shortest form (it is checked against RFC 6455 §5.7
      // vectors in frame.test.ts), so equal bytes mean the shortest form was used.
      h.expect(out.sent(OP.binary, payload));
    }
  });

  test(`H13/I9/${role}: a message the caller fragments goes out frame by frame`, () => {
    const h = new EngineHarness(role);
    h.engine.sendFrame(OP.binary, hex("01"), false);
    h.engine.sendFrame(OP.cont, new Uint8Array(0), false);
    h.engine.sendFrame(OP.cont, hex("02 03"), true);
    h.expect(
      out.sent(OP.binary, hex("01"), false),
      out.sent(OP.cont, "", false),
      out.sent(OP.cont, hex("02 03"), true),
    );
  });

  test(`H16/${role}: empty text, binary, ping and pong frames are sent`, () => {
    const h = new EngineHarness(role);
    h.engine.send("text", new Uint8Array(0));
    h.engine.send("binary", new Uint8Array(0));
    h.engine.ping();
    h.engine.pong();
    h.expect(out.sent(OP.text), out.sent(OP.binary), out.sent(OP.ping), out.sent(OP.pong));
  });
}

test("H8/P1/client: every frame (data, ping, pong, close) is masked with a fresh key", () => {
  const h = new EngineHarness("client");
  h.engine.send("text", utf8("a"));
  h.engine.send("binary", patternBytes(2000));
  h.engine.sendFrame(OP.text, utf8("b"), false);
  h.engine.sendFrame(OP.cont, utf8("c"), true);
  h.engine.ping(utf8("p"));
  h.engine.pong(utf8("q"));
  h.receive(h.peerFrame(OP.ping, "r")); // the automatic pong is masked too
  h.engine.close(1000);
  const writes = h.take().filter((o) => o.type === "write");
  assert.equal(writes.length, 8);
  assert.equal(h.random.fills.length, 8, "one key drawn per frame");
  const keys = new Set<string>();
  writes.forEach((w, i) => {
    assert.equal(w.data[1]! & 0x80, 0x80, `frame ${i} has MASK=1`);
    const lengthCode = w.data[1]! & 0x7f;
    const keyAt = lengthCode === 126 ? 4 : lengthCode === 127 ? 10 : 2;
    const key = toHex(w.data.subarray(keyAt, keyAt + 4));
    assert.equal(key, toHex(h.random.fills[i]!), `frame ${i} uses the key drawn for it`);
    keys.add(key);
  });
  assert.equal(keys.size, 8, "no key is reused");
});

test("H9/server: no frame is ever masked", () => {
  const h = new EngineHarness("server");
  h.engine.send("text", utf8("a"));
  h.engine.send("binary", patternBytes(2000));
  h.engine.ping(utf8("p"));
  h.engine.pong(utf8("q"));
  h.receive(h.peerFrame(OP.ping, "r"));
  h.engine.close(1000);
  h.expect(
    out.write(hex("81 01 61")),
    out.write(buildFrame({ opcode: OP.binary, payload: patternBytes(2000) })),
    out.write(hex("89 01 70 8a 01 71")),
    out.ping("r"),
    out.write(hex("8a 01 72 88 02 03 e8")),
    out.closing("local"),
  );
  assert.equal(h.random.fills.length, 0, "a server draws no mask keys");
});

test("P2/client: the caller's payload is not changed by masking", () => {
  const h = new EngineHarness("client");
  const payload = patternBytes(300);
  h.engine.send("binary", payload);
  assert.equal(toHex(payload), toHex(patternBytes(300)));
  h.engine.ping(utf8("ping"));
  h.expect(out.sent(OP.binary, patternBytes(300)), out.sent(OP.ping, "ping"));
});

test("P2/client: the written frame is a private copy; later changes to the payload do not leak", () => {
  const h = new EngineHarness("client");
  const payload = patternBytes(10);
  h.engine.send("binary", payload);
  payload.fill(0);
  h.expect(out.sent(OP.binary, patternBytes(10)));
});

test("H8/client: the accelerator's applyMask is used when given, and must match", () => {
  let calls = 0;
  const h = new EngineHarness("client", {
    accelerators: {
      applyMask(bytes, key, offset) {
        calls++;
        for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ key[(offset + i) & 3]!;
        return (offset + bytes.length) & 3;
      },
    },
  });
  h.engine.send("text", utf8("Hello"));
  h.engine.send("binary", new Uint8Array(0));
  h.expect(out.sent(OP.text, "Hello"), out.sent(OP.binary));
  assert.equal(calls, 1, "an empty payload needs no masking");
});

test("H10/server: an unmasked frame fails the connection with 1002", () => {
  forEveryChunking("server", hex("81 05 48 65 6c 6c 6f"), (h) => {
    h.expectFailing(1002, "ERR_WS_UNMASKED_FRAME");
  });
});

test("H10/client: a masked frame fails the connection with 1002", () => {
  forEveryChunking("client", hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), (h) => {
    h.expectFailing(1002, "ERR_WS_MASKED_FRAME");
  });
});

test("H10/server: the failing Close is unmasked: 88 02 03 ea", () => {
  const h = new EngineHarness("server");
  h.receive(hex("82 00"));
  h.expect(out.write(hex("88 02 03 ea")), out.closing("local"), out.shutdownWrite);
});

test("H10/client: the failing Close is masked: 88 82 <key> 03^k0 ea^k1", () => {
  const key = hex("11 22 33 44");
  const h = new EngineHarness("client", { script: [key] });
  h.receive(hex("82 80 00 00 00 00"));
  // The client does not half-close: it waits for the server to end TCP.
  h.expect(out.write(hex("88 82 11 22 33 44 12 c8")), out.closing("local"));
});

for (const role of ROLES) {
  test(`H10/${role}: a wrongly masked control frame also fails with 1002`, () => {
    const h = new EngineHarness(role);
    const wrong = h.peerFrame(OP.ping, "x", { masked: !h.peerMasks });
    forEveryChunking(role, wrong, (each) => {
      each.expectFailing(1002, role === "server" ? "ERR_WS_UNMASKED_FRAME" : "ERR_WS_MASKED_FRAME");
    });
  });

  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    test(`H6/${role}: reserved opcode 0x${opcode.toString(16)} fails the connection with 1002`, () => {
      const frame = new EngineHarness(role).peerFrame(opcode, "x");
      forEveryChunking(role, frame, (h) => h.expectFailing(1002, "ERR_WS_INVALID_OPCODE"));
    });
  }

  for (const [rsv, name] of [
    [4, "RSV1"],
    [2, "RSV2"],
    [1, "RSV3"],
    [7, "all RSV bits"],
  ] as const) {
    test(`H7/${role}: ${name} without a negotiated extension fails with 1002`, () => {
      const frame = new EngineHarness(role).peerFrame(OP.text, "x", { rsv });
      forEveryChunking(role, frame, (h) => h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV"));
    });
  }

  test(`H7/${role}: an RSV bit on a control frame fails with 1002`, () => {
    const frame = new EngineHarness(role).peerFrame(OP.ping, "", { rsv: 4 });
    forEveryChunking(role, frame, (h) => h.expectFailing(1002, "ERR_WS_UNEXPECTED_RSV"));
  });

  test(`H4/${role}: a 64-bit length with the top bit set fails with 1002`, () => {
    const frame = new EngineHarness(role).peerFrame(OP.binary, "", {
      declaredLength: 0x8000000000000001n,
    });
    forEveryChunking(role, frame, (h) => h.expectFailing(1002, "ERR_WS_INVALID_PAYLOAD_LENGTH"));
  });

  test(`H3/${role}: non-minimal 16- and 64-bit lengths are accepted on receipt`, () => {
    const h0 = new EngineHarness(role);
    const input = concat(
      h0.peerFrame(OP.text, "ab", { lengthForm: 16 }),
      h0.peerFrame(OP.binary, hex("01 02 03"), { lengthForm: 64 }),
      h0.peerFrame(OP.ping, "", { lengthForm: 7 }),
    );
    forEveryChunking(role, input, (h) => {
      h.expect(
        out.message("text", "ab"),
        out.message("binary", hex("01 02 03")),
        out.ping(),
        out.sent(OP.pong),
      );
    });
  });

  test(`H14/${role}: several frames in one read and frames split anywhere`, () => {
    const h0 = new EngineHarness(role);
    const input = concat(
      h0.peerFrame(OP.text, "one"),
      h0.peerFrame(OP.binary, patternBytes(130)),
      h0.peerFrame(OP.text, ""),
      h0.peerFrame(OP.binary, hex("ff")),
    );
    forEveryChunking(role, input, (h) => {
      h.expect(
        out.message("text", "one"),
        out.message("binary", patternBytes(130)),
        out.message("text", ""),
        out.message("binary", hex("ff")),
      );
    });
  });

  test(`H16/${role}: zero-length payloads are legal for every opcode`, () => {
    const h0 = new EngineHarness(role);
    const input = concat(
      h0.peerFrame(OP.text, ""),
      h0.peerFrame(OP.binary, ""),
      h0.peerFrame(OP.ping, ""),
      h0.peerFrame(OP.pong, ""),
      h0.peerFrame(OP.close, ""),
    );
    forEveryChunking(role, input, (h) => {
      h.expect(
        out.message("text", ""),
        out.message("binary", ""),
        out.ping(),
        out.sent(OP.pong),
        out.pong(),
        out.close(),
        out.closing("remote", { code: 1005, payload: new Uint8Array(0) }),
        ...(role === "server" ? [out.shutdownWrite] : []),
      );
    });
  });

  test(`H2/${role}: a 65 536-byte message with a 64-bit length arrives whole`, () => {
    const payload = patternBytes(65536, 11);
    const frame = new EngineHarness(role).peerFrame(OP.binary, payload);
    forEveryChunking(
      role,
      frame,
      (h) => h.expect(out.message("binary", payload)),
      {},
      boundarySplitPoints(frame.length),
    );
  });

  test(`H14/${role}: receive() takes ownership: a single-piece message is a view of the chunk`, () => {
    const h = new EngineHarness(role);
    const chunk = h.peerFrame(OP.binary, "abc");
    h.engine.receive(chunk);
    const [message] = h.take();
    assert.ok(message?.type === "message");
    assert.equal(message.data.buffer, chunk.buffer);
  });

  test(`H14/${role}: an empty chunk is harmless`, () => {
    const h = new EngineHarness(role);
    h.engine.receive(new Uint8Array(0));
    h.expectNothing();
    assert.equal(h.engine.phase, "open");
    assert.equal(h.engine.canSend, true);
    assert.equal(h.engine.nextDeadline(), undefined);
    assert.equal(h.engine.outcome, undefined);
  });
}

test("H8/client: a real-looking key sequence never repeats over many frames", () => {
  const { ports, random } = fakePorts({ seed: 7 });
  const engine = new Engine({ role: "client", ports });
  for (let i = 0; i < 500; i++) engine.send("binary", new Uint8Array(1));
  const keys = new Set(random.fills.map((k) => toHex(k)));
  assert.equal(random.fills.length, 500);
  assert.equal(keys.size, 500);
});
