/**
 * SPEC.md E21 (the CloseEvent interface) and the close reason's decoding (K10), plus the BOM
 * decision for text messages (K11).
 */
import { test } from "node:test";
import assert from "node:assert/strict";

import { CloseEvent, MessageEvent } from "../../src/index.js";
import { OP } from "../helpers/frames.js";
import { openClient } from "../helpers/open-client.js";
import { assertThrowsTypeError } from "../helpers/assert-dom.js";

test("E21: new CloseEvent(type) defaults: wasClean false, code 0, reason '', not bubbling or cancelable", () => {
  const event = new CloseEvent("x");
  assert.equal(event.type, "x");
  assert.equal(event.wasClean, false);
  assert.equal(event.code, 0);
  assert.equal(event.reason, "");
  assert.equal(event.bubbles, false);
  assert.equal(event.cancelable, false);
  assert.ok(event instanceof Event);
  assert.equal(CloseEvent.length, 1);
  assert.equal(Object.prototype.toString.call(event), "[object CloseEvent]");
});

test("E21: the init dictionary: code wraps modulo 2^16, reason is a USVString, EventInit applies", () => {
  const cases: [unknown, number][] = [
    [1000, 1000],
    [65536 + 1000, 1000],
    [-1, 65535],
    [1.9, 1],
    [-1.9, 65535],
    [NaN, 0],
    [Infinity, 0],
    ["4000", 4000],
    [null, 0],
  ];
  for (const [code, expected] of cases) {
    assert.equal(new CloseEvent("close", { code: code as number }).code, expected, String(code));
  }
  const event = new CloseEvent("close", {
    wasClean: "yes" as unknown as boolean,
    reason: "a\uD800b",
    bubbles: true,
    cancelable: true,
  });
  assert.equal(event.wasClean, true);
  assert.equal(event.reason, "a\uFFFDb");
  assert.equal(event.bubbles, true);
  assert.equal(event.cancelable, true);
  assert.equal(new CloseEvent("close", null as unknown as undefined).code, 0);
  assertThrowsTypeError(() => new CloseEvent("close", { code: Symbol("c") as unknown as number }));
});

test("E21: dictionary members are read in Web IDL order (inherited first, then lexicographic)", () => {
  const order: string[] = [];
  const init = new Proxy(
    {},
    {
      get(_target, name) {
        if (typeof name === "string") order.push(name);
        return undefined;
      },
    },
  );
  new CloseEvent("close", init);
  const ours = order.filter((name) => ["code", "reason", "wasClean"].includes(name));
  assert.deepEqual(ours, ["code", "reason", "wasClean"]);
  assert.ok(order.indexOf("bubbles") < order.indexOf("code"));
});

test("E21: a missing type or a non-object init throws a TypeError", () => {
  assertThrowsTypeError(() => new (CloseEvent as unknown as new () => CloseEvent)());
  for (const init of [5, "x", true, Symbol("s")]) {
    assertThrowsTypeError(() => new CloseEvent("close", init as never), String(init));
  }
  assertThrowsTypeError(() => new (MessageEvent as unknown as new () => MessageEvent)());
});

test("E21: the attributes are read-only prototype getters; there is no initCloseEvent", () => {
  const event = new CloseEvent("close", { code: 1000, reason: "r", wasClean: true });
  for (const name of ["code", "reason", "wasClean"] as const) {
    const descriptor = Object.getOwnPropertyDescriptor(CloseEvent.prototype, name)!;
    assert.equal(typeof descriptor.get, "function", name);
    assert.equal(descriptor.set, undefined, name);
    assert.equal(descriptor.enumerable, true, name);
    assert.throws(() => {
      (event as unknown as Record<string, unknown>)[name] = 1;
    }, TypeError);
  }
  assert.deepEqual([event.code, event.reason, event.wasClean], [1000, "r", true]);
  assert.equal("initCloseEvent" in event, false);
});

test("K10 (★): the close reason is decoded without stripping a leading BOM", async (t) => {
  const { ws, conn, rec } = await openClient(t);
  ws.close();
  await conn.nextFrame();
  conn.closeAndEnd(1000, Uint8Array.of(0xef, 0xbb, 0xbf, 0x68, 0x69));
  const event = await rec.closed();
  assert.equal(event.reason, "\uFEFFhi");
});

test("K11 (★): a text message keeps a leading BOM", async (t) => {
  const { conn, rec } = await openClient(t);
  conn.sendFrame({ opcode: OP.text, payload: Uint8Array.of(0xef, 0xbb, 0xbf, 0x61) });
  assert.equal((await rec.nextMessage()).data, "\uFEFFa");
});
