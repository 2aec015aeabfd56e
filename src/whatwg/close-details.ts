/**
 * The non-standard diagnostics of the WHATWG clients: how a `WebSocket` or `WebSocketStream`
 * closed and why it failed. The standard APIs deliberately hide failure causes from script
 * (SPEC.md E20), so sockwise records them here, on the side, for both classes alike.
 *
 * @module
 */
import type { CloseInitiator, CloseOutcome } from "../protocol/close-state.js";
import type { AbnormalCause, ProtocolError } from "../protocol/errors.js";
import type { DialFailure } from "../node/dial.js";

/** Why and how a WebSocket closed, beyond what the standard `CloseEvent` may say. */
export interface CloseDetails {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  /** Who started the close: this end (`local`) or the peer (`remote`). */
  readonly initiator: CloseInitiator;
  /** What went wrong, for an abnormal close: a stable `code` and a message. */
  readonly cause?: {
    readonly code: string;
    readonly message: string;
    /** The HTTP status and headers of a refused handshake. */
    readonly response?: DialFailure["response"];
    /** The underlying socket or TLS error. */
    readonly error?: unknown;
  };
  /** The close code this end sent in its Close frame, if it sent one. */
  readonly sentCode?: number;
}

const details = new WeakMap<object, CloseDetails>();

/**
 * The recorded details of `socket` (a `WebSocket`, a `WebSocketStream` or a
 * `ReconnectingWebSocket`), if it has closed. The public, typed entry point is `closeDetails()`
 * in close-details-api.ts.
 */
export function readCloseDetails(socket: object): CloseDetails | undefined {
  return details.get(socket);
}

/** Records how `socket` closed, for {@link readCloseDetails}. */
export function recordCloseDetails(socket: object, record: CloseDetails): void {
  details.set(socket, record);
}

/** The stable code and message of the cause when messages given to send were never sent. */
const UNSENT_DATA_CAUSE = {
  code: "ERR_WS_UNSENT_DATA",
  message:
    "the peer closed while messages given to send() (or written to a WebSocketStream) were still unsent",
} as const;

/**
 * The details of a connection that was open: the engine's outcome, made unclean when data the
 * application sent while open never went out (SPEC.md L25, O17).
 */
export function detailsFromOutcome(outcome: CloseOutcome, hasUnsentData: boolean): CloseDetails {
  const cause = outcome.cause;
  const described =
    cause !== undefined ? describeCause(cause) : hasUnsentData ? UNSENT_DATA_CAUSE : undefined;
  return {
    code: outcome.code,
    reason: outcome.reason,
    wasClean: outcome.wasClean && !hasUnsentData,
    initiator: outcome.initiator,
    ...(described === undefined ? {} : { cause: described }),
    ...(outcome.sentCode === undefined ? {} : { sentCode: outcome.sentCode }),
  };
}

/** The details of a connection that never opened: 1006, not clean, and the dial failure. */
export function detailsFromFailure(failure: DialFailure, initiator: CloseInitiator): CloseDetails {
  return {
    code: 1006,
    reason: "",
    wasClean: false,
    initiator,
    cause: {
      code: failure.code,
      message: failure.message,
      ...(failure.response === undefined ? {} : { response: failure.response }),
      ...(failure.error === undefined ? {} : { error: failure.error }),
    },
  };
}

function describeCause(cause: ProtocolError | AbnormalCause): NonNullable<CloseDetails["cause"]> {
  const error = "error" in cause ? cause.error : undefined;
  return error === undefined
    ? { code: cause.code, message: cause.message }
    : { code: cause.code, message: cause.message, error };
}
