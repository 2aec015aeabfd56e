/**
 * The one send queue of the socket classes (the WHATWG `WebSocket` and the server's
 * `ServerWebSocket`): messages leave in call order, a Blob is never overtaken while its bytes are
 * read, a `close()` waits behind what was sent before it, and `bufferedAmount` counts the payload
 * bytes not yet handed to the network. The classes differ only in their {@link SendPolicy}:
 *
 * - **WHATWG** (SPEC.md B6–B8, C6, C8): `bufferedAmount` falls only between tasks, never inside
 *   the task that called `send()`; after the closing handshake starts, each `send()` still adds
 *   its size and it never falls back. A message the network never took makes the close unclean
 *   (L25).
 * - **Server** (P16): `bufferedAmount` falls as soon as a message's bytes are handed to the
 *   operating system, and `drained()` settles when it reaches 0. A server does not mask, so the
 *   engine writes the caller's bytes as given: they are copied first (C10).
 *
 * Per-connection memory matters on a server: the policy is one shared object, the write
 * callback one function per queue (not one per message), and a server socket creates its queue
 * on its first `send()`.
 *
 * @module
 */
import type { Transport } from "../node/transport.js";
import { SEND_COPIES_UP_TO_BYTES } from "../protocol/engine.js";
import type { Outgoing } from "./message-data.js";

/** How one class of sockets counts `bufferedAmount` and treats the caller's bytes. */
export interface SendPolicy {
  /**
   * WHATWG (SPEC.md B7): written bytes leave `bufferedAmount` from a task of their own, as the
   * standard samples it when the event loop starts a task. Otherwise they leave at once.
   */
  readonly fallsBetweenTasks: boolean;
  /**
   * Copy the caller's bytes that the engine would otherwise write as given (a server's frames
   * are not masked; the engine itself copies payloads of at most `SEND_COPIES_UP_TO_BYTES`).
   */
  readonly copiesBorrowed: boolean;
  /** Called when `bufferedAmount` falls to 0 (the server settles `drained()`). */
  readonly onDrained?: ((owner: object) => void) | undefined;
}

/** What {@link SendQueue.sendOwned} takes: a message, or a frame built for many connections. */
type OwnedKind = "text" | "binary" | "frame";

/** A frame built once for many connections, waiting behind a Blob. */
interface BuiltFrame {
  readonly kind: "frame";
  readonly bytes: Uint8Array;
  readonly size: number;
}

/** A Close waiting for the messages sent before it. */
interface PendingClose {
  readonly code: number | undefined;
  readonly reason: Uint8Array;
}

/** The send queue of one connection. */
export class SendQueue {
  readonly #policy: SendPolicy;
  readonly #owner: object;
  #transport: Transport | undefined;
  #bufferedAmount = 0;
  /** Messages waiting behind a Blob (created when one is needed: most connections never do). */
  #waiting: (Outgoing | BuiltFrame)[] | undefined;
  #pendingClose: PendingClose | undefined;
  /** Written bytes not yet taken off `bufferedAmount` (the between-tasks rule). */
  #written = 0;
  /** A message given while open never reached the network (SPEC.md L25). */
  #hasUnsentData = false;
  /** No more messages leave: the closing handshake started, or the connection is over. */
  #isStopped = false;
  /** The write callback: one function per queue, told the size of the message it completes. */
  readonly #onWritten: (written: boolean, size: number) => void;

  constructor(policy: SendPolicy, owner: object, transport?: Transport) {
    this.#policy = policy;
    this.#owner = owner;
    this.#transport = transport;
    this.#onWritten = policy.fallsBetweenTasks
      ? (written, size) => this.#writtenBetweenTasks(written, size)
      : (written, size) => this.#writtenNow(written, size);
  }

  /** Payload bytes given to {@link SendQueue.send} and not yet handed to the network. */
  get bufferedAmount(): number {
    return this.#bufferedAmount;
  }

  /**
   * Whether a message given while open never went out: refused by the engine (the peer's Close
   * came first), not written, or still waiting when the connection ended (SPEC.md L25).
   */
  get hasUnsentData(): boolean {
    return this.#hasUnsentData || (this.#waiting !== undefined && this.#waiting.length > 0);
  }

  /** The transport, once the connection is open. */
  attach(transport: Transport): void {
    this.#transport = transport;
  }

  /** Counts a message that will never be sent (`send()` after the closing handshake started). */
  count(size: number): void {
    this.#bufferedAmount += size;
  }

  /**
   * Sends a message in order: at once when nothing waits, else behind the Blob being read. A
   * message given after {@link SendQueue.close} is only counted. `blob` is the Blob of a message
   * whose bytes are still `undefined`. `isBorrowed`: the bytes are the caller's, who may change
   * them once this returns (SPEC.md C10); by default binary data is, encoded text is not.
   */
  send(outgoing: Outgoing, blob?: Blob, isBorrowed = outgoing.kind === "binary"): void {
    this.#bufferedAmount += outgoing.size;
    if (this.#pendingClose !== undefined || this.#isStopped) return;
    const bytes = outgoing.bytes;
    if (this.#waiting === undefined && bytes !== undefined) {
      this.#transmit(
        outgoing.kind,
        isBorrowed && this.#policy.copiesBorrowed && bytes.length > SEND_COPIES_UP_TO_BYTES
          ? bytes.slice()
          : bytes,
        outgoing.size,
      );
      return;
    }
    // Queued behind a Blob: keep a private copy of the caller's bytes, which it may change
    // before the Blob is read (C10).
    if (bytes !== undefined && isBorrowed) outgoing.bytes = bytes.slice();
    (this.#waiting ??= []).push(outgoing);
    if (outgoing.bytes === undefined && blob !== undefined) {
      blob.arrayBuffer().then(
        (buffer) => {
          outgoing.bytes = new Uint8Array(buffer);
          this.#drainWaiting();
        },
        () => {
          // A Blob that cannot be read cannot be sent: an empty message keeps the order.
          outgoing.bytes = new Uint8Array(0);
          this.#drainWaiting();
        },
      );
    }
  }

  /**
   * Sends bytes that the caller guarantees never change (a broadcast shares them between
   * connections, freshly encoded text is the queue's own): no copy. Kind `"frame"`: a complete
   * frame built once for many connections (a topic's message, `Transport.sendBuiltFrame`).
   */
  sendOwned(kind: OwnedKind, bytes: Uint8Array, size: number): void {
    this.#bufferedAmount += size;
    if (this.#pendingClose !== undefined || this.#isStopped) return;
    if (this.#waiting === undefined) this.#transmit(kind, bytes, size);
    else this.#waiting.push({ kind, bytes, size });
  }

  /** Starts the closing handshake once every message sent before has gone out. */
  close(code: number | undefined, reason: Uint8Array): void {
    if (this.#pendingClose !== undefined || this.#isStopped) return;
    this.#pendingClose = { code, reason };
    this.#drainWaiting();
  }

  /**
   * Nothing more leaves: the peer started the closing handshake (a server drops what still
   * waits; its sizes stay counted) or the connection is over.
   */
  stop(): void {
    this.#isStopped = true;
    this.#waiting = undefined;
    this.#pendingClose = undefined;
  }

  /** Hands one message to the transport; a refusal leaves its size counted (SPEC.md B8). */
  #transmit(kind: OwnedKind, bytes: Uint8Array, size: number): void {
    const transport = this.#transport;
    if (
      transport === undefined ||
      !(kind === "frame"
        ? transport.sendBuiltFrame(bytes, this.#onWritten, size)
        : transport.send(kind, bytes, this.#onWritten, size))
    )
      this.#hasUnsentData = true;
  }

  #writtenNow(written: boolean, size: number): void {
    if (!written) {
      this.#hasUnsentData = true;
      return;
    }
    this.#bufferedAmount -= size;
    if (this.#bufferedAmount === 0) this.#policy.onDrained?.(this.#owner);
  }

  /**
   * SPEC.md B7: `bufferedAmount` only falls between tasks, never inside the task that called
   * send(), even across microtasks and `process.nextTick`, where Node reports finished writes.
   * So a task of its own applies them.
   */
  #writtenBetweenTasks(written: boolean, size: number): void {
    if (!written) {
      this.#hasUnsentData = true;
      return;
    }
    if (this.#written === 0) setImmediate(SendQueue.#applyWritten, this);
    this.#written += size;
  }

  static #applyWritten(queue: SendQueue): void {
    queue.#bufferedAmount -= queue.#written;
    queue.#written = 0;
  }

  /** Sends waiting messages in order while their bytes are ready, then a pending Close. */
  #drainWaiting(): void {
    const transport = this.#transport;
    if (transport === undefined) return;
    // Re-read the list each time: a stop() while transmitting drops it.
    for (let waiting = this.#waiting; waiting !== undefined && waiting.length > 0;) {
      const head = waiting[0]!;
      if (head.bytes === undefined) return; // a Blob is still being read
      waiting.shift();
      this.#transmit(head.kind, head.bytes, head.size);
      waiting = this.#waiting;
    }
    if (this.#waiting?.length === 0) this.#waiting = undefined;
    const pending = this.#pendingClose;
    if (pending !== undefined) {
      this.#pendingClose = undefined;
      this.#isStopped = true;
      // SPEC.md D17: if the peer's Close already arrived, the engine's reply covers it.
      transport.close(pending.code, pending.reason);
    }
  }
}
