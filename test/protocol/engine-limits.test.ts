/**
 * Engine limits (SPEC.md H5, I11, P5, P6) and option validation: going over a limit fails with
 * 1009 as soon as the header says so, before any excess byte is buffered.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ENGINE_DEFAULTS, Engine, type EngineOptions } from "../../src/protocol/engine.js";
import { EngineHarness, ROLES, forEveryChunking, out } from "../helpers/engine-harness.js";
import { fakePorts } from "../helpers/fake-ports.js";
import { OP, concat, patternBytes } from "../helpers/frames.js";

test("P5: the defaults are those the README documents", () => {
  assert.deepEqual(
    { ...ENGINE_DEFAULTS },
    {
      serverMaxMessageBytes: 1024 * 1024,
      clientMaxMessageBytes: 64 * 1024 * 1024,
      maxFragments: 16_384,
      closeTimeoutMs: 10_000,
      tcpCloseWaitMs: 2_000,
    },
  );
});

for (const role of ROLES) {
  const peer = new EngineHarness(role);
  const f = peer.peerFrame.bind(peer);
  const limits = { maxMessageBytes: 64, maxFragments: 3 };

  test(`P5/${role}: a message of exactly maxMessageBytes is delivered`, () => {
    const input = concat(
      f(OP.binary, patternBytes(64)),
      f(OP.text, "x".repeat(30), { fin: false }),
      f(OP.cont, "y".repeat(34)),
    );
    forEveryChunking(
      role,
      input,
      (h) =>
        h.expect(
          out.message("binary", patternBytes(64)),
          out.message("text", "x".repeat(30) + "y".repeat(34)),
        ),
      limits,
      [1, 2, 3, 60, 70, 80],
    );
  });

  test(`H5/P5/${role}: a header declaring one byte too many fails with 1009 at once, no payload sent`, () => {
    const header = f(OP.binary, "", { declaredLength: 65 });
    forEveryChunking(role, header, (h) => h.expectFailing(1009, "ERR_WS_MESSAGE_TOO_BIG"), limits);
  });

  test(`H5/P6/${role}: a header declaring 2^53 - 1 bytes fails with 1009 before allocating`, () => {
    const header = f(OP.text, "", { declaredLength: 2n ** 53n - 1n });
    forEveryChunking(role, header, (h) => h.expectFailing(1009, "ERR_WS_MESSAGE_TOO_BIG"));
  });

  test(`P6/${role}: with no size limit at all, a length over 2^53 - 1 still fails with 1009`, () => {
    const header = f(OP.binary, "", { declaredLength: 2n ** 53n });
    forEveryChunking(role, header, (h) => h.expectFailing(1009, "ERR_WS_MESSAGE_TOO_BIG"), {
      maxMessageBytes: Infinity,
    });
  });

  test(`P5/${role}: a later fragment that would go over the limit fails with 1009 at its header`, () => {
    const input = concat(
      f(OP.binary, patternBytes(40), { fin: false }),
      f(OP.cont, "", { declaredLength: 25 }),
    );
    forEveryChunking(
      role,
      input,
      (h) => h.expectFailing(1009, "ERR_WS_MESSAGE_TOO_BIG"),
      limits,
      [1, 2, 10, 40, 45, 46, 47, 48],
    );
  });

  test(`I11/P5/${role}: maxFragments frames are fine; one more fails with 1009`, () => {
    const ok = concat(
      f(OP.text, "a", { fin: false }),
      f(OP.cont, "b", { fin: false }),
      f(OP.cont, "c"),
    );
    forEveryChunking(role, ok, (h) => h.expect(out.message("text", "abc")), limits);
    const tooMany = concat(
      f(OP.text, "a", { fin: false }),
      f(OP.cont, "", { fin: false }),
      f(OP.cont, "", { fin: false }),
      f(OP.cont, ""),
    );
    forEveryChunking(
      role,
      tooMany,
      (h) => h.expectFailing(1009, "ERR_WS_TOO_MANY_FRAGMENTS"),
      limits,
    );
  });

  test(`I11/${role}: control frames between fragments do not count as fragments`, () => {
    const input = concat(
      f(OP.binary, "a", { fin: false }),
      f(OP.ping, ""),
      f(OP.pong, ""),
      f(OP.cont, "b", { fin: false }),
      f(OP.ping, ""),
      f(OP.cont, "c"),
    );
    const h = new EngineHarness(role, limits);
    h.receive(input);
    h.expect(
      out.ping(),
      out.sent(OP.pong),
      out.pong(),
      out.ping(),
      out.sent(OP.pong),
      out.message("binary", "abc"),
    );
  });

  test(`P5/${role}: after our Close, data is discarded and no longer limited`, () => {
    const h = new EngineHarness(role, limits);
    h.engine.close(1000);
    h.expect(out.close(1000), out.closing("local"));
    h.receive(f(OP.binary, patternBytes(500)), f(OP.text, "x", { fin: false }));
    for (let i = 0; i < 5; i++) h.receive(f(OP.cont, "y", { fin: false }));
    h.receive(f(OP.cont, ""));
    h.expectNothing();
  });
}

test("P5/server: by default a server refuses a message over 1 MiB, from the header", () => {
  const peer = new EngineHarness("server");
  const header = peer.peerFrame(OP.binary, "", { declaredLength: 1024 * 1024 + 1 });
  forEveryChunking("server", header, (h) => h.expectFailing(1009, "ERR_WS_MESSAGE_TOO_BIG"));
  const atLimit = new EngineHarness("server");
  atLimit.receive(atLimit.peerFrame(OP.binary, "", { declaredLength: 1024 * 1024 }));
  atLimit.expectNothing();
  assert.equal(atLimit.engine.phase, "open", "the payload is awaited");
});

test("P5/client: by default a client accepts 64 MiB and refuses more, from the header", () => {
  const peer = new EngineHarness("client");
  const header = peer.peerFrame(OP.binary, "", { declaredLength: 64 * 1024 * 1024 + 1 });
  forEveryChunking("client", header, (h) => h.expectFailing(1009, "ERR_WS_MESSAGE_TOO_BIG"));
  const big = new EngineHarness("client");
  big.receive(big.peerFrame(OP.binary, "", { declaredLength: 64 * 1024 * 1024 }));
  big.expectNothing();
  assert.equal(big.engine.phase, "open");
});

test("I11: by default a message may have 16 384 fragments, not one more", () => {
  for (const role of ROLES) {
    const h = new EngineHarness(role);
    h.receive(h.peerFrame(OP.binary, "", { fin: false }));
    const cont = h.peerFrame(OP.cont, "", { fin: false });
    for (let i = 2; i <= 16_384; i++) h.receive(cont);
    h.expectNothing();
    h.receive(h.peerFrame(OP.cont, ""));
    h.expectFailing(1009, "ERR_WS_TOO_MANY_FRAGMENTS");
  }
});

test("P5: every limit and timeout option must be a positive number (RangeError)", () => {
  const { ports } = fakePorts();
  for (const name of ["maxMessageBytes", "maxFragments", "closeTimeoutMs", "tcpCloseWaitMs"]) {
    for (const value of [0, -1, Number.NaN, "10" as unknown as number]) {
      assert.throws(
        () => new Engine({ role: "server", ports, [name]: value } as EngineOptions),
        (error: unknown) => {
          assert.ok(error instanceof RangeError, `${name}=${String(value)}`);
          assert.equal((error as RangeError & { code?: string }).code, "ERR_WS_INVALID_OPTION");
          assert.match(error.message, new RegExp(name));
          return true;
        },
      );
    }
    assert.doesNotThrow(() => new Engine({ role: "client", ports, [name]: 1 } as EngineOptions));
  }
});
