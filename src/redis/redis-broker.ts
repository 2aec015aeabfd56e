/**
 * A {@link Broker} on Redis pub/sub (through `ioredis`, an optional peer dependency): the topics
 * of every sockwise process connected to the same Redis become one, across processes and
 * machines. docs/pubsub.md describes the model, the guarantees and the faults.
 *
 * @module
 */
import { EventEmitter } from "node:events";
import { Buffer, isUtf8 } from "node:buffer";
import { randomBytes } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import type { Broker, BrokerSink, BrokerStatus } from "../server/broker.js";

/** Options of a {@link RedisBroker}. */
export interface RedisBrokerOptions {
  /** Where Redis is, e.g. `"redis://127.0.0.1:6379"` (default `redis://127.0.0.1:6379`). */
  readonly url?: string;
  /**
   * An `ioredis` client to publish with (its options are yours: set `enableOfflineQueue: false`
   * so that nothing waits unbounded in ioredis while Redis is down). The broker subscribes on a
   * `duplicate()` of it, and leaves the client itself open on `close()`.
   */
  readonly redis?: Redis;
  /** Extra `ioredis` options for the connections the broker makes from `url`. */
  readonly redisOptions?: RedisOptions;
  /** Prepended to each topic to make the Redis channel name (default `"sockwise:"`). */
  readonly prefix?: string;
  /**
   * How many cross-process messages are kept while Redis is unreachable, published in order
   * once it is back (default 1024); beyond that (or {@link RedisBrokerOptions.maxQueuedBytes})
   * messages are dropped and counted. 0 drops at once.
   */
  readonly maxQueuedMessages?: number;
  /** The most payload bytes kept while Redis is unreachable (default 1 MiB). */
  readonly maxQueuedBytes?: number;
  /** The first reconnection delay (default 50 ms); it doubles up to `maxReconnectDelayMs`. */
  readonly minReconnectDelayMs?: number;
  /** The longest reconnection delay (default 1000 ms), before a random jitter of up to −50%. */
  readonly maxReconnectDelayMs?: number;
}

/** The defaults of {@link RedisBrokerOptions}. */
export const REDIS_BROKER_DEFAULTS = {
  url: "redis://127.0.0.1:6379",
  prefix: "sockwise:",
  maxQueuedMessages: 1024,
  maxQueuedBytes: 1024 * 1024,
  minReconnectDelayMs: 50,
  maxReconnectDelayMs: 1000,
} as const;

/** Events of a {@link RedisBroker}. */
export interface RedisBrokerEvents {
  /** The broker's state changed (and, when it comes back `up`, how many messages were dropped). */
  status: [status: BrokerStatus];
}

/**
 * The envelope of each message on Redis: one flags byte (bit 0: binary; bits 1–7: version 1),
 * the publishing broker's 8-byte id (to ignore its own echo), then the payload as published.
 */
const HEADER_BYTES = 9;
const VERSION_FLAGS = 1 << 1;
const BINARY_FLAG = 1;
/** Channels per SUBSCRIBE command when re-subscribing many topics at once. */
const SUBSCRIBE_BATCH = 1000;

/**
 * Carries topics between sockwise processes over Redis pub/sub.
 *
 * ```ts
 * import { WebSocketServer } from "sockwise";
 * import { RedisBroker } from "sockwise/redis";
 * const server = new WebSocketServer({ port: 8080, broker: new RedisBroker({ url }) });
 * ```
 *
 * Two connections per process: one publishes (so the messages of one process reach Redis, and
 * so every subscriber, in publish order), one subscribes, with SUBSCRIBE and UNSUBSCRIBE sent as
 * local interest comes and goes (batched per tick). It never emits `'error'`: outages are
 * `status` events, and it reconnects with exponential backoff and jitter.
 */
export class RedisBroker extends EventEmitter<RedisBrokerEvents> implements Broker {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #ownsPublisher: boolean;
  readonly #prefix: string;
  readonly #prefixBytes: number;
  readonly #maxQueuedMessages: number;
  readonly #maxQueuedBytes: number;
  /** This broker's id in every envelope: its own messages come back from Redis and are ignored. */
  readonly #id: Buffer;
  readonly #idHigh: number;
  readonly #idLow: number;
  #sink: BrokerSink | undefined;
  /** Topics with local subscribers. */
  readonly #wanted = new Set<string>();
  /** Topics subscribed or unsubscribed since the last flush (true: subscribe). */
  #changes: Map<string, boolean> | undefined;
  /** Messages waiting for Redis (channel, envelope), oldest first. */
  #queue: [string, Buffer][] = [];
  #queuedBytes = 0;
  #dropped = 0;
  #state: BrokerStatus["state"] = "connecting";
  #cause: { code: string; message: string } | undefined;
  /** The subscriber connection has subscribed every wanted topic since it last connected. */
  #subscribed = false;
  #closed = false;
  readonly #onPublishFailed = (): void => {
    this.#dropped++;
  };

  constructor(options: RedisBrokerOptions = {}) {
    super();
    this.#prefix = options.prefix ?? REDIS_BROKER_DEFAULTS.prefix;
    this.#prefixBytes = Buffer.byteLength(this.#prefix);
    this.#maxQueuedMessages = limit(
      "maxQueuedMessages",
      options.maxQueuedMessages,
      REDIS_BROKER_DEFAULTS.maxQueuedMessages,
    );
    this.#maxQueuedBytes = limit(
      "maxQueuedBytes",
      options.maxQueuedBytes,
      REDIS_BROKER_DEFAULTS.maxQueuedBytes,
    );
    const minDelay = limit(
      "minReconnectDelayMs",
      options.minReconnectDelayMs,
      REDIS_BROKER_DEFAULTS.minReconnectDelayMs,
    );
    const maxDelay = Math.max(
      minDelay,
      limit(
        "maxReconnectDelayMs",
        options.maxReconnectDelayMs,
        REDIS_BROKER_DEFAULTS.maxReconnectDelayMs,
      ),
    );
    this.#id = randomBytes(8);
    this.#idHigh = this.#id.readUInt32BE(0);
    this.#idLow = this.#id.readUInt32BE(4);
    const ours: RedisOptions = {
      // Exponential backoff with jitter: processes that lost the same Redis do not all
      // reconnect in the same millisecond.
      retryStrategy: (times) =>
        Math.round(
          Math.min(maxDelay, minDelay * 2 ** Math.min(times - 1, 20)) * (0.5 + Math.random() / 2),
        ),
      // Nothing waits unbounded inside ioredis: the broker keeps its own bounded queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A command cut off by a lost connection is counted as dropped, never sent twice.
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      enableAutoPipelining: true,
      ...options.redisOptions,
    };
    if (options.redis !== undefined) {
      this.#publisher = options.redis;
      this.#ownsPublisher = false;
      this.#subscriber = options.redis.duplicate({
        ...ours,
        enableAutoPipelining: false,
      });
    } else {
      const url = options.url ?? REDIS_BROKER_DEFAULTS.url;
      // ioredis' own declarations conflict under exactOptionalPropertyTypes (`replyMapping`).
      this.#publisher = new Redis(url, ours as never);
      this.#ownsPublisher = true;
      this.#subscriber = new Redis(url, { ...ours, enableAutoPipelining: false } as never);
    }
    const pub = this.#publisher;
    const sub = this.#subscriber;
    // Never an unhandled 'error': each one becomes the cause of a `down` status.
    pub.on("error", (error: Error) => this.#fault("publisher", error));
    sub.on("error", (error: Error) => this.#fault("subscriber", error));
    pub.on("ready", () => {
      this.#flushQueue();
      this.#update();
    });
    sub.on("ready", () => this.#resubscribeAll());
    for (const connection of [pub, sub]) {
      connection.on("close", () => {
        if (connection === sub) this.#subscribed = false;
        this.#cause ??= { code: "ERR_WS_BROKER_DOWN", message: "the connection to Redis closed" };
        this.#update();
      });
    }
    sub.on("messageBuffer", (channel: Buffer, message: Buffer) => this.#receive(channel, message));
    if (pub.status === "ready") queueMicrotask(() => this.#update());
  }

  /** The current state: `connecting`, `up`, `down` or `closed`, and the dropped count. */
  get status(): BrokerStatus {
    return this.#cause === undefined || this.#state === "up"
      ? { state: this.#state, dropped: this.#dropped }
      : { state: this.#state, dropped: this.#dropped, cause: this.#cause };
  }

  /** Cross-process messages dropped so far because Redis was unreachable. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Messages kept while Redis is unreachable, waiting to be published. */
  get queued(): number {
    return this.#queue.length;
  }

  /** @internal {@link Broker.start} */
  start(sink: BrokerSink): void {
    if (this.#sink !== undefined)
      throw Object.assign(new TypeError("a RedisBroker serves one WebSocketServer"), {
        code: "ERR_WS_INVALID_OPTION",
      });
    this.#sink = sink;
  }

  /** @internal {@link Broker.publish} */
  publish(topic: string, data: Uint8Array, isBinary: boolean): void {
    if (this.#closed) return;
    const envelope = Buffer.allocUnsafe(HEADER_BYTES + data.length);
    envelope[0] = VERSION_FLAGS | (isBinary ? BINARY_FLAG : 0);
    this.#id.copy(envelope, 1);
    envelope.set(data, HEADER_BYTES);
    const channel = this.#prefix + topic;
    const pub = this.#publisher;
    if (this.#queue.length === 0 && pub.status === "ready") {
      pub.publish(channel, envelope).catch(this.#onPublishFailed);
      return;
    }
    // Redis is away (or the queue is still being written out): keep order, within bounds.
    if (
      this.#queue.length >= this.#maxQueuedMessages ||
      this.#queuedBytes + data.length > this.#maxQueuedBytes
    ) {
      this.#dropped++;
      return;
    }
    this.#queue.push([channel, envelope]);
    this.#queuedBytes += data.length;
  }

  /** @internal {@link Broker.subscribe} */
  subscribe(topic: string): void {
    this.#wanted.add(topic);
    this.#change(topic, true);
  }

  /** @internal {@link Broker.unsubscribe} */
  unsubscribe(topic: string): void {
    this.#wanted.delete(topic);
    this.#change(topic, false);
  }

  /** Closes both Redis connections (a client passed as `redis` stays open). Never rejects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropped += this.#queue.length;
    this.#queue = [];
    this.#queuedBytes = 0;
    const connections = this.#ownsPublisher
      ? [this.#publisher, this.#subscriber]
      : [this.#subscriber];
    await Promise.all(
      connections.map(async (connection) => {
        try {
          if (connection.status === "ready") await connection.quit();
        } catch {
          // Already gone: disconnect() below ends it.
        }
        connection.disconnect();
      }),
    );
    this.#setState("closed");
  }

  // ---- internals ----------------------------------------------------------------------------

  #receive(channel: Buffer, message: Buffer): void {
    const sink = this.#sink;
    if (sink === undefined || message.length < HEADER_BYTES) return;
    const flags = message[0]!;
    if ((flags & ~BINARY_FLAG) !== VERSION_FLAGS) return;
    // Our own message, back from Redis: it was delivered locally when published.
    if (message.readUInt32BE(1) === this.#idHigh && message.readUInt32BE(5) === this.#idLow) return;
    const isBinary = (flags & BINARY_FLAG) !== 0;
    const payload = message.subarray(HEADER_BYTES);
    // Anyone who can write to Redis can publish: text must still be UTF-8 on the wire.
    if (!isBinary && !isUtf8(payload)) return;
    const topic = channel.toString("utf8", this.#prefixBytes);
    sink.message(topic, payload, isBinary);
  }

  #change(topic: string, subscribe: boolean): void {
    if (this.#changes === undefined) {
      this.#changes = new Map();
      process.nextTick(() => this.#flushChanges());
    }
    this.#changes.set(topic, subscribe);
  }

  /** Sends the SUBSCRIBE and UNSUBSCRIBE commands for the changes of one tick. */
  #flushChanges(): void {
    const changes = this.#changes;
    this.#changes = undefined;
    if (changes === undefined || this.#closed) return;
    // While reconnecting, `ready` subscribes every wanted topic.
    if (this.#subscriber.status !== "ready" || !this.#subscribed) return;
    const add: string[] = [];
    const remove: string[] = [];
    for (const [topic, subscribe] of changes) (subscribe ? add : remove).push(this.#prefix + topic);
    this.#send("subscribe", add);
    this.#send("unsubscribe", remove);
  }

  #send(command: "subscribe" | "unsubscribe", channels: string[]): void {
    for (let i = 0; i < channels.length; i += SUBSCRIBE_BATCH) {
      // A failure means the connection was lost: `ready` subscribes everything again.
      this.#subscriber[command](...channels.slice(i, i + SUBSCRIBE_BATCH)).catch(() => {});
    }
  }

  /** A new subscriber connection has no subscriptions: subscribe every wanted topic. */
  #resubscribeAll(): void {
    this.#changes = undefined;
    const channels = [...this.#wanted].map((topic) => this.#prefix + topic);
    if (channels.length === 0) {
      this.#subscribed = true;
      this.#update();
      return;
    }
    const batches: Promise<unknown>[] = [];
    for (let i = 0; i < channels.length; i += SUBSCRIBE_BATCH)
      batches.push(this.#subscriber.subscribe(...channels.slice(i, i + SUBSCRIBE_BATCH)));
    const sent = new Set(this.#wanted);
    Promise.all(batches).then(
      () => {
        if (this.#subscriber.status !== "ready" || this.#closed) return;
        this.#subscribed = true;
        // Interest that changed while the SUBSCRIBE was under way.
        const add: string[] = [];
        const remove: string[] = [];
        for (const topic of this.#wanted) if (!sent.has(topic)) add.push(this.#prefix + topic);
        for (const topic of sent) if (!this.#wanted.has(topic)) remove.push(this.#prefix + topic);
        this.#send("subscribe", add);
        this.#send("unsubscribe", remove);
        this.#update();
      },
      () => {},
    );
  }

  /** Writes out what was kept while Redis was away, in order. */
  #flushQueue(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const [channel, envelope] of queue)
      this.#publisher.publish(channel, envelope).catch(this.#onPublishFailed);
  }

  #fault(connection: string, error: Error): void {
    const code = (error as { code?: unknown }).code;
    this.#cause = {
      code: "ERR_WS_BROKER_DOWN",
      message: `Redis ${connection} connection: ${typeof code === "string" ? `${code} ` : ""}${error.message}`,
    };
    this.#update();
  }

  #update(): void {
    if (this.#closed) return;
    const up =
      this.#publisher.status === "ready" && this.#subscriber.status === "ready" && this.#subscribed;
    if (up) this.#cause = undefined;
    this.#setState(up ? "up" : this.#cause === undefined ? "connecting" : "down");
  }

  #setState(state: BrokerStatus["state"]): void {
    if (state === this.#state) return;
    this.#state = state;
    this.emit("status", this.status);
  }
}

function limit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw Object.assign(new RangeError(`${name} must be a number ≥ 0, got ${String(value)}`), {
      code: "ERR_WS_INVALID_OPTION",
    });
  }
  return value;
}
