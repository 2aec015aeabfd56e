/**
 * A TCP relay between an interop client and server, to stage what no client library can do on
 * its own: hold both directions so that two Close frames cross (RFC 6455 §5.5.1), inject raw
 * frames into either direction (protocol violations, invalid UTF-8), and cut the connection
 * abruptly. Half-closes are forwarded as half-closes and resets as resets, so the endpoints see
 * the same TCP teardown they would see without the relay.
 *
 * ```ts
 * const relay = await Relay.start(serverPort);
 * const next = relay.nextLink();
 * const client = new WebSocket(`ws://127.0.0.1:${relay.port}/`);
 * const link = await next;
 * link.inject("toServer", frame({ opcode: 0x1, payload, masked: false }));
 * ```
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

type Direction = "toServer" | "toClient";

/** One relayed TCP connection: `client` is the side that connected to the relay. */
export class RelayLink {
  readonly #client: Socket;
  readonly #server: Socket;
  #held = false;
  readonly #queued: Record<Direction, (Buffer | "end")[]> = { toServer: [], toClient: [] };
  readonly #heldBytes: Record<Direction, number> = { toServer: 0, toClient: 0 };

  constructor(client: Socket, server: Socket) {
    this.#client = client;
    this.#server = server;
    this.#pipe(client, server, "toServer");
    this.#pipe(server, client, "toClient");
  }

  /** Stops forwarding in both directions; what arrives meanwhile is kept, in order. */
  hold(): void {
    this.#held = true;
  }

  /** Bytes kept in one direction since {@link RelayLink.hold}. */
  heldBytes(direction: Direction): number {
    return this.#heldBytes[direction];
  }

  /**
   * Forwards everything kept, in order, and resumes normal forwarding. The bytes kept in one
   * direction go out in a single write, so the endpoint most likely reads them in one chunk.
   */
  release(): void {
    this.#held = false;
    for (const direction of ["toServer", "toClient"] as const) {
      const target = direction === "toServer" ? this.#server : this.#client;
      const items = this.#queued[direction].splice(0);
      const bytes = items.filter((item): item is Buffer => item !== "end");
      if (bytes.length > 0 && !target.destroyed) target.write(Buffer.concat(bytes));
      if (items.includes("end") && !target.destroyed) target.end();
      this.#heldBytes[direction] = 0;
    }
  }

  /** Writes raw bytes into one direction, as if the other endpoint had sent them. */
  inject(direction: Direction, bytes: Uint8Array): void {
    (direction === "toServer" ? this.#server : this.#client).write(bytes);
  }

  /** Resets both TCP connections at once (a pulled cable, a crashed middlebox). */
  cut(): void {
    this.#client.resetAndDestroy();
    this.#server.resetAndDestroy();
  }

  #pipe(from: Socket, to: Socket, direction: Direction): void {
    from.on("data", (chunk: Buffer) => {
      if (this.#held) {
        this.#queued[direction].push(chunk);
        this.#heldBytes[direction] += chunk.length;
      } else if (!to.destroyed) to.write(chunk);
    });
    from.on("end", () => {
      if (this.#held) this.#queued[direction].push("end");
      else if (!to.destroyed) to.end();
    });
    from.on("error", () => {});
    from.on("close", (hadError) => {
      // A reset (or any error) on one side is passed on as a reset; an orderly close was
      // already passed on as a FIN by the "end" handler.
      if (hadError && !to.destroyed) to.resetAndDestroy();
    });
  }
}

/** A relay from a local port to `127.0.0.1:<targetPort>`. */
export class Relay {
  readonly #server: Server;
  readonly #links = new Set<RelayLink>();
  readonly #sockets = new Set<Socket>();
  #waiters: ((link: RelayLink) => void)[] = [];
  #pending: RelayLink[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts relaying from a free loopback port to `targetPort`. */
  static async start(targetPort: number): Promise<Relay> {
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
    const relay = new Relay(server);
    server.on("connection", (client) => relay.#accept(client, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    return relay;
  }

  /** The relay's port on 127.0.0.1. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Resolves with the next connection made through the relay (or one made but not taken). */
  nextLink(): Promise<RelayLink> {
    const link = this.#pending.shift();
    if (link !== undefined) return Promise.resolve(link);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops listening and resets every relayed connection. */
  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, targetPort: number): void {
    this.#sockets.add(client);
    client.on("close", () => this.#sockets.delete(client));
    client.on("error", () => {});
    const server = connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true });
    this.#sockets.add(server);
    server.on("close", () => this.#sockets.delete(server));
    server.on("error", () => {});
    server.once("connect", () => {
      client.setNoDelay(true);
      server.setNoDelay(true);
      const link = new RelayLink(client, server);
      this.#links.add(link);
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(link);
      else this.#pending.push(link);
      client.resume();
    });
  }
}

/** Frame fields for {@link frame}. */
export interface RawFrame {
  readonly opcode: number;
  readonly payload: Uint8Array;
  readonly masked: boolean;
  readonly fin?: boolean;
}

/** Encodes one WebSocket frame (RFC 6455 §5.2), masked with a random key when asked. */
export function frame({ opcode, payload, masked, fin = true }: RawFrame): Buffer {
  const length = payload.length;
  const header: number[] = [(fin ? 0x80 : 0) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 0x10000) header.push(maskBit | 126, length >>> 8, length & 0xff);
  else throw new RangeError("frame(): payloads over 64 KiB are not needed here");
  if (!masked) return Buffer.concat([Buffer.from(header), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(header), key, body]);
}
