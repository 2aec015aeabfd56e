/**
 * `WebSocketError`, the DOMException that carries a close code and reason: what an unclean
 * close of a `WebSocketStream` rejects and errors its streams with, and what an application may
 * pass to `writable.abort()` or `readable.cancel()` to choose the Close frame sent.
 *
 * @see https://github.com/whatwg/websockets/pull/48 (WS-48, "the WebSocketError interface")
 * @module
 */
import { defineToStringTag } from "../events.js";
import { validateCloseCodeAndReason } from "../validate-close.js";
import { toDOMString } from "../webidl.js";
import { toCloseInfo, type WebSocketCloseInfo } from "./close-info.js";

/** Sets the private fields of an error; assigned in the class's static block. */
let setCloseInfo: (error: WebSocketError, closeCode: number | null, reason: string) => void;
/** The Web IDL brand check ("implements WebSocketError"); assigned in the static block. */
let hasBrand: (value: object) => boolean;

/**
 * A DOMException named "WebSocketError" (legacy `code` 0) with a `closeCode` and a `reason`.
 *
 * ```ts
 * writable.abort(new WebSocketError("done", { closeCode: 4000, reason: "bye" }));
 * ```
 *
 * @see https://github.com/whatwg/websockets/pull/48 (WS-48, "new WebSocketError()")
 */
export class WebSocketError extends DOMException {
  #closeCode: number | null;
  #reason: string;

  /**
   * Creates a WebSocketError, validating the close code and reason as `WebSocket.close()` does.
   * A non-empty reason without a code gets code 1000 (SPEC.md O19).
   *
   * @param args `[message, init]`: the DOMException message (default ""); `init` with
   *   `closeCode` (1000 or 3000–4999) and `reason` (at most 123 UTF-8 bytes)
   * @throws {TypeError} when `init` is not an object, or `closeCode` is not a number in
   *   0–65535 (`[EnforceRange] unsigned short`)
   * @throws {DOMException} InvalidAccessError for a code other than 1000 or 3000–4999;
   *   SyntaxError for a reason over 123 UTF-8 bytes
   */
  constructor(...args: [message?: string, init?: WebSocketCloseInfo]) {
    // Web IDL converts every argument before the constructor steps run.
    const message = args[0] === undefined ? "" : toDOMString(args[0]);
    const init = toCloseInfo(args[1], "Failed to construct 'WebSocketError'");
    // Step 5: "validate close code and reason" (the WebSocket.close() rules, SPEC.md D5–D7).
    validateCloseCodeAndReason(init.closeCode, init.reason);
    super(message, "WebSocketError");
    // Step 6: a non-empty reason without a code means 1000 (Normal Closure).
    this.#closeCode = init.closeCode ?? (init.reason === "" ? null : 1000);
    this.#reason = init.reason;
  }

  /** The close code, or null when none was given. */
  get closeCode(): number | null {
    return this.#closeCode;
  }

  /** The close reason ("" when none was given). */
  get reason(): string {
    return this.#reason;
  }

  static {
    setCloseInfo = (error, closeCode, reason) => {
      error.#closeCode = closeCode;
      error.#reason = reason;
    };
    hasBrand = (value) => #closeCode in value;
  }
}

defineToStringTag(WebSocketError, "WebSocketError");
for (const name of ["closeCode", "reason"]) {
  Object.defineProperty(WebSocketError.prototype, name, { enumerable: true });
}

/**
 * Creates the WebSocketError of a closed connection. It carries the code and reason the
 * connection ended with (1006, or a code the peer sent such as 1001 or 1011), which the public
 * constructor would refuse.
 */
export function createWebSocketError(
  message: string,
  closeCode: number | null,
  reason: string,
): WebSocketError {
  const error = new WebSocketError(message);
  setCloseInfo(error, closeCode, reason);
  return error;
}

/**
 * Whether `value` really is a WebSocketError (Web IDL "implements"): an object that merely has
 * `closeCode` and `reason` properties, or inherits from the prototype, is not (SPEC.md O13).
 */
export function isWebSocketError(value: unknown): value is WebSocketError {
  return (
    value !== null && (typeof value === "object" || typeof value === "function") && hasBrand(value)
  );
}
