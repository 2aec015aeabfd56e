/**
 * The topic commands of `sockwise serve` (`/subscribe <topic>`, `/unsubscribe <topic>`,
 * `/publish <topic> <text>`), which the playground's chat panel uses, over a small per-process
 * registry. Bounded: topic names of at most 128 characters, at most 32 topics per connection.
 *
 * @module
 */
import type { ServerWebSocket } from "../index.js";

const MAX_TOPIC_LENGTH = 128;
const MAX_TOPICS_PER_SOCKET = 32;

/** Topic name → subscribers, and back. */
export class TopicRegistry {
  readonly #subscribers = new Map<string, Set<ServerWebSocket>>();
  readonly #topicsOf = new WeakMap<ServerWebSocket, Set<string>>();

  /**
   * Runs one topic command for `socket`.
   * @returns a problem to report to the client, or undefined when it was done
   */
  command(
    command: "/subscribe" | "/unsubscribe" | "/publish",
    socket: ServerWebSocket,
    topic: string,
    text: string,
  ): string | undefined {
    if (topic === "" || topic.length > MAX_TOPIC_LENGTH)
      return `a topic is 1 to ${MAX_TOPIC_LENGTH} characters`;
    if (command === "/publish") {
      for (const subscriber of this.#subscribers.get(topic) ?? []) subscriber.send(text);
      return undefined;
    }
    let mine = this.#topicsOf.get(socket);
    if (command === "/unsubscribe") {
      mine?.delete(topic);
      this.#remove(topic, socket);
      return undefined;
    }
    if (mine === undefined) this.#topicsOf.set(socket, (mine = new Set()));
    if (!mine.has(topic) && mine.size >= MAX_TOPICS_PER_SOCKET)
      return `at most ${MAX_TOPICS_PER_SOCKET} topics per connection`;
    mine.add(topic);
    let set = this.#subscribers.get(topic);
    if (set === undefined) this.#subscribers.set(topic, (set = new Set()));
    set.add(socket);
    return undefined;
  }

  /** Removes a closed connection from all its topics. */
  leaveAll(socket: ServerWebSocket): void {
    for (const topic of this.#topicsOf.get(socket) ?? []) this.#remove(topic, socket);
    this.#topicsOf.delete(socket);
  }

  #remove(topic: string, socket: ServerWebSocket): void {
    const set = this.#subscribers.get(topic);
    if (set === undefined) return;
    set.delete(socket);
    if (set.size === 0) this.#subscribers.delete(topic);
  }
}
