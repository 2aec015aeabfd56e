/**
 * The broker contract: how the topics of one server process reach the other processes that
 * serve the same topics (docs/pubsub.md "Writing a broker"), and the in-memory broker, the
 * default. The server delivers to its own subscribers itself; a broker only carries messages
 * between processes (or, for the in-memory one, between servers of one process).
 *
 * @module
 */

/** Where a broker hands what arrives from other processes. */
export interface BrokerSink {
  /**
   * One message published by another process (or another server of this process) on a topic
   * this server subscribed to. `data` is the payload exactly as published: UTF-8 text when
   * `isBinary` is false. The server may keep `data`: do not reuse its memory.
   */
  message(topic: string, data: Uint8Array, isBinary: boolean): void;
}

/**
 * A broker, as {@link WebSocketServer} uses it. Every call is synchronous and must never throw
 * for a network failure: a broker reports outages through its own `status` events and counts
 * what it had to drop (see {@link BrokerStatus}).
 *
 * The server calls `subscribe` when a topic gets its first local subscriber and `unsubscribe`
 * when it loses its last one (never twice in a row for one topic), so a broker needs no
 * reference counting of its own.
 */
export interface Broker {
  /** Called once, by the server that owns the broker, before any other call. */
  start(sink: BrokerSink): void;
  /**
   * Carries one message to the other processes. The server has already delivered it to its own
   * subscribers: the broker must not hand it back to this server's sink (no echo). Messages
   * from one `publish` caller must reach every other process in call order.
   */
  publish(topic: string, data: Uint8Array, isBinary: boolean): void;
  /** This server now has a subscriber to `topic`: deliver other processes' messages on it. */
  subscribe(topic: string): void;
  /** This server no longer has a subscriber to `topic`. */
  unsubscribe(topic: string): void;
  /** The server is shutting down: release connections. Must not reject. */
  close(): Promise<void>;
}

/** What a broker reports in its `status` events. */
export interface BrokerStatus {
  /**
   * `connecting` (at start and while reconnecting), `up` (messages flow between processes),
   * `down` (the connection was lost or could not be made: local delivery goes on, cross-process
   * messages are buffered up to a bound, then dropped and counted), `closed` (after close()).
   */
  readonly state: "connecting" | "up" | "down" | "closed";
  /** Cross-process messages dropped so far because the broker was down (it only grows). */
  readonly dropped: number;
  /** Why the broker is down, when it is: a stable `code` (`ERR_WS_*`) and a message. */
  readonly cause?: { readonly code: string; readonly message: string };
}

/**
 * Connects the {@link MemoryBroker}s of several servers in one process, as Redis connects
 * processes: a message published on one server reaches the subscribers of the others.
 */
export class MemoryHub {
  /** @internal Every broker attached, with the topics its server subscribed to. */
  readonly members = new Map<MemoryBroker, { sink: BrokerSink; topics: Set<string> }>();
}

/**
 * The default broker: nothing to set up. Alone (the default: each server gets its own) it
 * carries nothing, since a server delivers to its own subscribers itself. With a
 * {@link MemoryHub} shared by several servers of one process, it carries each server's publishes
 * to the others' subscribers, exactly as a cross-process broker would.
 */
export class MemoryBroker implements Broker {
  readonly #hub: MemoryHub;

  constructor(options: { readonly hub?: MemoryHub } = {}) {
    this.#hub = options.hub ?? new MemoryHub();
  }

  start(sink: BrokerSink): void {
    if (this.#hub.members.has(this))
      throw Object.assign(new TypeError("a broker serves one WebSocketServer"), {
        code: "ERR_WS_INVALID_OPTION",
      });
    this.#hub.members.set(this, { sink, topics: new Set() });
  }

  publish(topic: string, data: Uint8Array, isBinary: boolean): void {
    for (const [broker, member] of this.#hub.members) {
      if (broker !== this && member.topics.has(topic)) member.sink.message(topic, data, isBinary);
    }
  }

  subscribe(topic: string): void {
    this.#hub.members.get(this)?.topics.add(topic);
  }

  unsubscribe(topic: string): void {
    this.#hub.members.get(this)?.topics.delete(topic);
  }

  close(): Promise<void> {
    this.#hub.members.delete(this);
    return Promise.resolve();
  }
}
