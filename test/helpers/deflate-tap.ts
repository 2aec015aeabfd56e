/**
 * A wire tap for permessage-deflate interop tests: a TCP relay on 127.0.0.1 between a client and
 * a server that forwards every byte unchanged and decodes, in each direction, the HTTP head and
 * then each frame header (RFC 6455 §5.2), so a test can check what really crossed the wire: the
 * negotiated `Sec-WebSocket-Extensions`, how many data messages were compressed (RSV1), that
 * RSV1 never appeared on a continuation or control frame (RFC 7692 §6), and the bytes sent.
 * Payloads are skipped, not kept.
 *
 * @module
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/** One frame header seen on the wire. */
export interface TappedFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly payloadLength: number;
}

/** What crossed the wire in one direction. */
export class TapDirection {
  /** The HTTP head (request or response), latin1, without the blank line. */
  head: string | undefined;
  readonly frames: TappedFrame[] = [];
  /** Bytes after the HTTP head. */
  wireBytes = 0;
  #buffer: Buffer = Buffer.alloc(0);
  #skip = 0;

  /** @internal */
  push(chunk: Buffer): void {
    if (this.head === undefined) {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      const end = this.#buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.head = this.#buffer.subarray(0, end).toString("latin1");
      chunk = this.#buffer.subarray(end + 4);
      this.#buffer = Buffer.alloc(0);
    }
    this.wireBytes += chunk.length;
    let data = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, data.length);
        this.#skip -= n;
        data = data.subarray(n);
        if (this.#skip > 0) break;
      }
      if (data.length < 2) break;
      const b1 = data[1]!;
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (data.length < 4) break;
        length = data.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (data.length < 10) break;
        length = Number(data.readBigUInt64BE(2));
        offset = 10;
      }
      if ((b1 & 0x80) !== 0) offset += 4;
      if (data.length < offset) break;
      const b0 = data[0]!;
      this.frames.push({
        fin: (b0 & 0x80) !== 0,
        rsv: (b0 >> 4) & 7,
        opcode: b0 & 0x0f,
        payloadLength: length,
      });
      data = data.subarray(offset);
      this.#skip = length;
    }
    this.#buffer = Buffer.from(data);
  }

  /** A header field of the HTTP head (first value, case-insensitive), or undefined. */
  header(name: string): string | undefined {
    for (const line of (this.head ?? "").split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      if (line.slice(0, colon).trim().toLowerCase() === name.toLowerCase()) {
        return line.slice(colon + 1).trim();
      }
    }
    return undefined;
  }

  /** Data messages whose first frame had RSV1 (compressed). */
  get compressedMessages(): number {
    return this.frames.filter((f) => (f.opcode === 1 || f.opcode === 2) && (f.rsv & 4) !== 0)
      .length;
  }

  /** Data messages (first frames of text or binary messages). */
  get dataMessages(): number {
    return this.frames.filter((f) => f.opcode === 1 || f.opcode === 2).length;
  }

  /** Frames where RSV1 must never be set (continuations and control frames) but was. */
  get misplacedRsv1(): number {
    return this.frames.filter((f) => (f.opcode === 0 || f.opcode >= 8) && (f.rsv & 4) !== 0).length;
  }

  /** Frames with RSV2 or RSV3. */
  get otherRsv(): number {
    return this.frames.filter((f) => (f.rsv & 3) !== 0).length;
  }
}

/** One relayed connection. */
export class TapLink {
  readonly toServer = new TapDirection();
  readonly toClient = new TapDirection();
}

/** A relay from a local port to `127.0.0.1:<targetPort>` that taps every connection. */
export class WireTap {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly links: TapLink[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(targetPort: number): Promise<WireTap> {
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
    const tap = new WireTap(server);
    server.on("connection", (client) => tap.#accept(client, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    return tap;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** `ws://127.0.0.1:<port><path>`. */
  url(path = "/"): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** The most recent link. */
  get last(): TapLink {
    const link = this.links.at(-1);
    if (link === undefined) throw new Error("no connection went through the tap");
    return link;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, targetPort: number): void {
    const link = new TapLink();
    this.links.push(link);
    const server = connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true });
    for (const socket of [client, server]) {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => {});
    }
    const pipe = (from: Socket, to: Socket, direction: TapDirection): void => {
      from.on("data", (chunk: Buffer) => {
        direction.push(chunk);
        if (!to.destroyed) to.write(chunk);
      });
      from.on("end", () => {
        if (!to.destroyed) to.end();
      });
      from.on("close", (hadError) => {
        if (hadError && !to.destroyed) to.resetAndDestroy();
      });
    };
    server.once("connect", () => {
      pipe(client, server, link.toServer);
      pipe(server, client, link.toClient);
      client.resume();
    });
  }
}
