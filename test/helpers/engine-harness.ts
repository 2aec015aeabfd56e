/**
 * A harness around one protocol {@link Engine} with fake ports. It feeds the engine what its
 * peer would send, and asserts on the exact outputs (STYLE.md §8): the bytes written (masked
 * with the key the fake random source handed out, for a client), TCP actions and events, in
 * order. Its helpers are named after the RFC 6455 procedures they check.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CloseInitiator, CloseOutcome } from "../../src/protocol/close-state.js";
import { Engine, type EngineOptions, type Role } from "../../src/protocol/engine.js";
import { ProtocolError, ProtocolErrorCodes } from "../../src/protocol/errors.js";
import type { Output } from "../../src/protocol/outputs.js";
import type { Accelerators } from "../../src/protocol/ports.js";
import { chunkings, type Chunking } from "./chunking.js";
import { DeterministicRandom, FakeClock, fakePorts } from "./fake-ports.js";
import { OP, RFC_MASK_KEY, buildFrame, closeBody, toHex, utf8 } from "./frames.js";

/** Both roles, for `for (const role of ROLES)` loops. */
export const ROLES: readonly Role[] = ["client", "server"];

/** The key the simulated peer masks its frames with when it is a client. */
export const PEER_MASK_KEY: Uint8Array = RFC_MASK_KEY;

/** Engine options plus fake-port settings. */
export interface HarnessOptions {
  readonly maxMessageBytes?: number;
  readonly maxFragments?: number;
  readonly closeTimeoutMs?: number;
  readonly tcpCloseWaitMs?: number;
  readonly accelerators?: Accelerators;
  readonly script?: readonly Uint8Array[];
  readonly seed?: number;
  readonly startMs?: number;
}

/** How a frame from the simulated peer is built (see {@link EngineHarness.peerFrame}). */
export interface PeerFrameOptions {
  readonly fin?: boolean;
  readonly rsv?: number;
  readonly lengthForm?: 7 | 16 | 64;
  readonly declaredLength?: number | bigint;
  /** Override the MASK bit (default: masked exactly when the peer is a client). */
  readonly masked?: boolean;
}

type Bytes = Uint8Array | string;

/** An expected outcome; `reason` defaults to "". */
export interface ExpectedOutcome {
  readonly code: number;
  readonly reason?: string;
  readonly wasClean: boolean;
  readonly initiator: CloseInitiator;
  readonly sentCode?: number;
  /** The cause's code (`ERR_WS_*`); a ProtocolError is recognised by its catalogue code. */
  readonly cause?: string;
}

/** One expected output. Build them with {@link out}. */
export type Expected =
  | {
      readonly type: "sent";
      readonly opcode: number;
      readonly payload: Uint8Array;
      readonly fin: boolean;
    }
  | { readonly type: "write"; readonly bytes: Uint8Array }
  | { readonly type: "shutdownWrite" }
  | { readonly type: "destroy" }
  | { readonly type: "message"; readonly binary: boolean; readonly data: Uint8Array }
  | { readonly type: "ping"; readonly data: Uint8Array }
  | { readonly type: "pong"; readonly data: Uint8Array }
  | {
      readonly type: "closing";
      readonly initiator: CloseInitiator;
      readonly received?: { code: number; reason: string; payload: Uint8Array };
    }
  | { readonly type: "closed"; readonly outcome: ExpectedOutcome };

const bytesOf = (data: Bytes): Uint8Array => (typeof data === "string" ? utf8(data) : data);

/** Builders for {@link Expected} items. */
export const out = {
  /** A frame this engine sends (masked with its next key when it is a client). */
  sent: (opcode: number, payload: Bytes = "", fin = true): Expected => ({
    type: "sent",
    opcode,
    payload: bytesOf(payload),
    fin,
  }),
  /** A Close frame this engine sends. */
  close: (code?: number, reason: Bytes = ""): Expected => ({
    type: "sent",
    opcode: OP.close,
    payload: closeBody(code, reason),
    fin: true,
  }),
  /** Raw bytes written. */
  write: (bytes: Uint8Array): Expected => ({ type: "write", bytes }),
  message: (kind: "text" | "binary", data: Bytes): Expected => ({
    type: "message",
    binary: kind === "binary",
    data: bytesOf(data),
  }),
  ping: (data: Bytes = ""): Expected => ({ type: "ping", data: bytesOf(data) }),
  pong: (data: Bytes = ""): Expected => ({ type: "pong", data: bytesOf(data) }),
  closing: (
    initiator: CloseInitiator,
    received?: { code: number; reason?: string; payload: Uint8Array },
  ): Expected =>
    received === undefined
      ? { type: "closing", initiator }
      : {
          type: "closing",
          initiator,
          received: {
            code: received.code,
            reason: received.reason ?? "",
            payload: received.payload,
          },
        },
  shutdownWrite: { type: "shutdownWrite" } as Expected,
  destroy: { type: "destroy" } as Expected,
  closed: (outcome: ExpectedOutcome): Expected => ({ type: "closed", outcome }),
};

/** The comparable form of an output (writes joined, bytes as hex). */
type Seen =
  | { type: "write"; hex: string }
  | { type: "shutdownWrite" }
  | { type: "destroy" }
  | { type: "message"; binary: boolean; hex: string }
  | { type: "ping"; hex: string }
  | { type: "pong"; hex: string }
  | { type: "closing"; initiator: string; received?: { code: number; reason: string; hex: string } }
  | { type: "closed"; outcome: Record<string, unknown> };

/** Describes a cause the way {@link ExpectedOutcome.cause} names it, checking its class. */
function describeCause(cause: CloseOutcome["cause"]): string | undefined {
  if (cause === undefined) return undefined;
  if (cause instanceof ProtocolError) {
    return `ProtocolError ${cause.code} closeCode=${cause.closeCode}`;
  }
  return `${cause.code}${cause.code in ProtocolErrorCodes ? " (not a ProtocolError!)" : ""}`;
}

function expectedCause(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  if (code in ProtocolErrorCodes) {
    return `ProtocolError ${code} closeCode=${ProtocolErrorCodes[code as keyof typeof ProtocolErrorCodes]}`;
  }
  return code;
}

function normalizeOutcome(outcome: CloseOutcome): Record<string, unknown> {
  const result: Record<string, unknown> = {
    code: outcome.code,
    reason: outcome.reason,
    wasClean: outcome.wasClean,
    initiator: outcome.initiator,
  };
  if (outcome.sentCode !== undefined) result["sentCode"] = outcome.sentCode;
  const cause = describeCause(outcome.cause);
  if (cause !== undefined) result["cause"] = cause;
  return result;
}

function normalizeExpectedOutcome(outcome: ExpectedOutcome): Record<string, unknown> {
  const result: Record<string, unknown> = {
    code: outcome.code,
    reason: outcome.reason ?? "",
    wasClean: outcome.wasClean,
    initiator: outcome.initiator,
  };
  if (outcome.sentCode !== undefined) result["sentCode"] = outcome.sentCode;
  const cause = expectedCause(outcome.cause);
  if (cause !== undefined) result["cause"] = cause;
  return result;
}

function pushWrite(seen: Seen[], bytes: Uint8Array): void {
  const last = seen.at(-1);
  if (last?.type === "write") {
    const more = toHex(bytes);
    last.hex = last.hex === "" ? more : more === "" ? last.hex : `${last.hex} ${more}`;
  } else {
    seen.push({ type: "write", hex: toHex(bytes) });
  }
}

/** Turns actual outputs into their comparable form. */
export function normalizeOutputs(outputs: readonly Output[]): Seen[] {
  const seen: Seen[] = [];
  for (const o of outputs) {
    switch (o.type) {
      case "write":
        pushWrite(seen, o.data);
        break;
      case "shutdownWrite":
      case "destroy":
        seen.push({ type: o.type });
        break;
      case "message":
        seen.push({ type: "message", binary: o.binary, hex: toHex(o.data) });
        break;
      case "ping":
      case "pong":
        seen.push({ type: o.type, hex: toHex(o.data) });
        break;
      case "closing":
        seen.push(
          o.received === undefined
            ? { type: "closing", initiator: o.initiator }
            : {
                type: "closing",
                initiator: o.initiator,
                received: {
                  code: o.received.code,
                  reason: o.received.reason,
                  hex: toHex(o.received.payload),
                },
              },
        );
        break;
      case "closed":
        seen.push({ type: "closed", outcome: normalizeOutcome(o.outcome) });
        break;
    }
  }
  return seen;
}

/** Drives one engine as if it were connected to a peer of the other role. */
export class EngineHarness {
  readonly role: Role;
  readonly engine: Engine;
  readonly clock: FakeClock;
  readonly random: DeterministicRandom;
  /** Every output taken so far, in order. */
  readonly log: Output[] = [];
  /** How many of the random source's keys earlier expectations have accounted for. */
  #keyCursor = 0;

  constructor(role: Role, options: HarnessOptions = {}) {
    this.role = role;
    const { ports, clock, random } = fakePorts({
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.script === undefined ? {} : { script: options.script }),
      ...(options.accelerators === undefined ? {} : { accelerators: options.accelerators }),
      ...(options.startMs === undefined ? {} : { startMs: options.startMs }),
    });
    this.clock = clock;
    this.random = random;
    const engineOptions: EngineOptions = {
      role,
      ports,
      ...(options.maxMessageBytes === undefined
        ? {}
        : { maxMessageBytes: options.maxMessageBytes }),
      ...(options.maxFragments === undefined ? {} : { maxFragments: options.maxFragments }),
      ...(options.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: options.closeTimeoutMs }),
      ...(options.tcpCloseWaitMs === undefined ? {} : { tcpCloseWaitMs: options.tcpCloseWaitMs }),
    };
    this.engine = new Engine(engineOptions);
  }

  /** Whether the simulated peer masks its frames (it does when it is a client, RFC 6455 §5.1). */
  get peerMasks(): boolean {
    return this.role === "server";
  }

  /** A frame as the peer would send it: masked with {@link PEER_MASK_KEY} iff the peer is a client. */
  peerFrame(opcode: number, payload: Bytes = "", options: PeerFrameOptions = {}): Uint8Array {
    const masked = options.masked ?? this.peerMasks;
    return buildFrame({
      opcode,
      payload: bytesOf(payload),
      ...(options.fin === undefined ? {} : { fin: options.fin }),
      ...(options.rsv === undefined ? {} : { rsv: options.rsv }),
      ...(options.lengthForm === undefined ? {} : { lengthForm: options.lengthForm }),
      ...(options.declaredLength === undefined ? {} : { declaredLength: options.declaredLength }),
      ...(masked ? { maskKey: PEER_MASK_KEY } : {}),
    });
  }

  /** A Close frame from the peer. */
  peerClose(code?: number, reason: Bytes = ""): Uint8Array {
    return this.peerFrame(OP.close, closeBody(code, bytesOf(reason)));
  }

  /** Feeds copies of `chunks` to the engine, one `receive` call each. */
  receive(...chunks: readonly Uint8Array[]): this {
    for (const chunk of chunks) this.engine.receive(chunk.slice());
    return this;
  }

  /**
   * Takes the engine's new outputs (also appended to {@link log}), calling `takeOutputs()` until
   * it returns nothing: a Close or failure that follows a message in the same input is carried
   * out at the next call (see `Engine.takeOutputs`).
   */
  take(): Output[] {
    const outputs: Output[] = [];
    for (
      let batch = this.engine.takeOutputs();
      batch.length > 0;
      batch = this.engine.takeOutputs()
    ) {
      outputs.push(...batch);
    }
    this.log.push(...outputs);
    this.#keyCursor = this.random.fills.length;
    return outputs;
  }

  /** The exact bytes this engine would write for a frame, using its `index`-th random key. */
  frameBytes(opcode: number, payload: Uint8Array, fin: boolean, keyIndex: number): Uint8Array {
    if (this.role === "server") return buildFrame({ opcode, payload, fin });
    // A key the engine never drew cannot match: use one that differs from every drawn key.
    const key = this.random.fills[keyIndex] ?? Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
    return buildFrame({ opcode, payload, fin, maskKey: key });
  }

  /** Asserts that the new outputs are exactly `expected`, in order (consecutive writes joined). */
  expect(...expected: readonly Expected[]): void {
    let keyIndex = this.#keyCursor;
    const actual = normalizeOutputs(this.take());
    const wanted: Seen[] = [];
    for (const item of expected) {
      switch (item.type) {
        case "sent":
          pushWrite(wanted, this.frameBytes(item.opcode, item.payload, item.fin, keyIndex++));
          break;
        case "write":
          pushWrite(wanted, item.bytes);
          break;
        case "shutdownWrite":
        case "destroy":
          wanted.push({ type: item.type });
          break;
        case "message":
          wanted.push({ type: "message", binary: item.binary, hex: toHex(item.data) });
          break;
        case "ping":
        case "pong":
          wanted.push({ type: item.type, hex: toHex(item.data) });
          break;
        case "closing":
          wanted.push(
            item.received === undefined
              ? { type: "closing", initiator: item.initiator }
              : {
                  type: "closing",
                  initiator: item.initiator,
                  received: {
                    code: item.received.code,
                    reason: item.received.reason,
                    hex: toHex(item.received.payload),
                  },
                },
          );
          break;
        case "closed":
          wanted.push({ type: "closed", outcome: normalizeExpectedOutcome(item.outcome) });
          break;
      }
    }
    assert.deepStrictEqual(actual, wanted);
  }

  /** Asserts that nothing new was output. */
  expectNothing(): void {
    this.expect();
  }

  /**
   * Asserts "Fail the WebSocket Connection" (RFC 6455 §7.1.7; SPEC.md L19–L20, P13): the outputs
   * are exactly `before`, then a Close carrying `closeCode` (unless our Close was already sent),
   * the `closing` event (if the connection was open) and, for a server, a half-close. Then checks that nothing
   * more from the peer is processed (a ping, a message and a Close are ignored), and that once
   * TCP ends the outcome is 1006, not clean, with the ProtocolError `errorCode` as its cause.
   */
  expectFailing(
    closeCode: number,
    errorCode: keyof typeof ProtocolErrorCodes,
    options: {
      readonly before?: readonly Expected[];
      /** Whether our Close had been sent before the failure (then no second Close goes out). */
      readonly closeAlreadySent?: boolean;
      /** Who started the close; default "local" (the failing end). */
      readonly initiator?: CloseInitiator;
      /** The code of the Close we had already sent (default `closeCode`). */
      readonly sentCode?: number;
    } = {},
  ): void {
    assert.equal(ProtocolErrorCodes[errorCode], closeCode, `${errorCode} maps to ${closeCode}`);
    const closeAlreadySent = options.closeAlreadySent ?? false;
    // A failing server half-closes TCP at once; a failing client leaves that to the server
    // (RFC 6455 §7.1.1) and only waits, for at most tcpCloseWaitMs.
    const halfClose = this.role === "server" ? [out.shutdownWrite] : [];
    this.expect(
      ...(options.before ?? []),
      ...(closeAlreadySent
        ? halfClose
        : [out.close(closeCode), out.closing("local"), ...halfClose]),
    );
    assert.equal(this.engine.phase, "closing");
    assert.equal(this.engine.canSend, false);
    // §7.1.7: after failing, process nothing more from the peer, not even its Close.
    this.receive(
      this.peerFrame(OP.ping, "late"),
      this.peerFrame(OP.text, "late"),
      this.peerClose(1000),
    );
    this.expectNothing();
    this.engine.receiveEof();
    this.expectClosed(
      {
        code: 1006,
        wasClean: false,
        initiator: options.initiator ?? "local",
        sentCode: options.sentCode ?? closeCode,
        cause: errorCode,
      },
      // The client half-closes only once the server has ended TCP.
      this.role === "client" ? [out.shutdownWrite] : [],
    );
  }

  /**
   * Asserts that the new outputs are `before`, then `closed` with `outcome`, and that `closed` is
   * the only one ever and the last output (SPEC.md L28): every later call outputs nothing.
   */
  expectClosed(outcome: ExpectedOutcome, before: readonly Expected[] = []): void {
    this.expect(...before, out.closed(outcome));
    assert.equal(this.engine.phase, "closed");
    this.expectTerminal();
  }

  /** Asserts `closed` was output exactly once, last, and that no call outputs anything more. */
  expectTerminal(): void {
    const closedCount = this.log.filter((o) => o.type === "closed").length;
    assert.equal(closedCount, 1, "`closed` is output exactly once");
    assert.equal(this.log.at(-1)?.type, "closed", "`closed` is the last output");
    const engine = this.engine;
    const outcome = engine.outcome;
    assert.ok(outcome !== undefined);
    engine.receive(this.peerFrame(OP.text, "after"));
    engine.receive(this.peerClose(1000));
    engine.receiveEof();
    engine.transportClosed(new Error("late"));
    this.clock.advance(1_000_000);
    engine.handleTimeout();
    assert.equal(engine.send("text", utf8("x")), false);
    assert.equal(engine.sendFrame(OP.binary, utf8("x"), true), false);
    assert.equal(engine.ping(), false);
    assert.equal(engine.pong(), false);
    assert.equal(engine.close(1000), false);
    engine.fail(new ProtocolError("ERR_WS_INTERNAL_ERROR", "late"));
    engine.destroy();
    this.expectNothing();
    assert.equal(engine.nextDeadline(), undefined);
    assert.equal(engine.canSend, false);
    assert.equal(engine.outcome, outcome, "the outcome never changes once closed");
  }
}

/** Harness options, plus a step to run (and whose outputs to check) before the input arrives. */
export interface ChunkingOptions extends HarnessOptions {
  readonly setup?: (h: EngineHarness) => void;
}

/**
 * Runs `check` once per chunking of `input` (SPEC.md H14; see chunking.ts), each time on a fresh harness that has
 * run `setup` and then received the chunks; a failure names the chunking.
 */
export function forEveryChunking(
  role: Role,
  input: Uint8Array,
  check: (h: EngineHarness, chunking: Chunking) => void,
  options: ChunkingOptions = {},
  splitPoints?: Iterable<number>,
): void {
  for (const chunking of chunkings(input, splitPoints)) {
    const h = new EngineHarness(role, options);
    options.setup?.(h);
    h.receive(...chunking.chunks);
    try {
      check(h, chunking);
    } catch (error) {
      if (error instanceof Error) error.message = `[${role}, ${chunking.label}] ${error.message}`;
      throw error;
    }
  }
}
