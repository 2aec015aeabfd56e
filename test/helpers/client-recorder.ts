/**
 * Records what a WHATWG `WebSocket` dispatches, for assertions on event order, on `readyState`
 * inside each listener, and on the close event, with bounded waits.
 *
 * ```ts
 * const ws = new WebSocket(peer.url);
 * const rec = record(ws);
 * await rec.opened();
 * ws.close();
 * const event = await rec.closed();
 * assert.deepEqual(rec.types(), ["open", "close"]);
 * ```
 *
 * @module
 */
import type { CloseEvent, WebSocket } from "../../src/index.js";
import { WAIT_MS, withTimeout } from "./raw-peer.js";

/** One dispatched event, with the socket's state when its listener ran. */
export interface RecordedEvent {
  readonly type: string;
  readonly event: Event;
  readonly readyState: number;
  /** `bufferedAmount` when the listener ran. */
  readonly bufferedAmount: number;
  /** `performance.now()` when the listener ran. */
  readonly at: number;
}

/** What {@link record} returns. */
export interface Recorder {
  /** Every event, in dispatch order. */
  readonly events: RecordedEvent[];
  /** The event types, in order. */
  types(): string[];
  /** Message `data` values, in order. */
  messages(): unknown[];
  /** Resolves with the `open` event; rejects if `close` comes first or on timeout. */
  opened(ms?: number): Promise<Event>;
  /** Resolves with the `close` event. */
  closed(ms?: number): Promise<CloseEvent>;
  /** Resolves with the next message event not yet taken by an earlier call. */
  nextMessage(ms?: number): Promise<MessageEvent>;
}

const EVENT_TYPES = ["open", "message", "error", "close"] as const;

/** Starts recording every open, message, error and close event of `ws`. */
export function record(ws: WebSocket): Recorder {
  const events: RecordedEvent[] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  for (const type of EVENT_TYPES) {
    ws.addEventListener(type, (event) => {
      events.push({
        type,
        event,
        readyState: ws.readyState,
        bufferedAmount: ws.bufferedAmount,
        at: performance.now(),
      });
      for (const wake of waiters.splice(0)) wake();
    });
  }
  /** Resolves once `find` returns something, or rejects with `what` after `ms`. */
  const when = <T>(find: () => T | undefined, what: string, ms: number): Promise<T> =>
    withTimeout(
      new Promise<T>((resolve) => {
        const check = (): void => {
          const found = find();
          if (found !== undefined) resolve(found);
          else waiters.push(check);
        };
        check();
      }),
      what,
      ms,
    );
  return {
    events,
    types: () => events.map((e) => e.type),
    messages: () =>
      events.filter((e) => e.type === "message").map((e) => (e.event as MessageEvent).data),
    opened: async (ms = WAIT_MS) => {
      const first = await when(
        () => events.find((e) => e.type === "open" || e.type === "close"),
        "the open event",
        ms,
      );
      if (first.type !== "open") {
        const close = first.event as CloseEvent;
        throw new Error(`closed (${close.code}) instead of opening: ${events.map((e) => e.type)}`);
      }
      return first.event;
    },
    closed: async (ms = WAIT_MS) =>
      (await when(() => events.find((e) => e.type === "close"), "the close event", ms))
        .event as CloseEvent,
    nextMessage: async (ms = WAIT_MS) => {
      const index = taken++;
      return (
        await when(
          () => events.filter((e) => e.type === "message")[index],
          `message #${index + 1}`,
          ms,
        )
      ).event as MessageEvent;
    },
  };
}
