/**
 * SPEC.md P9, G15: a bound on the upgrades waiting for `authenticate` from one client address, so
 * that one host cannot hold every handshake slot by keeping the hook waiting. (Slow request heads
 * are bounded by the standalone listener itself.) Behind a trusted proxy the address is the
 * client's, from the forwarding headers (client-address.ts).
 * A socket is counted once, from {@link HandshakesPerIp.enter} until
 * {@link HandshakesPerIp.leave} or until it closes, whichever comes first.
 *
 * @module
 */
import type { Duplex } from "node:stream";

const kCountedIp = Symbol("sockwise.handshakeIp");
const kCountedBy = Symbol("sockwise.handshakeCounter");

type CountedSocket = Duplex & {
  [kCountedIp]?: string | undefined;
  [kCountedBy]?: HandshakesPerIp | undefined;
};

/** One `close` listener for every counted socket of every server: no closure per connection. */
function onCountedSocketClose(this: CountedSocket): void {
  this[kCountedBy]?.leave(this);
}

export class HandshakesPerIp {
  readonly #counts = new Map<string, number>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * Counts `socket` as a handshake in progress from `ip`. Returns false, counting nothing, when
   * that address already has the limit in progress. A socket already counted, or without a
   * known address, passes.
   */
  enter(socket: Duplex, ip: string | undefined): boolean {
    const counted = socket as CountedSocket;
    if (counted[kCountedIp] !== undefined) return true;
    if (ip === undefined) return true;
    const count = this.#counts.get(ip) ?? 0;
    if (count >= this.#limit) return false;
    this.#counts.set(ip, count + 1);
    counted[kCountedIp] = ip;
    counted[kCountedBy] = this;
    socket.once("close", onCountedSocketClose);
    return true;
  }

  /** The handshake of `socket` is decided (or the socket closed): it no longer counts. */
  leave(socket: Duplex): void {
    const counted = socket as CountedSocket;
    const ip = counted[kCountedIp];
    if (ip === undefined) return;
    counted[kCountedIp] = undefined;
    counted[kCountedBy] = undefined;
    socket.off("close", onCountedSocketClose);
    const count = (this.#counts.get(ip) ?? 1) - 1;
    if (count <= 0) this.#counts.delete(ip);
    else this.#counts.set(ip, count);
  }

  /** Handshakes in progress from `ip` (for tests and diagnostics). */
  inProgress(ip: string): number {
    return this.#counts.get(ip) ?? 0;
  }
}
