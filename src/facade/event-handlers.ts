/**
 * HTML "event handler IDL attributes" (`onopen`, `onmessage`, …) for the socket classes of both
 * the WHATWG client and the server, so both behave the same: a non-object becomes `null`, a
 * non-callable object is kept but never called, and the handler takes the listener position of
 * its first non-null assignment (SPEC.md B12, E16).
 *
 * @see https://html.spec.whatwg.org/multipage/webappapis.html#event-handler-attributes
 * @module
 */

type Handler = object | null;

interface Entry {
  value: object;
  readonly listener: (event: Event) => void;
}

const registry = new WeakMap<EventTarget, Map<string, Entry>>();

/** Returns the current handler of `type` on `target`. */
export function getEventHandler(target: EventTarget, type: string): Handler {
  return registry.get(target)?.get(type)?.value ?? null;
}

/** Sets the handler of `type` on `target`, as the HTML standard's setter does. */
export function setEventHandler(target: EventTarget, type: string, value: unknown): void {
  // [LegacyTreatNonObjectAsNull]: anything but an object or function becomes null.
  const handler =
    value !== null && (typeof value === "object" || typeof value === "function") ? value : null;
  let handlers = registry.get(target);
  const existing = handlers?.get(type);
  if (handler === null) {
    if (existing !== undefined) {
      target.removeEventListener(type, existing.listener);
      handlers!.delete(type);
    }
    return;
  }
  if (existing !== undefined) {
    existing.value = handler;
    return;
  }
  const entry: Entry = {
    value: handler,
    listener(this: EventTarget, event: Event): void {
      const current = entry.value;
      if (typeof current === "function") (current as (event: Event) => unknown).call(target, event);
    },
  };
  if (handlers === undefined) {
    handlers = new Map();
    registry.set(target, handlers);
  }
  handlers.set(type, entry);
  target.addEventListener(type, entry.listener);
}

/**
 * Defines enumerable `on<type>` accessors on `prototype` for each event type.
 */
export function defineEventHandlerAttributes(prototype: object, types: readonly string[]): void {
  for (const type of types) {
    Object.defineProperty(prototype, `on${type}`, {
      enumerable: true,
      configurable: true,
      get(this: EventTarget): Handler {
        return getEventHandler(this, type);
      },
      set(this: EventTarget, value: unknown): void {
        setEventHandler(this, type, value);
      },
    });
  }
}
