/**
 * When and how soon a {@link ReconnectingWebSocket} tries again: exponential backoff with full
 * jitter (RFC 6455 §7.2.3, SPEC.md L27), and the close codes after which it does not reconnect
 * by default. Pure functions, so the policy is table-tested apart from the sockets.
 *
 * @module
 */
import type { CloseDetails } from "./close-details.js";

/**
 * Close codes after which, by default, there is no reconnection: the peer said that what this
 * end sent or negotiated is unacceptable, and a new connection would send the same again.
 * - 1002 protocol error, 1003 unsupported data, 1007 invalid payload data, 1009 message too
 *   big, 1010 mandatory extension missing: the same data or offer would fail the same way;
 * - 1008 policy violation: typically an authorization refusal (a `shouldReconnect` that
 *   refreshes credentials may decide otherwise).
 *
 * Every other close reconnects by default: 1000 and 1001 from the server (a deploy, a restart,
 * a load balancer draining), 1005, 1006 (any network failure, refused handshake, or a failure
 * this end detected, SPEC.md L20), 1011–1014, and application codes 3000–4999.
 */
export const NO_RECONNECT_CODES: ReadonlySet<number> = new Set([
  1002, 1003, 1007, 1008, 1009, 1010,
]);

/** What a reconnection decision sees besides the close event. */
export interface ReconnectContext {
  /** The number of the attempt that just ended (1 for the first connection). */
  readonly attempt: number;
  /**
   * Attempts in a row that failed or whose connection lasted less than `minUptimeMs`, before
   * the one that just ended (0 after a connection that stayed up long enough).
   */
  readonly retries: number;
  /** How the connection ended, with the cause of a failure (see `closeDetails()`). */
  readonly details: CloseDetails | undefined;
}

/** The default decision: reconnect unless the code is in {@link NO_RECONNECT_CODES}. */
export function defaultShouldReconnect(event: { readonly code: number }): boolean {
  return !NO_RECONNECT_CODES.has(event.code);
}

/** The backoff bounds. */
export interface BackoffBounds {
  /** The upper bound of the first delay; each failure in a row doubles it. */
  readonly initialDelayMs: number;
  /** The upper bound no delay exceeds. */
  readonly maxDelayMs: number;
}

/**
 * The delay before the next attempt after `retries` failures in a row (0 for the first retry):
 * a uniformly random value in [0, min(maxDelayMs, initialDelayMs × 2^retries)) — "full jitter",
 * so that many clients dropped at once (a server restart) spread their reconnections instead
 * of arriving together (RFC 6455 §7.2.3).
 *
 * @param random a number in [0, 1) (default `Math.random()`)
 */
export function backoffDelayMs(
  retries: number,
  bounds: BackoffBounds,
  random: number = Math.random(),
): number {
  const exponent = Math.min(retries, 52);
  const ceiling = Math.min(bounds.maxDelayMs, bounds.initialDelayMs * 2 ** exponent);
  return Math.floor(random * ceiling);
}
