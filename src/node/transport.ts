/**
 * Drives a protocol {@link Engine} over a Node socket: feeds it what arrives (data, EOF, close),
 * carries out what it outputs (writes, half-close, destroy), arms its one deadline timer and
 * hands events to the API layer. This is the only place where sockets meet the engine; it
 * keeps no protocol state of its own.
 *
 * @module
 */
import type { Socket } from "node:net";
import type { Engine, MessageKind } from "../protocol/engine.js";
import type {
  CloseFrameInfo,
  CloseInitiator,
  CloseOutcome,
  ClosePhase,
} from "../protocol/close-state.js";
import type { ProtocolError } from "../protocol/errors.js";
import type { Output } from "../protocol/outputs.js";
import type { PerMessageDeflate } from "../protocol/extensions/permessage-deflate.js";
import { nodeClock } from "./node-ports.js";

/**
 * What the API layer learns from a transport. Called synchronously from socket callbacks. The
 * names leave room for an API object to be its own handlers (a server socket is: one object
 * less per connection).
 */
export interface TransportHandlers {
  handleMessage(binary: boolean, data: Uint8Array): void;
  handlePing?(data: Uint8Array): void;
  handlePong?(data: Uint8Array): void;
  /** The closing handshake started; `received` is the peer's Close when the peer started it. */
  handleClosing?(initiator: CloseInitiator, received: CloseFrameInfo | undefined): void;
  /** The connection is over. Called exactly once, last. */
  handleClosed(outcome: CloseOutcome): void;
  /** Everything written so far has been handed to the operating system. */
  handleDrain?(): void;
}

/** Options of a {@link Transport}. */
export interface TransportOptions {
  /**
   * Coalesce the frames written within one tick into one system call (cork until the next
   * tick). A lone message is not delayed beyond the current tick. Default true.
   */
  readonly coalesceWrites?: boolean;
}

/** Where a socket keeps its transport, for the listeners that all transports share. */
const kTransport = Symbol("sockwise.transport");

/** A socket driven by a {@link Transport}. */
type TransportSocket = Socket & { [kTransport]?: Transport };

/**
 * One WebSocket connection on a Node socket. Never throws from a socket callback and always
 * listens for `'error'`, so a failing socket cannot crash the process.
 *
 * Memory per connection matters on a server with many idle connections, so the socket listeners
 * and timer callbacks are functions shared by every transport (Node calls a listener with the
 * socket as `this`, which leads back to its transport) rather than closures bound per instance.
 */
export class Transport {
  readonly #socket: Socket;
  readonly #engine: Engine;
  readonly #handlers: TransportHandlers;
  /** {@link COALESCE}, {@link CORKED}, {@link HELD}, {@link CLOSED_REPORTED}, {@link FLUSHING}. */
  #flags: number;
  /** Frame bytes written since the socket was corked. */
  #corkedBytes = 0;
  /** The deadline timer and a socket error: created when first needed (most connections never). */
  #rare: RareState | undefined;

  constructor(
    socket: Socket,
    engine: Engine,
    handlers: TransportHandlers,
    options: TransportOptions = {},
  ) {
    this.#socket = socket;
    this.#engine = engine;
    this.#handlers = handlers;
    this.#flags = (options.coalesceWrites ?? true) ? COALESCE : 0;
    socket.setNoDelay(true);
    (socket as TransportSocket)[kTransport] = this;
    socket.on("data", Transport.#onData);
    socket.on("end", Transport.#onEnd);
    socket.on("error", Transport.#onError);
    socket.on("close", Transport.#onClose);
    socket.on("drain", Transport.#onDrain);
  }

  /**
   * Feeds bytes that arrived before the transport took over (the rest of the read that carried
   * the handshake head). Call once, right after construction.
   */
  start(head?: Uint8Array): void {
    if (head !== undefined && head.length > 0) this.#engine.receive(head);
    this.#flush();
    // The socket may have ended or closed before the transport took it over (an asynchronous
    // accept): those events were emitted without us listening.
    if (this.#socket.readableEnded) this.#handleEnd();
    if (this.#socket.destroyed) this.#handleClose();
  }

  /** How many chunks have arrived from the peer: a cheap activity signal for heartbeats. */
  receivedChunks = 0;

  /** `open`, `closing` or `closed`, as the engine sees it. */
  get phase(): ClosePhase {
    return this.#engine.phase;
  }

  /** The connection's permessage-deflate, when negotiated. */
  get deflate(): PerMessageDeflate | undefined {
    return this.#engine.deflate;
  }

  /** Whether data may still be sent. */
  get canSend(): boolean {
    return this.#engine.canSend;
  }

  /** Bytes written to the socket but not yet handed to the operating system (frames included). */
  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  /** The remote address and port, when known. */
  get remoteAddress(): {
    address: string | undefined;
    port: number | undefined;
    family: string | undefined;
  } {
    return {
      address: this.#socket.remoteAddress,
      port: this.#socket.remotePort,
      family: this.#socket.remoteFamily,
    };
  }

  /**
   * Sends one message. `onWritten(written, size)` runs once its bytes are handed to the
   * operating system (`true`) or the connection ended before that (`false`); `size` is passed
   * back as given, so that one callback can serve every message of a connection.
   * @returns false when nothing was sent because the closing handshake started on this side;
   *   `onWritten` is then never called
   */
  send(kind: MessageKind, payload: Uint8Array, onWritten?: OnWritten, size = 0): boolean {
    if (!this.#engine.send(kind, payload)) return false;
    if (onWritten !== undefined) this.#whenWritten(onWritten, size);
    this.#flush();
    return true;
  }

  /**
   * Writes a complete data frame built once for many connections (see `Engine.sendBuiltFrame`);
   * `onWritten` as for {@link Transport.send}.
   */
  sendBuiltFrame(frame: Uint8Array, onWritten?: OnWritten, size = 0): boolean {
    if (!this.#engine.sendBuiltFrame(frame)) return false;
    if (onWritten !== undefined) this.#whenWritten(onWritten, size);
    this.#flush();
    return true;
  }

  /** Sends one frame of a message fragmented by the caller (see `Engine.sendFrame`). */
  sendFrame(
    opcode: 0 | 1 | 2,
    payload: Uint8Array,
    fin: boolean,
    onWritten?: OnWritten,
    size = 0,
  ): boolean {
    if (!this.#engine.sendFrame(opcode, payload, fin)) return false;
    if (onWritten !== undefined) this.#whenWritten(onWritten, size);
    this.#flush();
    return true;
  }

  /**
   * Calls `onWritten` once the engine's last write so far has been carried out. Kept as three
   * entries of a flat list (no object per message).
   */
  #whenWritten(onWritten: OnWritten, size: number): void {
    (this.#writeCallbacks ??= new CallbackList()).push(this.#engine.writeCount, onWritten, size);
  }

  #rareState(): RareState {
    return (this.#rare ??= { timer: undefined, timerAt: undefined, socketError: undefined });
  }

  /** Sends a Ping. @throws {RangeError} for more than 125 bytes */
  ping(payload?: Uint8Array): boolean {
    const sent = this.#engine.ping(payload);
    this.#flush();
    return sent;
  }

  /** Sends an unsolicited Pong. @throws {RangeError} for more than 125 bytes */
  pong(payload?: Uint8Array): boolean {
    const sent = this.#engine.pong(payload);
    this.#flush();
    return sent;
  }

  /**
   * Starts the closing handshake (see `Engine.close`).
   * @throws {RangeError} for a code not valid on the wire or a reason over 123 bytes
   */
  close(code?: number, reason?: string | Uint8Array): boolean {
    const started = this.#engine.close(code, reason);
    this.#flush();
    return started;
  }

  /** Fails the connection with a protocol-level error (e.g. 1011 for an internal failure). */
  fail(error: ProtocolError): void {
    this.#engine.fail(error);
    this.#flush();
  }

  /** Drops TCP now. */
  destroy(): void {
    this.#engine.destroy();
    this.#flush();
  }

  /**
   * Keeps what is written from now on corked past the end of the tick, until
   * {@link Transport.releaseWrites}, which writes everything held in one system call. The
   * WHATWG client delivers each message from its own task and Node uncorks between two tasks,
   * so without this each reply to the messages of one read would be a write of its own. At
   * most {@link HOLD_LIMIT_BYTES} are held: past that the held frames are written at once.
   */
  holdWrites(): void {
    this.#flags |= HELD;
  }

  /** Ends {@link Transport.holdWrites}: writes what was held, now. */
  releaseWrites(): void {
    if ((this.#flags & HELD) === 0) return;
    this.#flags &= ~HELD;
    this.#uncork();
  }

  /** Stops reading from the socket (receive backpressure); TCP flow control slows the peer. */
  pause(): void {
    this.#socket.pause();
  }

  /** Resumes reading after {@link Transport.pause}. */
  resume(): void {
    this.#socket.resume();
  }

  // ---- socket events ------------------------------------------------------------------------

  static #onData(this: TransportSocket, chunk: Buffer): void {
    const transport = this[kTransport]!;
    transport.receivedChunks++;
    transport.#engine.receive(chunk);
    transport.#flush();
  }

  static #onEnd(this: TransportSocket): void {
    this[kTransport]!.#handleEnd();
  }

  #handleEnd(): void {
    this.#engine.receiveEof();
    this.#flush();
  }

  static #onError(this: TransportSocket, error: Error): void {
    // Reported with the close that always follows an error.
    this[kTransport]!.#rareState().socketError ??= error;
  }

  static #onClose(this: TransportSocket): void {
    this[kTransport]!.#handleClose();
  }

  #handleClose(): void {
    if ((this.#flags & CLOSED_REPORTED) !== 0) return;
    this.#engine.transportClosed(this.#rare?.socketError);
    this.#flush();
  }

  static #onDrain(this: TransportSocket): void {
    this[kTransport]!.#handlers.handleDrain?.();
  }

  // ---- outputs ------------------------------------------------------------------------------

  /**
   * Carries out the engine's outputs in order. Only the outermost call does: a handler that calls
   * back into the transport (e.g. the application answering a message) only queues work in the
   * engine, and the loop below carries it out after the rest of the current batch. So every
   * message of a batch reaches the application before a Close that followed it takes effect
   * (the engine holds that Close back until the batch has been taken), and writes keep the
   * engine's order.
   */
  #flush(): void {
    if ((this.#flags & FLUSHING) !== 0) return;
    this.#flags |= FLUSHING;
    try {
      for (
        let outputs = this.#engine.takeOutputs();
        outputs.length > 0;
        outputs = this.#engine.takeOutputs()
      ) {
        this.#carryOut(outputs);
      }
    } finally {
      this.#flags &= ~FLUSHING;
    }
    this.#armTimer();
  }

  /** Writes carried out so far, to match {@link Engine.writeCount} marks. */
  #writesCarriedOut = 0;
  /**
   * Completion callbacks of sent messages, each waiting for its last write, oldest first
   * (created with the first: an idle connection has none).
   */
  #writeCallbacks: CallbackList | undefined;
  /**
   * Callbacks of the socket writes in flight that complete a message, oldest first: Node calls
   * write callbacks in order, so one function per transport ({@link Transport.#afterWrite})
   * serves them all instead of a closure per write.
   */
  #socketCallbacks: CallbackList | undefined;
  #afterWrite: ((error?: Error | null) => void) | undefined;

  #carryOut(outputs: readonly Output[]): void {
    const socket = this.#socket;
    for (let i = 0; i < outputs.length; i++) {
      const output = outputs[i]!;
      switch (output.type) {
        case "write": {
          const count = ++this.#writesCarriedOut;
          const callbacks = this.#writeCallbacks;
          const completes = callbacks !== undefined && callbacks.firstAt() === count;
          if (socket.destroyed || !socket.writable) {
            if (completes) callbacks.callFirst(false);
            break;
          }
          // Once this side has sent its Close (the usual last write), no message can follow it
          // in this tick: there is nothing to coalesce it with, so it is written at once instead
          // of through a cork and a `nextTick` (a server closing thousands of connections).
          if ((this.#flags & (COALESCE | CORKED)) === COALESCE && this.#engine.canSend) {
            this.#flags |= CORKED;
            socket.cork();
            process.nextTick(Transport.#uncorkAtTickEnd, this);
          }
          if (completes) {
            callbacks.moveFirstTo((this.#socketCallbacks ??= new CallbackList()));
            socket.write(output.data, (this.#afterWrite ??= (error) => this.#written(error)));
          } else socket.write(output.data);
          // Bounded holding: a held cork flushes once it has a socket buffer's worth.
          if (
            (this.#flags & CORKED) !== 0 &&
            (this.#corkedBytes += output.data.length) >= HOLD_LIMIT_BYTES
          ) {
            if ((this.#flags & HELD) !== 0) this.#uncork();
          }
          break;
        }
        case "shutdownWrite":
          this.#uncork();
          socket.end();
          break;
        case "destroy":
          socket.destroy();
          break;
        case "message":
          this.#handlers.handleMessage(output.binary, output.data);
          break;
        case "ping":
          this.#handlers.handlePing?.(output.data);
          break;
        case "pong":
          this.#handlers.handlePong?.(output.data);
          break;
        case "closing":
          this.#handlers.handleClosing?.(output.initiator, output.received);
          break;
        case "closed":
          this.#flags |= CLOSED_REPORTED;
          this.#clearTimer();
          // Whatever the engine decided, the socket must not outlive the connection for long:
          // a half-closed socket ends when the peer's FIN arrives or the socket is destroyed.
          if (!socket.destroyed && socket.writableEnded && socket.readableEnded) socket.destroy();
          this.#handlers.handleClosed(output.outcome);
          break;
      }
    }
  }

  /** A socket write that completes a message is done (Node calls these in write order). */
  #written(error: Error | null | undefined): void {
    this.#socketCallbacks?.callFirst(error == null);
  }

  /**
   * The end of the tick in which the socket was corked: uncork unless writes are held. Static,
   * with the transport as its argument, so that no connection keeps a closure for it.
   */
  static #uncorkAtTickEnd(transport: Transport): void {
    if ((transport.#flags & HELD) === 0) transport.#uncork();
  }

  #uncork(): void {
    if ((this.#flags & CORKED) === 0) return;
    this.#flags &= ~CORKED;
    this.#corkedBytes = 0;
    this.#socket.uncork();
  }

  #armTimer(): void {
    const deadline = this.#engine.nextDeadline();
    if (deadline === this.#rare?.timerAt) return;
    this.#clearTimer();
    // No timer for an infinite deadline (e.g. closeTimeoutMs: Infinity).
    if (deadline === undefined || !Number.isFinite(deadline)) return;
    const rare = this.#rareState();
    rare.timerAt = deadline;
    // Node fires longer delays after 1 ms instead; waking up early just re-arms the timer.
    const delay = Math.min(Math.max(0, deadline - nodeClock.now()), MAX_TIMER_DELAY_MS);
    rare.timer = setTimeout(Transport.#onTimer, Math.ceil(delay), this);
    rare.timer.unref();
  }

  static #onTimer(transport: Transport): void {
    const rare = transport.#rare!;
    rare.timer = undefined;
    rare.timerAt = undefined;
    // The engine ignores a timeout before its deadline (a clamped long delay).
    transport.#engine.handleTimeout();
    transport.#flush();
  }

  #clearTimer(): void {
    const rare = this.#rare;
    if (rare === undefined) return;
    if (rare.timer !== undefined) clearTimeout(rare.timer);
    rare.timer = undefined;
    rare.timerAt = undefined;
  }
}

/** A message's completion callback: written or not, and the size given to `send()`. */
export type OnWritten = (written: boolean, size: number) => void;

/**
 * A first-in first-out list of (mark, callback, size) triples, kept flat in one array with a
 * moving head: no object per entry, and the array is reused once empty.
 */
class CallbackList {
  #items: unknown[] = [];
  #head = 0;

  push(at: number, onWritten: OnWritten, size: number): void {
    this.#items.push(at, onWritten, size);
  }

  /** The mark of the oldest entry, or -1 when empty. */
  firstAt(): number {
    return this.#head < this.#items.length ? (this.#items[this.#head] as number) : -1;
  }

  /** Removes the oldest entry and calls it. */
  callFirst(written: boolean): void {
    const items = this.#items;
    const head = this.#head;
    if (head >= items.length) return;
    const onWritten = items[head + 1] as OnWritten;
    const size = items[head + 2] as number;
    this.#advance();
    onWritten(written, size);
  }

  /** Moves the oldest entry to the end of `other`. */
  moveFirstTo(other: CallbackList): void {
    const items = this.#items;
    const head = this.#head;
    other.push(items[head] as number, items[head + 1] as OnWritten, items[head + 2] as number);
    this.#advance();
  }

  #advance(): void {
    const items = this.#items;
    this.#head += 3;
    if (this.#head >= items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 3 * 1024) {
      // A long run that never empties: drop the consumed entries now and then.
      items.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** What few connections need: a deadline timer (while closing), a socket error. */
interface RareState {
  timer: NodeJS.Timeout | undefined;
  timerAt: number | undefined;
  socketError: unknown;
}

/** Flags of a {@link Transport}: coalesce the writes of a tick (the `coalesceWrites` option). */
const COALESCE = 1;
/** The socket is corked by the transport. */
const CORKED = 2;
/** Set by {@link Transport.holdWrites}: the cork outlives the tick. */
const HELD = 4;
/** The engine's `closed` output has been carried out. */
const CLOSED_REPORTED = 8;
/** {@link Transport.#flush} is running (only the outermost call carries out outputs). */
const FLUSHING = 16;

/**
 * The most frame bytes {@link Transport.holdWrites} keeps corked: four times a socket's default
 * high-water mark, enough for the replies to one 64 KiB read.
 */
const HOLD_LIMIT_BYTES = 64 * 1024;

/** The longest delay `setTimeout` honours (2^31 − 1 ms). */
const MAX_TIMER_DELAY_MS = 2_147_483_647;
