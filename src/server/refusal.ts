/**
 * The server's `503` answers, which say which limit was hit: a `Sockwise-Refused` header that a
 * program can read (a sockwise client shows it in `closeDetails(socket).cause.response.headers`),
 * `Retry-After`, and a sentence in the body. The server also emits `refused` with the same reason.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import { rejectUpgrade } from "../node/upgrade.js";

/**
 * Why a connection was refused with `503`: the name of the option whose limit it hit, or
 * `shuttingDown`.
 */
export type RefusalReason =
  "maxConnections" | "maxHandshakes" | "maxHandshakesPerIp" | "shuttingDown";

/** What the `refused` event of a server carries. */
export interface RefusalInfo {
  /** The limit that was hit (the option's name), or `shuttingDown`. */
  readonly reason: RefusalReason;
  /** The HTTP status sent: 503. */
  readonly status: 503;
  /** The address counted (the client's behind a trusted proxy), when known. */
  readonly address: string | undefined;
}

/** The response header that names the reason. */
export const REFUSED_HEADER = "Sockwise-Refused";

const BODIES: Record<RefusalReason, string> = {
  maxConnections: "too many connections (maxConnections)\n",
  maxHandshakes: "too many handshakes in progress (maxHandshakes)\n",
  maxHandshakesPerIp:
    "too many incomplete handshakes in progress from this address (maxHandshakesPerIp)\n",
  shuttingDown: "the server is shutting down\n",
};

/** Answers `503` for `reason` and closes the connection (never throws). */
export function refuseWith503(socket: Duplex, reason: RefusalReason): void {
  rejectUpgrade(socket, 503, {
    body: BODIES[reason],
    headers:
      reason === "shuttingDown"
        ? [[REFUSED_HEADER, reason]]
        : [
            ["Retry-After", "5"],
            [REFUSED_HEADER, reason],
          ],
  });
}
