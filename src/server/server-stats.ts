/**
 * The counters behind `WebSocketServer.stats()`. One object per server, shared by its
 * connections: each event adds to a plain number field (a message costs two additions), and a
 * snapshot copies the fields and two small maps, never walking the connections, so calling
 * `stats()` every second costs the same with 10 or 100 000 connections.
 *
 * @module
 */
import type { RefusalReason } from "./refusal.js";

/** A snapshot of a server's activity since it was created: the value of `server.stats()`. */
export interface ServerStats {
  /** Connections open now. */
  readonly openConnections: number;
  /** Opening handshakes accepted (each became a connection). */
  readonly handshakesAccepted: number;
  /** Opening handshakes refused with an HTTP answer, in all. */
  readonly handshakesRefused: number;
  /**
   * Refused handshakes by reason (see {@link HandshakeRefusalReason}); only reasons seen so
   * far appear.
   */
  readonly handshakesRefusedByReason: Readonly<Partial<Record<HandshakeRefusalReason, number>>>;
  /** Messages received (whole messages, after reassembly and decompression). */
  readonly messagesIn: number;
  /** Messages sent, broadcasts included (one per connection they were sent to). */
  readonly messagesOut: number;
  /** Payload bytes of the messages received (text as UTF-8, decompressed). */
  readonly bytesIn: number;
  /** Payload bytes of the messages sent (before compression). */
  readonly bytesOut: number;
  /**
   * Connections closed, by close code (as each connection's `closed` reports it: 1005 for a
   * Close without a code, 1006 for no Close). At most a few thousand keys: wire codes are
   * 1000–4999.
   */
  readonly closeCodes: Readonly<Record<number, number>>;
  /** Payload bytes given to `send()`/`broadcast()` on open connections and not yet written. */
  readonly bufferedBytes: number;
}

/**
 * Why an opening handshake was refused: a stable name, the key of
 * {@link ServerStats.handshakesRefusedByReason} and the `reason` of the
 * `sockwise:server:handshake_refused` channel. The 503 reasons are those of the server's
 * `refused` event ({@link RefusalReason}: the option whose limit was hit, or `shuttingDown`);
 * the others:
 *
 * - `invalidRequest`: the request breaks RFC 6455 §4.2.1 (400, 405 or 426; the channel's `code`
 *   says which rule, e.g. `ERR_WS_HANDSHAKE_KEY`)
 * - `notFound`: `path` is set and the request's path differs (404)
 * - `origin`: the `Origin` is not allowed (403)
 * - `unauthorized`: `authenticate` said no (403, or the status it chose)
 * - `authenticateFailed`: `authenticate` threw or rejected (500)
 * - `protocol`: `handleProtocols` threw or chose a protocol not offered (500)
 * - `timeout`: the request head or `authenticate` took longer than `handshakeTimeoutMs` (408,
 *   or the connection dropped)
 * - `badHead`: standalone mode could not read the request head (400, 431)
 * - `notWebSocket`: standalone mode received a request that is no upgrade (426)
 */
export type HandshakeRefusalReason =
  | RefusalReason
  | "invalidRequest"
  | "notFound"
  | "origin"
  | "unauthorized"
  | "authenticateFailed"
  | "protocol"
  | "timeout"
  | "badHead"
  | "notWebSocket";

/** The mutable counters of one server (internal; `ServerStats` is the public snapshot). */
export class ServerCounters {
  handshakesAccepted = 0;
  handshakesRefused = 0;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  bufferedBytes = 0;
  readonly #refusedByReason = new Map<HandshakeRefusalReason, number>();
  readonly #closeCodes = new Map<number, number>();

  refused(reason: HandshakeRefusalReason): void {
    this.handshakesRefused++;
    this.#refusedByReason.set(reason, (this.#refusedByReason.get(reason) ?? 0) + 1);
  }

  closed(code: number): void {
    this.#closeCodes.set(code, (this.#closeCodes.get(code) ?? 0) + 1);
  }

  snapshot(openConnections: number): ServerStats {
    return {
      openConnections,
      handshakesAccepted: this.handshakesAccepted,
      handshakesRefused: this.handshakesRefused,
      handshakesRefusedByReason: Object.fromEntries(this.#refusedByReason),
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      closeCodes: Object.fromEntries(this.#closeCodes),
      bufferedBytes: this.bufferedBytes,
    };
  }
}
