/**
 * Property-based tests of the engine (STYLE.md §8, "fuzz oracle"): (1) whatever one engine sends,
 * the other receives identically, in order, under any chunking, in both directions; (2) no input
 * makes an engine throw, and the only failures are documented protocol errors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Engine, type Role } from "../../src/protocol/engine.js";
import {
  AbnormalCauseCodes,
  ProtocolError,
  ProtocolErrorCodes,
} from "../../src/protocol/errors.js";
import { FrameParser, type FrameHeader } from "../../src/protocol/frame-parser.js";
import type { Output } from "../../src/protocol/outputs.js";
import { cutAt } from "../helpers/chunking.js";
import { ROLES } from "../helpers/engine-harness.js";
import { fakePorts } from "../helpers/fake-ports.js";
import { RFC_MASK_KEY, buildFrame, concat, patternBytes, toHex, utf8 } from "../helpers/frames.js";

const other = (role: Role): Role => (role === "client" ? "server" : "client");

// ---- 1. Round trip ------------------------------------------------------------------------------

type Command =
  | { readonly kind: "text"; readonly data: Uint8Array }
  | { readonly kind: "binary"; readonly data: Uint8Array }
  | { readonly kind: "ping"; readonly data: Uint8Array }
  /** One message sent by the caller as several frames (RFC 6455 §5.4). */
  | { readonly kind: "fragments"; readonly binary: boolean; readonly parts: readonly Uint8Array[] };

const text = fc.string({ unit: "binary", maxLength: 300 }).map((s) => utf8(s));
const bigText = fc
  .tuple(
    fc.string({ unit: "binary", minLength: 1, maxLength: 20 }),
    fc.integer({ min: 1, max: 8000 }),
  )
  .map(([s, times]) => utf8(s.repeat(times)));
const bigBinary = fc
  .tuple(fc.integer({ min: 1024, max: 300 * 1024 }), fc.nat(255))
  .map(([length, seed]) => patternBytes(length, seed));

/** Cuts `data` at the given points (as fractions of its length) into message fragments. */
function fragmentsOf(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  return cutAt(
    data,
    cuts.map((c) => Math.floor(c * data.length)),
  ).concat(cuts.length > 2 ? [new Uint8Array(0)] : []);
}

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: text.map((data): Command => ({ kind: "text", data })) },
  { weight: 1, arbitrary: bigText.map((data): Command => ({ kind: "text", data })) },
  {
    weight: 3,
    arbitrary: fc.uint8Array({ maxLength: 300 }).map((data): Command => ({ kind: "binary", data })),
  },
  { weight: 1, arbitrary: bigBinary.map((data): Command => ({ kind: "binary", data })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Command>(
      { kind: "text", data: new Uint8Array(0) },
      { kind: "binary", data: new Uint8Array(0) },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 125 }).map((data): Command => ({ kind: "ping", data })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.oneof(
          text.map((data) => [false, data] as const),
          fc.uint8Array({ maxLength: 2000 }).map((data) => [true, data] as const),
        ),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
      )
      .map(([[binary, data], cuts]): Command => ({
        kind: "fragments",
        // Text fragments may split code points: the receiver validates across frames (K2).
        binary,
        parts: fragmentsOf(data, cuts),
      })),
  },
);

/** A short description of an event, to compare without printing 300 KiB. */
function describe(kind: string, data: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of data) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `${kind} ${data.length} bytes #${hash.toString(16)} ${toHex(data.subarray(0, 8))}`;
}

/** Delivers the writes in `outputs` to `to` in chunks cut at `cuts`; returns the other outputs. */
function deliver(outputs: readonly Output[], to: Engine, cuts: readonly number[]): Output[] {
  const writes = outputs.filter((o) => o.type === "write").map((o) => o.data);
  const wire = concat(...writes);
  if (wire.length > 0) {
    for (const chunk of cutAt(
      wire,
      cuts.map((c) => c % wire.length),
    ))
      to.receive(chunk);
  }
  return outputs.filter((o) => o.type !== "write");
}

function events(outputs: readonly Output[]): string[] {
  return outputs.flatMap((o) => {
    if (o.type === "message") return [describe(o.binary ? "binary" : "text", o.data)];
    if (o.type === "ping" || o.type === "pong") return [describe(o.type, o.data)];
    return [];
  });
}

test("I7/H14/J2 (property): any message sequence arrives identical and in order, both ways, under any chunking", () => {
  fc.assert(
    fc.property(
      fc.array(command, { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 24 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.integer({ min: 1, max: 0xffffffff }),
      (commands, cuts, backCuts, seed) => {
        for (const senderRole of ROLES) {
          const sender = new Engine({ role: senderRole, ports: fakePorts({ seed }).ports });
          const receiver = new Engine({
            role: other(senderRole),
            ports: fakePorts({ seed: seed ^ 0x5555 }).ports,
          });
          const expectedAtReceiver: string[] = [];
          const expectedPongs: string[] = [];
          for (const c of commands) {
            switch (c.kind) {
              case "text":
              case "binary":
                assert.equal(sender.send(c.kind, c.data.slice()), true);
                expectedAtReceiver.push(describe(c.kind, c.data));
                break;
              case "ping":
                assert.equal(sender.ping(c.data.slice()), true);
                expectedAtReceiver.push(describe("ping", c.data));
                expectedPongs.push(describe("pong", c.data));
                break;
              case "fragments":
                c.parts.forEach((part, i) => {
                  const opcode = i === 0 ? (c.binary ? 2 : 1) : 0;
                  sender.sendFrame(opcode, part.slice(), i === c.parts.length - 1);
                });
                expectedAtReceiver.push(describe(c.binary ? "binary" : "text", concat(...c.parts)));
                break;
            }
          }
          const received = deliver(sender.takeOutputs(), receiver, cuts);
          assert.deepEqual(received, [], "the sender only writes");
          const atReceiver = receiver.takeOutputs();
          assert.deepEqual(events(atReceiver), expectedAtReceiver, `${senderRole} → receiver`);
          assert.equal(receiver.phase, "open");
          // The receiver's pongs travel back; the sender sees each ping's payload again.
          deliver(atReceiver, sender, backCuts);
          assert.deepEqual(events(sender.takeOutputs()), expectedPongs, "pongs echo the pings");
          // Then a clean closing handshake, still under the same chunking.
          sender.close(1000, "done");
          for (let round = 0; round < 4; round++) {
            for (const [from, to, pieces] of [
              [sender, receiver, cuts],
              [receiver, sender, backCuts],
            ] as const) {
              for (const o of deliver(from.takeOutputs(), to, pieces)) {
                if (o.type === "shutdownWrite") to.receiveEof();
                assert.notEqual(o.type, "message", "no data after the Close");
              }
            }
          }
          for (const engine of [sender, receiver]) {
            assert.equal(engine.phase, "closed");
            assert.equal(engine.outcome?.wasClean, true);
            assert.equal(engine.outcome?.code, 1000);
            assert.equal(engine.outcome?.reason, "done");
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});

// ---- 2. Robustness: random input never throws ---------------------------------------------------

/** Frames that are often valid and sometimes not, as the peer of `role` would send them. */
function peerFrame(role: Role): fc.Arbitrary<Uint8Array> {
  const closeBodyArb = fc
    .tuple(
      fc.oneof(
        fc.constantFrom(1000, 1001, 1005, 1006, 3000, 4999, 5000),
        fc.integer({ min: 0, max: 0xffff }),
      ),
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 30 }).map((s) => utf8(s)),
        fc.uint8Array({ maxLength: 4 }),
      ),
    )
    .map(([code, reason]) => concat(Uint8Array.of(code >> 8, code & 0xff), reason));
  return fc
    .record({
      opcode: fc.oneof(
        { weight: 10, arbitrary: fc.constantFrom(0, 1, 2, 9, 10) },
        { weight: 1, arbitrary: fc.constant(8) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
      ),
      fin: fc.oneof(
        { weight: 3, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
      rsv: fc.oneof(
        { weight: 15, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) },
      ),
      payload: fc.oneof(
        fc.uint8Array({ maxLength: 140 }),
        fc.string({ unit: "binary", maxLength: 40 }).map((s) => utf8(s)),
        closeBodyArb,
        fc.constantFrom(new Uint8Array(0), Uint8Array.of(0x03)),
      ),
      wrongMask: fc.oneof(
        { weight: 20, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
      longForm: fc.constantFrom(undefined, 16, 64),
    })
    .map((spec) => {
      const masked = (role === "server") !== spec.wrongMask;
      return buildFrame({
        opcode: spec.opcode,
        fin: spec.fin,
        rsv: spec.rsv,
        payload: spec.payload,
        ...(spec.longForm === undefined ? {} : { lengthForm: spec.longForm as 16 | 64 }),
        ...(masked ? { maskKey: RFC_MASK_KEY } : {}),
      });
    });
}

const ALLOWED_CAUSES = new Set<string>([
  ...Object.keys(ProtocolErrorCodes).filter((code) => code !== "ERR_WS_INTERNAL_ERROR"),
  ...Object.keys(AbnormalCauseCodes),
]);

/** Parses what an engine wrote, as its peer would; returns the frames (throws if malformed). */
function parseWrites(
  role: Role,
  writes: readonly Uint8Array[],
): { opcode: number; payload: Uint8Array }[] {
  const frames: { opcode: number; payload: Uint8Array }[] = [];
  let parts: Uint8Array[] = [];
  const parser = new FrameParser(
    {
      onFrameHeader() {
        parts = [];
      },
      onFramePayload(bytes) {
        parts.push(bytes.slice());
      },
      onFrameEnd(header: FrameHeader) {
        frames.push({ opcode: header.opcode, payload: concat(...parts) });
      },
    },
    { expectMasked: role === "client" },
  );
  for (const w of writes) parser.push(w.slice());
  return frames;
}

test("P13/L28 (property): random bytes never make an engine throw; failures are documented ERR_WS_* codes", () => {
  for (const role of ROLES) {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(peerFrame(role), { maxLength: 8 }).map((frames) => concat(...frames)),
      fc
        .tuple(fc.array(peerFrame(role), { minLength: 1, maxLength: 8 }), fc.nat(), fc.nat(255))
        .map(([frames, at, byte]) => {
          const bytes = concat(...frames);
          bytes[at % bytes.length] = byte;
          return bytes;
        }),
    );
    fc.assert(
      fc.property(
        input,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.constantFrom("eof", "timeout", "transport", "destroy"),
        (bytes, cuts, ending) => {
          const { ports, clock } = fakePorts();
          const engine = new Engine({ role, ports, maxMessageBytes: 200, maxFragments: 4 });
          const outputs: Output[] = [];
          for (const chunk of cutAt(
            bytes,
            cuts.map((c) => c % (bytes.length + 1)),
          )) {
            engine.receive(chunk);
            outputs.push(...engine.takeOutputs());
          }
          switch (ending) {
            case "eof":
              engine.receiveEof();
              break;
            case "timeout":
              clock.advance(1e9);
              engine.handleTimeout();
              break;
            case "transport":
              engine.transportClosed();
              break;
            case "destroy":
              engine.destroy();
              break;
          }
          outputs.push(...engine.takeOutputs());
          const closedCount = outputs.filter((o) => o.type === "closed").length;
          assert.ok(closedCount <= 1, "closed at most once");
          if (closedCount === 1) assert.equal(outputs.at(-1)?.type, "closed", "closed is last");
          assert.ok(
            outputs.filter((o) => o.type === "closing").length <= 1,
            "closing at most once",
          );
          if (ending !== "timeout") assert.equal(engine.phase, "closed");
          // Whatever the engine wrote is well-formed for its peer (and masked if it is a client).
          const frames = parseWrites(
            role,
            outputs.flatMap((o) => (o.type === "write" ? [o.data] : [])),
          );
          const closes = frames.filter((fr) => fr.opcode === 8);
          assert.ok(closes.length <= 1, "at most one Close is sent");
          assert.equal(frames.at(-1)?.opcode === 8, closes.length === 1, "nothing after our Close");
          const outcome = engine.outcome;
          if (outcome === undefined) return;
          if (outcome.wasClean) {
            assert.equal(outcome.cause, undefined);
          } else {
            assert.equal(outcome.code, 1006);
            assert.ok(outcome.cause !== undefined);
            assert.ok(ALLOWED_CAUSES.has(outcome.cause.code), `undocumented ${outcome.cause.code}`);
            if (outcome.cause instanceof ProtocolError) {
              assert.equal(outcome.cause.closeCode, ProtocolErrorCodes[outcome.cause.code]);
              // The Close we sent carries the mapped code (unless we had echoed the peer's first).
              const sent = closes[0]?.payload;
              assert.ok(sent !== undefined && sent.length === 2, "a Close with a code was sent");
              assert.equal((sent[0]! << 8) | sent[1]!, outcome.cause.closeCode);
              assert.equal(outcome.sentCode, outcome.cause.closeCode);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  }
});
