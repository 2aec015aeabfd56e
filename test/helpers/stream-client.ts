/**
 * Setup and assertions for `WebSocketStream` tests: a {@link RawPeer} with a stream connected to
 * it, bounded waits on promises that must settle one way, and checks for `WebSocketError`s.
 *
 * ```ts
 * const { wss, conn, readable, writable } = await openStream(t);
 * conn.sendText("hi");
 * assert.equal((await readable.getReader().read()).value, "hi");
 * const error = await rejectionOf(wss.closed, "closed");
 * assertWebSocketError(error, 1006, "");
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";

import {
  WebSocketError,
  WebSocketStream,
  type WebSocketOpenInfo,
  type WebSocketStreamOptions,
} from "../../src/index.js";
import {
  RawPeer,
  WAIT_MS,
  withTimeout,
  type PeerConnection,
  type RawPeerOptions,
} from "./raw-peer.js";

/** What {@link openStream} returns. */
export interface OpenStream extends WebSocketOpenInfo {
  readonly peer: RawPeer;
  /** The peer's side of the connection. */
  readonly conn: PeerConnection;
  readonly wss: WebSocketStream;
}

/** Options of {@link openStream}. */
export interface OpenStreamOptions {
  readonly peer?: RawPeerOptions;
  readonly options?: WebSocketStreamOptions;
  /** The path (and query) to connect to. */
  readonly path?: string;
}

/**
 * Starts a peer, connects a WebSocketStream to it and waits for `opened`. The peer (and with it
 * the connection) is stopped when the test ends.
 */
export async function openStream(
  t: TestContext,
  options: OpenStreamOptions = {},
): Promise<OpenStream> {
  const peer = await RawPeer.start(options.peer);
  t.after(() => peer.stop());
  const url = peer.urlFor(options.path ?? "/");
  const wss =
    options.options === undefined
      ? new WebSocketStream(url)
      : new WebSocketStream(url, options.options);
  const info = await withTimeout(wss.opened, "opened");
  const conn = await peer.connection();
  return { peer, conn, wss, ...info };
}

/** Resolves with the rejection reason of `promise`; fails if it fulfils or takes over `ms`. */
export async function rejectionOf(
  promise: Promise<unknown>,
  what: string,
  ms = WAIT_MS,
): Promise<unknown> {
  const outcome = await withTimeout(
    promise.then(
      (value) => ({ fulfilled: true as const, value }),
      (reason: unknown) => ({ fulfilled: false as const, reason }),
    ),
    what,
    ms,
  );
  if (outcome.fulfilled)
    assert.fail(`${what} should reject, fulfilled with ${String(outcome.value)}`);
  return outcome.reason;
}

/** Resolves if `promise` has neither fulfilled nor rejected after `ms`; fails otherwise. */
export async function assertPending(
  promise: Promise<unknown>,
  what: string,
  ms: number,
): Promise<void> {
  let state = "pending";
  promise.then(
    () => (state = "fulfilled"),
    () => (state = "rejected"),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  assert.equal(state, "pending", `${what} should still be pending after ${ms} ms`);
}

/** Asserts that `error` is a WebSocketError with this close code and reason, and returns it. */
export function assertWebSocketError(
  error: unknown,
  closeCode: number | null,
  reason: string,
  what = "",
): WebSocketError {
  const label = what === "" ? "" : ` (${what})`;
  assert.ok(
    error instanceof WebSocketError,
    `expected a WebSocketError${label}, got ${String(error)}`,
  );
  assert.equal(error.constructor, WebSocketError, `constructor${label}`);
  assert.equal(error.name, "WebSocketError", `name${label}`);
  assert.equal(error.code, 0, `legacy code${label}`);
  assert.deepEqual(
    { closeCode: error.closeCode, reason: error.reason },
    { closeCode, reason },
    `close code and reason${label}`,
  );
  return error;
}

/** Asserts that `error` is a DOMException InvalidStateError (legacy code 11). */
export function assertInvalidState(error: unknown, what = ""): DOMException {
  const label = what === "" ? "" : ` (${what})`;
  assert.ok(error instanceof DOMException, `expected a DOMException${label}, got ${String(error)}`);
  assert.equal(error.name, "InvalidStateError", `name${label}`);
  assert.equal(error.code, 11, `legacy code${label}`);
  return error;
}
