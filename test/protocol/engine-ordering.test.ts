/**
 * Processing in order: a message is handed to the host before a Close or a protocol error that
 * followed it in the same input takes effect, so the application can still answer it (Autobahn
 * 3.2, 4.x.3–5, 5.15 "strict"; RFC 6455 §5.5.1 lets an endpoint finish sending before its Close).
 * Also: misuse of caller-driven fragmentation, and the mask port on the receive path.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../../src/protocol/engine.js";
import type { Output } from "../../src/protocol/outputs.js";
import { DeterministicRandom as SeededRandom, FakeClock } from "../helpers/fake-ports.js";
import { RFC_MASK_KEY, buildFrame as buildRawFrame, type FrameSpec } from "../helpers/frames.js";

const buildFrame = (spec: Omit<FrameSpec, "maskKey"> & { mask?: boolean }): Uint8Array =>
  buildRawFrame(spec.mask === true ? { ...spec, maskKey: RFC_MASK_KEY } : spec);

const OP = { cont: 0, text: 1, binary: 2, close: 8 } as const;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

function server(): Engine {
  return new Engine({
    role: "server",
    ports: { random: new SeededRandom(1), clock: new FakeClock() },
  });
}

const types = (outputs: readonly Output[]): string[] => outputs.map((o) => o.type);

test("L7/ordering/server: a message then a Close in one read: the message first, the reply can still be sent", () => {
  const engine = server();
  engine.receive(
    concat(
      buildFrame({ opcode: OP.text, payload: utf8("question"), mask: true }),
      buildFrame({ opcode: OP.close, payload: Uint8Array.of(0x03, 0xe8), mask: true }),
    ),
  );
  assert.deepEqual(
    types(engine.takeOutputs()),
    ["message"],
    "only the message is handed out first",
  );
  assert.equal(engine.canSend, true, "the Close has not been processed yet");
  assert.equal(engine.send("text", utf8("answer")), true);
  const next = engine.takeOutputs();
  assert.deepEqual(
    types(next),
    ["write", "write", "closing", "shutdownWrite"],
    "the answer, then the echoed Close",
  );
  const [answer, close] = next as [Output & { data: Uint8Array }, Output & { data: Uint8Array }];
  assert.equal(answer.data[0], 0x81);
  assert.deepEqual([...close.data], [0x88, 0x02, 0x03, 0xe8]);
  assert.deepEqual(types(engine.takeOutputs()), []);
});

test("H6/ordering/server: a message then a reserved opcode in one read: the message first, then failure 1002", () => {
  const engine = server();
  engine.receive(
    concat(
      buildFrame({ opcode: OP.text, payload: utf8("hi"), mask: true }),
      Uint8Array.of(0x83, 0x80, 1, 2, 3, 4),
    ),
  );
  assert.deepEqual(types(engine.takeOutputs()), ["message"]);
  assert.equal(engine.send("text", utf8("hi")), true, "the echo is still allowed");
  const next = engine.takeOutputs();
  assert.deepEqual(types(next), ["write", "write", "closing", "shutdownWrite"]);
  assert.deepEqual([...(next[1] as Output & { data: Uint8Array }).data], [0x88, 0x02, 0x03, 0xea]);
});

test("ordering: with no message pending, a Close is processed at once", () => {
  const engine = server();
  engine.receive(buildFrame({ opcode: OP.close, payload: new Uint8Array(0), mask: true }));
  assert.deepEqual(types(engine.takeOutputs()), ["write", "closing", "shutdownWrite"]);
});

test("ordering: EOF right after a message and a Close still processes the Close first (clean)", () => {
  const engine = server();
  engine.receive(
    concat(
      buildFrame({ opcode: OP.text, payload: utf8("x"), mask: true }),
      buildFrame({ opcode: OP.close, payload: Uint8Array.of(0x03, 0xe8), mask: true }),
    ),
  );
  engine.receiveEof();
  const all = engine.takeOutputs();
  const closed = all.find((o) => o.type === "closed");
  assert.ok(closed !== undefined && closed.type === "closed");
  assert.equal(closed.outcome.wasClean, true);
  assert.equal(closed.outcome.code, 1000);
});

test("ordering: destroy() discards a deferred Close", () => {
  const engine = server();
  engine.receive(
    concat(
      buildFrame({ opcode: OP.text, payload: utf8("x"), mask: true }),
      buildFrame({ opcode: OP.close, payload: Uint8Array.of(0x03, 0xe8), mask: true }),
    ),
  );
  engine.destroy();
  const all = engine.takeOutputs();
  assert.deepEqual(types(all), ["message", "destroy", "closed"]);
  assert.deepEqual(types(engine.takeOutputs()), []);
});

test("I14: sendFrame refuses a continuation with no message started, and a new message inside one", () => {
  const engine = server();
  assert.throws(() => engine.sendFrame(OP.cont, utf8("x"), true), {
    code: "ERR_WS_INVALID_FRAGMENTATION",
  });
  assert.equal(engine.sendFrame(OP.text, utf8("a"), false), true);
  assert.throws(() => engine.sendFrame(OP.binary, utf8("b"), true), {
    code: "ERR_WS_INVALID_FRAGMENTATION",
  });
  assert.throws(() => engine.send("text", utf8("c")), { code: "ERR_WS_INVALID_FRAGMENTATION" });
  assert.equal(engine.ping(utf8("control frames may interleave")), true);
  assert.equal(engine.sendFrame(OP.cont, utf8("b"), true), true);
  assert.equal(engine.send("text", utf8("next message")), true);
});

test("L1: close() with reason bytes that are not UTF-8 throws and sends nothing", () => {
  const engine = server();
  assert.throws(() => engine.close(1000, Uint8Array.of(0xff)), {
    code: "ERR_WS_INVALID_CLOSE_REASON",
  });
  assert.deepEqual(types(engine.takeOutputs()), []);
  assert.equal(engine.phase, "open");
});

test("H11: the accelerator's applyMask also unmasks received frames", () => {
  let calls = 0;
  const engine = new Engine({
    role: "server",
    ports: {
      random: new SeededRandom(2),
      clock: new FakeClock(),
      accelerators: {
        applyMask(bytes, key, offset) {
          calls++;
          for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ key[(offset + i) & 3]!;
          return (offset + bytes.length) & 3;
        },
      },
    },
  });
  engine.receive(buildFrame({ opcode: OP.binary, payload: Uint8Array.of(1, 2, 3), mask: true }));
  const [message] = engine.takeOutputs();
  assert.ok(message !== undefined && message.type === "message");
  assert.deepEqual([...message.data], [1, 2, 3]);
  assert.equal(calls, 1);
});

test("L19/90.1.3: a failing client sends its Close but leaves TCP to the server, then gives up after tcpCloseWaitMs", () => {
  const clock = new FakeClock();
  const engine = new Engine({
    role: "client",
    ports: { random: new SeededRandom(3), clock },
    tcpCloseWaitMs: 2000,
  });
  engine.receive(Uint8Array.of(0x83, 0x00)); // reserved opcode
  assert.deepEqual(
    types(engine.takeOutputs()),
    ["write", "closing"],
    "no half-close: the server closes TCP first",
  );
  assert.equal(engine.nextDeadline(), clock.now() + 2000);
  clock.advance(2000);
  engine.handleTimeout();
  const last = engine.takeOutputs();
  assert.deepEqual(types(last), ["destroy", "closed"]);
  const closed = last[1];
  assert.ok(closed !== undefined && closed.type === "closed");
  assert.equal(closed.outcome.code, 1006);
  assert.equal(closed.outcome.cause?.code, "ERR_WS_INVALID_OPCODE");
});
