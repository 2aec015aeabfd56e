/**
 * The two ends of an interop connection behind one small interface: sockwise's WHATWG client,
 * sockwise's server socket, and each real peer (ws, undici, Python websockets, Chromium). Every
 * end reports how it saw the connection close in the same shape, so a scenario can assert on
 * both ends alike.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { WebSocket as UndiciWebSocket } from "undici";
import WsWebSocket, { WebSocketServer as WsServer } from "ws";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  WebSocket,
  WebSocketServer,
  closeDetails,
  type CloseEvent,
  type ServerWebSocket,
} from "../../src/index.js";

/** Multiplies every wait: `SOCKWISE_TEST_TIME_SCALE=3 npm test` on slow machines. */
export const TIME_SCALE = Math.max(1, Number(process.env["SOCKWISE_TEST_TIME_SCALE"] ?? "1") || 1);

/** The default bound on a wait, in milliseconds. */
export const WAIT_MS = 5000 * TIME_SCALE;

/**
 * sockwise's close timeout in these tests: how long it waits for the peer's Close before it
 * drops TCP (only a peer that never answers makes this matter; the default is 10 s).
 */
export const SOCKWISE_CLOSE_TIMEOUT_MS = 2000 * TIME_SCALE;

/** sockwise's message limit in these tests; the bursts go up to exactly this size. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Settles like `promise`, or rejects with "timed out … waiting for <what>" after `ms`. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The arguments of a close() call: none, a code, or a code and a reason. */
export type CloseArgs = readonly [] | readonly [number] | readonly [number, string];

/** How one end saw the connection close. */
export interface Observed {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  /** sockwise only: who started the close. */
  readonly initiator?: "local" | "remote";
  /** sockwise only: the `ERR_WS_*` code of an abnormal close. */
  readonly cause?: string;
}

/** One end of an open connection. */
export interface End {
  /**
   * Calls the library's close() with exactly these arguments; resolves with the error text when
   * the library refused (threw or raised), undefined otherwise.
   */
  close(args: CloseArgs): Promise<string | undefined>;
  /** Drops TCP now without a closing handshake, when the library's API can do that. */
  readonly abort: (() => void) | undefined;
  /** Sends one message of `size` bytes through the library's API. */
  sendSized(kind: "text" | "binary", size: number): void;
  /** Resolves once the library reported the close. */
  readonly closed: Promise<Observed>;
}

/** The sockwise end additionally sends arbitrary messages and receives the peer's echoes. */
export interface SockwiseEnd extends End {
  send(data: string | Uint8Array): void;
  /** The next message not yet taken: text as string, binary as Buffer. */
  nextMessage(what: string): Promise<string | Buffer>;
  /** Every message received and not yet taken, at once (no waiting). */
  takeAll(): (string | Buffer)[];
  /** From now on the application answers every message from inside its message handler. */
  replyToMessages(): void;
}

/** A peer that accepts connections (sockwise is the client). */
export interface PeerServer {
  readonly port: number;
  /** Resolves with the next accepted connection. */
  nextConnection(): Promise<End>;
  stop(): Promise<void>;
}

/** A peer that connects (sockwise is the server). */
export interface PeerClient {
  connect(url: string): Promise<End>;
  stop(): Promise<void>;
}

/** A queue of values with bounded waits. */
export class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(item);
    else this.#items.push(item);
  }

  take(what: string, ms = WAIT_MS): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return withTimeout(new Promise<T>((resolve) => this.#waiters.push(resolve)), what, ms);
  }

  /** Removes and returns everything queued. */
  takeAll(): T[] {
    return this.#items.splice(0);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Calls `close` with exactly `args` (so `[]` is a call without arguments). */
function callClose(
  target: { close(...args: never[]): unknown },
  args: CloseArgs,
): string | undefined {
  try {
    (target.close as (...a: CloseArgs) => unknown)(...args);
    return undefined;
  } catch (error) {
    return errorText(error);
  }
}

function sized(kind: "text" | "binary", size: number): string | Buffer {
  return kind === "text" ? "x".repeat(size) : Buffer.alloc(size);
}

// ---- sockwise ------------------------------------------------------------------------------

/** Opens sockwise's WHATWG client to `url`. */
export async function openSockwiseClient(url: string): Promise<SockwiseEnd> {
  const socket = new WebSocket(url, {
    maxMessageBytes: MAX_MESSAGE_BYTES,
    closeTimeoutMs: SOCKWISE_CLOSE_TIMEOUT_MS,
  });
  socket.binaryType = "arraybuffer";
  const inbox = new Inbox<string | Buffer>();
  let replies = false;
  socket.onmessage = (event: MessageEvent) => {
    const data: unknown = event.data;
    inbox.push(typeof data === "string" ? data : Buffer.from(data as ArrayBuffer));
    if (replies) socket.send(data as string | ArrayBuffer);
  };
  const closed = new Promise<Observed>((resolve) => {
    socket.addEventListener("close", (event) => {
      const { code, reason, wasClean } = event as CloseEvent;
      const details = closeDetails(socket);
      const cause = details?.cause?.code;
      resolve({
        code,
        reason,
        wasClean,
        ...(details === undefined ? {} : { initiator: details.initiator }),
        ...(cause === undefined ? {} : { cause }),
      });
    });
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`sockwise client could not open ${url}`));
    }),
    "the sockwise client to open",
  );
  socket.onerror = null;
  return {
    close: (args) => Promise.resolve(callClose(socket, args)),
    abort: undefined,
    sendSized: (kind, size) => socket.send(sized(kind, size)),
    send: (data) => socket.send(data),
    nextMessage: (what) => inbox.take(what),
    takeAll: () => inbox.takeAll(),
    replyToMessages: () => {
      replies = true;
    },
    closed,
  };
}

/** Wraps a sockwise server connection. */
export function sockwiseServerEnd(socket: ServerWebSocket): SockwiseEnd {
  socket.binaryType = "nodebuffer";
  const inbox = new Inbox<string | Buffer>();
  let replies = false;
  socket.onmessage = (event) => {
    const data = event.data as string | Buffer;
    inbox.push(data);
    if (replies) socket.send(data);
  };
  return {
    close: (args) => Promise.resolve(callClose(socket, args)),
    abort: () => socket.destroy(),
    sendSized: (kind, size) => socket.send(sized(kind, size)),
    send: (data) => socket.send(data),
    nextMessage: (what) => inbox.take(what),
    takeAll: () => inbox.takeAll(),
    replyToMessages: () => {
      replies = true;
    },
    closed: socket.closed.then(({ code, reason, wasClean, initiator, cause }) => ({
      code,
      reason,
      wasClean,
      initiator,
      ...(cause === undefined ? {} : { cause: cause.code }),
    })),
  };
}

/** A sockwise server on 127.0.0.1 (own port, or attached to `httpServer`), as the tests use it. */
export async function startSockwiseServer(
  httpServer?: HttpServer,
): Promise<{ server: WebSocketServer; port: number; connections: Inbox<SockwiseEnd> }> {
  const common = {
    maxMessageBytes: MAX_MESSAGE_BYTES,
    closeTimeoutMs: SOCKWISE_CLOSE_TIMEOUT_MS,
    heartbeat: false,
  } as const;
  const server =
    httpServer === undefined
      ? new WebSocketServer({ port: 0, host: "127.0.0.1", ...common })
      : new WebSocketServer({ server: httpServer, ...common });
  const connections = new Inbox<SockwiseEnd>();
  // Wrapped at once, so that no message can arrive before the inbox listens.
  server.on("connection", (socket) => connections.push(sockwiseServerEnd(socket)));
  let port: number;
  if (httpServer === undefined) port = (await server.ready()).port;
  else port = (httpServer.address() as AddressInfo).port;
  return { server, port, connections };
}

// ---- ws --------------------------------------------------------------------------------------

/** The installed version of an npm package. */
export function packageVersion(name: string): string {
  const url = new URL(`../../../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}

function wsEnd(socket: WsWebSocket): End {
  socket.on("message", (data, isBinary) => {
    if (socket.readyState === WsWebSocket.OPEN) socket.send(data, { binary: isBinary });
  });
  socket.on("error", () => {});
  const closed = new Promise<Observed>((resolve) => {
    socket.addEventListener("close", ({ code, reason, wasClean }) =>
      resolve({ code, reason, wasClean }),
    );
  });
  return {
    close: (args) => Promise.resolve(callClose(socket, args)),
    abort: () => socket.terminate(),
    sendSized: (kind, size) => socket.send(sized(kind, size)),
    closed,
  };
}

/** `ws` as a server, with its defaults. */
export async function startWsServer(): Promise<PeerServer> {
  const server = new WsServer({ port: 0, host: "127.0.0.1" });
  const connections = new Inbox<End>();
  server.on("connection", (socket) => connections.push(wsEnd(socket)));
  await new Promise<void>((resolve) => server.once("listening", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    nextConnection: () => connections.take("a connection to the ws server"),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

/** `ws` as a client, with its defaults (it offers permessage-deflate; sockwise declines). */
export const wsClient: PeerClient = {
  async connect(url) {
    const socket = new WsWebSocket(url);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once("open", resolve);
        socket.once("error", reject);
      }),
      "the ws client to open",
    );
    return wsEnd(socket);
  },
  stop: () => Promise.resolve(),
};

// ---- undici ----------------------------------------------------------------------------------

/** undici 7's WHATWG `WebSocket` (Node's built-in client is the same code). */
export const undiciClient: PeerClient = {
  async connect(url) {
    const socket = new UndiciWebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      if (socket.readyState === UndiciWebSocket.OPEN)
        socket.send(event.data as string | ArrayBuffer);
    };
    const closed = new Promise<Observed>((resolve) => {
      socket.onclose = ({ code, reason, wasClean }) => resolve({ code, reason, wasClean });
    });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error(`undici could not open ${url}`));
      }),
      "the undici client to open",
    );
    socket.onerror = null;
    return {
      close: (args) => Promise.resolve(callClose(socket, args)),
      abort: undefined,
      sendSized: (kind, size) => socket.send(sized(kind, size)),
      closed,
    };
  },
  stop: () => Promise.resolve(),
};
