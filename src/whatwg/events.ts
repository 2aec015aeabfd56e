/**
 * `CloseEvent`, which Node 20 lacks, with its init dictionary; and the `MessageEvent` the
 * WebSocket fires (Node's global one fits the standard, so it is re-exported).
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
   * @throws {TypeError} when `type` is missing or `init` is not an object
   */
  constructor(type: string, init?: CloseEventInit) {
    if (arguments.length === 0)
      throw new TypeError(
        "Failed to construct 'CloseEvent': 1 argument required, but only 0 present.",
      );
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

  get [Symbol.toStringTag](): string {
    return "CloseEvent";
  }
}

for (const name of ["wasClean", "code", "reason"] as const) {
  Object.defineProperty(CloseEvent.prototype, name, { enumerable: true });
}

/** Node's global `MessageEvent` has the standard shape (`data`, `origin`, `lastEventId`, …). */
export const MessageEvent: typeof globalThis.MessageEvent = globalThis.MessageEvent;
export type MessageEvent = globalThis.MessageEvent;
