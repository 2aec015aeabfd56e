import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CloseState,
  type CloseEffect,
  type CloseFrameInfo,
} from "../../src/protocol/close-state.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import { closeBody, toHex } from "../helpers/frames.js";

const CLOSE_TIMEOUT_MS = 10_000;
const TCP_CLOSE_WAIT_MS = 2_000;
const SIDES = [
  { role: "client", isClient: true },
  { role: "server", isClient: false },
] as const;

function state(isClient: boolean): CloseState {
  return new CloseState({
    isClient,
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
    tcpCloseWaitMs: TCP_CLOSE_WAIT_MS,
  });
}

function frameInfo(code?: number, reason = ""): CloseFrameInfo {
  return { code: code ?? 1005, reason, payload: closeBody(code, reason) };
}

/** Effects in a comparable form: payloads as hex, causes by code and class. */
function show(effects: readonly CloseEffect[]): unknown[] {
  return effects.map((effect) => {
    switch (effect.type) {
      case "sendClose":
        return `sendClose ${toHex(effect.payload)}`.trimEnd();
      case "closing":
        return effect.received === undefined
          ? `closing ${effect.initiator}`
          : `closing ${effect.initiator} received ${effect.received.code} ${JSON.stringify(effect.received.reason)}`;
      case "closed": {
        const { cause, ...rest } = effect.outcome;
        const shown: Record<string, unknown> = { ...rest };
        if (cause !== undefined) {
          shown["cause"] =
            cause instanceof ProtocolError ? `ProtocolError ${cause.code}` : cause.code;
        }
        return shown;
      }
      default:
        return effect.type;
    }
  });
}

for (const { role, isClient } of SIDES) {
  test(`L6/${role}: a new connection is open, with nothing sent, received or awaited`, () => {
    const s = state(isClient);
    assert.equal(s.phase, "open");
    assert.equal(s.hasSentClose, false);
    assert.equal(s.hasReceivedClose, false);
    assert.equal(s.hasFailed, false);
    assert.equal(s.outcome, undefined);
    assert.equal(s.deadline, undefined);
    assert.deepEqual(s.handleTimeout(1e12), [], "no deadline, no timeout");
  });

  test(`L5/${role}: startClosingHandshake sends our Close once and arms the close timeout`, () => {
    const s = state(isClient);
    assert.deepEqual(show(s.startClosingHandshake(frameInfo(1000, "bye"), 100)), [
      "sendClose 03 e8 62 79 65",
      "closing local",
    ]);
    assert.equal(s.phase, "closing");
    assert.equal(s.hasSentClose, true);
    assert.equal(s.deadline, 100 + CLOSE_TIMEOUT_MS);
    assert.deepEqual(s.startClosingHandshake(frameInfo(1001), 200), [], "only while open");
  });

  test(`L11/L12/${role}: after our Close, the peer's Close completes the handshake`, () => {
    const s = state(isClient);
    s.startClosingHandshake(frameInfo(1000), 0);
    const effects = s.receiveClose(frameInfo(1001, "peer"), 500);
    // The server closes TCP at once; the client waits for the server to do it.
    assert.deepEqual(show(effects), isClient ? [] : ["shutdownWrite"]);
    assert.equal(s.hasReceivedClose, true);
    assert.equal(s.deadline, 500 + TCP_CLOSE_WAIT_MS, "the shorter wait applies now");
    assert.deepEqual(show(s.receiveEof()), [
      ...(isClient ? ["shutdownWrite"] : []),
      { code: 1001, reason: "peer", wasClean: true, initiator: "local", sentCode: 1000 },
    ]);
    assert.equal(s.phase, "closed");
    assert.equal(s.deadline, undefined);
    assert.equal(s.outcome?.code, 1001);
  });

  test(`L7/L11/${role}: a Close received while open is echoed as-is`, () => {
    const s = state(isClient);
    const received = frameInfo(4000, "go");
    const effects = s.receiveClose(received, 50);
    assert.deepEqual(show(effects), [
      "sendClose 0f a0 67 6f",
      'closing remote received 4000 "go"',
      ...(isClient ? [] : ["shutdownWrite"]),
    ]);
    const sent = effects[0];
    assert.ok(sent?.type === "sendClose");
    assert.equal(sent.payload, received.payload, "the very bytes received are echoed");
    assert.equal(s.deadline, 50 + TCP_CLOSE_WAIT_MS);
    assert.deepEqual(s.receiveClose(frameInfo(1000), 60), [], "a second Close is ignored");
    assert.deepEqual(show(s.transportClosed()), [
      { code: 4000, reason: "go", wasClean: true, initiator: "remote", sentCode: 4000 },
    ]);
  });

  test(`L7/${role}: an empty Close is echoed empty; the outcome says 1005`, () => {
    const s = state(isClient);
    assert.deepEqual(show(s.receiveClose(frameInfo(), 0)).slice(0, 2), [
      "sendClose",
      'closing remote received 1005 ""',
    ]);
    assert.deepEqual(show(s.receiveEof()).at(-1), {
      code: 1005,
      reason: "",
      wasClean: true,
      initiator: "remote",
      sentCode: 1005,
    });
  });

  test(`L10/${role}: simultaneous Close: each side reports the other's code`, () => {
    const s = state(isClient);
    s.startClosingHandshake(frameInfo(1000, "mine"), 0);
    s.receiveClose(frameInfo(1001, "theirs"), 1);
    assert.deepEqual(show(s.transportClosed()), [
      { code: 1001, reason: "theirs", wasClean: true, initiator: "local", sentCode: 1000 },
    ]);
  });

  test(`L19/${role}: failConnection sends the mapped code, half-closes, and waits briefly`, () => {
    const s = state(isClient);
    const error = new ProtocolError("ERR_WS_INVALID_UTF8", "bad");
    // A failing server half-closes at once; a failing client leaves TCP to the server.
    assert.deepEqual(show(s.failConnection(error, 10)), [
      "sendClose 03 ef",
      "closing local",
      ...(isClient ? [] : ["shutdownWrite"]),
    ]);
    assert.equal(s.hasFailed, true);
    assert.equal(s.deadline, 10 + TCP_CLOSE_WAIT_MS);
    assert.deepEqual(s.failConnection(new ProtocolError("ERR_WS_INVALID_OPCODE", "x"), 20), []);
    assert.deepEqual(s.receiveClose(frameInfo(1000), 30), [], "nothing is processed after a Fail");
    const closed = s.receiveEof();
    assert.deepEqual(show(closed), [
      ...(isClient ? ["shutdownWrite"] : []),
      {
        code: 1006,
        reason: "",
        wasClean: false,
        initiator: "local",
        sentCode: 1007,
        cause: "ProtocolError ERR_WS_INVALID_UTF8",
      },
    ]);
    const last = closed.at(-1);
    assert.ok(last?.type === "closed");
    assert.equal(last.outcome.cause, error, "the cause is the error itself");
  });

  test(`L19/L20/${role}: failing after our Close was sent sends no second Close`, () => {
    const s = state(isClient);
    s.startClosingHandshake(frameInfo(1000), 0);
    const effects = s.failConnection(new ProtocolError("ERR_WS_INVALID_CLOSE_CODE", "x"), 9_000);
    assert.deepEqual(show(effects), isClient ? [] : ["shutdownWrite"]);
    assert.equal(s.deadline, CLOSE_TIMEOUT_MS, "the earlier deadline stays: waits never add up");
    assert.deepEqual(show(s.handleTimeout(CLOSE_TIMEOUT_MS)), [
      "destroy",
      {
        code: 1006,
        reason: "",
        wasClean: false,
        initiator: "local",
        sentCode: 1000,
        cause: "ProtocolError ERR_WS_INVALID_CLOSE_CODE",
      },
    ]);
  });

  test(`L20/${role}: a failure after the Close exchange still makes the close unclean`, () => {
    const s = state(isClient);
    s.startClosingHandshake(frameInfo(1000), 0);
    s.receiveClose(frameInfo(1000), 1);
    assert.deepEqual(
      show(s.failConnection(new ProtocolError("ERR_WS_INTERNAL_ERROR", "x"), 2)),
      [],
    );
    assert.deepEqual(show(s.receiveEof()), [
      ...(isClient ? ["shutdownWrite"] : []),
      {
        code: 1006,
        reason: "",
        wasClean: false,
        initiator: "local",
        sentCode: 1000,
        cause: "ProtocolError ERR_WS_INTERNAL_ERROR",
      },
    ]);
  });

  test(`L13/L14/${role}: no Close before the deadline: destroy, 1006, not clean`, () => {
    const s = state(isClient);
    s.startClosingHandshake(frameInfo(3000), 1_000);
    assert.deepEqual(s.handleTimeout(1_000 + CLOSE_TIMEOUT_MS - 1), [], "not yet");
    assert.deepEqual(show(s.handleTimeout(1_000 + CLOSE_TIMEOUT_MS)), [
      "destroy",
      {
        code: 1006,
        reason: "",
        wasClean: false,
        initiator: "local",
        sentCode: 3000,
        cause: "ERR_WS_CLOSE_TIMEOUT",
      },
    ]);
    assert.deepEqual(s.handleTimeout(1e12), []);
    assert.equal(s.deadline, undefined);
  });

  test(`L12/L16/${role}: the TCP wait after the exchange ends clean`, () => {
    const s = state(isClient);
    s.receiveClose(frameInfo(1000), 0);
    assert.deepEqual(show(s.handleTimeout(TCP_CLOSE_WAIT_MS)), [
      "destroy",
      { code: 1000, reason: "", wasClean: true, initiator: "remote", sentCode: 1000 },
    ]);
  });

  test(`L12/${role}: one deadline: a late peer Close does not extend the close timeout`, () => {
    const s = state(isClient);
    s.startClosingHandshake(frameInfo(1000), 0);
    s.receiveClose(frameInfo(1000), CLOSE_TIMEOUT_MS - 500);
    assert.equal(s.deadline, CLOSE_TIMEOUT_MS);
  });

  test(`L21/${role}: EOF while open: half-close back, 1006, not clean, peer-initiated`, () => {
    const s = state(isClient);
    assert.deepEqual(show(s.receiveEof()), [
      "shutdownWrite",
      {
        code: 1006,
        reason: "",
        wasClean: false,
        initiator: "remote",
        cause: "ERR_WS_CONNECTION_LOST",
      },
    ]);
    assert.deepEqual(s.receiveEof(), []);
    assert.deepEqual(s.transportClosed(), []);
    assert.deepEqual(s.destroy(), []);
    assert.deepEqual(s.failConnection(new ProtocolError("ERR_WS_INVALID_UTF8", "x"), 0), []);
    assert.deepEqual(s.receiveClose(frameInfo(1000), 0), []);
  });

  test(`L21/${role}: transport lost keeps the transport error in the cause`, () => {
    const error = new Error("ECONNRESET");
    const s = state(isClient);
    const effects = s.transportClosed(error);
    const closed = effects[0];
    assert.ok(closed?.type === "closed");
    assert.deepEqual(closed.outcome, {
      code: 1006,
      reason: "",
      wasClean: false,
      initiator: "remote",
      cause: {
        code: "ERR_WS_CONNECTION_LOST",
        message: "the connection was lost before the closing handshake completed",
        error,
      },
    });
    const plain = state(isClient).transportClosed()[0];
    assert.ok(plain?.type === "closed");
    assert.equal("error" in plain.outcome.cause!, false, "no error key without an error");
  });

  test(`L15/${role}: destroy() drops TCP at once: 1006, not clean, local`, () => {
    const s = state(isClient);
    assert.deepEqual(show(s.destroy()), [
      "destroy",
      { code: 1006, reason: "", wasClean: false, initiator: "local", cause: "ERR_WS_DESTROYED" },
    ]);
    const remote = state(isClient);
    remote.receiveClose(frameInfo(1001), 0);
    assert.deepEqual(show(remote.destroy()).at(-1), {
      code: 1001,
      reason: "",
      wasClean: true,
      initiator: "remote",
      sentCode: 1001,
    });
  });
}
