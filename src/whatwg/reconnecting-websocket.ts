/**
 * `ReconnectingWebSocket`: a socket with the `WebSocket` interface (attributes, events, `on*`
 * handlers, `send()`, `close()`) that opens a new connection when one ends, with exponential
 * backoff and full jitter (SPEC.md L27). Not part of any standard.
 *
 * It composes, it does not inherit (docs/design.md): it owns a sequence of WHATWG `WebSocket`s,
 * one at a time, and re-dispatches their events on itself, so listeners and handlers live on
 * the one object the application holds and survive every reconnection. The exact `WebSocket`
 * is untouched.
 *
 * What users of `reconnecting-websocket` and `partysocket` ran into, and what happens here
 * (each has a test in test/whatwg/reconnecting-websocket.test.ts):
 * - messages sent while down are queued (bounded) and sent, in order, before `open` fires on the
 *   next connection; a full queue throws instead of dropping silently;
 * - listeners, handlers and `binaryType` stay on this object across reconnections;
 * - `close()` stops reconnecting in every state: connecting, open, waiting for the next
 *   attempt, or resolving the URL/headers functions;
 * - after `close()` nothing keeps the process alive (the retry timer is cleared);
 * - a connection that fails is an `error` and a `close` event, never an exception or an
 *   unhandled `error` emit.
 *
 * @module
 */
import { EventHandlerAttribute, releaseUnusedEventTargetState } from "../facade/event-handlers.js";
import { toOutgoing } from "../facade/message-data.js";
import type { ClientOptions } from "./client-options.js";
import { readCloseDetails, recordCloseDetails, type CloseDetails } from "./close-details.js";
import { CloseEvent, MessageEvent, defineToStringTag } from "./events.js";
import {
  backoffDelayMs,
  defaultShouldReconnect,
  type ReconnectContext,
} from "./reconnect-policy.js";
import { validateCloseCodeAndReason } from "./validate-close.js";
import { isIterableObject, toClampedUnsignedShort, toDOMString, toUSVString } from "./webidl.js";
import { WebSocket, type WebSocketOptions } from "./websocket.js";

/** A value, or a function giving it (possibly asynchronously), evaluated for every attempt. */
export type PerAttempt<T> = T | (() => T | PromiseLike<T>);

/** The options of a {@link ReconnectingWebSocket}. */
export interface ReconnectingWebSocketOptions extends Omit<
  WebSocketOptions,
  "protocols" | "headers"
> {
  /** Subprotocols, or a function giving them for each attempt. */
  protocols?: PerAttempt<string | readonly string[]>;
  /** Request headers, or a function giving them for each attempt (e.g. a fresh token). */
  headers?: PerAttempt<ClientOptions["headers"]>;
  /**
   * The upper bound of the first retry's random delay (default 1000 ms); it doubles with each
   * failure in a row, up to `maxDelayMs`. The delay is uniform in [0, bound): "full jitter".
   */
  initialDelayMs?: number;
  /** The largest delay between attempts (default 30 000 ms). */
  maxDelayMs?: number;
  /** Give up after this many failed attempts in a row (default Infinity). */
  maxRetries?: number;
  /**
   * How long a connection must stay open to count as a success (default 5000 ms). Only then do
   * the backoff and the `maxRetries` count start over; a server that accepts and drops at once
   * keeps backing off instead of being reconnected to within `initialDelayMs` each time.
   */
  minUptimeMs?: number;
  /**
   * Whether to reconnect after a connection ended (not called after `close()`). Default:
   * reconnect unless the close code is one of `NO_RECONNECT_CODES` (reconnect-policy.ts). A predicate that
   * throws stops reconnecting.
   */
  shouldReconnect?: (event: CloseEvent, context: ReconnectContext) => boolean;
  /**
   * Queue messages sent while there is no open connection and send them, in order, on the next
   * one (default true). `false` drops them silently, as `send()` on a closed `WebSocket` does.
   */
  queueWhileDown?: boolean;
  /** The most messages the queue holds (default 1000); one more throws `ERR_WS_QUEUE_FULL`. */
  maxQueuedMessages?: number;
  /** The most bytes the queue holds (default 16 MiB); more throws `ERR_WS_QUEUE_FULL`. */
  maxQueuedBytes?: number;
}

/** The `connecting` and `reconnecting` events of a {@link ReconnectingWebSocket}. */
export class ReconnectEvent extends Event {
  readonly #attempt: number;
  readonly #url: string;
  readonly #delayMs: number;
  readonly #details: CloseDetails | undefined;

  /** @internal Created by the socket; applications only receive it. */
  constructor(
    type: "connecting" | "reconnecting",
    init: { attempt: number; url: string; delayMs: number; details?: CloseDetails | undefined },
  ) {
    super(type);
    this.#attempt = init.attempt;
    this.#url = init.url;
    this.#delayMs = init.delayMs;
    this.#details = init.details;
  }

  /**
   * `connecting`: the number of the attempt that starts now (1 for the first connection).
   * `reconnecting`: the number of the attempt that starts after {@link delayMs}.
   */
  get attempt(): number {
    return this.#attempt;
  }

  /** The URL of the attempt (`connecting`) or of the connection that ended (`reconnecting`). */
  get url(): string {
    return this.#url;
  }

  /** `reconnecting`: milliseconds until the next attempt (0 for `connecting`). */
  get delayMs(): number {
    return this.#delayMs;
  }

  /** `reconnecting`: how the connection ended (as `closeDetails()` gives it). */
  get details(): CloseDetails | undefined {
    return this.#details;
  }
}
defineToStringTag(ReconnectEvent, "ReconnectEvent");

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const DEFAULTS = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  minUptimeMs: 5000,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 16 * 1024 * 1024,
} as const;
const MAX_TIMER_MS = 2_147_483_647;

type Handler = ((this: ReconnectingWebSocket, event: Event) => unknown) | object | null;
type QueuedMessage = { readonly data: string | Uint8Array | Blob; readonly size: number };
type UrlSource = PerAttempt<string | URL>;

/**
 * A WebSocket that reconnects. Same attributes, methods, events and `on*` handlers as
 * `WebSocket`, plus `connecting` and `reconnecting` events ({@link ReconnectEvent}).
 *
 * ```ts
 * const socket = new ReconnectingWebSocket("wss://example.test/feed", {
 *   headers: async () => ({ Authorization: `Bearer ${await freshToken()}` }),
 * });
 * socket.onmessage = (event) => console.log(event.data); // kept across reconnections
 * socket.addEventListener("reconnecting", (event) => console.log(`retry in ${event.delayMs} ms`));
 * socket.send("hello"); // queued until a connection is open
 * ```
 *
 * `readyState` is CONNECTING while connecting or waiting to retry, OPEN while a connection is
 * open, CLOSING after `close()` (or while the open connection is closing), and CLOSED only at
 * the end: after `close()`, or when the socket gives up.
 */
export class ReconnectingWebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  readonly #urlSource: UrlSource;
  readonly #protocolsSource: PerAttempt<string | readonly string[]> | undefined;
  readonly #headersSource: PerAttempt<ClientOptions["headers"]> | undefined;
  readonly #socketOptions: WebSocketOptions;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxRetries: number;
  readonly #minUptimeMs: number;
  readonly #shouldReconnect: (event: CloseEvent, context: ReconnectContext) => boolean;
  readonly #queueWhileDown: boolean;
  readonly #maxQueuedMessages: number;
  readonly #maxQueuedBytes: number;

  #socket: WebSocket | undefined;
  #url = "";
  #binaryType: "blob" | "arraybuffer" = "blob";
  #attempt = 0;
  #retries = 0;
  /** When the current connection opened (`performance.now()`), if it did. */
  #openedAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Set by close(): no more attempts. */
  #isCloseRequested = false;
  /** Set once CLOSED for good. */
  #isFinished = false;
  #queue: QueuedMessage[] = [];
  #queuedBytes = 0;

  /**
   * Creates the socket and starts the first attempt.
   *
   * @param url a ws, wss, http or https URL, or a function giving one for each attempt
   *   (possibly asynchronously)
   * @param protocols a subprotocol, a list of them, or the {@link ReconnectingWebSocketOptions}
   * @throws {DOMException} SyntaxError for an invalid URL or protocol given as a value (a
   *   function's invalid result fails that attempt instead: `error`, `close` 1006, and the
   *   socket gives up, since the next attempt would fail the same way)
   * @throws {TypeError} when `url` is missing; ERR_WS_INVALID_OPTION / ERR_WS_INVALID_HEADER as
   *   for `WebSocket`
   * @throws {RangeError} ERR_WS_INVALID_OPTION for a delay, retry or queue bound out of range
   */
  constructor(
    url: UrlSource,
    ...rest: [protocols?: string | readonly string[] | ReconnectingWebSocketOptions]
  ) {
    super();
    releaseUnusedEventTargetState(this);
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to construct 'ReconnectingWebSocket': 1 argument required, but only 0 present.",
      );
    }
    const second: unknown = rest[0];
    const options: ReconnectingWebSocketOptions =
      second !== null && typeof second === "object" && !isIterableObject(second)
        ? (second as ReconnectingWebSocketOptions)
        : {};
    const {
      protocols,
      headers,
      initialDelayMs,
      maxDelayMs,
      maxRetries,
      minUptimeMs,
      shouldReconnect,
      queueWhileDown,
      maxQueuedMessages,
      maxQueuedBytes,
      ...socketOptions
    } = options;
    this.#urlSource = typeof url === "function" ? url : toUSVString(url);
    this.#protocolsSource =
      second === options ? protocols : (second as string | readonly string[] | undefined);
    this.#headersSource = headers;
    this.#socketOptions = socketOptions;
    this.#initialDelayMs = delayOption("initialDelayMs", initialDelayMs, DEFAULTS.initialDelayMs);
    this.#maxDelayMs = delayOption("maxDelayMs", maxDelayMs, DEFAULTS.maxDelayMs);
    this.#maxRetries = countOption("maxRetries", maxRetries, Infinity);
    this.#minUptimeMs = delayOption("minUptimeMs", minUptimeMs, DEFAULTS.minUptimeMs);
    this.#maxQueuedMessages = countOption(
      "maxQueuedMessages",
      maxQueuedMessages,
      DEFAULTS.maxQueuedMessages,
    );
    this.#maxQueuedBytes = countOption("maxQueuedBytes", maxQueuedBytes, DEFAULTS.maxQueuedBytes);
    if (shouldReconnect !== undefined && typeof shouldReconnect !== "function") {
      throw Object.assign(new TypeError("The shouldReconnect option must be a function."), {
        code: "ERR_WS_INVALID_OPTION",
      });
    }
    this.#shouldReconnect = shouldReconnect ?? defaultShouldReconnect;
    this.#queueWhileDown = queueWhileDown ?? true;
    // The first attempt: with plain values it starts now, so that a bad URL, protocol or option
    // throws from the constructor exactly as `new WebSocket()` would.
    this.#connect(true);
  }

  /** The URL of the current (or last) connection attempt. */
  get url(): string {
    ReconnectingWebSocket.#check(this);
    return this.#url;
  }

  /** CONNECTING (also while waiting to retry), OPEN, CLOSING, or CLOSED (for good). */
  get readyState(): number {
    ReconnectingWebSocket.#check(this);
    if (this.#isFinished) return CLOSED;
    if (this.#isCloseRequested) return CLOSING;
    const state = this.#socket?.readyState ?? CONNECTING;
    return state === CLOSED ? CONNECTING : state;
  }

  /** Bytes sent and not yet written: the open connection's, plus those queued while down. */
  get bufferedAmount(): number {
    ReconnectingWebSocket.#check(this);
    return (this.#socket?.bufferedAmount ?? 0) + this.#queuedBytes;
  }

  /** The current connection's extensions ("" while there is none). */
  get extensions(): string {
    ReconnectingWebSocket.#check(this);
    return this.#socket?.extensions ?? "";
  }

  /** The current connection's subprotocol ("" while there is none). */
  get protocol(): string {
    ReconnectingWebSocket.#check(this);
    return this.#socket?.protocol ?? "";
  }

  /** "blob" or "arraybuffer", for every connection of this socket. */
  get binaryType(): string {
    ReconnectingWebSocket.#check(this);
    return this.#binaryType;
  }

  set binaryType(value: string) {
    ReconnectingWebSocket.#check(this);
    const text = toDOMString(value);
    if (text !== "blob" && text !== "arraybuffer") return;
    this.#binaryType = text;
    if (this.#socket !== undefined) this.#socket.binaryType = text;
  }

  /**
   * Sends a message on the open connection, or queues it until the next one opens (in order,
   * before that connection's `open` event). After `close()` it is dropped.
   *
   * @throws {TypeError} when `data` is missing, a Symbol, or a view over shared or resizable
   *   memory
   * @throws {RangeError} with `code` ERR_WS_QUEUE_FULL when the queue is full (nothing is
   *   dropped silently)
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    ReconnectingWebSocket.#check(this);
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to execute 'send' on 'ReconnectingWebSocket': 1 argument required, but only 0 present.",
      );
    }
    const socket = this.#socket;
    if (
      socket !== undefined &&
      socket.readyState === OPEN &&
      !this.#isCloseRequested &&
      this.#queue.length === 0
    ) {
      socket.send(data);
      return;
    }
    // Converted and checked now, so that a bad argument throws here, not when the queue drains.
    const text = typeof data === "string" || isBinary(data) ? undefined : toDOMString(data);
    const outgoing = toOutgoing(text ?? data, "'send' on 'ReconnectingWebSocket'");
    if (this.#isCloseRequested || this.#isFinished || !this.#queueWhileDown) return;
    if (
      this.#queue.length >= this.#maxQueuedMessages ||
      this.#queuedBytes + outgoing.size > this.#maxQueuedBytes
    ) {
      throw Object.assign(
        new RangeError(
          `The ReconnectingWebSocket's queue is full (${this.#queue.length} messages, ${this.#queuedBytes} bytes); the message was not sent.`,
        ),
        { code: "ERR_WS_QUEUE_FULL" },
      );
    }
    // A private copy of a buffer or view (SPEC.md C10): the caller may reuse it.
    const value =
      text !== undefined
        ? text
        : typeof data === "string" || data instanceof Blob
          ? data
          : outgoing.bytes!.slice();
    this.#queue.push({ data: value, size: outgoing.size });
    this.#queuedBytes += outgoing.size;
  }

  /**
   * Closes the connection and stops reconnecting, in every state. With an open or connecting
   * connection, its `close` event follows (the last event); while waiting for the next attempt
   * the socket is CLOSED at once, with no event (the previous connection's `close` already
   * fired). Queued messages are dropped.
   *
   * @throws {DOMException} InvalidAccessError / SyntaxError exactly as `WebSocket.close()`
   */
  close(...args: [code?: number, reason?: string]): void {
    ReconnectingWebSocket.#check(this);
    const code = args[0] === undefined ? undefined : toClampedUnsignedShort(args[0]);
    const reason = args.length < 2 || args[1] === undefined ? undefined : toUSVString(args[1]);
    validateCloseCodeAndReason(code, reason);
    if (this.#isCloseRequested || this.#isFinished) return;
    this.#isCloseRequested = true;
    this.#clearQueue();
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const socket = this.#socket;
    if (socket === undefined || socket.readyState === CLOSED) {
      this.#isFinished = true;
      return;
    }
    socket.close(...(args as [number?, string?]));
  }

  // ---- event handler IDL attributes (shared code with WebSocket, SPEC.md B12, E16) ---------

  get onopen(): Handler {
    return this.#onopen;
  }
  set onopen(value: Handler) {
    ReconnectingWebSocket.#onopenAttribute.set(this, value);
  }
  get onmessage(): Handler {
    return this.#onmessage;
  }
  set onmessage(value: Handler) {
    ReconnectingWebSocket.#onmessageAttribute.set(this, value);
  }
  get onerror(): Handler {
    return this.#onerror;
  }
  set onerror(value: Handler) {
    ReconnectingWebSocket.#onerrorAttribute.set(this, value);
  }
  get onclose(): Handler {
    return this.#onclose;
  }
  set onclose(value: Handler) {
    ReconnectingWebSocket.#oncloseAttribute.set(this, value);
  }

  #onopen: Handler = null;
  #onmessage: Handler = null;
  #onerror: Handler = null;
  #onclose: Handler = null;
  static readonly #onopenAttribute = new EventHandlerAttribute<ReconnectingWebSocket>("open", {
    get: (target) => target.#onopen,
    set: (target, value) => (target.#onopen = value),
  });
  static readonly #onmessageAttribute = new EventHandlerAttribute<ReconnectingWebSocket>(
    "message",
    {
      get: (target) => target.#onmessage,
      set: (target, value) => (target.#onmessage = value),
    },
  );
  static readonly #onerrorAttribute = new EventHandlerAttribute<ReconnectingWebSocket>("error", {
    get: (target) => target.#onerror,
    set: (target, value) => (target.#onerror = value),
  });
  static readonly #oncloseAttribute = new EventHandlerAttribute<ReconnectingWebSocket>("close", {
    get: (target) => target.#onclose,
    set: (target, value) => (target.#onclose = value),
  });

  /** Web IDL brand check: a foreign `this` is a TypeError, before any argument conversion. */
  static #check(value: unknown): void {
    if (value === null || typeof value !== "object" || !(#queue in value)) {
      throw new TypeError("Illegal invocation: not a ReconnectingWebSocket");
    }
  }

  // ---- the attempts -------------------------------------------------------------------------

  /**
   * Starts the next attempt: evaluates the URL, protocols and headers (functions are called
   * now; a promise is awaited), then opens a WebSocket. In the constructor (`isFirst`) with
   * plain values, the WebSocket is created synchronously so that its exceptions propagate.
   */
  #connect(isFirst: boolean): void {
    const attempt = ++this.#attempt;
    let url: unknown;
    let protocols: unknown;
    let headers: unknown;
    try {
      url = evaluate(this.#urlSource);
      protocols = evaluate(this.#protocolsSource);
      headers = evaluate(this.#headersSource);
    } catch (error) {
      this.#attemptFailed(error, attempt);
      return;
    }
    if (!isThenable(url) && !isThenable(protocols) && !isThenable(headers)) {
      this.#open(attempt, url, protocols, headers, isFirst);
      return;
    }
    Promise.all([url, protocols, headers]).then(
      ([u, p, h]) => this.#open(attempt, u, p, h, false),
      (error: unknown) => this.#attemptFailed(error, attempt),
    );
  }

  #open(
    attempt: number,
    url: unknown,
    protocols: unknown,
    headers: unknown,
    isFirst: boolean,
  ): void {
    if (this.#isCloseRequested || attempt !== this.#attempt) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url as string, {
        ...this.#socketOptions,
        ...(protocols === undefined ? {} : { protocols: protocols as string | readonly string[] }),
        ...(headers === undefined
          ? {}
          : { headers: headers as NonNullable<ClientOptions["headers"]> }),
      });
    } catch (error) {
      if (isFirst) throw error;
      // A URL, protocol or header a function gave that WebSocket refuses: the next attempt
      // would be refused the same way, so the socket gives up.
      this.#attemptFailed(error, attempt, true);
      return;
    }
    this.#socket = socket;
    this.#url = socket.url;
    socket.binaryType = this.#binaryType;
    socket.onopen = () => this.#onOpen(socket);
    socket.onmessage = (event) => this.#onMessage(socket, event as MessageEvent);
    socket.onerror = () => this.#onError(socket);
    socket.onclose = (event) => this.#onClose(socket, event as CloseEvent);
    const connecting = new ReconnectEvent("connecting", { attempt, url: socket.url, delayMs: 0 });
    // A task, so that listeners added right after the constructor see the first one.
    setImmediate(() => {
      if (this.#socket === socket) this.dispatchEvent(connecting);
    });
  }

  #onOpen(socket: WebSocket): void {
    if (this.#socket !== socket) return;
    this.#openedAt = performance.now();
    // Messages sent while down go first, in order, then the application hears `open`.
    const queued = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const message of queued) socket.send(message.data);
    this.dispatchEvent(new Event("open"));
  }

  #onMessage(socket: WebSocket, event: MessageEvent): void {
    if (this.#socket !== socket) return;
    this.dispatchEvent(new MessageEvent("message", { data: event.data, origin: event.origin }));
  }

  #onError(socket: WebSocket): void {
    if (this.#socket !== socket) return;
    this.dispatchEvent(new Event("error"));
  }

  #onClose(socket: WebSocket, event: CloseEvent): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    // A connection that stayed open long enough is a success: the backoff starts over.
    if (this.#openedAt !== undefined && performance.now() - this.#openedAt >= this.#minUptimeMs) {
      this.#retries = 0;
    }
    this.#openedAt = undefined;
    const details = readCloseDetails(socket);
    if (details !== undefined) recordCloseDetails(this, details);
    const copy = new CloseEvent("close", {
      code: event.code,
      reason: event.reason,
      wasClean: event.wasClean,
    });
    if (this.#isCloseRequested) {
      this.#isFinished = true;
      this.dispatchEvent(copy);
      return;
    }
    const context: ReconnectContext = { attempt: this.#attempt, retries: this.#retries, details };
    let again = this.#retries < this.#maxRetries;
    if (again) {
      try {
        again = this.#shouldReconnect(copy, context) === true;
      } catch {
        again = false;
      }
    }
    if (!again) {
      this.#isFinished = true;
      this.#clearQueue();
      this.dispatchEvent(copy);
      return;
    }
    // readyState stays CONNECTING through the close event: a retry follows.
    this.dispatchEvent(copy);
    if (this.#isCloseRequested) return; // close() from a close listener
    this.#scheduleRetry(details);
  }

  /**
   * An attempt that failed before a WebSocket existed (a URL, protocols or headers function
   * threw or rejected, or gave what WebSocket refuses): `error` and `close` 1006, as for a
   * connection that failed, then a retry unless `isFinal`.
   */
  #attemptFailed(error: unknown, attempt: number, isFinal = false): void {
    if (this.#isCloseRequested || attempt !== this.#attempt) return;
    const message = error instanceof Error ? error.message : String(error);
    const details: CloseDetails = {
      code: 1006,
      reason: "",
      wasClean: false,
      initiator: "local",
      cause: { code: "ERR_WS_RECONNECT_ATTEMPT", message, error },
    };
    setImmediate(() => {
      if (this.#isCloseRequested || attempt !== this.#attempt) return;
      recordCloseDetails(this, details);
      const close = new CloseEvent("close", { code: 1006, reason: "", wasClean: false });
      let again = !isFinal && this.#retries < this.#maxRetries;
      if (again) {
        try {
          again =
            this.#shouldReconnect(close, { attempt, retries: this.#retries, details }) === true;
        } catch {
          again = false;
        }
      }
      if (!again) {
        this.#isFinished = true;
        this.#clearQueue();
      }
      this.dispatchEvent(new Event("error"));
      this.dispatchEvent(close);
      if (again && !this.#isCloseRequested) this.#scheduleRetry(details);
    });
  }

  #scheduleRetry(details: CloseDetails | undefined): void {
    const delayMs = backoffDelayMs(this.#retries, {
      initialDelayMs: this.#initialDelayMs,
      maxDelayMs: this.#maxDelayMs,
    });
    this.#retries++;
    // The timer keeps the process alive, as a connecting socket does: the application asked
    // for a connection. close() clears it, after which nothing of this socket remains.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#isCloseRequested) this.#connect(false);
    }, delayMs);
    this.dispatchEvent(
      new ReconnectEvent("reconnecting", {
        attempt: this.#attempt + 1,
        url: this.#url,
        delayMs,
        details,
      }),
    );
  }

  #clearQueue(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}

for (const [name, value] of [
  ["CONNECTING", CONNECTING],
  ["OPEN", OPEN],
  ["CLOSING", CLOSING],
  ["CLOSED", CLOSED],
] as const) {
  const descriptor = { value, writable: false, enumerable: true, configurable: false };
  Object.defineProperty(ReconnectingWebSocket, name, descriptor);
  Object.defineProperty(ReconnectingWebSocket.prototype, name, descriptor);
}
defineToStringTag(ReconnectingWebSocket, "ReconnectingWebSocket");

function evaluate(source: unknown): unknown {
  return typeof source === "function" ? (source as () => unknown)() : source;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function isBinary(value: unknown): boolean {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value) || value instanceof Blob;
}

function delayOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0) || value > MAX_TIMER_MS) {
    throw Object.assign(
      new RangeError(
        `The ${name} option must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${String(value)}.`,
      ),
      { code: "ERR_WS_INVALID_OPTION" },
    );
  }
  return value;
}

function countOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0) || Number.isNaN(value)) {
    throw Object.assign(
      new RangeError(`The ${name} option must be a non-negative number, got ${String(value)}.`),
      { code: "ERR_WS_INVALID_OPTION" },
    );
  }
  return value;
}
