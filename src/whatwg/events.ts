/**
 * `CloseEvent`, which Node 20 lacks, with its init dictionary; and the `MessageEvent` the
 * WebSocket fires (Node's global one, with the standard class string).
 *
 * @see https://websockets.spec.whatwg.org/#the-closeevent-interface
 * @module
 */
import { toUSVString, toUnsignedShort } from "./webidl.js";

/** The `EventInit` dictionary. */
export interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

/** The `CloseEventInit` dictionary. */
export interface CloseEventInit extends EventInit {
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/**
 * The event fired when a WebSocket closes: `code`, `reason` and `wasClean` (SPEC.md E21).
 */
export class CloseEvent extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;

  /**
   * Creates a close event. (The init dictionary is a rest parameter so that
   * `CloseEvent.length` is 1: Web IDL counts only required arguments.)
   *
   * @throws {TypeError} when `type` is missing or `init` is not an object
   */
  constructor(type: string, ...rest: [eventInitDict?: CloseEventInit]) {
    if (arguments.length === 0)
      throw new TypeError(
        "Failed to construct 'CloseEvent': 1 argument required, but only 0 present.",
      );
    const init = rest[0];
    if (
      init !== undefined &&
      init !== null &&
      typeof init !== "object" &&
      typeof init !== "function"
    ) {
      throw new TypeError(
        "Failed to construct 'CloseEvent': The provided value is not of type 'CloseEventInit'.",
      );
    }
    super(type, init ?? undefined);
    // Web IDL reads dictionary members in lexicographic order: code, reason, wasClean.
    const code = init?.code;
    this.#code = code === undefined ? 0 : toUnsignedShort(code);
    const reason = init?.reason;
    this.#reason = reason === undefined ? "" : toUSVString(reason);
    this.#wasClean = Boolean(init?.wasClean);
  }

  /** Whether both Close frames were exchanged before TCP ended. */
  get wasClean(): boolean {
    return this.#wasClean;
  }

  /** The close code the peer sent (1005 when none, 1006 when the connection failed). */
  get code(): number {
    return this.#code;
  }

  /** The close reason the peer sent. */
  get reason(): string {
    return this.#reason;
  }
}

for (const name of ["wasClean", "code", "reason"] as const) {
  Object.defineProperty(CloseEvent.prototype, name, { enumerable: true });
}
defineToStringTag(CloseEvent, "CloseEvent");

/**
 * The event fired for each received message: Node's global `MessageEvent` (which has the
 * standard `data`, `origin`, `lastEventId`, `source` and `ports`), with the class string the
 * standard gives it. Node's own reports `[object Event]` (SPEC.md B13).
 *
 * @see https://html.spec.whatwg.org/multipage/comms.html#the-messageevent-interface
 */
export class MessageEvent<T = unknown> extends globalThis.MessageEvent<T> {
  /**
   * Creates a message event. (The init dictionary is a rest parameter so that
   * `MessageEvent.length` is 1: Web IDL counts only required arguments.)
   *
   * @throws {TypeError} when `type` is missing or `init` is not an object
   */
  constructor(type: string, ...init: [eventInitDict?: MessageEventInit]) {
    // Node's MessageEvent accepts a missing type (as "undefined"); Web IDL requires it.
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to construct 'MessageEvent': 1 argument required, but only 0 present.",
      );
    }
    super(type, ...init);
  }
}

defineToStringTag(MessageEvent, "MessageEvent");

/**
 * Gives an interface's prototype its class string the way Web IDL does: a non-writable,
 * non-enumerable, configurable `@@toStringTag` data property (as Node's own `Event` has).
 */
export function defineToStringTag(constructor: { prototype: object }, name: string): void {
  Object.defineProperty(constructor.prototype, Symbol.toStringTag, {
    value: name,
    writable: false,
    enumerable: false,
    configurable: true,
  });
}
