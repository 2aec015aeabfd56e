/**
 * A server-side WebSocket connection with the same WHATWG-style surface as the client (`send`,
 * `close`, `readyState`, `bufferedAmount`, `protocol`, `extensions`, `binaryType`, events and
 * `on*` handlers) plus what servers need: `ping()`, `ping`/`pong` events, a `closed` promise,
 * `destroy()`, the remote address, and a way to await draining.
 *
 * @module
 */
import { isUtf8 } from "node:buffer";
import { MAX_CLOSE_REASON_BYTES, isWireCloseCode } from "../protocol/close-codes.js";
import type { CloseInitiator, CloseOutcome } from "../protocol/close-state.js";
import type { AbnormalCause, ProtocolError } from "../protocol/errors.js";
import type { Transport, TransportHandlers } from "../node/transport.js";
import {
  EventHandlerAttribute,
  defineEventHandlerAttributes,
  type Handler,
  releaseUnusedEventTargetState,
} from "../facade/event-handlers.js";
import {
  decodeText,
  toBinaryData,
  toOutgoing,
  toTextBytes,
  type BinaryType,
  type TextType,
} from "../facade/message-data.js";
import { SendQueue, type SendPolicy } from "../facade/send-queue.js";
import { toDOMString, toUSVString } from "../facade/webidl-strings.js";
import { ServerCloseEvent, ServerMessageEvent, type ServerCloseInfo } from "./server-events.js";
import type { PerMessageDeflate } from "../protocol/extensions/permessage-deflate.js";
import type { PublishResult, Subscriber, TopicRegistry } from "./topics.js";

export type { ServerCloseInfo } from "./server-events.js";

/**
 * The events of a {@link ServerWebSocket} and their types, for typed `addEventListener`.
 * `message` carries a string (text) or, by `binaryType`, an ArrayBuffer, Blob or Buffer;
 * `ping` and `pong` carry their payload as a Buffer.
 */
export interface ServerWebSocketEventMap {
  message: ServerMessageEvent<string | ArrayBuffer | Blob | Buffer>;
  ping: ServerMessageEvent<Buffer>;
  pong: ServerMessageEvent<Buffer>;
  close: ServerCloseEvent;
  drain: Event;
  open: Event;
  error: Event;
}

export { ServerMessageEvent } from "./server-events.js";

type AnyListener = Parameters<EventTarget["addEventListener"]>[1] | null;
type AddOptions = Parameters<EventTarget["addEventListener"]>[2];
type RemoveOptions = Parameters<EventTarget["removeEventListener"]>[2];

/** A listener for one of the {@link ServerWebSocketEventMap} events. */
type ServerWebSocketListener<K extends keyof ServerWebSocketEventMap> =
  | ((this: ServerWebSocket, event: ServerWebSocketEventMap[K]) => unknown)
  | { handleEvent(event: ServerWebSocketEventMap[K]): unknown };

const NO_BYTES = new Uint8Array(0);

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Lets only the server construct sockets. */
const constructionKey = Symbol("ServerWebSocket");

/** Internal wiring between a socket and its server. */
export interface ServerSocketInit {
  readonly url: string;
  readonly protocol: string;
  readonly extensions: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly binaryType: BinaryType;
  /** How text messages are delivered (default "string"). */
  readonly textType?: TextType;
  /** The server's open connections: the socket leaves it once closed. */
  readonly clients: Set<ServerWebSocket>;
  /** The server's topics: the socket leaves its topics once closed. */
  readonly topics: TopicRegistry<ServerWebSocket>;
  /** The initial {@link ServerWebSocket.data}. */
  readonly data: unknown;
}

/**
 * One accepted WebSocket connection. Created by `WebSocketServer`; listen for `message`,
 * `close`, `ping`, `pong` and `drain`. `Data` is the type of {@link ServerWebSocket.data}, the
 * server's `Data` parameter (`new WebSocketServer<{ userId: string }>(…)`).
 */
export class ServerWebSocket<Data = unknown>
  extends EventTarget
  implements TransportHandlers, Subscriber
{
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;
  declare onopen: ((event: Event) => unknown) | object | null;
  declare onmessage: ((event: ServerWebSocketEventMap["message"]) => unknown) | object | null;
  declare onerror: ((event: Event) => unknown) | object | null;
  declare onclose: ((event: ServerCloseEvent) => unknown) | object | null;
  declare onping: ((event: ServerWebSocketEventMap["ping"]) => unknown) | object | null;
  declare onpong: ((event: ServerWebSocketEventMap["pong"]) => unknown) | object | null;
  declare ondrain: ((event: Event) => unknown) | object | null;

  // The init fields are copied, not the init object kept: one object less per connection.
  readonly #url: string;
  readonly #protocol: string;
  readonly #extensions: string;
  readonly #remoteAddress: string | undefined;
  readonly #remotePort: number | undefined;
  readonly #remoteFamily: string | undefined;
  #transport: Transport | undefined;
  readonly #clients: Set<ServerWebSocket>;
  readonly #registry: TopicRegistry<ServerWebSocket>;
  /** This socket's topics: none, one (no Set for the common case), or several. */
  #topics: string | Set<string> | undefined;
  #readyState: number = OPEN;
  #binaryType: BinaryType;
  #textType: TextType;
  /** The send queue, created by the first `send()`: an idle connection has none. */
  #sender: SendQueue | undefined;
  /** What most connections never use until they close: created on first need. */
  #more: SocketExtras | undefined;

  // The on* handler values (SPEC.md B12, E16): fields, not a map per socket; the handlers
  // applications seldom set are kept with the extras.
  #onmessage: Handler = null;
  #onclose: Handler = null;

  static {
    defineEventHandlerAttributes(ServerWebSocket.prototype, [
      new EventHandlerAttribute<ServerWebSocket>("open", {
        get: (target) => target.#more?.onopen ?? null,
        set: (target, value) => (target.#extras().onopen = value),
      }),
      new EventHandlerAttribute<ServerWebSocket>("message", {
        get: (target) => target.#onmessage,
        set: (target, value) => (target.#onmessage = value),
      }),
      new EventHandlerAttribute<ServerWebSocket>("error", {
        get: (target) => target.#more?.onerror ?? null,
        set: (target, value) => (target.#extras().onerror = value),
      }),
      new EventHandlerAttribute<ServerWebSocket>("close", {
        get: (target) => target.#onclose,
        set: (target, value) => (target.#onclose = value),
      }),
      new EventHandlerAttribute<ServerWebSocket>("ping", {
        get: (target) => target.#more?.onping ?? null,
        set: (target, value) => (target.#extras().onping = value),
      }),
      new EventHandlerAttribute<ServerWebSocket>("pong", {
        get: (target) => target.#more?.onpong ?? null,
        set: (target, value) => (target.#extras().onpong = value),
      }),
      new EventHandlerAttribute<ServerWebSocket>("drain", {
        get: (target) => target.#more?.ondrain ?? null,
        set: (target, value) => (target.#extras().ondrain = value),
      }),
    ]);
  }

  /**
   * The application's data for this connection: what `authenticate` answered as `{ data }` (or
   * what was given to `handleUpgrade`), `undefined` otherwise. Free for the application to
   * replace; sockwise never reads it.
   */
  data: Data;

  /** @internal Use `WebSocketServer`; sockets cannot be constructed directly. */
  constructor(key: symbol, init: ServerSocketInit) {
    if (key !== constructionKey)
      throw new TypeError("Illegal constructor: ServerWebSocket is created by WebSocketServer");
    super();
    releaseUnusedEventTargetState(this);
    this.#url = init.url;
    this.#protocol = init.protocol;
    this.#extensions = init.extensions;
    this.#remoteAddress = init.remoteAddress;
    this.#remotePort = init.remotePort;
    this.#remoteFamily = init.remoteFamily;
    this.#binaryType = init.binaryType;
    this.#textType = init.textType ?? "string";
    this.#clients = init.clients;
    this.#registry = init.topics;
    this.data = init.data as Data;
  }

  /** Resolves, never rejects, once the connection is over. */
  get closed(): Promise<ServerCloseInfo> {
    const more = this.#extras();
    if (more.closed === undefined) {
      const info = more.closeInfo;
      more.closed =
        info === undefined
          ? new Promise((resolve) => {
              more.resolveClosed = resolve;
            })
          : Promise.resolve(info);
    }
    return more.closed;
  }

  /** @internal */
  static create(init: ServerSocketInit): ServerWebSocket {
    return new ServerWebSocket(constructionKey, init);
  }

  /** @internal Connects the socket to its transport (before the head bytes are fed). */
  attach(transport: Transport): void {
    this.#transport = transport;
    this.#sender?.attach(transport);
  }

  /**
   * Adds an event listener; typed for this socket's events, so `e.data` of a `message` and
   * `e.code` of a `close` need no cast.
   */
  override addEventListener<K extends keyof ServerWebSocketEventMap>(
    type: K,
    listener: ServerWebSocketListener<K> | null,
    options?: AddOptions,
  ): void;
  override addEventListener(type: string, listener: AnyListener, options?: AddOptions): void;
  override addEventListener(type: string, listener: AnyListener, options?: AddOptions): void {
    if (listener !== null) super.addEventListener(type, listener, options);
  }

  /** Removes an event listener added with {@link ServerWebSocket.addEventListener}. */
  override removeEventListener<K extends keyof ServerWebSocketEventMap>(
    type: K,
    listener: ServerWebSocketListener<K> | null,
    options?: RemoveOptions,
  ): void;
  override removeEventListener(type: string, listener: AnyListener, options?: RemoveOptions): void;
  override removeEventListener(type: string, listener: AnyListener, options?: RemoveOptions): void {
    if (listener !== null) super.removeEventListener(type, listener, options);
  }

  /** The request URL (path and query) the client connected to. */
  get url(): string {
    return this.#url;
  }

  /** OPEN (1), CLOSING (2) or CLOSED (3); a server socket is never CONNECTING. */
  get readyState(): number {
    return this.#readyState;
  }

  /** Payload bytes passed to `send()` and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.#sender?.bufferedAmount ?? 0;
  }

  /** The subprotocol the server selected ("" when none). */
  get protocol(): string {
    return this.#protocol;
  }

  /** The `Sec-WebSocket-Extensions` value the server answered with ("" when none). */
  get extensions(): string {
    return this.#extensions;
  }

  /** "arraybuffer" (the server default), "blob", or "nodebuffer" (a zero-copy `Buffer`). */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: string) {
    const text = toDOMString(value);
    if (text === "blob" || text === "arraybuffer" || text === "nodebuffer") this.#binaryType = text;
  }

  /**
   * How text messages are delivered: "string" (the default, decoded), or "nodebuffer": the
   * message's bytes as a zero-copy `Buffer`, already validated as UTF-8 (RFC 6455 §8.1) and
   * never decoded, for relays, brokers and fan-outs that pass text on untouched (send it on
   * with {@link ServerWebSocket.sendText}). `event.isBinary` tells text from binary.
   */
  get textType(): TextType {
    return this.#textType;
  }

  set textType(value: string) {
    const text = toDOMString(value);
    if (text === "string" || text === "nodebuffer") this.#textType = text;
  }

  /** The client's IP address. */
  get remoteAddress(): string | undefined {
    return this.#remoteAddress;
  }

  /** The client's port. */
  get remotePort(): number | undefined {
    return this.#remotePort;
  }

  /** "IPv4" or "IPv6". */
  get remoteFamily(): string | undefined {
    return this.#remoteFamily;
  }

  /**
   * Sends a message: a string as text; an ArrayBuffer, a view or a Blob as binary. Messages
   * leave in call order (a Blob is never overtaken). After `close()` nothing is sent (the size
   * still counts in `bufferedAmount`, as on the client).
   * @throws {TypeError} when `data` is missing, a Symbol, or shared/resizable memory
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (arguments.length === 0) throw new TypeError("send() requires 1 argument");
    const outgoing = toOutgoing(data);
    const sender = this.#sendQueue();
    if (this.#readyState !== OPEN) sender.count(outgoing.size);
    else sender.send(outgoing, outgoing.bytes === undefined ? (data as Blob) : undefined);
  }

  /**
   * Sends a text message whose UTF-8 bytes the caller already has (a message received with
   * `textType = "nodebuffer"`, bytes from a broker): no decoding and re-encoding. The bytes are
   * checked as UTF-8 (a peer must fail a connection on invalid text, RFC 6455 §8.1) and copied
   * as `send()` copies binary data; a string is sent as `send(string)` would.
   * @throws {TypeError} ERR_WS_INVALID_UTF8 when the bytes are not valid UTF-8; a TypeError as
   *   `send()` for anything else than a string, an ArrayBuffer or a view
   */
  sendText(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (arguments.length === 0) throw new TypeError("sendText() requires 1 argument");
    const outgoing = toTextBytes(data, "'sendText'");
    const sender = this.#sendQueue();
    if (this.#readyState !== OPEN) sender.count(outgoing.size);
    else sender.send(outgoing, undefined, typeof data !== "string");
  }

  /**
   * @internal Sends bytes that several connections share (a broadcast): they must never change.
   */
  sendShared(kind: "text" | "binary", bytes: Uint8Array, size: number): void {
    const sender = this.#sendQueue();
    if (this.#readyState !== OPEN) sender.count(size);
    else sender.sendOwned(kind, bytes, size);
  }

  /**
   * @internal Writes a frame built once for many connections (a topic's message): it keeps its
   * place among this socket's messages and counts `size` in `bufferedAmount`.
   */
  sendBuiltFrame(frame: Uint8Array, size: number): void {
    const sender = this.#sendQueue();
    if (this.#readyState !== OPEN) sender.count(size);
    else sender.sendOwned("frame", frame, size);
  }

  /**
   * Subscribes this connection to `topic`: it receives what is published there, from this
   * process and (with a broker such as `RedisBroker`) every other. A socket leaves all its
   * topics when it closes.
   * @throws {TypeError} ERR_WS_INVALID_TOPIC for a topic that is not a non-empty string of at
   *   most `maxTopicLength` characters
   * @throws {RangeError} ERR_WS_TOO_MANY_TOPICS when this socket already has
   *   `maxTopicsPerSocket` topics
   * @returns false when already subscribed, or when the socket is no longer open
   */
  subscribe(topic: string): boolean {
    return this.#registry.subscribe(this, topic);
  }

  /**
   * Unsubscribes this connection from `topic`.
   * @returns false when it was not subscribed
   */
  unsubscribe(topic: string): boolean {
    return this.#registry.unsubscribe(this, topic);
  }

  /** Whether this connection is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    const topics = this.#topics;
    return topics === topic || (typeof topics === "object" && topics.has(topic));
  }

  /** This connection's topics (a new array each time). */
  get subscriptions(): readonly string[] {
    const topics = this.#topics;
    return topics === undefined ? [] : typeof topics === "string" ? [topics] : [...topics];
  }

  /**
   * Publishes to every subscriber of `topic` except this socket, in every process: a string as
   * text, bytes as binary (or as text with `{ binary: false }`: they must be UTF-8). The socket
   * need not be subscribed itself.
   * @returns what happened at this process's subscribers
   * @throws {TypeError} ERR_WS_INVALID_TOPIC for a bad topic, ERR_WS_INVALID_UTF8 for bytes
   *   sent as text that are not UTF-8
   */
  publish(
    topic: string,
    data: string | ArrayBufferLike | ArrayBufferView,
    options: { readonly binary?: boolean } = {},
  ): PublishResult {
    const message = toPublished(data, options.binary, "'publish'");
    return this.#registry.publish(topic, message.bytes, message.isBinary, this);
  }

  /** @internal The topic registry's per-socket state. */
  get topicState(): string | Set<string> | undefined {
    return this.#topics;
  }

  set topicState(value: string | Set<string> | undefined) {
    this.#topics = value;
  }

  /** @internal The connection's permessage-deflate, when negotiated. */
  get deflate(): PerMessageDeflate | undefined {
    return this.#transport?.deflate;
  }

  /**
   * Sends a Ping; a `pong` event follows when the client answers.
   * @throws {RangeError} for a payload over 125 bytes
   * @returns false when the connection is no longer open
   */
  ping(data?: string | ArrayBufferLike | ArrayBufferView): boolean {
    const transport = this.#transport;
    const payload =
      data === undefined ? undefined : (toOutgoing(data, "'ping'").bytes as Uint8Array).slice();
    if (transport === undefined || this.#readyState !== OPEN) return false;
    return transport.ping(payload);
  }

  /**
   * Starts the closing handshake. Any code valid on the wire may be used: 1000–1003,
   * 1007–1014 and 3000–4999 (SPEC.md M2); without a code the Close frame has no body.
   * Messages sent before are delivered first. Does nothing once closing.
   *
   * @throws {DOMException} InvalidAccessError for a code not valid on the wire (1005, 1006 and
   *   1015 above all); SyntaxError for a reason over 123 UTF-8 bytes
   */
  close(...args: [code?: number, reason?: string]): void {
    const code = args[0] === undefined ? undefined : Number(args[0]);
    const reason = args[1] === undefined ? "" : toUSVString(args[1]);
    if (code !== undefined && !(Number.isInteger(code) && isWireCloseCode(code))) {
      throw new DOMException(
        `The close code ${String(args[0])} may not be sent: use 1000–1003, 1007–1014 or 3000–4999.`,
        "InvalidAccessError",
      );
    }
    const reasonBytes = reason === "" ? NO_BYTES : Buffer.from(reason, "utf8");
    if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
      throw new DOMException(
        `The close reason must not be longer than ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes (got ${reasonBytes.length}).`,
        "SyntaxError",
      );
    }
    if (this.#readyState !== OPEN) return;
    this.#readyState = CLOSING;
    const wireCode = code ?? (reasonBytes.length > 0 ? 1000 : undefined);
    const sender = this.#sender;
    if (sender === undefined) this.#transport?.close(wireCode, reasonBytes);
    else sender.close(wireCode, reasonBytes);
  }

  /** Drops the TCP connection at once, without a closing handshake (reported as 1006). */
  destroy(): void {
    this.#transport?.destroy();
  }

  /** Resolves once `bufferedAmount` is 0 (at once if it already is, or once closed). */
  drained(): Promise<void> {
    if (this.bufferedAmount === 0 || this.#readyState === CLOSED) return Promise.resolve();
    const more = this.#extras();
    return new Promise((resolve) => (more.drainWaiters ??= []).push(resolve));
  }

  get [Symbol.toStringTag](): string {
    return "ServerWebSocket";
  }

  // ---- wiring (internal) ---------------------------------------------------------------------

  /** @internal The heartbeat or the server decided to drop this connection, for this reason. */
  destroyWithCause(code: string, message: string): void {
    this.#extras().overrideCause ??= { code, message };
    this.destroy();
  }

  /** @internal */
  get transport(): Transport | undefined {
    return this.#transport;
  }

  /** @internal */
  get closeInfo(): ServerCloseInfo | undefined {
    return this.#more?.closeInfo;
  }

  /** @internal */
  handleMessage(binary: boolean, data: Uint8Array): void {
    if (this.#readyState !== OPEN) return;
    const payload = binary
      ? toBinaryData(data, this.#binaryType)
      : this.#textType === "string"
        ? decodeText(data)
        : toBinaryData(data, "nodebuffer");
    this.dispatchEvent(new ServerMessageEvent("message", payload, binary));
  }

  /** @internal */
  handlePing(data: Uint8Array): void {
    this.dispatchEvent(
      new ServerMessageEvent(
        "ping",
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        true,
      ),
    );
  }

  /** @internal */
  handlePong(data: Uint8Array): void {
    this.dispatchEvent(
      new ServerMessageEvent(
        "pong",
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        true,
      ),
    );
  }

  /** @internal The client started the closing handshake. */
  handleClosing(initiator: CloseInitiator): void {
    if (initiator === "remote" && this.#readyState === OPEN) {
      this.#readyState = CLOSING;
      this.#sender?.stop();
    }
  }

  /** @internal */
  handleDrain(): void {
    // The socket is empty, but a message may still wait in the queue (behind a Blob).
    if (this.bufferedAmount === 0) this.#settleDrain();
    if (this.#readyState === OPEN) this.dispatchEvent(new Event("drain"));
  }

  /** @internal The connection is over: settle `closed`, then fire `close` from a task. */
  handleClosed(outcome: CloseOutcome): ServerCloseInfo {
    this.#clients.delete(this);
    this.#registry.leaveAll(this);
    const more = this.#extras();
    const cause = describeCause(outcome, more.overrideCause);
    const info: ServerCloseInfo = {
      code: outcome.code,
      reason: outcome.reason,
      wasClean: outcome.wasClean,
      initiator: outcome.initiator,
      ...(cause === undefined ? {} : { cause }),
      ...(outcome.sentCode === undefined ? {} : { sentCode: outcome.sentCode }),
    };
    more.closeInfo = info;
    this.#sender?.stop();
    more.resolveClosed?.(info);
    more.resolveClosed = undefined;
    setImmediate(() => {
      this.#readyState = CLOSED;
      this.#transport = undefined;
      this.#settleDrain();
      this.dispatchEvent(new ServerCloseEvent("close", info));
    });
    return info;
  }

  #sendQueue(): SendQueue {
    return (this.#sender ??= new SendQueue(SERVER_SEND_POLICY, this, this.#transport));
  }

  /** Settles `drained()` (the send queue calls this when `bufferedAmount` reaches 0). */
  static settleDrain(socket: ServerWebSocket): void {
    socket.#settleDrain();
  }

  #extras(): SocketExtras {
    return (this.#more ??= new SocketExtras());
  }

  #settleDrain(): void {
    const more = this.#more;
    const waiters = more?.drainWaiters;
    if (waiters === undefined) return;
    more!.drainWaiters = undefined;
    for (const resolve of waiters) resolve();
  }
}

for (const [name, value] of [
  ["CONNECTING", CONNECTING],
  ["OPEN", OPEN],
  ["CLOSING", CLOSING],
  ["CLOSED", CLOSED],
] as const) {
  const descriptor = { value, writable: false, enumerable: true, configurable: false };
  Object.defineProperty(ServerWebSocket, name, descriptor);
  Object.defineProperty(ServerWebSocket.prototype, name, descriptor);
}

/**
 * The server's send rule (SPEC.md P16): bytes leave `bufferedAmount` as soon as they are handed
 * to the operating system; binary payloads are copied (frames are not masked, C10).
 */
const SERVER_SEND_POLICY: SendPolicy = {
  fallsBetweenTasks: false,
  copiesBorrowed: true,
  onDrained: (owner) => ServerWebSocket.settleDrain(owner as ServerWebSocket),
};

/** The state of a {@link ServerWebSocket} that most connections do not need while open. */
class SocketExtras {
  /** Created on first use of {@link ServerWebSocket.closed}. */
  closed: Promise<ServerCloseInfo> | undefined = undefined;
  resolveClosed: ((info: ServerCloseInfo) => void) | undefined = undefined;
  overrideCause: { code: string; message: string } | undefined = undefined;
  drainWaiters: (() => void)[] | undefined = undefined;
  closeInfo: ServerCloseInfo | undefined = undefined;
  onopen: Handler = null;
  onerror: Handler = null;
  onping: Handler = null;
  onpong: Handler = null;
  ondrain: Handler = null;
}

function describeCause(
  outcome: CloseOutcome,
  override: { code: string; message: string } | undefined,
): ServerCloseInfo["cause"] {
  const cause: ProtocolError | AbnormalCause | undefined = outcome.cause;
  if (override !== undefined && (cause === undefined || cause.code === "ERR_WS_DESTROYED"))
    return override;
  if (cause === undefined) return undefined;
  const error = "error" in cause ? cause.error : undefined;
  return error === undefined
    ? { code: cause.code, message: cause.message }
    : { code: cause.code, message: cause.message, error };
}

/**
 * A message to publish as bytes and a text/binary flag: a string as UTF-8 text; bytes as binary,
 * or as text with `binary: false` (checked as UTF-8, as text must be on the wire).
 * @internal
 */
export function toPublished(
  data: string | ArrayBufferLike | ArrayBufferView,
  binary: boolean | undefined,
  where: string,
): { bytes: Uint8Array; isBinary: boolean } {
  const outgoing = toOutgoing(data, where);
  if (outgoing.bytes === undefined) throw new TypeError(`${where} does not take a Blob`);
  const isBinary = binary ?? outgoing.kind === "binary";
  if (!isBinary && outgoing.kind === "binary" && !isUtf8(outgoing.bytes)) {
    throw Object.assign(new TypeError(`${where}: bytes sent as text must be valid UTF-8`), {
      code: "ERR_WS_INVALID_UTF8",
    });
  }
  return { bytes: outgoing.bytes, isBinary };
}
