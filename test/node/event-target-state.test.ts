/**
 * `releaseUnusedEventTargetState` (src/facade/event-handlers.ts) drops the per-instance Map that
 * Node's EventTarget keeps for its own `on<event>` attributes, which sockwise's socket classes
 * never use (memory per idle connection). Everything an EventTarget does must still work on a
 * released target (SPEC.md E16–E18), and on this Node the release must actually happen, or the
 * memory figures in docs/benchmarks.md no longer hold.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { releaseUnusedEventTargetState } from "../../src/facade/event-handlers.js";

function handlersSlot(target: EventTarget): symbol | undefined {
  return Object.getOwnPropertySymbols(target).find((symbol) => symbol.description === "kHandlers");
}

test("memory: on this Node the EventTarget's unused handler Map is released", () => {
  const target = new EventTarget();
  const slot = handlersSlot(target);
  assert.ok(slot !== undefined, "Node's EventTarget no longer has a kHandlers slot: re-measure");
  releaseUnusedEventTargetState(target);
  assert.equal((target as EventTarget & Record<symbol, unknown>)[slot], undefined);
});

test("E16–E18: a released EventTarget still adds, orders, dispatches to and removes listeners", () => {
  const target = new EventTarget();
  releaseUnusedEventTargetState(target);
  const seen: string[] = [];
  const first = (event: Event): void => {
    seen.push(`first ${event.type} ${String(event.target === target)} ${event.eventPhase}`);
  };
  const object = { handleEvent: (): number => seen.push("handleEvent") };
  const controller = new AbortController();
  target.addEventListener("x", first);
  target.addEventListener("x", first); // a duplicate is ignored
  target.addEventListener("x", object);
  target.addEventListener("x", () => seen.push("once"), { once: true });
  target.addEventListener("x", () => seen.push("aborted"), { signal: controller.signal });
  controller.abort();
  assert.equal(target.dispatchEvent(new Event("x")), true);
  target.removeEventListener("x", first);
  target.dispatchEvent(new Event("x"));
  assert.deepEqual(seen, ["first x true 2", "handleEvent", "once", "handleEvent"]);
});

test("memory: the release is safe only because no Node on<event> attribute reaches sockwise's sockets", async () => {
  // Node's own attributes (AbortSignal#onabort, MessagePort#onmessage, …) keep their handler in
  // that Map, and fail on a released target:
  const controller = new AbortController();
  releaseUnusedEventTargetState(controller.signal);
  assert.throws(() => {
    controller.signal.onabort = () => {};
  }, TypeError);
  // sockwise's classes define every on<event> themselves, and EventTarget.prototype has none.
  const { WebSocket } = await import("../../src/whatwg/websocket.js");
  const { ServerWebSocket } = await import("../../src/server/server-socket.js");
  for (const cls of [WebSocket, ServerWebSocket]) {
    for (let proto: object | null = cls.prototype; proto !== null;) {
      const handlers = Object.getOwnPropertyNames(proto).filter((name) => name.startsWith("on"));
      if (proto === cls.prototype) assert.ok(handlers.length >= 4, cls.name);
      else
        assert.deepEqual(
          handlers,
          [],
          `${cls.name}: on* inherited from ${String(proto.constructor.name)}`,
        );
      proto = Object.getPrototypeOf(proto) as object | null;
    }
  }
});
