/**
 * HTML "event handler IDL attributes" (`onopen`, `onmessage`, …) for the socket classes of both
 * the WHATWG client and the server, so both behave the same: a non-object becomes `null`, a
 * non-callable object is kept but never called, and the handler takes the listener position of
 * its first non-null assignment (SPEC.md B12, E16).
 *
 * Memory per connection matters on a server with many idle connections, so no object is created
 * per socket here: each class keeps its handler values in its own fields (a
 * {@link HandlerSlot}), and every socket of a class registers the same listener function for a
 * type. EventTarget calls a listener with the target as `this`, which leads back to the value.
 *
 * @see https://html.spec.whatwg.org/multipage/webappapis.html#event-handler-attributes
 * @module
 */

import { isMap } from "node:util/types";

export type Handler = object | null;

/** Where a class keeps the value of one event handler of its instances (usually a private field). */
export interface HandlerSlot<T extends EventTarget> {
  /** The current value, `null` when none. */
  get(target: T): Handler;
  set(target: T, value: Handler): void;
}

type Listener = Parameters<EventTarget["addEventListener"]>[1];

const addListener = EventTarget.prototype.addEventListener;
const removeListener = EventTarget.prototype.removeEventListener;

/** One event handler attribute (`on<type>`) of a class of event targets. */
export class EventHandlerAttribute<T extends EventTarget> {
  readonly type: string;
  readonly #slot: HandlerSlot<T>;
  /** The listener every instance registers for this handler: the same function for all. */
  readonly #listener: (this: T, event: Event) => void;

  constructor(type: string, slot: HandlerSlot<T>) {
    this.type = type;
    this.#slot = slot;
    this.#listener = function (this: T, event: Event): void {
      const current = slot.get(this);
      if (typeof current === "function") (current as (event: Event) => unknown).call(this, event);
    };
  }

  /** Returns the current handler on `target`. */
  get(target: T): Handler {
    return this.#slot.get(target);
  }

  /** Sets the handler on `target`, as the HTML standard's setter does. */
  set(target: T, value: unknown): void {
    // [LegacyTreatNonObjectAsNull]: anything but an object or function becomes null.
    const handler =
      value !== null && (typeof value === "object" || typeof value === "function") ? value : null;
    const existing = this.#slot.get(target);
    if (handler === null) {
      if (existing !== null) {
        // The listener goes; a later non-null value is added again, at the end (SPEC.md E16).
        this.#slot.set(target, null);
        removeListener.call(target, this.type, this.#listener as Listener);
      }
      return;
    }
    this.#slot.set(target, handler);
    // Only the first non-null value adds the listener: a new value keeps its position.
    if (existing === null) addListener.call(target, this.type, this.#listener as Listener);
  }
}

/** Defines enumerable `on<type>` accessors on `prototype` for each attribute. */
export function defineEventHandlerAttributes<T extends EventTarget>(
  prototype: T,
  attributes: readonly EventHandlerAttribute<T>[],
): void {
  for (const attribute of attributes) {
    Object.defineProperty(prototype, `on${attribute.type}`, {
      enumerable: true,
      configurable: true,
      get(this: T): Handler {
        return attribute.get(this);
      },
      set(this: T, value: unknown): void {
        attribute.set(this, value);
      },
    });
  }
}

/**
 * The slot of the second `Map` that Node's `EventTarget` constructor creates for every instance
 * (`kHandlers`), or `undefined` where releasing it is not known to be safe.
 *
 * Node uses that Map only in the `on<event>` attributes of its own classes (its internal
 * `defineEventHandler`: `AbortSignal#onabort`, `MessagePort#onmessage`, …), which would fail on a
 * released target. sockwise's classes have none of those: they define their handler attributes
 * themselves (above), and `EventTarget.prototype` has no `on<event>` (both checked by
 * test/node/event-target-state.test.ts). So on a sockwise socket the Map is never used, yet costs
 * about 180 bytes per socket, on each of a server's idle connections (docs/design.md, "Cost per
 * connection"). Node does not export the symbol; it is found by its description on a probe
 * instance, and used only if a target without the Map still adds, dispatches to and removes
 * listeners correctly. On a Node where any of that differs, nothing is released.
 */
const nodeHandlersSlot: symbol | undefined = (() => {
  try {
    const probe = new EventTarget() as EventTarget & Record<symbol, unknown>;
    const slot = Object.getOwnPropertySymbols(probe).find(
      (symbol) => symbol.description === "kHandlers",
    );
    // Node's own Map class (`SafeMap`) is a Map without `Map.prototype` in its chain.
    if (slot === undefined || !isMap(probe[slot])) return undefined;
    probe[slot] = undefined;
    let calls = 0;
    const listener = (): void => {
      calls++;
    };
    probe.addEventListener("probe", listener);
    probe.dispatchEvent(new Event("probe"));
    probe.removeEventListener("probe", listener);
    probe.dispatchEvent(new Event("probe"));
    return calls === 1 ? slot : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Drops the unused per-instance `Map` of Node's `EventTarget` (see {@link nodeHandlersSlot});
 * call right after `super()` in a socket class. Does nothing where that is not known to be safe.
 */
export function releaseUnusedEventTargetState(target: EventTarget): void {
  if (nodeHandlersSlot !== undefined)
    (target as EventTarget & Record<symbol, unknown>)[nodeHandlersSlot] = undefined;
}
