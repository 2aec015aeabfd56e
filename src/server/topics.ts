/**
 * Topics of one server process: which local connections subscribed to what, and the fast path
 * that frames a published message once and writes the same bytes to every local subscriber.
 * What crosses processes goes through the server's {@link Broker} (docs/pubsub.md).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { buildServerDataFrame } from "../protocol/built-frame.js";
import type { PerMessageDeflate } from "../protocol/extensions/permessage-deflate.js";
import type { Broker, BrokerSink } from "./broker.js";

/** The result of a publish: what happened at this process's subscribers. */
export interface PublishResult {
  /** Local subscribers the message was written to. */
  readonly sent: number;
  /** Local subscribers skipped because their unsent data was over `maxBufferedBytes`. */
  readonly skipped: number;
  /** Local subscribers closed (1013) for being over `maxBufferedBytes` (`slowSubscribers: "close"`). */
  readonly closed: number;
}

/** The topic settings of a server (see `WebSocketServerOptions`). */
export interface TopicSettings {
  readonly maxTopicLength: number;
  readonly maxTopicsPerSocket: number;
  readonly maxBufferedBytes: number;
  readonly slowSubscribers: "skip" | "close";
}

/** What the registry needs of a connection (a `ServerWebSocket`). */
export interface Subscriber {
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** The socket's topics: none, one (a string: no Set for the common case), or several. */
  topicState: string | Set<string> | undefined;
  /** The connection's permessage-deflate, when negotiated. */
  readonly deflate: PerMessageDeflate | undefined;
  /** Writes a frame built by {@link buildServerDataFrame}; `size` counts in `bufferedAmount`. */
  sendBuiltFrame(frame: Uint8Array, size: number): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;
const NOTHING: PublishResult = Object.freeze({ sent: 0, skipped: 0, closed: 0 });
/** The close code for a subscriber that cannot keep up: 1013 "Try Again Later" (RFC 6455 §7.4.1 via IANA). */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 1013;
export const SLOW_SUBSCRIBER_CLOSE_REASON = "subscriber too slow";

const allocate = (size: number): Uint8Array => Buffer.allocUnsafe(size);

/**
 * One server's topics. Each topic has a Set of local subscribers; each subscriber keeps its own
 * topics (see {@link Subscriber.topicState}), so closing a socket leaves its topics in time
 * proportional to its own topics. The broker hears of a topic when its first local subscriber
 * arrives and when its last one leaves.
 */
export class TopicRegistry<S extends Subscriber = Subscriber> implements BrokerSink {
  readonly #topics = new Map<string, Set<S>>();
  readonly #settings: TopicSettings;
  readonly #broker: Broker;

  constructor(settings: TopicSettings, broker: Broker) {
    this.#settings = settings;
    this.#broker = broker;
  }

  /** The broker carrying this server's topics between processes. */
  get broker(): Broker {
    return this.#broker;
  }

  /** How many local subscribers `topic` has. */
  count(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /**
   * Subscribes `socket` to `topic`.
   * @throws {TypeError} ERR_WS_INVALID_TOPIC for a topic that is not a non-empty string of at
   *   most `maxTopicLength` characters
   * @throws {RangeError} ERR_WS_TOO_MANY_TOPICS when the socket already has `maxTopicsPerSocket`
   * @returns false when it was already subscribed or is no longer open
   */
  subscribe(socket: S, topic: string): boolean {
    this.checkTopic(topic);
    if (socket.readyState !== OPEN) return false;
    const state = socket.topicState;
    if (state === topic) return false;
    if (typeof state === "object") {
      if (state.has(topic)) return false;
      if (state.size >= this.#settings.maxTopicsPerSocket) throw tooManyTopics(this.#settings);
      state.add(topic);
    } else if (state === undefined) {
      socket.topicState = topic;
    } else {
      if (this.#settings.maxTopicsPerSocket < 2) throw tooManyTopics(this.#settings);
      socket.topicState = new Set([state, topic]);
    }
    let subscribers = this.#topics.get(topic);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#topics.set(topic, subscribers);
      this.#broker.subscribe(topic);
    }
    subscribers.add(socket);
    return true;
  }

  /**
   * Unsubscribes `socket` from `topic`.
   * @returns false when it was not subscribed
   */
  unsubscribe(socket: S, topic: string): boolean {
    const state = socket.topicState;
    if (state === topic) socket.topicState = undefined;
    else if (typeof state === "object" && state.delete(topic)) {
      if (state.size === 0) socket.topicState = undefined;
    } else return false;
    this.#leave(socket, topic);
    return true;
  }

  /** Unsubscribes a socket from all its topics (it closed). */
  leaveAll(socket: S): void {
    const state = socket.topicState;
    if (state === undefined) return;
    socket.topicState = undefined;
    if (typeof state === "string") this.#leave(socket, state);
    else for (const topic of state) this.#leave(socket, topic);
  }

  #leave(socket: S, topic: string): void {
    const subscribers = this.#topics.get(topic);
    if (subscribers === undefined || !subscribers.delete(socket)) return;
    if (subscribers.size === 0) {
      this.#topics.delete(topic);
      this.#broker.unsubscribe(topic);
    }
  }

  /**
   * Delivers to local subscribers, then hands the message to the broker for the other processes.
   * `data` is only read during the call.
   */
  publish(topic: string, data: Uint8Array, isBinary: boolean, except?: S): PublishResult {
    this.checkTopic(topic);
    const result = this.deliver(topic, data, isBinary, except);
    this.#broker.publish(topic, data, isBinary);
    return result;
  }

  /** {@link BrokerSink}: a message from another process. */
  message(topic: string, data: Uint8Array, isBinary: boolean): void {
    this.deliver(topic, data, isBinary, undefined);
  }

  /**
   * Writes one message to every local subscriber of `topic` but `except`: framed once, and
   * compressed at most once per set of permessage-deflate parameters that allows sharing (no
   * context takeover on the server side); a subscriber whose compressor keeps context between
   * messages gets the uncompressed frame (RSV1 clear, which RFC 7692 §6 allows for any message).
   */
  deliver(
    topic: string,
    data: Uint8Array,
    isBinary: boolean,
    except: S | undefined,
  ): PublishResult {
    const subscribers = this.#topics.get(topic);
    if (subscribers === undefined) return NOTHING;
    const kind = isBinary ? "binary" : "text";
    const size = data.length;
    const { maxBufferedBytes, slowSubscribers } = this.#settings;
    let plain: Uint8Array | undefined;
    // Compressed frames by window size; one entry in practice (one server configuration).
    let compressedKey = -1;
    let compressedFrame: Uint8Array | undefined;
    let more: Map<number, Uint8Array> | undefined;
    let sent = 0;
    let skipped = 0;
    let closed = 0;
    for (const socket of subscribers) {
      if (socket === except || socket.readyState !== OPEN) continue;
      if (socket.bufferedAmount > maxBufferedBytes) {
        if (slowSubscribers === "close") {
          socket.close(SLOW_SUBSCRIBER_CLOSE_CODE, SLOW_SUBSCRIBER_CLOSE_REASON);
          closed++;
        } else skipped++;
        continue;
      }
      const deflate = socket.deflate;
      const key = deflate?.sharedCompressionKey;
      let frame: Uint8Array;
      if (key === undefined) {
        frame = plain ??= buildServerDataFrame(kind, data, false, allocate);
      } else if (key === compressedKey) {
        frame = compressedFrame!;
      } else {
        let found = more?.get(key);
        if (found === undefined) {
          const compressed = deflate!.compress(data);
          found =
            compressed === undefined
              ? (plain ??= buildServerDataFrame(kind, data, false, allocate))
              : buildServerDataFrame(kind, compressed, true, allocate);
          if (compressedFrame === undefined) {
            compressedKey = key;
            compressedFrame = found;
          } else (more ??= new Map()).set(key, found);
        }
        frame = found;
      }
      socket.sendBuiltFrame(frame, size);
      sent++;
    }
    return sent === 0 && skipped === 0 && closed === 0 ? NOTHING : { sent, skipped, closed };
  }

  /**
   * @throws {TypeError} ERR_WS_INVALID_TOPIC for a topic that is not a non-empty string of at
   *   most `maxTopicLength` characters
   */
  checkTopic(topic: unknown): asserts topic is string {
    if (
      typeof topic !== "string" ||
      topic.length === 0 ||
      topic.length > this.#settings.maxTopicLength
    ) {
      throw Object.assign(
        new TypeError(
          `a topic must be a non-empty string of at most ${this.#settings.maxTopicLength} characters`,
        ),
        { code: "ERR_WS_INVALID_TOPIC" },
      );
    }
  }
}

function tooManyTopics(settings: TopicSettings): RangeError {
  return Object.assign(
    new RangeError(`a socket may subscribe to at most ${settings.maxTopicsPerSocket} topics`),
    { code: "ERR_WS_TOO_MANY_TOPICS" },
  );
}
