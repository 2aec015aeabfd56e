// A data frame built once for many connections (topics): buildServerDataFrame and
// Engine.sendBuiltFrame keep RFC 6455's rules and the engine's order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildServerDataFrame } from "../../src/protocol/built-frame.js";
import { Engine } from "../../src/protocol/engine.js";
import { fakePorts } from "../helpers/fake-ports.js";
import { OP, buildFrame, utf8 } from "../helpers/frames.js";

function writes(engine: Engine): Uint8Array[] {
  return engine
    .takeOutputs()
    .filter((output) => output.type === "write")
    .map((output) => (output as { data: Uint8Array }).data);
}

test("buildServerDataFrame: a final, unmasked frame with the shortest length (RFC 6455 §5.2)", () => {
  for (const size of [0, 1, 125, 126, 65_535, 65_536, 70_000]) {
    const payload = new Uint8Array(size).fill(7);
    for (const kind of ["text", "binary"] as const) {
      const frame = buildServerDataFrame(kind, payload, false);
      const expected = buildFrame({
        opcode: kind === "text" ? OP.text : OP.binary,
        payload,
      });
      assert.deepEqual(frame, expected, `${kind} ${size}`);
    }
  }
  const compressed = buildServerDataFrame("text", utf8("x"), true);
  assert.equal(
    compressed[0],
    0x80 | 0x40 | OP.text,
    "RSV1 set for a compressed message (RFC 7692 §6)",
  );
});

test("Engine.sendBuiltFrame writes the frame as given, in order with send()", () => {
  const engine = new Engine({ role: "server", ports: fakePorts().ports });
  const frame = buildServerDataFrame("text", utf8("shared"), false);
  assert.equal(engine.send("text", utf8("a")), true);
  assert.equal(engine.sendBuiltFrame(frame), true);
  assert.equal(engine.send("text", utf8("b")), true);
  const out = writes(engine);
  assert.equal(out.length, 3);
  assert.equal(out[1], frame, "the very same bytes: no copy per connection");
  assert.equal(engine.writeCount, 3);
});

test("Engine.sendBuiltFrame: nothing after this side's Close (RFC 6455 §5.5.1)", () => {
  const engine = new Engine({ role: "server", ports: fakePorts().ports });
  engine.close(1000);
  engine.takeOutputs();
  assert.equal(engine.sendBuiltFrame(buildServerDataFrame("text", utf8("late"), false)), false);
  assert.deepEqual(writes(engine), []);
});

test("Engine.sendBuiltFrame: never inside a fragmented message (RFC 6455 §5.4), never on a client", () => {
  const engine = new Engine({ role: "server", ports: fakePorts().ports });
  engine.sendFrame(OP.text as 1, utf8("part"), false);
  assert.throws(() => engine.sendBuiltFrame(buildServerDataFrame("text", utf8("x"), false)), {
    code: "ERR_WS_INVALID_FRAGMENTATION",
  });
  const client = new Engine({ role: "client", ports: fakePorts().ports });
  assert.throws(() => client.sendBuiltFrame(buildServerDataFrame("text", utf8("x"), false)), {
    code: "ERR_WS_INVALID_ROLE",
  });
});
