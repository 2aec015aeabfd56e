/**
 * The close event of a server connection: a `CloseEvent`-shaped event that also says who
 * initiated the close and, for an abnormal close, why.
 *
 * @module
 */
import type { CloseInitiator } from "../protocol/close-state.js";

/** How a server connection ended: the value of `ServerWebSocket.closed`. */
export interface ServerCloseInfo {
  /** The client's close code (1005 when its Close had none), or 1006 when none arrived. */
  readonly code: number;
  readonly reason: string;
  /** True only when both Close frames were exchanged before TCP ended. */
  readonly wasClean: boolean;
  /** Who started the close. */
  readonly initiator: CloseInitiator;
  /** Why the close was abnormal: a stable `code` (`ERR_WS_*`) and a message. */
  readonly cause?: { readonly code: string; readonly message: string; readonly error?: unknown };
  /** The code this server sent in its Close frame, if any. */
  readonly sentCode?: number;
}

/** Node's global `MessageEvent`, typed as a plain constructor so that it can be extended. */
const MessageEventBase = MessageEvent as unknown as new (
  type: string,
  init: { data: unknown },
) => MessageEvent;

/**
 * Fired as `message` (and `ping`, `pong`) on a `ServerWebSocket`: a `MessageEvent` that also
 * says whether the message was binary, which `data` alone no longer tells once text is
 * delivered as bytes (`textType = "nodebuffer"`).
 */
export class ServerMessageEvent<T = unknown> extends MessageEventBase {
  declare readonly data: T;
  /** True for a binary message (opcode 2), false for text (non-standard; ws's `isBinary`). */
  readonly isBinary: boolean;

  constructor(type: string, data: T, isBinary: boolean) {
    super(type, { data });
    this.isBinary = isBinary;
  }

  get [Symbol.toStringTag](): string {
    return "MessageEvent";
  }
}

/** Fired as `close` on a `ServerWebSocket`. */
export class ServerCloseEvent extends Event {
  readonly #info: ServerCloseInfo;

  constructor(type: string, info: ServerCloseInfo) {
    super(type);
    this.#info = info;
  }

  get code(): number {
    return this.#info.code;
  }
  get reason(): string {
    return this.#info.reason;
  }
  get wasClean(): boolean {
    return this.#info.wasClean;
  }
  /** Who started the close (non-standard). */
  get initiator(): ServerCloseInfo["initiator"] {
    return this.#info.initiator;
  }
  /** Why the close was abnormal (non-standard). */
  get cause(): ServerCloseInfo["cause"] {
    return this.#info.cause;
  }

  get [Symbol.toStringTag](): string {
    return "CloseEvent";
  }
}
