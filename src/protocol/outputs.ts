/**
 * What the engine asks of its host, in order: bytes to write, TCP actions, and events.
 *
 * @module
 */
import type { CloseFrameInfo, CloseInitiator, CloseOutcome } from "./close-state.js";

/** Write these bytes to the transport, after everything written before. */
export interface WriteOutput {
  readonly type: "write";
  readonly data: Uint8Array;
}

/** Half-close TCP: send FIN after the pending writes (`socket.end()`). */
export interface ShutdownWriteOutput {
  readonly type: "shutdownWrite";
}

/** Drop TCP now, discarding pending writes (`socket.destroy()`). */
export interface DestroyOutput {
  readonly type: "destroy";
}

/**
 * A complete data message. Text has been validated as UTF-8 but not decoded. `data` is handed
 * over for good: the engine keeps no reference to these bytes and never changes them (the API
 * layer may give them, or their whole ArrayBuffer, to the application).
 */
export interface MessageOutput {
  readonly type: "message";
  readonly binary: boolean;
  readonly data: Uint8Array;
}

/** A Ping arrived (the engine has already queued the Pong). */
export interface PingOutput {
  readonly type: "ping";
  readonly data: Uint8Array;
}

/** A Pong arrived. */
export interface PongOutput {
  readonly type: "pong";
  readonly data: Uint8Array;
}

/** The closing handshake started (emitted once). `received` is set when the peer started it. */
export interface ClosingOutput {
  readonly type: "closing";
  readonly initiator: CloseInitiator;
  readonly received?: CloseFrameInfo;
}

/** The connection is over (emitted exactly once, last). */
export interface ClosedOutput {
  readonly type: "closed";
  readonly outcome: CloseOutcome;
}

/** Everything an engine can output. */
export type Output =
  | WriteOutput
  | ShutdownWriteOutput
  | DestroyOutput
  | MessageOutput
  | PingOutput
  | PongOutput
  | ClosingOutput
  | ClosedOutput;
