/**
 * The closing handshake (RFC 6455 §5.5.1, §7; SPEC.md L1–L28) as one explicit state machine.
 * This file is its only owner: it decides when a Close is sent, when TCP is half-closed or
 * dropped, when the close deadline applies, and what the outcome is. See the state diagram in
 * docs/design.md.
 *
 * It is pure: every transition returns the effects the engine must carry out, in order.
 *
 * @module
 */
import { CloseCode } from "./close-codes.js";
import {
  AbnormalCauseCodes,
  type AbnormalCause,
  type AbnormalCauseCode,
  type ProtocolError,
} from "./errors.js";

/** Which end started the closing handshake (or dropped the connection). */
export type CloseInitiator = "local" | "remote";

/** A Close frame sent or received: its body and what the body means. */
export interface CloseFrameInfo {
  /** The code in the body, or 1005 when the body was empty. */
  readonly code: number;
  readonly reason: string;
  /** The exact body bytes (echoed as-is when replying to a received Close, SPEC.md L7). */
  readonly payload: Uint8Array;
}

/** How a connection ended: the value behind the `close` event and the server's `closed`. */
export interface CloseOutcome {
  /** The peer's code (1005 for an empty Close), or 1006 when no Close was received or the connection failed. */
  readonly code: number;
  /** The peer's reason, or "" when there was none. */
  readonly reason: string;
  /** True only when both Close frames were exchanged before TCP ended (RFC 6455 §7.1.4). */
  readonly wasClean: boolean;
  /** Who started the close. */
  readonly initiator: CloseInitiator;
  /** Why the close was abnormal, when it was: a protocol error, a timeout, a lost connection. */
  readonly cause?: ProtocolError | AbnormalCause;
  /** The code this endpoint sent in its own Close frame, if it sent one (1005 for an empty body). */
  readonly sentCode?: number;
}

/** The phase index doubles as the WHATWG `readyState` of an established connection. */
export type ClosePhase = "open" | "closing" | "closed";

/** Something the engine must do after a transition. */
export type CloseEffect =
  | { readonly type: "sendClose"; readonly payload: Uint8Array }
  | { readonly type: "shutdownWrite" }
  | { readonly type: "destroy" }
  | {
      readonly type: "closing";
      readonly initiator: CloseInitiator;
      readonly received?: CloseFrameInfo;
    }
  | { readonly type: "closed"; readonly outcome: CloseOutcome };

/** Settings of the state machine. */
export interface CloseStateOptions {
  readonly isClient: boolean;
  /** How long to wait for the peer's Close once the closing handshake started. */
  readonly closeTimeoutMs: number;
  /**
   * How long to wait for the peer to end TCP once the Close frames were exchanged (or the
   * connection was failed). Chromium waits 2 s (SPEC.md L12).
   */
  readonly tcpCloseWaitMs: number;
}

/**
 * The closing-handshake state of one connection. Only the engine calls its transitions.
 */
export class CloseState {
  // The options are kept as fields, not as the caller's object: one object less per connection.
  readonly #isClient: boolean;
  readonly #closeTimeoutMs: number;
  readonly #tcpCloseWaitMs: number;
  #phase: ClosePhase = "open";
  #initiator: CloseInitiator | undefined;
  #sent: CloseFrameInfo | undefined;
  #received: CloseFrameInfo | undefined;
  #failure: ProtocolError | undefined;
  #hasShutdownWrite = false;
  #deadline: number | undefined;
  #outcome: CloseOutcome | undefined;

  constructor(options: CloseStateOptions) {
    this.#isClient = options.isClient;
    this.#closeTimeoutMs = options.closeTimeoutMs;
    this.#tcpCloseWaitMs = options.tcpCloseWaitMs;
  }

  get phase(): ClosePhase {
    return this.#phase;
  }

  /** Whether this endpoint has sent its Close (so it may send no more frames, SPEC.md L5, J8). */
  get hasSentClose(): boolean {
    return this.#sent !== undefined;
  }

  /** Whether a Close has been received (so later input is discarded, SPEC.md L8). */
  get hasReceivedClose(): boolean {
    return this.#received !== undefined;
  }

  /** Whether the connection was failed (RFC 6455 §7.1.7). */
  get hasFailed(): boolean {
    return this.#failure !== undefined;
  }

  /** The outcome once the phase is `closed`. */
  get outcome(): CloseOutcome | undefined {
    return this.#outcome;
  }

  /** The single close deadline, or `undefined` when nothing is awaited. */
  get deadline(): number | undefined {
    return this.#phase === "closed" ? undefined : this.#deadline;
  }

  /**
   * Starts the closing handshake from this end by sending `sent` (RFC 6455 §7.1.2). Does nothing
   * unless the connection is open.
   */
  startClosingHandshake(sent: CloseFrameInfo, now: number): CloseEffect[] {
    if (this.#phase !== "open") return [];
    this.#phase = "closing";
    this.#initiator = "local";
    this.#sent = sent;
    this.#extendDeadline(now, this.#closeTimeoutMs);
    return [
      { type: "sendClose", payload: sent.payload },
      { type: "closing", initiator: "local" },
    ];
  }

  /**
   * A valid Close frame arrived. While open, reply with the same body (SPEC.md L7); if our Close
   * was already sent, the handshake is now complete. Later Close frames are never processed,
   * because the engine stops reading after the first.
   */
  receiveClose(received: CloseFrameInfo, now: number): CloseEffect[] {
    if (this.#phase === "closed" || this.#received !== undefined || this.#failure !== undefined)
      return [];
    this.#received = received;
    const effects: CloseEffect[] = [];
    if (this.#phase === "open") {
      this.#phase = "closing";
      this.#initiator = "remote";
      this.#sent = received;
      effects.push({ type: "sendClose", payload: received.payload });
      effects.push({ type: "closing", initiator: "remote", received });
    }
    this.#completeHandshake(now, effects);
    return effects;
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): send a Close with the error's code unless one was
   * sent already, then (server) close TCP without waiting for the peer's Close, or (client) wait
   * at most `tcpCloseWaitMs` for the server to close it. The outcome will be
   * 1006 and not clean, with the error as its cause (SPEC.md L19–L20).
   */
  failConnection(error: ProtocolError, now: number): CloseEffect[] {
    if (this.#phase === "closed" || this.#failure !== undefined) return [];
    this.#failure = error;
    const effects: CloseEffect[] = [];
    if (this.#phase === "open") {
      this.#phase = "closing";
      this.#initiator = "local";
      effects.push({ type: "closing", initiator: "local" });
    }
    if (this.#sent === undefined) {
      const payload = new Uint8Array([error.closeCode >>> 8, error.closeCode & 0xff]);
      this.#sent = { code: error.closeCode, reason: "", payload };
      effects.unshift({ type: "sendClose", payload });
    }
    // The server closes TCP at once; a client leaves that to the server (RFC 6455 §7.1.1), for
    // at most the same short wait as after a clean close.
    if (!this.#isClient) this.#shutdownWrite(effects);
    this.#extendDeadline(now, this.#tcpCloseWaitMs);
    return effects;
  }

  /** The peer ended its side of TCP (FIN). */
  receiveEof(): CloseEffect[] {
    if (this.#phase === "closed") return [];
    const effects: CloseEffect[] = [];
    this.#shutdownWrite(effects);
    effects.push(this.#close("ERR_WS_CONNECTION_LOST"));
    return effects;
  }

  /** The transport is gone (closed or reset) without an orderly end. */
  transportClosed(error?: unknown): CloseEffect[] {
    if (this.#phase === "closed") return [];
    return [this.#close("ERR_WS_CONNECTION_LOST", error)];
  }

  /** The local application drops the connection at once. */
  destroy(): CloseEffect[] {
    if (this.#phase === "closed") return [];
    this.#initiator ??= "local";
    return [{ type: "destroy" }, this.#close("ERR_WS_DESTROYED")];
  }

  /** Call when the clock passes {@link CloseState.deadline}: drop TCP and settle the outcome. */
  handleTimeout(now: number): CloseEffect[] {
    if (this.#phase === "closed" || this.#deadline === undefined || now < this.#deadline) return [];
    return [{ type: "destroy" }, this.#close("ERR_WS_CLOSE_TIMEOUT")];
  }

  /** Both Close frames are exchanged: the server closes TCP now, the client waits for it. */
  #completeHandshake(now: number, effects: CloseEffect[]): void {
    if (this.#sent === undefined || this.#received === undefined) return;
    // RFC 6455 §7.1.1: the server should close TCP first; the client waits, then gives up.
    if (!this.#isClient) this.#shutdownWrite(effects);
    this.#extendDeadline(now, this.#tcpCloseWaitMs);
  }

  #shutdownWrite(effects: CloseEffect[]): void {
    if (this.#hasShutdownWrite) return;
    this.#hasShutdownWrite = true;
    effects.push({ type: "shutdownWrite" });
  }

  /** Sets the deadline to `now + ms` unless an earlier one is already set: waits never add up. */
  #extendDeadline(now: number, ms: number): void {
    const candidate = now + ms;
    if (this.#deadline === undefined || candidate < this.#deadline) this.#deadline = candidate;
  }

  #close(abnormal: AbnormalCauseCode, error?: unknown): CloseEffect {
    this.#phase = "closed";
    const clean =
      this.#sent !== undefined && this.#received !== undefined && this.#failure === undefined;
    const initiator = this.#initiator ?? "remote";
    const sentCode = this.#sent?.code;
    let outcome: CloseOutcome;
    if (clean) {
      const received = this.#received!;
      outcome = {
        code: received.code,
        reason: received.reason,
        wasClean: true,
        initiator,
        sentCode: sentCode!,
      };
    } else {
      const cause: ProtocolError | AbnormalCause =
        this.#failure ??
        (error === undefined
          ? { code: abnormal, message: AbnormalCauseCodes[abnormal] }
          : { code: abnormal, message: AbnormalCauseCodes[abnormal], error });
      outcome =
        sentCode === undefined
          ? { code: CloseCode.AbnormalClosure, reason: "", wasClean: false, initiator, cause }
          : {
              code: CloseCode.AbnormalClosure,
              reason: "",
              wasClean: false,
              initiator,
              cause,
              sentCode,
            };
    }
    this.#outcome = outcome;
    return { type: "closed", outcome };
  }
}
