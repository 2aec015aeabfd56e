/**
 * Engine control frames (SPEC.md J): size and fragmentation rules, ping/pong behaviour, and what
 * the ping()/pong() commands write, in both roles.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineHarness, ROLES, forEveryChunking, out } from "../helpers/engine-harness.js";
import { OP, concat, patternBytes, utf8 } from "../helpers/frames.js";

function assertControlTooLong(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.equal((error as RangeError & { code?: string }).code, "ERR_WS_CONTROL_FRAME_TOO_LONG");
    return true;
  });
}

for (const role of ROLES) {
  const peer = new EngineHarness(role);
  const f = peer.peerFrame.bind(peer);

  test(`J2/${role}: a ping is answered with a pong carrying the same payload`, () => {
    forEveryChunking(role, f(OP.ping, "Hello"), (h) =>
      h.expect(out.ping("Hello"), out.sent(OP.pong, "Hello")),
    );
  });

  test(`J1/J2/${role}: a 125-byte ping is accepted and echoed in full`, () => {
    const payload = patternBytes(125);
    forEveryChunking(role, f(OP.ping, payload), (h) =>
      h.expect(out.ping(payload), out.sent(OP.pong, payload)),
    );
  });

  test(`J3/${role}: every ping of a burst is answered, in order`, () => {
    const input = concat(f(OP.ping, "1"), f(OP.ping, ""), f(OP.ping, "3"));
    forEveryChunking(role, input, (h) =>
      h.expect(
        out.ping("1"),
        out.sent(OP.pong, "1"),
        out.ping(),
        out.sent(OP.pong),
        out.ping("3"),
        out.sent(OP.pong, "3"),
      ),
    );
  });

  test(`J4/${role}: an unsolicited pong is reported and needs no reply`, () => {
    forEveryChunking(role, f(OP.pong, "whatever"), (h) => h.expect(out.pong("whatever")));
  });

  for (const opcode of [OP.ping, OP.pong, OP.close]) {
    test(`J1/${role}: a 126-byte control frame (0x${opcode.toString(16)}) fails with 1002`, () => {
      forEveryChunking(role, f(opcode, patternBytes(126)), (h) =>
        h.expectFailing(1002, "ERR_WS_CONTROL_FRAME_TOO_LONG"),
      );
    });

    test(`I6/J1/${role}: a control frame (0x${opcode.toString(16)}) with FIN=0 fails with 1002`, () => {
      forEveryChunking(role, f(opcode, "", { fin: false }), (h) =>
        h.expectFailing(1002, "ERR_WS_FRAGMENTED_CONTROL_FRAME"),
      );
    });
  }

  test(`J1/${role}: a control frame with a 64-bit length fails with 1002 before its payload`, () => {
    const header = f(OP.ping, "", { lengthForm: 64, declaredLength: 5 });
    forEveryChunking(role, header, (h) => h.expectFailing(1002, "ERR_WS_CONTROL_FRAME_TOO_LONG"));
  });

  test(`J5/J7/${role}: ping() and pong() send the payload (masked by a client)`, () => {
    const h = new EngineHarness(role);
    assert.equal(h.engine.ping(utf8("are you there?")), true);
    assert.equal(h.engine.pong(patternBytes(125)), true);
    assert.equal(h.engine.ping(), true);
    assert.equal(h.engine.pong(), true);
    h.expect(
      out.sent(OP.ping, "are you there?"),
      out.sent(OP.pong, patternBytes(125)),
      out.sent(OP.ping),
      out.sent(OP.pong),
    );
  });

  test(`J1/J5/${role}: ping() and pong() refuse more than 125 bytes with a RangeError`, () => {
    const h = new EngineHarness(role);
    assertControlTooLong(() => h.engine.ping(new Uint8Array(126)));
    assertControlTooLong(() => h.engine.pong(new Uint8Array(126)));
    h.expectNothing();
    h.engine.close();
    h.take();
    assertControlTooLong(() => h.engine.ping(new Uint8Array(126)));
  });

  test(`J8/${role}: after our Close, ping() and pong() send nothing and received pings go unanswered`, () => {
    const h = new EngineHarness(role);
    h.engine.close(1000);
    h.expect(out.close(1000), out.closing("local"));
    assert.equal(h.engine.ping(utf8("x")), false);
    assert.equal(h.engine.pong(utf8("x")), false);
    h.receive(f(OP.ping, "still there?"), f(OP.pong, "late pong"));
    // The events are still reported (the peer is alive), but no Pong may follow our Close.
    h.expect(out.ping("still there?"), out.pong("late pong"));
  });

  test(`J2/L8/${role}: a ping after the peer's Close is not processed at all`, () => {
    const input = concat(f(OP.close, ""), f(OP.ping, "late"));
    forEveryChunking(role, input, (h) =>
      h.expect(
        out.close(),
        out.closing("remote", { code: 1005, payload: new Uint8Array(0) }),
        ...(role === "server" ? [out.shutdownWrite] : []),
      ),
    );
  });
}
