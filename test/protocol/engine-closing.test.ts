/**
 * The closing handshake through the engine (SPEC.md L1–L28, M): Close bodies, who initiated,
 * echoing, what is discarded, the role asymmetry of TCP teardown, the single close deadline on a
 * fake clock, failure reporting, and `closed` exactly once and last — in both roles.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isWireCloseCode } from "../../src/protocol/close-codes.js";
import { Engine, type Role } from "../../src/protocol/engine.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import type { Output } from "../../src/protocol/outputs.js";
import { EngineHarness, ROLES, forEveryChunking, out } from "../helpers/engine-harness.js";
import { fakePorts } from "../helpers/fake-ports.js";
import { OP, closeBody, concat, hex, patternBytes, utf8 } from "../helpers/frames.js";

const other = (role: Role): Role => (role === "client" ? "server" : "client");

/** The outputs that follow receiving the peer's Close while open (RFC 6455 §5.5.1). */
function echoed(role: Role, code: number | undefined, reason = "") {
  const payload = closeBody(code, reason);
  return [
    out.sent(OP.close, payload),
    out.closing("remote", { code: code ?? 1005, reason, payload }),
    // L11: the server closes TCP as soon as both Close frames are exchanged.
    ...(role === "server" ? [out.shutdownWrite] : []),
  ];
}

function assertRangeError(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RangeError, String(error));
    assert.equal((error as RangeError & { code?: string }).code, code);
    return true;
  });
}

for (const role of ROLES) {
  const peer = new EngineHarness(role);
  const f = peer.peerFrame.bind(peer);

  // ---- L1–L4, M: the Close body ---------------------------------------------------------------

  test(`L1/L7/L17/${role}: an empty Close: the reply is empty and the peer's code is 1005`, () => {
    forEveryChunking(role, f(OP.close, ""), (h) => {
      h.expect(...echoed(role, undefined));
      h.engine.receiveEof();
      h.expectClosed(
        { code: 1005, wasClean: true, initiator: "remote", sentCode: 1005 },
        role === "client" ? [out.shutdownWrite] : [],
      );
    });
  });

  test(`L1/${role}: a 1-byte Close body fails with 1002`, () => {
    forEveryChunking(role, f(OP.close, hex("03")), (h) =>
      h.expectFailing(1002, "ERR_WS_INVALID_CLOSE_PAYLOAD"),
    );
  });

  test(`L3/M1/${role}: every code that may not be on the wire fails with 1002`, () => {
    for (let code = 0; code <= 0xffff; code++) {
      if (isWireCloseCode(code)) continue;
      const h = new EngineHarness(role);
      h.receive(f(OP.close, closeBody(code)));
      const outputs = h.take();
      const sent = outputs[0];
      assert.ok(sent?.type === "write", `code ${code}`);
      const expected = role === "server" ? 3 : 2;
      assert.equal(
        outputs.length,
        expected,
        `code ${code}: Close, closing (server: shutdownWrite)`,
      );
      h.engine.receiveEof();
      const outcome = h.engine.outcome!;
      assert.ok(outcome.cause instanceof ProtocolError, `code ${code}`);
      assert.equal(outcome.cause.code, "ERR_WS_INVALID_CLOSE_CODE", `code ${code}`);
      assert.equal(outcome.sentCode, 1002, `code ${code}`);
    }
  });

  test(`L3/L24/${role}: the reserved codes 1004, 1005, 1006, 1015 on the wire fail with 1002`, () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
      forEveryChunking(role, f(OP.close, closeBody(code, "r")), (h) =>
        h.expectFailing(1002, "ERR_WS_INVALID_CLOSE_CODE"),
      );
    }
  });

  test(`L3/M1/${role}: every code that may be on the wire is accepted and echoed`, () => {
    for (let code = 0; code <= 0xffff; code++) {
      if (!isWireCloseCode(code)) continue;
      const h = new EngineHarness(role);
      h.receive(f(OP.close, closeBody(code)));
      h.expect(...echoed(role, code));
    }
  });

  test(`L2/L7/${role}: a 125-byte Close payload (123-byte reason) is accepted and echoed`, () => {
    const reason = "r".repeat(120) + "é€".slice(0, 1) + "!"; // 120 + 2 + 1 = 123 bytes
    assert.equal(utf8(reason).length, 123);
    forEveryChunking(role, f(OP.close, closeBody(1000, reason)), (h) =>
      h.expect(...echoed(role, 1000, reason)),
    );
  });

  test(`L2/J1/${role}: a 126-byte Close payload fails with 1002`, () => {
    forEveryChunking(role, f(OP.close, closeBody(1000, "r".repeat(124))), (h) =>
      h.expectFailing(1002, "ERR_WS_CONTROL_FRAME_TOO_LONG"),
    );
  });

  // ---- L5–L9: starting and answering the closing handshake --------------------------------------

  test(`L7/L17/L18/${role}: the peer's Close is echoed byte for byte; clean once TCP ends`, () => {
    forEveryChunking(role, f(OP.close, closeBody(4001, "bye ✓")), (h) => {
      h.expect(...echoed(role, 4001, "bye ✓"));
      assert.equal(h.engine.phase, "closing");
      assert.equal(h.engine.canSend, false);
      h.engine.receiveEof();
      h.expectClosed(
        { code: 4001, reason: "bye ✓", wasClean: true, initiator: "remote", sentCode: 4001 },
        role === "client" ? [out.shutdownWrite] : [],
      );
    });
  });

  test(`L5/L6/${role}: close() sends our Close; the peer's reply completes the handshake`, () => {
    const h = new EngineHarness(role);
    assert.equal(h.engine.close(1000, "done"), true);
    h.expect(out.close(1000, "done"), out.closing("local"));
    assert.equal(h.engine.phase, "closing");
    h.receive(f(OP.close, closeBody(1001, "ok")));
    // L11/L12: the server half-closes now; the client waits for the server's FIN.
    h.expect(...(role === "server" ? [out.shutdownWrite] : []));
    h.engine.receiveEof();
    h.expectClosed(
      { code: 1001, reason: "ok", wasClean: true, initiator: "local", sentCode: 1000 },
      role === "client" ? [out.shutdownWrite] : [],
    );
  });

  test(`L5/H13/${role}: after close(), send/sendFrame/ping/pong send nothing`, () => {
    const h = new EngineHarness(role);
    h.engine.close();
    h.expect(out.close(), out.closing("local"));
    assert.equal(h.engine.canSend, false);
    assert.equal(h.engine.send("text", utf8("x")), false);
    assert.equal(h.engine.send("binary", utf8("x")), false);
    assert.equal(h.engine.sendFrame(OP.text, utf8("x"), false), false);
    assert.equal(h.engine.ping(), false);
    assert.equal(h.engine.pong(), false);
    assert.equal(h.engine.close(1000), false, "the closing handshake starts once");
    h.expectNothing();
  });

  test(`L9/${role}: data arriving after our Close is not delivered, but the Close is`, () => {
    const input = concat(
      f(OP.text, "dropped"),
      f(OP.binary, hex("01"), { fin: false }),
      f(OP.cont, hex("02")),
      f(OP.close, closeBody(1000)),
    );
    const setup = (h: EngineHarness): void => {
      h.engine.close(3000);
      h.expect(out.close(3000), out.closing("local"));
    };
    forEveryChunking(
      role,
      input,
      (h) => {
        h.expect(...(role === "server" ? [out.shutdownWrite] : []));
        h.engine.transportClosed();
        h.expectClosed({ code: 1000, wasClean: true, initiator: "local", sentCode: 3000 });
      },
      { setup },
    );
  });

  test(`L8/L26/${role}: nothing after the peer's Close is processed, not even garbage`, () => {
    const input = concat(
      f(OP.close, closeBody(1000)),
      f(OP.text, "late"),
      f(OP.ping, "late"),
      hex("ff ff ff ff"),
    );
    forEveryChunking(role, input, (h) => {
      h.expect(...echoed(role, 1000));
      h.receive(f(OP.close, closeBody(1001)), hex("83 00"));
      h.expectNothing();
      h.engine.receiveEof();
      h.expectClosed(
        { code: 1000, wasClean: true, initiator: "remote", sentCode: 1000 },
        role === "client" ? [out.shutdownWrite] : [],
      );
    });
  });

  test(`L10/${role}: simultaneous close: each side reports the other's code`, () => {
    const h = new EngineHarness(role);
    h.engine.close(4000, "mine");
    h.expect(out.close(4000, "mine"), out.closing("local"));
    h.receive(f(OP.close, closeBody(4001, "theirs")));
    h.expect(...(role === "server" ? [out.shutdownWrite] : []));
    h.engine.receiveEof();
    h.expectClosed(
      { code: 4001, reason: "theirs", wasClean: true, initiator: "local", sentCode: 4000 },
      role === "client" ? [out.shutdownWrite] : [],
    );
  });

  // ---- L11–L16: TCP teardown and the single deadline --------------------------------------------

  test(`L12/L16/${role}: after the exchange, a peer that never ends TCP is dropped after tcpCloseWaitMs, still clean`, () => {
    const h = new EngineHarness(role, { tcpCloseWaitMs: 2_000, closeTimeoutMs: 10_000 });
    const t0 = h.clock.now();
    h.receive(f(OP.close, closeBody(1000)));
    h.expect(...echoed(role, 1000));
    assert.equal(h.engine.nextDeadline(), t0 + 2_000);
    h.clock.advance(1_999);
    h.engine.handleTimeout();
    h.expectNothing();
    h.clock.advance(1);
    h.engine.handleTimeout();
    h.expectClosed({ code: 1000, wasClean: true, initiator: "remote", sentCode: 1000 }, [
      out.destroy,
    ]);
  });

  test(`L13/L14/${role}: no reply to our Close before closeTimeoutMs: destroy, 1006, not clean`, () => {
    const h = new EngineHarness(role, { closeTimeoutMs: 5_000 });
    const t0 = h.clock.now();
    assert.equal(h.engine.nextDeadline(), undefined, "no deadline while open");
    h.engine.close(1001);
    h.take();
    assert.equal(h.engine.nextDeadline(), t0 + 5_000);
    h.clock.advance(4_999);
    h.engine.handleTimeout();
    h.expectNothing();
    h.clock.advance(1);
    h.engine.handleTimeout();
    h.expectClosed(
      {
        code: 1006,
        wasClean: false,
        initiator: "local",
        sentCode: 1001,
        cause: "ERR_WS_CLOSE_TIMEOUT",
      },
      [out.destroy],
    );
  });

  test(`L12/${role}: one deadline: the peer's Close late in the close timeout does not extend it`, () => {
    const h = new EngineHarness(role, { closeTimeoutMs: 10_000, tcpCloseWaitMs: 2_000 });
    const t0 = h.clock.now();
    h.engine.close(1000);
    h.take();
    h.clock.advance(9_000);
    h.receive(f(OP.close, closeBody(1000)));
    h.take();
    assert.equal(h.engine.nextDeadline(), t0 + 10_000, "not t0 + 11 000: waits never add up");
    h.clock.set(t0 + 10_000);
    h.engine.handleTimeout();
    h.expectClosed({ code: 1000, wasClean: true, initiator: "local", sentCode: 1000 }, [
      out.destroy,
    ]);
  });

  test(`L12/${role}: an early reply shortens the deadline to tcpCloseWaitMs from then`, () => {
    const h = new EngineHarness(role, { closeTimeoutMs: 10_000, tcpCloseWaitMs: 2_000 });
    const t0 = h.clock.now();
    h.engine.close(1000);
    h.clock.advance(1_000);
    h.receive(f(OP.close, closeBody(1000)));
    h.take();
    assert.equal(h.engine.nextDeadline(), t0 + 3_000);
  });

  test(`L19/${role}: after a failure the wait for TCP is tcpCloseWaitMs, then destroy`, () => {
    const h = new EngineHarness(role, { tcpCloseWaitMs: 700 });
    const t0 = h.clock.now();
    h.receive(hex("83 00"));
    h.expect(
      out.close(1002),
      out.closing("local"),
      ...(role === "server" ? [out.shutdownWrite] : []),
    );
    assert.equal(h.engine.nextDeadline(), t0 + 700);
    h.clock.advance(700);
    h.engine.handleTimeout();
    h.expectClosed(
      {
        code: 1006,
        wasClean: false,
        initiator: "local",
        sentCode: 1002,
        cause: "ERR_WS_INVALID_OPCODE",
      },
      [out.destroy],
    );
  });

  test(`L11/L12/${role}: the two engines tear TCP down in the right order`, () => {
    // Wire a client and a server engine; the server must half-close first.
    const local = new EngineHarness(role);
    const remote = new EngineHarness(other(role));
    const deliver = (from: EngineHarness, to: EngineHarness): Output[] => {
      const outputs = from.take();
      for (const o of outputs) {
        if (o.type === "write") to.engine.receive(o.data.slice());
        if (o.type === "shutdownWrite") to.engine.receiveEof();
      }
      return outputs;
    };
    local.engine.close(1000, "bye");
    const order: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (const [from, to] of [
        [local, remote],
        [remote, local],
      ] as const) {
        for (const o of deliver(from, to)) {
          if (o.type === "shutdownWrite" || o.type === "closed")
            order.push(`${from.role} ${o.type}`);
        }
      }
    }
    assert.deepEqual(order, [
      "server shutdownWrite",
      "client shutdownWrite",
      "client closed",
      "server closed",
    ]);
    for (const h of [local, remote]) {
      assert.equal(h.engine.outcome?.wasClean, true, `${h.role} is clean`);
      assert.equal(h.engine.outcome?.code, 1000);
      assert.equal(h.engine.outcome?.reason, "bye");
      assert.equal(h.engine.outcome?.initiator, h === local ? "local" : "remote");
    }
  });

  // ---- L19–L21: failing, losing the transport, destroying -----------------------------------

  test(`L19/L20/${role}: a failure caused by a bad Close reply still reports 1006, not clean`, () => {
    const h = new EngineHarness(role);
    h.engine.close(1000);
    h.expect(out.close(1000), out.closing("local"));
    h.receive(f(OP.close, hex("03")));
    h.expectFailing(1002, "ERR_WS_INVALID_CLOSE_PAYLOAD", {
      closeAlreadySent: true,
      sentCode: 1000,
    });
  });

  test(`L19/${role}: a protocol error while closing sends no second Close`, () => {
    const h = new EngineHarness(role);
    h.engine.close(1000);
    h.take();
    h.receive(f(OP.cont, "x"));
    h.expectFailing(1002, "ERR_WS_UNEXPECTED_CONTINUATION", {
      closeAlreadySent: true,
      sentCode: 1000,
    });
  });

  test(`L19/${role}: fail() sends the error's code (e.g. 1011) and never escapes`, () => {
    const h = new EngineHarness(role);
    h.engine.fail(new ProtocolError("ERR_WS_INTERNAL_ERROR", "the application broke"));
    h.expectFailing(1011, "ERR_WS_INTERNAL_ERROR");
  });

  test(`P13/${role}: an unexpected exception inside the engine fails with 1011, never throws`, () => {
    const bug = new TypeError("accelerator bug");
    const h = new EngineHarness(role, {
      accelerators: {
        isUtf8() {
          throw bug;
        },
      },
    });
    h.receive(f(OP.text, "a text long enough to reach the accelerator"));
    h.expectFailing(1011, "ERR_WS_INTERNAL_ERROR");
    const cause = h.engine.outcome?.cause;
    assert.ok(cause instanceof ProtocolError);
    assert.equal(cause.cause, bug, "the original error is kept as the cause's cause");
  });

  test(`L21/${role}: the transport lost while open: 1006, not clean, with the transport error`, () => {
    const h = new EngineHarness(role);
    const error = new Error("ECONNRESET");
    h.engine.transportClosed(error);
    h.expectClosed({
      code: 1006,
      wasClean: false,
      initiator: "remote",
      cause: "ERR_WS_CONNECTION_LOST",
    });
    const cause = h.engine.outcome?.cause;
    assert.ok(cause !== undefined && !(cause instanceof ProtocolError));
    assert.equal(cause.error, error);
  });

  test(`L21/${role}: EOF while open: the engine half-closes back; 1006, not clean`, () => {
    const h = new EngineHarness(role);
    h.engine.receiveEof();
    h.expectClosed(
      { code: 1006, wasClean: false, initiator: "remote", cause: "ERR_WS_CONNECTION_LOST" },
      [out.shutdownWrite],
    );
  });

  test(`L13/L21/${role}: EOF after our Close but before the peer's: 1006, not clean`, () => {
    const h = new EngineHarness(role);
    h.engine.close(1000);
    h.take();
    h.engine.receiveEof();
    h.expectClosed(
      {
        code: 1006,
        wasClean: false,
        initiator: "local",
        sentCode: 1000,
        cause: "ERR_WS_CONNECTION_LOST",
      },
      [out.shutdownWrite],
    );
  });

  test(`L15/${role}: destroy() drops TCP at once: 1006, not clean, initiated here`, () => {
    const h = new EngineHarness(role);
    h.receive(f(OP.text, "before"));
    h.engine.destroy();
    h.expectClosed({ code: 1006, wasClean: false, initiator: "local", cause: "ERR_WS_DESTROYED" }, [
      out.message("text", "before"),
      out.destroy,
    ]);
  });

  test(`L16/${role}: destroy() after the Close exchange is still clean`, () => {
    const h = new EngineHarness(role);
    h.receive(f(OP.close, closeBody(1000)));
    h.take();
    h.engine.destroy();
    h.expectClosed({ code: 1000, wasClean: true, initiator: "remote", sentCode: 1000 }, [
      out.destroy,
    ]);
  });

  test(`L28/${role}: 'closing' is emitted once and 'closed' exactly once, last`, () => {
    const h = new EngineHarness(role);
    h.engine.close(1000);
    h.receive(f(OP.ping, "x"), f(OP.close, closeBody(1000)));
    h.engine.fail(new ProtocolError("ERR_WS_INTERNAL_ERROR", "x"));
    h.engine.receiveEof();
    h.engine.receiveEof();
    h.engine.transportClosed();
    h.take();
    assert.equal(h.log.filter((o) => o.type === "closing").length, 1);
    h.expectTerminal();
  });

  // ---- close() arguments (L24, M2) ------------------------------------------------------------

  test(`L24/M2/${role}: close() refuses codes that may not be sent, before any state check`, () => {
    const h = new EngineHarness(role);
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5, Number.NaN]) {
      assertRangeError(() => h.engine.close(code), "ERR_WS_INVALID_CLOSE_CODE");
    }
    h.expectNothing();
    h.engine.destroy();
    h.take();
    assertRangeError(() => h.engine.close(1005), "ERR_WS_INVALID_CLOSE_CODE");
  });

  test(`M2/${role}: close() accepts 1000-1003, 1007-1014 and 3000-4999`, () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
      const h = new EngineHarness(role);
      assert.equal(h.engine.close(code), true);
      h.expect(out.close(code), out.closing("local"));
    }
  });

  test(`L2/${role}: close() refuses a reason over 123 bytes or without a code (RangeError)`, () => {
    const h = new EngineHarness(role);
    assertRangeError(() => h.engine.close(1000, "é".repeat(62)), "ERR_WS_INVALID_CLOSE_REASON");
    assertRangeError(() => h.engine.close(undefined, "why"), "ERR_WS_INVALID_CLOSE_REASON");
    h.expectNothing();
    assert.equal(h.engine.close(1000, "é".repeat(61) + "!"), true);
    h.expect(out.close(1000, "é".repeat(61) + "!"), out.closing("local"));
  });

  test(`L1/${role}: close() with a reason given as bytes sends those bytes`, () => {
    const h = new EngineHarness(role);
    h.engine.close(3001, utf8("as bytes"));
    h.expect(out.close(3001, "as bytes"), out.closing("local"));
  });

  test(`P13/${role}: a failure while open mid-message discards the partial message`, () => {
    const input = concat(f(OP.binary, patternBytes(10), { fin: false }), f(OP.text, "x"));
    forEveryChunking(role, input, (h) => h.expectFailing(1002, "ERR_WS_EXPECTED_CONTINUATION"));
  });
}

test("L11/L12: wired together, the server half-closes first and both ends are clean", () => {
  // The explicit sequence for a client-initiated close (the demo's scenario).
  const client = new Engine({ role: "client", ports: fakePorts().ports });
  const server = new Engine({ role: "server", ports: fakePorts().ports });
  client.close(1000, "bye");
  const c1 = client.takeOutputs();
  assert.deepEqual(
    c1.map((o) => o.type),
    ["write", "closing"],
  );
  for (const o of c1) if (o.type === "write") server.receive(o.data.slice());
  const s1 = server.takeOutputs();
  assert.deepEqual(
    s1.map((o) => o.type),
    ["write", "closing", "shutdownWrite"],
  );
  for (const o of s1) if (o.type === "write") client.receive(o.data.slice());
  assert.deepEqual(client.takeOutputs(), [], "the client waits for the server's FIN");
  client.receiveEof();
  const c2 = client.takeOutputs();
  assert.deepEqual(
    c2.map((o) => o.type),
    ["shutdownWrite", "closed"],
  );
  server.receiveEof();
  const s2 = server.takeOutputs();
  assert.deepEqual(
    s2.map((o) => o.type),
    ["closed"],
  );
  assert.equal(client.outcome?.wasClean, true);
  assert.equal(server.outcome?.wasClean, true);
});

for (const role of ROLES) {
  test(`${role}: engines with the same ports and settings close independently (shared settings, own closing state)`, () => {
    const { ports, clock } = fakePorts();
    const options = { role, ports, closeTimeoutMs: 1000, tcpCloseWaitMs: 500 } as const;
    const engines = [new Engine(options), new Engine(options), new Engine(options)] as const;
    const [closed, failed, open] = engines;
    closed.close(1000, "bye");
    failed.fail(new ProtocolError("ERR_WS_INTERNAL_ERROR", "internal error"));
    assert.equal(closed.phase, "closing");
    assert.equal(failed.phase, "closing");
    assert.equal(open.phase, "open");
    assert.equal(open.canSend, true);
    assert.equal(open.nextDeadline(), undefined);
    assert.equal(closed.nextDeadline(), clock.now() + 1000);
    assert.equal(failed.nextDeadline(), clock.now() + 500);
    // A timeout on the open engine changes nothing; the closing one gives up at its deadline.
    clock.advance(1000);
    open.handleTimeout();
    closed.handleTimeout();
    assert.equal(open.phase, "open");
    assert.deepEqual(open.takeOutputs(), []);
    assert.equal(closed.phase, "closed");
    assert.equal(closed.outcome?.code, 1006);
    open.destroy();
    assert.equal(open.outcome?.initiator, "local");
    assert.equal(failed.phase, "closing");
    // A new engine with the same settings starts open.
    assert.equal(new Engine(options).phase, "open");
  });
}
