/**
 * `WebSocketStream`, the promise- and streams-based WebSocket client of the WHATWG draft WS-48
 * (experimental; SPEC.md O1–O20): `opened` gives a `ReadableStream` of messages and a
 * `WritableStream` to send them, `closed` says how the connection ended, and both directions
 * are backpressured. It shares with `WebSocket` the URL and subprotocol checks, the Node-only
 * options (through `client-options.ts`), the close-code rules (`validate-close.ts`) and the
 * non-standard `closeDetails()` diagnostics.
 *
 * @see https://github.com/whatwg/websockets/pull/48 (WS-48, "the WebSocketStream interface")
 * @module
 */
import {
  ReadableStream,
  WritableStream,
  type ReadableStreamDefaultController,
  type WritableStreamDefaultController,
} from "node:stream/web";
import { decodeText } from "../../facade/message-data.js";
import { dial, type DialFailure, type Dialing, type OpenInfo } from "../../node/dial.js";
import type { Transport } from "../../node/transport.js";
import type { CloseOutcome } from "../../protocol/close-state.js";
import {
  blockedPortFailure,
  resolveClientOptions,
  toDialOptions,
  validateProtocols,
  type ClientOptions,
} from "../client-options.js";
import { detailsFromFailure, detailsFromOutcome, recordCloseDetails } from "../close-details.js";
import { defineToStringTag } from "../events.js";
import { getUrlRecord } from "../url.js";
import { validateCloseCodeAndReason } from "../validate-close.js";
import { toDOMStringSequence, toUSVString } from "../webidl.js";
import { toCloseInfo, type WebSocketCloseInfo } from "./close-info.js";
import { createWebSocketError, isWebSocketError } from "./websocket-error.js";

/** What a `WebSocketStream` writable accepts: a string (text) or a BufferSource (binary). */
export type WebSocketStreamChunk = string | ArrayBuffer | ArrayBufferView;

/** A received message: a string for text, a `Uint8Array` for binary (SPEC.md O6). */
export type WebSocketStreamMessage = string | Uint8Array;

/** What `opened` resolves to (SPEC.md O5). */
export interface WebSocketOpenInfo {
  /** The received messages, backpressured: nothing more is read from the socket while full. */
  readonly readable: ReadableStream<WebSocketStreamMessage>;
  /** Messages to send; each write settles once its bytes were handed to the socket. */
  readonly writable: WritableStream<WebSocketStreamChunk>;
  /** The `Sec-WebSocket-Extensions` value the server accepted, exactly as received. */
  readonly extensions: string;
  /** The subprotocol the server chose ("" for none). */
  readonly protocol: string;
}

/** What `closed` resolves to after a clean close: the peer's code (1005 for none) and reason. */
export interface WebSocketClosedInfo {
  readonly closeCode: number;
  readonly reason: string;
}

/** The constructor's options: the draft's `protocols` and `signal`, and Node-only settings. */
export interface WebSocketStreamOptions extends ClientOptions {
  /** Subprotocols to offer: a list (a lone string is a TypeError, as in the draft). */
  protocols?: Iterable<string>;
  /** Aborts the opening handshake (after the connection is open, aborting does nothing). */
  signal?: AbortSignal;
  /**
   * Node-only: stop reading from the socket once this many bytes of received messages wait
   * unread in `readable` (text counts its UTF-16 code units, and every message at least 1).
   * Default 65 536; 0 reads only while a `read()` is pending.
   */
  readableHighWaterMarkBytes?: number;
  /**
   * Node-only: `writable`'s high-water mark, in bytes of queued chunks (text counts its UTF-16
   * code units, anything else that is not a BufferSource 1), which drives `writer.ready` and
   * `writer.desiredSize`. Default 65 536.
   */
  writableHighWaterMarkBytes?: number;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSING | typeof CLOSED;

const DEFAULT_HIGH_WATER_MARK_BYTES = 65_536;
const EMPTY = new Uint8Array(0);

interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * A promise and its settle functions. It is marked as handled: like a browser, sockwise never
 * reports a rejected `opened` or `closed` that nobody awaits as an unhandled rejection, while
 * code that awaits it still sees the rejection.
 */
function handledDeferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** A write handed to the transport and not yet written to the socket. */
interface PendingWrite {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

let isWebSocketStream: (value: unknown) => boolean;

/**
 * A WebSocket connection as a pair of streams, after the WHATWG draft (WS-48). Experimental:
 * the draft is not part of the standard yet and may change.
 *
 * ```ts
 * const wss = new WebSocketStream("ws://127.0.0.1:8080/");
 * const { readable, writable } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write("hello");
 * for await (const message of readable) console.log(message);
 * const { closeCode, reason } = await wss.closed;
 * ```
 */
export class WebSocketStream {
  readonly #url: URL;
  readonly #opened = handledDeferred<WebSocketOpenInfo>();
  readonly #closed = handledDeferred<WebSocketClosedInfo>();
  #readyState: ReadyState = CONNECTING;
  #wasEverConnected = false;
  /** Set when the signal aborted the handshake: the promises already carry the abort reason. */
  #handshakeAborted = false;
  /** Set when close() failed a connection that was not open yet. */
  #failedLocally = false;
  #dialing: Dialing | undefined;
  #transport: Transport | undefined;
  #removeAbortListener: (() => void) | undefined;
  readonly #readableHighWaterMark: number;
  readonly #writableHighWaterMark: number;
  #readableController: ReadableStreamDefaultController<WebSocketStreamMessage> | undefined;
  /** False once the readable was cancelled or closed: its controller takes nothing more. */
  #isReadableOpen = false;
  #writableController: WritableStreamDefaultController | undefined;
  /** Whether reading from the socket is paused because `readable` is full. */
  #isPaused = false;
  #pendingWrite: PendingWrite | undefined;
  /** Set when a written message never reached the socket: the close is then not clean (O17). */
  #hasUnsentData = false;
  /** Chunks written to `writable` while OPEN that the sink has not taken yet (O17). */
  #openChunks = 0;
  /** `writable.close()` calls waiting for the closing handshake to end (O12). */
  #closeWaiters: Deferred<undefined>[] = [];

  /**
   * Creates a WebSocketStream and starts connecting.
   *
   * @param url a ws, wss, http or https URL
   * @param options `protocols`, `signal`, and Node-only settings ({@link WebSocketStreamOptions})
   * @throws {TypeError} when `url` is missing or cannot be converted to a string, `options` is
   *   not an object, `protocols` is not a list (a string is not), `signal` is not an AbortSignal;
   *   with `code` ERR_WS_INVALID_HEADER for a header or origin the handshake cannot send
   * @throws {DOMException} SyntaxError for an invalid URL, scheme or fragment, or an invalid or
   *   duplicate protocol
   * @throws {RangeError} ERR_WS_INVALID_OPTION for a timeout, limit or high-water mark out of range
   * @see https://github.com/whatwg/websockets/pull/48 ("new WebSocketStream(url, options)")
   */
  constructor(url: string | URL, ...rest: [options?: WebSocketStreamOptions]) {
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to construct 'WebSocketStream': 1 argument required, but only 0 present.",
      );
    }
    // Web IDL converts the arguments first: the URL, then the options dictionary (its members
    // in lexicographic order: protocols, then signal), so a TypeError wins over a SyntaxError.
    const urlString = toUSVString(url);
    const options = toOptions(rest[0]);
    const protocols = toProtocols(options.protocols);
    const signal = toSignal(options.signal);

    // Steps 1–2: the URL record (SPEC.md A3–A9, O2).
    this.#url = getUrlRecord(urlString, options.baseURL);
    // Steps 3–4: the protocols (SPEC.md A14–A16, O2).
    validateProtocols(protocols);
    // Node-only options, through the code WebSocket uses.
    const resolved = resolveClientOptions(this.#url, options);
    this.#readableHighWaterMark = highWaterMarkOption(
      "readableHighWaterMarkBytes",
      options.readableHighWaterMarkBytes,
    );
    this.#writableHighWaterMark = highWaterMarkOption(
      "writableHighWaterMarkBytes",
      options.writableHighWaterMarkBytes,
    );

    // Step 8: the abort signal (SPEC.md O3, O4).
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#readyState = CLOSED;
        this.#handshakeAborted = true;
        this.#opened.reject(signal.reason);
        this.#closed.reject(signal.reason);
        return;
      }
      const onAbort = (): void => this.#abortHandshake(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#removeAbortListener = () => signal.removeEventListener("abort", onAbort);
    }

    // Step 10: establish the connection in parallel. A blocked port fails asynchronously (A11).
    const blocked = blockedPortFailure(this.#url, resolved);
    if (blocked !== undefined) {
      setImmediate(() => this.#onFailed(blocked));
      return;
    }
    this.#dialing = dial(toDialOptions(this.#url, protocols, resolved), {
      open: (transport, info) => this.#onOpen(transport, info),
      failed: (failure) => this.#onFailed(failure),
      handleMessage: (binary, data) => this.#onMessage(binary, data),
      handleClosing: () => this.#onClosing(),
      handleClosed: (outcome) => this.#onClosed(outcome),
    });
  }

  /** Whether `value` is a WebSocketStream (the Web IDL "implements" check). */
  static #isInstance(value: unknown): boolean {
    return value !== null && typeof value === "object" && #url in value;
  }

  static {
    isWebSocketStream = (value) => WebSocketStream.#isInstance(value);
  }

  /** The URL, after the http→ws rewrite. */
  get url(): string {
    return this.#url.href;
  }

  /**
   * Resolves with `{ readable, writable, extensions, protocol }` once the connection is open;
   * rejects with a WebSocketError if it never opens, or with the abort reason (SPEC.md O3–O5,
   * O11, O16).
   */
  get opened(): Promise<WebSocketOpenInfo> {
    return this.#opened.promise;
  }

  /**
   * Resolves with the peer's `{ closeCode, reason }` after a clean close; rejects with a
   * WebSocketError (1006 for an abrupt close) after an unclean one, or with the abort reason
   * (SPEC.md O14–O18).
   */
  get closed(): Promise<WebSocketClosedInfo> {
    return this.#closed.promise;
  }

  /**
   * Closes the connection: starts the closing handshake, or fails a connection that is not open
   * yet. Messages still queued in `writable` are not sent; use `writable.close()` to send them
   * first.
   *
   * @param closeInfo `closeCode` (1000 or 3000–4999) and `reason` (at most 123 UTF-8 bytes);
   *   without a code the Close frame has no body, unless the reason is not empty (then 1000)
   * @throws {TypeError} when `closeInfo` is not an object or `closeCode` is not a number in
   *   0–65535 (`[EnforceRange] unsigned short`)
   * @throws {DOMException} InvalidAccessError for any other code; SyntaxError for a longer
   *   reason; in every state
   * @see https://github.com/whatwg/websockets/pull/48 ("close the WebSocket")
   */
  close(...args: [closeInfo?: WebSocketCloseInfo]): void {
    // Web IDL brand check first: a foreign `this` is a TypeError before the argument is read.
    if (!isWebSocketStream(this)) {
      throw new TypeError("Illegal invocation: the receiver is not a WebSocketStream.");
    }
    const { closeCode, reason } = toCloseInfo(
      args[0],
      "Failed to execute 'close' on 'WebSocketStream'",
    );
    // "Close the WebSocket" steps 1–2, before any state check (SPEC.md D5–D8, O9).
    const reasonBytes = validateCloseCodeAndReason(closeCode, reason);
    this.#closeTheWebSocket(closeCode, reasonBytes);
  }

  // ---- "close the WebSocket" (WS-48; the rules WebSocket.close() follows, SPEC.md D10–D17) --

  #closeTheWebSocket(code: number | undefined, reasonBytes: Uint8Array): void {
    // CLOSING or CLOSED: nothing (D10).
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      // Not established: fail the connection (D11, O11); the promises reject from a task.
      this.#readyState = CLOSING;
      this.#failedLocally = true;
      this.#dialing?.abort();
      return;
    }
    this.#readyState = CLOSING;
    // Incoming messages are no longer delivered, so nothing is gained by leaving the socket
    // paused, and the peer's Close must be read for the close to be clean.
    this.#releaseBackpressure();
    // D16, O10 (★): a reason without a code is sent as 1000 + reason; an empty one as no body.
    const wireCode = code ?? (reasonBytes.length > 0 ? 1000 : undefined);
    this.#transport?.close(wireCode, reasonBytes);
  }

  /**
   * "Close using reason" (SPEC.md O13): the code and reason of a WebSocketError, or none for
   * any other value (even one with `closeCode` and `reason` properties).
   */
  #closeUsingReason(reason: unknown): void {
    if (!isWebSocketError(reason)) {
      this.#closeTheWebSocket(undefined, EMPTY);
      return;
    }
    const code = reason.closeCode ?? undefined;
    let reasonBytes: Uint8Array;
    try {
      reasonBytes = validateCloseCodeAndReason(code, reason.reason);
    } catch {
      // The draft: if the error's code or reason cannot be sent, close without them.
      this.#closeTheWebSocket(undefined, EMPTY);
      return;
    }
    this.#closeTheWebSocket(code, reasonBytes);
  }

  /** The abort steps of the signal: fail a connection that is not established yet (O4). */
  #abortHandshake(reason: unknown): void {
    if (this.#readyState !== CONNECTING) return;
    this.#readyState = CLOSING;
    this.#handshakeAborted = true;
    this.#opened.reject(reason);
    this.#closed.reject(reason);
    this.#dialing?.abort();
  }

  // ---- the streams --------------------------------------------------------------------------

  #createReadable(): ReadableStream<WebSocketStreamMessage> {
    return new ReadableStream<WebSocketStreamMessage>(
      {
        start: (controller) => {
          this.#readableController = controller;
          this.#isReadableOpen = true;
        },
        pull: () => this.#releaseBackpressure(),
        cancel: (reason: unknown) => {
          this.#isReadableOpen = false;
          this.#closeUsingReason(reason);
        },
      },
      {
        highWaterMark: this.#readableHighWaterMark,
        size: (chunk) => Math.max(1, typeof chunk === "string" ? chunk.length : chunk.byteLength),
      },
    );
  }

  #createWritable(): WritableStream<WebSocketStreamChunk> {
    return new WritableStream<WebSocketStreamChunk>(
      {
        start: (controller) => {
          this.#writableController = controller;
        },
        write: (chunk) => {
          // Chunks reach the sink in the order they were written, and the state only moves
          // forward, so the first `#openChunks` chunks to arrive are those written while OPEN.
          const wasWrittenWhileOpen = this.#openChunks > 0;
          if (wasWrittenWhileOpen) this.#openChunks--;
          return this.#write(chunk, wasWrittenWhileOpen);
        },
        close: () => this.#closeWritable(),
        abort: (reason: unknown) => this.#closeUsingReason(reason),
      },
      {
        highWaterMark: this.#writableHighWaterMark,
        // Called once per writer.write(), when the chunk is queued: counts the chunks written
        // while OPEN that the sink has not taken yet (SPEC.md O17).
        size: (chunk) => {
          if (this.#readyState === OPEN) this.#openChunks++;
          return writableChunkSize(chunk);
        },
      },
    );
  }

  /** Reading from the socket resumes when the readable pulls, or once closing has started. */
  #releaseBackpressure(): void {
    if (!this.#isPaused) return;
    this.#isPaused = false;
    this.#transport?.resume();
  }

  /**
   * The write algorithm (SPEC.md O7, O8): a string as text, a BufferSource as binary. The
   * promise settles once the message's bytes were handed to the socket, so the WritableStream
   * queues later chunks (and `writer.ready` waits) until the network has taken this one.
   */
  #write(chunk: unknown, wasWrittenWhileOpen: boolean): Promise<void> {
    let kind: "text" | "binary";
    let bytes: Uint8Array;
    try {
      ({ kind, bytes } = toOutgoingMessage(chunk));
    } catch (error) {
      return Promise.reject(error);
    }
    const transport = this.#transport;
    // ★ Once the closing handshake started, a write is refused with InvalidStateError rather
    // than dropped and resolved (SPEC.md §0 table, O8): the data would never be sent.
    if (this.#readyState !== OPEN || transport === undefined) {
      // SPEC.md O17: a message written while OPEN that will never be sent (a close came first,
      // from either side) makes the close unclean.
      if (wasWrittenWhileOpen && this.#readyState === CLOSING) this.#hasUnsentData = true;
      return Promise.reject(notWritableError());
    }
    return new Promise<void>((resolve, reject) => {
      const pending: PendingWrite = { resolve, reject };
      this.#pendingWrite = pending;
      // The client engine masks a private copy of the payload inside send() (RFC 6455 §10.3),
      // so the caller's buffer is not kept.
      const isSent = transport.send(kind, bytes, (written) => {
        if (this.#pendingWrite !== pending) return;
        if (written) {
          this.#pendingWrite = undefined;
          resolve();
        } else {
          // The connection ended first; the close task rejects the write (O8, O17).
          this.#hasUnsentData = true;
        }
      });
      if (!isSent) {
        // The engine already sent its Close (the peer's Close arrived in this very tick).
        this.#pendingWrite = undefined;
        reject(notWritableError());
      }
    });
  }

  /** `writable.close()`: close with no code; settles when the handshake ends (SPEC.md O12). */
  #closeWritable(): Promise<undefined> {
    const waiter = handledDeferred<undefined>();
    this.#closeWaiters.push(waiter);
    this.#closeTheWebSocket(undefined, EMPTY);
    return waiter.promise;
  }

  // ---- feedback from the protocol -----------------------------------------------------------

  #onOpen(transport: Transport, info: OpenInfo): void {
    this.#dialing = undefined;
    this.#transport = transport;
    this.#removeAbortListener?.();
    this.#removeAbortListener = undefined;
    if (this.#readyState !== CONNECTING) {
      // close() or the signal failed the connection while the handshake was completing.
      transport.destroy();
      return;
    }
    this.#readyState = OPEN;
    this.#wasEverConnected = true;
    // Step 7, "apply backpressure": nothing is read from the socket until the readable pulls.
    this.#isPaused = true;
    transport.pause();
    const readable = this.#createReadable();
    const writable = this.#createWritable();
    this.#opened.resolve({
      readable,
      writable,
      extensions: info.extensions,
      protocol: info.protocol,
    });
  }

  #onMessage(binary: boolean, data: Uint8Array): void {
    // Messages are delivered only while OPEN (SPEC.md D19 applies to streams too).
    if (this.#readyState !== OPEN || !this.#isReadableOpen) return;
    const controller = this.#readableController!;
    controller.enqueue(binary ? toOwnUint8Array(data) : decodeText(data));
    // Receive backpressure (SPEC.md O6): once the queue is full, stop reading; TCP flow
    // control then slows the peer. The readable's pull resumes reading.
    if (!this.#isPaused && (controller.desiredSize ?? 0) <= 0) {
      this.#isPaused = true;
      this.#transport?.pause();
    }
  }

  /** The closing handshake started (a Close was sent or received): CLOSING (SPEC.md L6). */
  #onClosing(): void {
    if (this.#readyState === OPEN) this.#readyState = CLOSING;
    this.#releaseBackpressure();
  }

  #onFailed(failure: DialFailure): void {
    this.#dialing = undefined;
    this.#removeAbortListener?.();
    this.#removeAbortListener = undefined;
    const record = detailsFromFailure(
      failure,
      this.#failedLocally || this.#handshakeAborted ? "local" : "remote",
    );
    setImmediate(() => {
      this.#readyState = CLOSED;
      recordCloseDetails(this, record);
      // The abort steps already rejected both promises with the abort reason (O4).
      if (this.#handshakeAborted) return;
      // SPEC.md O11, O16: never opened → a fresh WebSocketError, and closed rejects too.
      this.#opened.reject(
        createWebSocketError("The WebSocket connection could not be established.", null, ""),
      );
      this.#closed.reject(
        createWebSocketError("The WebSocket connection could not be established.", 1006, ""),
      );
    });
  }

  #onClosed(outcome: CloseOutcome): void {
    // A task, as for WebSocket's close event (SPEC.md E1): a write that was being handed to
    // the socket as the connection ended gets its callback first.
    setImmediate(() => this.#connectionClosed(outcome));
  }

  /** "When the WebSocket connection is closed" (WS-48), SPEC.md O14–O18. */
  #connectionClosed(outcome: CloseOutcome): void {
    this.#readyState = CLOSED;
    this.#transport = undefined;
    this.#isPaused = false;
    const pendingWrite = this.#pendingWrite;
    this.#pendingWrite = undefined;
    // SPEC.md O17 (⚑): a message written while open that never went out makes the close
    // unclean, though the peer's code and reason still show.
    // Chunks written while OPEN and still queued in `writable` are unsent too (O17).
    const record = detailsFromOutcome(
      outcome,
      this.#hasUnsentData || pendingWrite !== undefined || this.#openChunks > 0,
    );
    recordCloseDetails(this, record);
    // The abort steps already rejected both promises with the abort reason (O4).
    if (this.#handshakeAborted) return;
    if (!this.#wasEverConnected) {
      this.#opened.reject(
        createWebSocketError("The WebSocket connection could not be established.", null, ""),
      );
    }
    const waiters = this.#closeWaiters.splice(0);
    if (record.wasClean) {
      // SPEC.md O14: the readable closes (after the messages it holds), the writable errors,
      // and closed resolves with the peer's code and reason (1005 for an empty Close).
      if (this.#isReadableOpen) {
        this.#isReadableOpen = false;
        this.#readableController?.close();
      }
      this.#writableController?.error(notWritableError());
      this.#closed.resolve({ closeCode: record.code, reason: record.reason });
      for (const waiter of waiters) waiter.resolve(undefined);
      return;
    }
    // SPEC.md O15: both streams error with the same WebSocketError that rejects closed
    // (1006 when no Close arrived; the peer's code and reason otherwise, O17–O18).
    const error = createWebSocketError(
      "The WebSocket connection was closed uncleanly.",
      record.code,
      record.reason,
    );
    this.#isReadableOpen = false;
    this.#readableController?.error(error);
    if (pendingWrite !== undefined) {
      // SPEC.md O8 (WPT write.any.js): the write that never completed rejects with an
      // InvalidStateError, and the writable errors with that same object.
      const invalid = notWritableError();
      pendingWrite.reject(invalid);
      this.#writableController?.error(invalid);
    } else {
      this.#writableController?.error(error);
    }
    this.#closed.reject(error);
    for (const waiter of waiters) waiter.reject(error);
  }
}

defineToStringTag(WebSocketStream, "WebSocketStream");
for (const name of ["url", "opened", "closed", "close"]) {
  Object.defineProperty(WebSocketStream.prototype, name, { enumerable: true });
}

/** The options dictionary: `undefined` and `null` are `{}`; other non-objects are a TypeError. */
function toOptions(value: unknown): WebSocketStreamOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" && typeof value !== "function") {
    throw new TypeError("Failed to construct 'WebSocketStream': the options must be an object.");
  }
  return value as WebSocketStreamOptions;
}

/** `sequence<USVString>`: an iterable object (a string is not one), each item a USVString. */
function toProtocols(value: unknown): string[] {
  if (value === undefined) return [];
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    throw new TypeError(
      "Failed to construct 'WebSocketStream': the protocols option must be a list of strings.",
    );
  }
  return toDOMStringSequence(value).map(toUSVString);
}

function toSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw new TypeError(
      "Failed to construct 'WebSocketStream': the signal option must be an AbortSignal.",
    );
  }
  return value;
}

function highWaterMarkOption(name: string, value: unknown): number {
  if (value === undefined) return DEFAULT_HIGH_WATER_MARK_BYTES;
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw Object.assign(
      new RangeError(
        `The ${name} option must be a non-negative finite number of bytes, got ${String(value)}.`,
      ),
      { code: "ERR_WS_INVALID_OPTION" },
    );
  }
  return value;
}

/** The size of a queued writable chunk, in bytes (UTF-16 code units for text). */
function writableChunkSize(chunk: unknown): number {
  if (typeof chunk === "string") return chunk.length;
  if (ArrayBuffer.isView(chunk) || chunk instanceof ArrayBuffer) return chunk.byteLength;
  return 1;
}

/**
 * A written chunk as a message (SPEC.md O7): a BufferSource is binary, anything else is
 * converted to a USVString and sent as text.
 * @throws {TypeError} for a view over shared memory, a resizable ArrayBuffer, a
 *   SharedArrayBuffer, or a value that cannot be converted to a string
 */
function toOutgoingMessage(chunk: unknown): { kind: "text" | "binary"; bytes: Uint8Array } {
  if (chunk instanceof ArrayBuffer) {
    checkBufferSource(chunk);
    return { kind: "binary", bytes: new Uint8Array(chunk) };
  }
  if (ArrayBuffer.isView(chunk)) {
    checkBufferSource(chunk.buffer);
    return {
      kind: "binary",
      bytes: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    };
  }
  if (typeof SharedArrayBuffer !== "undefined" && chunk instanceof SharedArrayBuffer) {
    throw new TypeError("A WebSocketStream cannot write a SharedArrayBuffer.");
  }
  const text = toUSVString(chunk);
  return { kind: "text", bytes: Buffer.from(text, "utf8") };
}

/** SPEC.md C4, O7: a BufferSource is never over shared or resizable memory. */
function checkBufferSource(buffer: ArrayBufferLike): void {
  if (typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer) {
    throw new TypeError("A WebSocketStream cannot write a view over a SharedArrayBuffer.");
  }
  if ((buffer as { resizable?: boolean }).resizable === true) {
    throw new TypeError("A WebSocketStream cannot write a resizable ArrayBuffer.");
  }
}

/**
 * A binary message as a plain `Uint8Array` of its own. A reassembled message already has its
 * own buffer and is only re-typed; a view into a socket read (shared with the other frames of
 * that read) is copied, so that a small message does not keep the whole read alive.
 */
function toOwnUint8Array(data: Uint8Array): Uint8Array {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.byteLength > 0) {
    return new Uint8Array(data.buffer, 0, data.byteLength);
  }
  return new Uint8Array(data);
}

function notWritableError(): DOMException {
  return new DOMException(
    "A closed or closing WebSocketStream cannot be written to.",
    "InvalidStateError",
  );
}
