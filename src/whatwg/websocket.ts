/**
 * The WHATWG `WebSocket` interface on Node, exact to the standard: the constructor steps,
 * `readyState`, `bufferedAmount`, `send()`, `close()`, `binaryType`, the `on*` handlers, and
 * events fired from queued tasks in the standard's order.
 *
 * @see https://websockets.spec.whatwg.org/#the-websocket-interface
 * @module
 */
import { getEventListeners } from "node:events";
import type { CloseFrameInfo, CloseInitiator, CloseOutcome } from "../protocol/close-state.js";
import { dial, type DialFailure, type Dialing, type OpenInfo } from "../node/dial.js";
import type { Transport } from "../node/transport.js";
import {
  blockedPortFailure,
  resolveClientOptions,
  toDialOptions,
  validateProtocols,
  type ClientOptions,
} from "./client-options.js";
import {
  detailsFromFailure,
  detailsFromOutcome,
  recordCloseDetails,
  type CloseDetails,
} from "./close-details.js";
import { EventHandlerAttribute, releaseUnusedEventTargetState } from "../facade/event-handlers.js";
import { decodeText, toArrayBuffer, toOutgoing } from "../facade/message-data.js";
import { SendQueue, type SendPolicy } from "../facade/send-queue.js";
import { CloseEvent, MessageEvent, defineToStringTag } from "./events.js";
import { getUrlRecord } from "./url.js";
import { validateCloseCodeAndReason } from "./validate-close.js";
import { notifyControlFrame } from "./control-frames.js";
import {
  isIterableObject,
  toClampedUnsignedShort,
  toDOMString,
  toDOMStringSequence,
  toUSVString,
} from "./webidl.js";

export type { CloseDetails } from "./close-details.js";

/**
 * Node-only settings, given as the second constructor argument instead of `protocols`. The
 * settings other than `protocols` are shared with `WebSocketStream` ({@link ClientOptions}).
 */
export interface WebSocketOptions extends ClientOptions {
  /** Subprotocols to offer, as the standard's second argument. */
  protocols?: string | readonly string[];
}

/** The answer to {@link ping}. */
export interface PongInfo {
  /** The Pong's payload (the Ping's, echoed by the peer). */
  readonly data: Uint8Array;
  /** Milliseconds between sending the Ping and receiving the Pong. */
  readonly rttMs: number;
}

const pingers = new WeakMap<WebSocket, (data: Uint8Array) => Promise<PongInfo | undefined>>();

/**
 * Sends a Ping (RFC 6455 §5.5.2) on an open `socket` and resolves with the matching Pong and the
 * round-trip time, or with `undefined` if the connection closes first. Non-standard: the
 * WHATWG API exposes no ping (SPEC.md J6); this is for diagnostics such as the CLI's `/ping`.
 *
 * @throws {DOMException} InvalidStateError unless the socket is OPEN
 * @throws {RangeError} for a payload over 125 bytes
 */
export function ping(
  socket: WebSocket,
  data: string | Uint8Array = new Uint8Array(0),
): Promise<PongInfo | undefined> {
  const payload = typeof data === "string" ? new TextEncoder().encode(data) : data.slice();
  if (payload.length > 125) {
    throw Object.assign(new RangeError("a ping carries at most 125 bytes"), {
      code: "ERR_WS_CONTROL_FRAME_TOO_LONG",
    });
  }
  const send = pingers.get(socket);
  if (send === undefined) throw new TypeError("not a sockwise WebSocket");
  return send(payload);
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** `Event.NONE` and `Event.AT_TARGET`. */
const NONE = 0;
const AT_TARGET = 2;

/**
 * Whether this Node's EventTarget clears an event's dispatch flag after the first listener
 * (Node 20 does), which leaves later listeners with `currentTarget` null (SPEC.md E17).
 */
const DISPATCH_FLAG_IS_CLEARED_EARLY = ((): boolean => {
  const target = new EventTarget();
  let currentTarget: EventTarget | null = target;
  target.addEventListener("probe", () => {});
  target.addEventListener("probe", (event) => (currentTarget = event.currentTarget));
  target.dispatchEvent(new Event("probe"));
  return currentTarget !== target;
})();
type Handler = ((this: WebSocket, event: Event) => unknown) | object | null;

/** A queued outgoing message: bytes now, or a Blob whose bytes are still being read. */

/**
 * A WebSocket connection, as browsers implement it.
 *
 * ```ts
 * const socket = new WebSocket("ws://127.0.0.1:8080/");
 * socket.onopen = () => socket.send("hello");
 * socket.onmessage = (event) => { console.log(event.data); socket.close(1000, "done"); };
 * socket.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
 * ```
 */
export class WebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  readonly #url: URL;
  #readyState: number = CONNECTING;
  /** The send queue, with the WHATWG bufferedAmount rule (SPEC.md B6–B8, C6, C8). */
  readonly #sender = new SendQueue(WHATWG_SEND_POLICY, this);
  #protocol = "";
  #extensions = "";
  #binaryType: "blob" | "arraybuffer" = "blob";
  #dialing: Dialing | undefined;
  #transport: Transport | undefined;
  /** Set when the connection was failed (so the close task fires `error` first). */
  #failed = false;
  /** Message tasks queued and not yet run. */
  #queuedMessages = 0;
  /** The URL's origin, serialized once (URL computes it on every read: 0.5 µs a message). */
  #originText: string | undefined;

  #origin(): string {
    return (this.#originText ??= this.#url.origin);
  }

  /** Pings sent by {@link ping} and not answered yet, oldest first. */
  #pings: { payload: Uint8Array; sentAt: number; resolve: (pong: PongInfo | undefined) => void }[] =
    [];

  /**
   * Creates a WebSocket and starts connecting (after the constructor returns).
   *
   * @param url a ws, wss, http or https URL
   * @param rest `[protocols]`: a subprotocol or a list of them, or (Node-only) a
   *   {@link WebSocketOptions}
   * @throws {DOMException} SyntaxError for an invalid URL, scheme or fragment, or an invalid or
   *   duplicate protocol
   * @throws {TypeError} when `url` is missing or cannot be converted to a string, when a protocol
   *   cannot (a Symbol); with `code` ERR_WS_INVALID_HEADER for a header or origin option the
   *   handshake cannot send (see {@link WebSocketOptions.headers})
   * @throws {RangeError} ERR_WS_INVALID_OPTION for a timeout or limit option that is not a
   *   positive number
   * @see https://websockets.spec.whatwg.org/#dom-websocket-websocket
   */
  constructor(
    url: string | URL,
    ...rest: [protocols?: string | readonly string[] | WebSocketOptions]
  ) {
    super();
    releaseUnusedEventTargetState(this);
    pingers.set(this, (payload) => this.#ping(payload));
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to construct 'WebSocket': 1 argument required, but only 0 present.",
      );
    }
    const second: unknown = rest[0];
    // SPEC.md A21: a plain object that is not iterable is sockwise's options bag, never a protocol.
    const options: WebSocketOptions =
      second !== null && typeof second === "object" && !isIterableObject(second)
        ? (second as WebSocketOptions)
        : {};
    const protocolsArgument: unknown = second === options ? options.protocols : second;

    // Web IDL converts every argument before any step runs, so a conversion TypeError (e.g. a
    // Symbol among the protocols) wins over a SyntaxError from the URL (SPEC.md A2, A13, A17).
    const urlString = toUSVString(url);
    const protocols = toProtocolList(protocolsArgument);

    // Steps 1–7: the URL record (SPEC.md A3–A9).
    this.#url = getUrlRecord(urlString, options.baseURL);

    // Steps 8–9: the protocols (SPEC.md A14–A16), checked after the URL (A17).
    validateProtocols(protocols);

    // Node-only options: misuse throws here rather than failing the connection later.
    const resolved = resolveClientOptions(this.#url, options);

    // Step 12: establish the connection in parallel. A blocked port fails asynchronously (A11).
    const blocked = blockedPortFailure(this.#url, resolved);
    if (blocked !== undefined) {
      setImmediate(() => this.#onFailed(blocked));
      return;
    }
    this.#dialing = dial(toDialOptions(this.#url, protocols, resolved), {
      open: (transport, info) => this.#onOpen(transport, info),
      failed: (failure) => this.#onFailed(failure),
      handleMessage: (binary, data) => this.#onMessage(binary, data),
      handlePing: (data) => notifyControlFrame(this, "ping", data),
      handlePong: (data) => this.#onPong(data),
      handleClosing: (initiator, received) => this.#onClosing(initiator, received),
      handleClosed: (outcome) => this.#onClosed(outcome),
    });
  }

  /** The URL, after the http→ws rewrite (SPEC.md B4). */
  get url(): string {
    return this.#url.href;
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    return this.#readyState;
  }

  /**
   * Bytes of application data passed to `send()` and not yet handed to the network, including
   * everything sent after the closing handshake started (it never drops back, SPEC.md B8).
   */
  get bufferedAmount(): number {
    return this.#sender.bufferedAmount;
  }

  /** The `Sec-WebSocket-Extensions` value the server accepted, exactly as received. */
  get extensions(): string {
    return this.#extensions;
  }

  /** The subprotocol the server chose. */
  get protocol(): string {
    return this.#protocol;
  }

  /** How binary messages are delivered: "blob" (the default) or "arraybuffer". */
  get binaryType(): string {
    return this.#binaryType;
  }

  set binaryType(value: string) {
    WebSocket.#check(this);
    // An enumeration attribute ignores values outside the enumeration (SPEC.md B11).
    const text = toDOMString(value);
    if (text === "blob" || text === "arraybuffer") this.#binaryType = text;
  }

  /**
   * Sends a message: a string as text; an ArrayBuffer, a view or a Blob as binary.
   *
   * @throws {TypeError} when `data` is missing, a Symbol, or a view over shared or resizable memory
   * @throws {DOMException} InvalidStateError while CONNECTING
   * @see https://websockets.spec.whatwg.org/#dom-websocket-send
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    WebSocket.#check(this);
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to execute 'send' on 'WebSocket': 1 argument required, but only 0 present.",
      );
    }
    const outgoing = toOutgoing(data, "'send' on 'WebSocket'");
    if (this.#readyState === CONNECTING) {
      throw new DOMException(
        "Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.",
        "InvalidStateError",
      );
    }
    // Step 3: the size counts even when nothing is sent (SPEC.md B8, C6).
    if (this.#readyState !== OPEN) this.#sender.count(outgoing.size);
    else this.#sender.send(outgoing, outgoing.bytes === undefined ? (data as Blob) : undefined);
  }

  /**
   * Closes the connection: starts the closing handshake, or fails a connection that is not
   * open yet.
   *
   * @param args `[code, reason]`: `code` 1000 or 3000–4999, without it the Close frame has no
   *   body (the peer sees 1005); `reason` at most 123 UTF-8 bytes
   * @throws {DOMException} InvalidAccessError for any other code; SyntaxError for a longer
   *   reason; in every state
   * @see https://websockets.spec.whatwg.org/#dom-websocket-close
   */
  close(...args: [code?: number, reason?: string]): void {
    WebSocket.#check(this);
    // IDL conversions: [Clamp] unsigned short and USVString; undefined counts as absent (D2–D4).
    const code = args[0] === undefined ? undefined : toClampedUnsignedShort(args[0]);
    const reason = args.length < 2 || args[1] === undefined ? undefined : toUSVString(args[1]);
    // Steps 1–2, before any state check (D5–D8).
    const reasonBytes = validateCloseCodeAndReason(code, reason);
    // Step 3: CLOSING or CLOSED → nothing (D10).
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      // Not established: fail the connection (D11); error and close follow from tasks.
      this.#readyState = CLOSING;
      this.#failed = true;
      if (this.#transport !== undefined) this.#transport.destroy();
      else this.#dialing?.abort();
      return;
    }
    this.#readyState = CLOSING;
    // D16 (★): a reason without a code is sent as 1000 + reason; an empty one as no body.
    const wireCode = code ?? (reasonBytes.length > 0 ? 1000 : undefined);
    this.#sender.close(wireCode, reasonBytes);
  }

  // ---- event handler IDL attributes (HTML "event handlers"; SPEC.md B12, E16), shared with
  // the server socket through facade/event-handlers.ts ----------------------------------------

  get onopen(): Handler {
    return this.#onopen;
  }
  set onopen(value: Handler) {
    WebSocket.#onopenAttribute.set(this, value);
  }
  get onmessage(): Handler {
    return this.#onmessage;
  }
  set onmessage(value: Handler) {
    WebSocket.#onmessageAttribute.set(this, value);
  }
  get onerror(): Handler {
    return this.#onerror;
  }
  set onerror(value: Handler) {
    WebSocket.#onerrorAttribute.set(this, value);
  }
  get onclose(): Handler {
    return this.#onclose;
  }
  set onclose(value: Handler) {
    WebSocket.#oncloseAttribute.set(this, value);
  }

  #onopen: Handler = null;
  #onmessage: Handler = null;
  #onerror: Handler = null;
  #onclose: Handler = null;
  static readonly #onopenAttribute = new EventHandlerAttribute<WebSocket>("open", {
    get: (target) => target.#onopen,
    set: (target, value) => (target.#onopen = value),
  });
  static readonly #onmessageAttribute = new EventHandlerAttribute<WebSocket>("message", {
    get: (target) => target.#onmessage,
    set: (target, value) => (target.#onmessage = value),
  });
  static readonly #onerrorAttribute = new EventHandlerAttribute<WebSocket>("error", {
    get: (target) => target.#onerror,
    set: (target, value) => (target.#onerror = value),
  });
  static readonly #oncloseAttribute = new EventHandlerAttribute<WebSocket>("close", {
    get: (target) => target.#onclose,
    set: (target, value) => (target.#onclose = value),
  });

  /**
   * The Web IDL brand check: an operation, getter or setter called on a `this` that is not a
   * WebSocket throws a TypeError before any argument is converted. The getters and the `on*`
   * accessors read a private field first, which throws that TypeError by itself (at no cost:
   * an explicit check here made a getter 4 ns slower); `send()`, `close()` and the
   * `binaryType` setter convert their argument before touching a field, so they call this.
   */
  static #check(value: unknown): void {
    if (value === null || typeof value !== "object" || !(#url in value)) {
      throw new TypeError("Illegal invocation: the receiver is not a WebSocket.");
    }
  }

  // ---- feedback from the protocol (each event from a queued task, SPEC.md E1) --------------

  #onOpen(transport: Transport, info: OpenInfo): void {
    this.#transport = transport;
    this.#sender.attach(transport);
    this.#dialing = undefined;
    if (this.#failed) {
      // close() was called while the handshake was completing: drop the connection (E15).
      transport.destroy();
      return;
    }
    setImmediate(() => {
      // SPEC.md E15: an open task that finds the state changed is skipped.
      if (this.#readyState !== CONNECTING) return;
      this.#readyState = OPEN;
      this.#protocol = info.protocol;
      this.#extensions = info.extensions;
      this.#fire(new Event("open"));
    });
  }

  #onMessage(binary: boolean, data: Uint8Array): void {
    this.#queuedMessages++;
    setImmediate(() => this.#messageTask(binary, data));
  }

  /**
   * The task that delivers one message (SPEC.md E1). While more message tasks are queued
   * behind it (the rest of the same read), the transport holds what the handlers send, and the
   * last task of the batch writes all of it at once: one system call for the replies to one
   * read, where the tick's uncork would otherwise write each reply alone. A send() outside the
   * batch is never held: the hold starts in the batch's first task and ends with its last, and
   * those run back to back in one phase of the event loop.
   */
  #messageTask(binary: boolean, data: Uint8Array): void {
    const transport = this.#transport;
    const isLast = --this.#queuedMessages === 0;
    if (!isLast) transport?.holdWrites();
    try {
      // SPEC.md E4, D19: messages are delivered only while OPEN.
      if (this.#readyState !== OPEN) return;
      let payload: string | ArrayBuffer | Blob;
      if (!binary) payload = decodeText(data);
      else if (this.#binaryType === "arraybuffer") payload = toArrayBuffer(data);
      else payload = new Blob([data]);
      this.#fire(new MessageEvent("message", { data: payload, origin: this.#origin() }));
    } finally {
      if (isLast) transport?.releaseWrites();
    }
  }

  #onClosing(_initiator: CloseInitiator, _received: CloseFrameInfo | undefined): void {
    // SPEC.md L6, B5: the closing handshake started (a Close was received, or sent because the
    // connection failed; close() has already set CLOSING itself): a task sets CLOSING.
    setImmediate(() => {
      if (this.#readyState === OPEN) this.#readyState = CLOSING;
    });
  }

  #onClosed(outcome: CloseOutcome): void {
    const cause = outcome.cause;
    // An error event accompanies a failed connection, not a closing-handshake timeout (E14).
    const fireError = this.#failed || (!outcome.wasClean && cause?.code !== "ERR_WS_CLOSE_TIMEOUT");
    // SPEC.md L25 (★): messages given to send() while OPEN that never went out (the peer's
    // Close came first) make the close unclean, though the peer's code and reason still show.
    const hasUnsentData = this.#sender.hasUnsentData;
    const record = detailsFromOutcome(outcome, hasUnsentData);
    this.#queueCloseTask(fireError, outcome.code, outcome.reason, record.wasClean, record);
  }

  #onFailed(failure: DialFailure): void {
    this.#dialing = undefined;
    const record = detailsFromFailure(failure, this.#failed ? "local" : "remote");
    this.#queueCloseTask(true, 1006, "", false, record);
  }

  /** The close task (WS "the WebSocket connection is closed"; SPEC.md E6): CLOSED, error?, close. */
  #queueCloseTask(
    fireError: boolean,
    code: number,
    reason: string,
    wasClean: boolean,
    record: CloseDetails,
  ): void {
    setImmediate(() => {
      this.#readyState = CLOSED;
      this.#transport = undefined;
      this.#sender.stop();
      for (const pending of this.#pings.splice(0)) pending.resolve(undefined);
      recordCloseDetails(this, record);
      if (fireError) this.#fire(new Event("error"));
      this.#fire(new CloseEvent("close", { wasClean, code, reason }));
    });
  }

  #ping(payload: Uint8Array): Promise<PongInfo | undefined> {
    const transport = this.#transport;
    if (this.#readyState !== OPEN || transport === undefined) {
      throw new DOMException("ping() needs an OPEN WebSocket", "InvalidStateError");
    }
    return new Promise((resolve) => {
      if (!transport.ping(payload)) {
        resolve(undefined);
        return;
      }
      this.#pings.push({ payload, sentAt: performance.now(), resolve });
    });
  }

  /** A Pong answers the oldest Ping with the same payload (and, per J3, any older ones). */
  #onPong(data: Uint8Array): void {
    notifyControlFrame(this, "pong", data);
    const index = this.#pings.findIndex((pending) => equalBytes(pending.payload, data));
    if (index === -1) return; // an unsolicited Pong (SPEC.md J4)
    const now = performance.now();
    for (const pending of this.#pings.splice(0, index + 1)) {
      pending.resolve({ data: data.slice(), rttMs: now - pending.sentAt });
    }
  }

  /**
   * Dispatches an event of the connection. Node 20's EventTarget clears its dispatch flag after
   * the first listener, so every later listener would see `currentTarget` null, `eventPhase` 0
   * and an empty `composedPath()` (SPEC.md E17). Where that happens, the event gets own
   * accessors that answer as the DOM standard says while this dispatch runs.
   */
  #fire(event: Event): void {
    // The first listener sees the right values anyway: with one listener or none (the usual
    // lone `onmessage`), the accessors are not worth defining (they cost a quarter of a
    // small-message client's time).
    if (!DISPATCH_FLAG_IS_CLEARED_EARLY || getEventListeners(this, event.type).length < 2) {
      this.dispatchEvent(event);
      return;
    }
    let isDispatching = true;
    Object.defineProperties(event, {
      currentTarget: { get: () => (isDispatching ? this : null), configurable: true },
      eventPhase: { get: () => (isDispatching ? AT_TARGET : NONE), configurable: true },
      composedPath: {
        value: () => (isDispatching ? [this] : []),
        writable: true,
        configurable: true,
      },
    });
    try {
      this.dispatchEvent(event);
    } finally {
      isDispatching = false;
    }
  }
}

// The constants are read-only and non-configurable on both the constructor and the prototype
// (SPEC.md B1); the IDL members are enumerable.
for (const [name, value] of [
  ["CONNECTING", CONNECTING],
  ["OPEN", OPEN],
  ["CLOSING", CLOSING],
  ["CLOSED", CLOSED],
] as const) {
  const descriptor = { value, writable: false, enumerable: true, configurable: false };
  Object.defineProperty(WebSocket, name, descriptor);
  Object.defineProperty(WebSocket.prototype, name, descriptor);
}
defineToStringTag(WebSocket, "WebSocket");
for (const name of [
  "url",
  "readyState",
  "bufferedAmount",
  "extensions",
  "protocol",
  "binaryType",
  "send",
  "close",
  "onopen",
  "onmessage",
  "onerror",
  "onclose",
]) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

/**
 * The standard's bufferedAmount rule (SPEC.md B7): written bytes leave it from a task of their
 * own. The client masks every frame into a copy, so the caller's bytes are never kept.
 */
const WHATWG_SEND_POLICY: SendPolicy = { fallsBetweenTasks: true, copiesBorrowed: false };

function toProtocolList(value: unknown): string[] {
  if (value === undefined) return [];
  if (isIterableObject(value) && typeof value !== "string") return toDOMStringSequence(value);
  return [toDOMString(value)];
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
