/**
 * A TCP relay between a client and a server under test, to stage network conditions no client
 * library exposes: `hold()` stops forwarding in both directions (so two Close frames cross,
 * RFC 6455 §7.1.5 note), `release()` lets the held bytes through in order, and `cut()` resets
 * both TCP connections (abrupt loss, as when a cable is pulled).
 *
 * ```ts
 * const proxy = await TcpProxy.start(serverPort);
 * t.after(() => proxy.stop());
 * const client = await CLIENTS.ws.open(`ws://127.0.0.1:${proxy.port}/`);
 * proxy.cut();
 * ```
 *
 * @module
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { withTimeout } from "./server-harness.js";

interface Pair {
  readonly downstream: Socket;
  readonly upstream: Socket;
}

/** A relay from a local port to `127.0.0.1:<targetPort>`. */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #held = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts relaying from a free port to `targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
    const proxy = new TcpProxy(server);
    server.on("connection", (downstream) => proxy.#relay(downstream, targetPort));
    await withTimeout(
      new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)),
      "the proxy to listen",
    );
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops forwarding in both directions; bytes wait in the kernel buffers, in order. */
  hold(): void {
    this.#held = true;
    for (const { downstream, upstream } of this.#pairs) {
      downstream.pause();
      upstream.pause();
    }
  }

  /** Forwards again, starting with what was held. */
  release(): void {
    this.#held = false;
    for (const { downstream, upstream } of this.#pairs) {
      downstream.resume();
      upstream.resume();
    }
  }

  /** Resets both sides of every connection (TCP RST): an abrupt loss for client and server. */
  cut(): void {
    for (const { downstream, upstream } of this.#pairs) {
      downstream.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.#pairs.clear();
  }

  /** Stops listening and drops every connection. */
  stop(): Promise<void> {
    for (const { downstream, upstream } of this.#pairs) {
      downstream.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #relay(downstream: Socket, targetPort: number): void {
    const upstream = connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true });
    const pair: Pair = { downstream, upstream };
    this.#pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on("data", (chunk: Buffer) => {
        if (!to.destroyed) to.write(chunk);
      });
      from.on("end", () => {
        if (!to.destroyed) to.end();
      });
      from.on("error", () => {});
      from.on("close", (hadError) => {
        this.#pairs.delete(pair);
        // A reset travels on as a reset; an orderly close as a FIN after the pending bytes.
        if (to.destroyed) return;
        if (hadError) to.resetAndDestroy();
        else to.end();
      });
    };
    forward(downstream, upstream);
    forward(upstream, downstream);
    upstream.once("connect", () => {
      if (!this.#held) downstream.resume();
    });
    if (this.#held) upstream.pause();
  }
}
