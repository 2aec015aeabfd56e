/**
 * The close event of a server connection: a `CloseEvent`-shaped event that also says who
 * initiated the close and, for an abnormal close, why.
 *
 * @module
 */
import type { ServerCloseInfo } from "./server-socket.js";

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
