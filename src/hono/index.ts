/**
 * `sockwise/hono`: WebSockets for Hono on `@hono/node-server`, through an `upgradeWebSocket`
 * helper built with Hono's own `defineWebSocketHelper`, so it has Hono's `UpgradeWebSocket`
 * type and its `WSEvents`/`WSContext` interface (the one the Bun, Deno and Cloudflare adapters
 * share). Upgrade requests run through the Hono app first (middleware such as authentication
 * may refuse them with any status); the route that calls `upgradeWebSocket` accepts, and the
 * `WebSocketServer` takes the socket through `handleUpgrade()`.
 *
 * ```ts
 * import { Hono } from "hono";
 * import { serve } from "@hono/node-server";
 * import { createHonoWebSocket } from "sockwise/hono";
 *
 * const app = new Hono();
 * const { upgradeWebSocket, injectWebSocket } = createHonoWebSocket({ app });
 * app.get("/ws", upgradeWebSocket(() => ({
 *   onMessage(event, ws) { ws.send(String(event.data)); },
 * })));
 * injectWebSocket(serve({ fetch: app.fetch, port: 3000 }));
 * ```
 *
 * Hono is an optional peer dependency of this entry point only.
 *
 * @module
 */
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import {
  WSContext,
  defineWebSocketHelper,
  type UpgradeWebSocket,
  type WSEvents,
  type WSMessageEvent,
  type WSReadyState,
} from "hono/ws";
import { rejectUpgrade } from "../node/upgrade.js";
import type { WebSocketServerOptions } from "../server/options.js";
import { WebSocketServer } from "../server/server.js";
import type { ServerWebSocket } from "../server/server-socket.js";

/** Options of {@link createHonoWebSocket}. */
export interface HonoWebSocketOptions<Data = unknown> {
  /** The Hono app (anything with Hono's `fetch(request, env)`). */
  readonly app: {
    /** Hono's `app.fetch`: answers a Fetch `Request`, with the Node bindings as its env. */
    fetch(request: Request, env: HonoNodeEnv): Response | Promise<Response>;
  };
  /** The server to use, or the options of the one to create (always in `noServer` mode). */
  readonly server?:
    | WebSocketServer<Data>
    | Omit<WebSocketServerOptions<Data>, "port" | "host" | "server" | "noServer" | "path">;
  /** Called with what a `WSEvents` handler threw (the connection is then closed with 1011). */
  readonly onError?: (error: unknown) => void;
}

/** The env the app sees for an upgrade request: `@hono/node-server`'s `HttpBindings` shape. */
export interface HonoNodeEnv {
  readonly incoming: IncomingMessage;
  readonly outgoing: undefined;
}

/** What {@link createHonoWebSocket} returns. */
export interface HonoWebSocket<Data = unknown> {
  /** Hono's WebSocket helper: `app.get(path, upgradeWebSocket((c) => events))`. */
  readonly upgradeWebSocket: UpgradeWebSocket<ServerWebSocket<Data>>;
  /** Routes the upgrade requests of `server` (what `serve()` returns) through the app. */
  readonly injectWebSocket: (server: HttpServer | HttpsServer | object) => void;
  /** The `WebSocketServer` (its `clients`, `broadcast`, `close`…). */
  readonly websocketServer: WebSocketServer<Data>;
}

/** Where the helper leaves the route's events for the upgrade listener (on the env object). */
const kEvents = Symbol("sockwise.hono.events");

type UpgradeEnv = HonoNodeEnv & { [kEvents]?: WSEvents<ServerWebSocket> };

/** Creates the `upgradeWebSocket` helper and the upgrade listener for one Hono app. */
export function createHonoWebSocket<Data = unknown>(
  options: HonoWebSocketOptions<Data>,
): HonoWebSocket<Data> {
  const given = options.server;
  const server =
    given instanceof WebSocketServer
      ? given
      : new WebSocketServer<Data>({ ...given, noServer: true });
  const onError = options.onError ?? ((error: unknown) => process.emitWarning(String(error)));
  /** The events waiting for each accepted upgrade, wired on 'connection' (before any frame). */
  const pending = new WeakMap<IncomingMessage, { events: WSEvents<ServerWebSocket>; url: URL }>();
  server.on("connection", (socket, request) => {
    const entry = pending.get(request);
    if (entry === undefined) return;
    pending.delete(request);
    wire(socket as ServerWebSocket, entry.events, entry.url, onError);
  });

  const upgradeWebSocket = defineWebSocketHelper<ServerWebSocket<Data>>((c, events) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return;
    const env = c.env as UpgradeEnv | undefined;
    // Not an upgrade that injectWebSocket routed (e.g. app.request() in a test): cannot accept.
    if (env?.incoming === undefined) return new Response(null, { status: 500 });
    env[kEvents] = events as WSEvents<ServerWebSocket>;
    return new Response(null, { status: 200 });
  });

  const injectWebSocket = (httpServer: HttpServer | HttpsServer | object): void => {
    (httpServer as HttpServer).on(
      "upgrade",
      (request: IncomingMessage, socket: Duplex, head: Buffer) => void route(request, socket, head),
    );
  };

  async function route(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", noop);
    const url = requestUrl(request);
    const env: UpgradeEnv = { incoming: request, outgoing: undefined };
    let response: Response;
    try {
      response = await options.app.fetch(new Request(url, { headers: headersOf(request) }), env);
    } catch {
      rejectUpgrade(socket, 500);
      return;
    }
    const events = env[kEvents];
    if (events === undefined) {
      // The app answered without accepting (a 404, a 401 from a middleware…): pass it on.
      const status = response.status >= 400 ? response.status : 400;
      rejectUpgrade(socket, status, { body: await response.text().catch(() => "") });
      return;
    }
    socket.off("error", noop);
    pending.set(request, { events, url: new URL(url) });
    const accepted = await server.handleUpgrade(request, socket, head);
    if (accepted === undefined) pending.delete(request);
  }

  return { upgradeWebSocket, injectWebSocket, websocketServer: server };
}

/** Connects one accepted socket to the route's `WSEvents` through a Hono `WSContext`. */
function wire(
  socket: ServerWebSocket,
  events: WSEvents<ServerWebSocket>,
  url: URL,
  onError: (error: unknown) => void,
): void {
  const context = new WSContext<ServerWebSocket>({
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
    raw: socket,
    get readyState() {
      return socket.readyState as WSReadyState;
    },
    url,
    protocol: socket.protocol,
  });
  const guard = (run: () => void): void => {
    try {
      run();
    } catch (error) {
      onError(error);
      if (socket.readyState === socket.OPEN) socket.close(1011);
    }
  };
  if (events.onMessage !== undefined) {
    const onMessage = events.onMessage;
    socket.addEventListener("message", (event) =>
      guard(() => onMessage(event as unknown as WSMessageEvent, context)),
    );
  }
  if (events.onClose !== undefined) {
    const onClose = events.onClose;
    socket.addEventListener("close", (event) =>
      guard(() => onClose(event as unknown as Parameters<typeof onClose>[0], context)),
    );
  }
  if (events.onError !== undefined) {
    const onErrorEvent = events.onError;
    socket.addEventListener("error", (event) => guard(() => onErrorEvent(event, context)));
  }
  if (events.onOpen !== undefined) {
    const onOpen = events.onOpen;
    guard(() => onOpen(new Event("open"), context));
  }
}

function requestUrl(request: IncomingMessage): string {
  const scheme = (request.socket as { encrypted?: boolean }).encrypted === true ? "https" : "http";
  const host = request.headers.host ?? "localhost";
  try {
    return new URL(request.url ?? "/", `${scheme}://${host}`).href;
  } catch {
    return `${scheme}://localhost/`;
  }
}

function headersOf(request: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!);
    } catch {
      // A header the Fetch API refuses: the app does not see it.
    }
  }
  return headers;
}

function noop(): void {}
