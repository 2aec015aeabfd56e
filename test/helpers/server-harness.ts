/**
 * Server test harness: bounded waits, and a `WebSocketServer` started on 127.0.0.1 port 0 that
 * is shut down after the test. Time-sensitive options in server tests are small; every wait is
 * bounded and multiplied by `SOCKWISE_TEST_TIME_SCALE` on slow machines.
 *
 * ```ts
 * const { server, url } = await startServer(t, { heartbeat: false });
 * const client = await CLIENTS.ws.open(url);
 * ```
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TestContext } from "node:test";
import {
  WebSocketServer,
  type ServerWebSocket,
  type WebSocketServerOptions,
} from "../../src/index.js";

/** Multiplies every default wait: `SOCKWISE_TEST_TIME_SCALE=3 npm test`. */
export const TIME_SCALE = Math.max(1, Number(process.env["SOCKWISE_TEST_TIME_SCALE"] ?? "1") || 1);

/** The default bound on any wait, in milliseconds. */
export const WAIT_MS = 3000 * TIME_SCALE;

/** Resolves with the error code of a TCP connect to `port` ("connected" if it succeeds). */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles like `promise`, or rejects with "timed out … waiting for <what>" after `ms`. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `predicate` (which may be async) until it holds; rejects after `ms`. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  ms = WAIT_MS,
): Promise<void> {
  const start = performance.now();
  while (!(await predicate())) {
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(5);
  }
}

/** Options for a test server: everything but the mode, which the harness chooses. */
export type TestServerOptions = Omit<WebSocketServerOptions, "port" | "server" | "noServer">;

/** A running standalone test server. */
export interface TestServer {
  readonly server: WebSocketServer;
  readonly port: number;
  /** `ws://127.0.0.1:<port>` plus `path` (default "/"). */
  url(path?: string): string;
}

/**
 * Starts a standalone server on 127.0.0.1 port 0 (heartbeat off unless given) and shuts it
 * down after the test.
 */
export async function startServer(
  t: TestContext,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const server = new WebSocketServer({
    heartbeat: false,
    ...options,
    port: 0,
    host: "127.0.0.1",
  });
  t.after(() => server.close({ timeoutMs: 200 }));
  const { port } = await withTimeout(server.ready(), "the server to listen");
  return { server, port, url: (path = "/") => `ws://127.0.0.1:${port}${path}` };
}

/** Starts a plain HTTP server on 127.0.0.1 port 0, closed (with its connections) after the test. */
export async function startHttpServer(
  t: TestContext,
  handler?: Parameters<typeof createServer>[1],
): Promise<{ http: HttpServer; port: number }> {
  const http = handler === undefined ? createServer() : createServer(handler);
  // closeAllConnections() leaves upgraded sockets alone: track every socket to drop them too.
  const sockets = new Set<Socket>();
  http.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  t.after(() =>
    withTimeout(
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
      "the HTTP server to close",
    ),
  );
  await withTimeout(
    new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve)),
    "the HTTP server to listen",
  );
  return { http, port: (http.address() as AddressInfo).port };
}

/** How many TCP connections `http` (any `net.Server`) holds open right now. */
export function openConnections(http: HttpServer): Promise<number> {
  return new Promise((resolve, reject) =>
    http.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/** Waits until `http` holds no open TCP connection. */
export async function waitForNoConnections(http: HttpServer, ms = WAIT_MS): Promise<void> {
  const start = performance.now();
  let count = await openConnections(http);
  while (count !== 0) {
    if (performance.now() - start > ms)
      throw new Error(`timed out after ${ms} ms: ${count} TCP connections still open`);
    await sleep(10);
    count = await openConnections(http);
  }
}

/** A tiny deterministic PRNG (mulberry32), so abuse tests replay exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves with the next connection the server accepts (register before the client connects). */
export function nextConnection(
  server: WebSocketServer,
  ms = WAIT_MS,
): Promise<{ socket: ServerWebSocket; request: IncomingMessage }> {
  return withTimeout(
    new Promise((resolve) =>
      server.once("connection", (socket, request) => resolve({ socket, request })),
    ),
    "a connection at the server",
    ms,
  );
}

/** Collects the events a server socket dispatches, with bounded waits for the next of a type. */
export class SocketEvents {
  readonly events: Event[] = [];
  readonly #taken = new Map<string, number>();
  #waiters: (() => void)[] = [];

  constructor(socket: ServerWebSocket) {
    for (const type of ["message", "ping", "pong", "drain", "close"] as const) {
      socket.addEventListener(type, (event: Event) => {
        this.events.push(event);
        for (const wake of this.#waiters.splice(0)) wake();
      });
    }
  }

  /** The types of the events so far, in order. */
  types(): string[] {
    return this.events.map((event) => event.type);
  }

  /** Resolves with the next event of `type` not taken before. */
  next<T extends Event = MessageEvent>(type: string, ms = WAIT_MS): Promise<T> {
    return withTimeout(
      new Promise<T>((resolve) => {
        const check = (): void => {
          const taken = this.#taken.get(type) ?? 0;
          const ofType = this.events.filter((event) => event.type === type);
          if (ofType.length > taken) {
            this.#taken.set(type, taken + 1);
            resolve(ofType[taken] as T);
          } else this.#waiters.push(check);
        };
        check();
      }),
      `a server-side '${type}' event`,
      ms,
    );
  }
}

/** The three ways to run a server: its own http.Server, attached, or via handleUpgrade(). */
export type ServerMode = "standalone" | "attached" | "handleUpgrade";

/** Every {@link ServerMode}, for table tests. */
export const SERVER_MODES: readonly ServerMode[] = ["standalone", "attached", "handleUpgrade"];

/**
 * Starts a server in `mode` on 127.0.0.1 port 0: standalone; attached to a fresh HTTP server;
 * or `noServer` with a plain HTTP server whose 'upgrade' handler calls `handleUpgrade()`.
 * `http` is the underlying HTTP server for attached and handleUpgrade modes.
 */
export async function startServerIn(
  mode: ServerMode,
  t: TestContext,
  options: TestServerOptions = {},
): Promise<TestServer & { readonly http: HttpServer | undefined }> {
  if (mode === "standalone") return { ...(await startServer(t, options)), http: undefined };
  const { http, port } = await startHttpServer(t);
  const server =
    mode === "attached"
      ? new WebSocketServer({ heartbeat: false, ...options, server: http })
      : new WebSocketServer({ heartbeat: false, ...options, noServer: true });
  if (mode === "handleUpgrade") {
    http.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void server.handleUpgrade(request, socket, head);
    });
  }
  t.after(() => server.close({ timeoutMs: 200 }));
  return { server, port, http, url: (path = "/") => `ws://127.0.0.1:${port}${path}` };
}
