/**
 * `sockwise/fastify`: a Fastify 5 plugin that registers WebSocket routes. Upgrade requests go
 * through Fastify's own router, so a route's hooks (authentication in `onRequest` or
 * `preValidation`, rate limits) run before the handshake; the plugin's `WebSocketServer` then
 * takes the socket through `handleUpgrade()`. `fastify.close()` closes every connection with
 * 1001 (Going Away) and waits for the closing handshakes (the plugin's `preClose` hook).
 *
 * ```ts
 * import Fastify from "fastify";
 * import { sockwise } from "sockwise/fastify";
 *
 * const app = Fastify();
 * await app.register(sockwise, { maxMessageBytes: 64 * 1024 });
 * app.websocket("/echo", (socket) => {
 *   socket.addEventListener("message", (event) => socket.send(event.data));
 * });
 * await app.listen({ port: 3000 });
 * ```
 *
 * Fastify is an optional peer dependency of this entry point only; it is used for its types.
 *
 * @module
 */
import { ServerResponse, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  RouteShorthandOptions,
} from "fastify";
import type { ShutdownOptions, WebSocketServerOptions } from "../server/options.js";
import { WebSocketServer } from "../server/server.js";
import type { ServerWebSocket } from "../server/server-socket.js";

/** Options of the {@link sockwise} plugin: the `WebSocketServer` options, and how to shut down. */
export interface FastifyWebSocketOptions extends Omit<
  WebSocketServerOptions,
  "port" | "host" | "server" | "noServer" | "path"
> {
  /** How `fastify.close()` closes the connections (default: 1001, 10 s, as `server.close()`). */
  readonly shutdown?: ShutdownOptions;
}

/** Handles one accepted connection of a WebSocket route. */
export type FastifyWebSocketHandler<Data = unknown> = (
  socket: ServerWebSocket<Data>,
  request: FastifyRequest,
) => void | Promise<void>;

/** Options of one WebSocket route: Fastify's route options, plus the connection's data. */
export interface FastifyWebSocketRouteOptions<Data = unknown> extends RouteShorthandOptions {
  /**
   * Gives the connection its `socket.data`, from the request (after the route's hooks, e.g.
   * the user an `onRequest` hook authenticated).
   */
  readonly data?: (request: FastifyRequest) => Data | Promise<Data>;
}

declare module "fastify" {
  interface FastifyInstance {
    /** The `WebSocketServer` of the sockwise plugin (its `clients`, `broadcast`, `stats`…). */
    websocketServer: WebSocketServer;
    /**
     * Registers a WebSocket route on `path` (GET); a plain GET there gets 426 Upgrade Required.
     * Registered in the calling plugin's context, so that context's hooks apply.
     */
    websocket<Data = unknown>(
      path: string,
      handler: FastifyWebSocketHandler<Data>,
    ): FastifyInstance;
    websocket<Data = unknown>(
      path: string,
      options: FastifyWebSocketRouteOptions<Data>,
      handler: FastifyWebSocketHandler<Data>,
    ): FastifyInstance;
  }
}

/** What the 'upgrade' listener leaves on the raw request for the route's handler. */
const kUpgrade = Symbol("sockwise.fastify.upgrade");

interface PendingUpgrade {
  readonly socket: Duplex;
  readonly onError: () => void;
  readonly head: Buffer;
  readonly response: ServerResponse;
}

type UpgradeRequest = IncomingMessage & { [kUpgrade]?: PendingUpgrade | undefined };

async function plugin(fastify: FastifyInstance, options: FastifyWebSocketOptions): Promise<void> {
  const { shutdown, ...serverOptions } = options;
  const server = new WebSocketServer({ ...serverOptions, noServer: true });
  /** The route handler waiting for each upgrade, called from 'connection' (before any frame). */
  const handlers = new WeakMap<IncomingMessage, (socket: ServerWebSocket) => void>();
  server.on("connection", (socket, request) => {
    const handler = handlers.get(request);
    handlers.delete(request);
    handler?.(socket);
  });

  fastify.decorate("websocketServer", server);
  fastify.decorate(
    "websocket",
    function websocket(
      this: FastifyInstance,
      path: string,
      optionsOrHandler: FastifyWebSocketRouteOptions | FastifyWebSocketHandler,
      maybeHandler?: FastifyWebSocketHandler,
    ): FastifyInstance {
      const routeOptions = typeof optionsOrHandler === "function" ? {} : optionsOrHandler;
      const handler = (typeof optionsOrHandler === "function" ? optionsOrHandler : maybeHandler)!;
      const { data, ...rest } = routeOptions;
      return this.get(path, rest, async (request: FastifyRequest, reply: FastifyReply) => {
        const raw = request.raw as UpgradeRequest;
        const upgrade = raw[kUpgrade];
        if (upgrade === undefined) {
          // RFC 9110 §15.5.22: this resource is only reachable through a WebSocket upgrade.
          return reply
            .code(426)
            .header("Upgrade", "websocket")
            .send("426 Upgrade Required: this is a WebSocket endpoint\n");
        }
        const value = data === undefined ? undefined : await data(request);
        reply.hijack();
        raw[kUpgrade] = undefined;
        upgrade.response.detachSocket(upgrade.socket as Socket);
        upgrade.socket.off("error", upgrade.onError); // handleUpgrade takes the socket's errors
        handlers.set(raw, (socket) => {
          Promise.resolve()
            .then(() => handler(socket, request))
            .catch((error: unknown) => {
              request.log.error({ err: error }, "WebSocket route handler failed");
              if (socket.readyState === socket.OPEN) socket.close(1011);
            });
        });
        const accepted = await server.handleUpgrade(raw, upgrade.socket, upgrade.head, value);
        if (accepted === undefined) handlers.delete(raw);
      });
    },
  );

  // Every upgrade request goes through Fastify's router (and the route's hooks), with a
  // response on the same socket for whatever answers it before the WebSocket route does (a 404,
  // a 401 from an auth hook); that answer then closes the connection.
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const response = new ServerResponse(request);
    response.shouldKeepAlive = false;
    // http.Server ends a connection after a `Connection: close` answer; this response is ours.
    response.once("finish", () => socket.end());
    const onError = (): void => {
      socket.destroy();
    };
    (request as UpgradeRequest)[kUpgrade] = { socket, head, response, onError };
    socket.on("error", onError);
    try {
      response.assignSocket(socket as Socket);
      fastify.routing(request, response);
    } catch {
      socket.destroy();
    }
  };
  fastify.server.on("upgrade", onUpgrade);

  // Before Fastify closes its server: every connection gets 1001 (or `shutdown.code`) and
  // the time to finish its closing handshake.
  fastify.addHook("preClose", async () => {
    fastify.server.off("upgrade", onUpgrade);
    await server.close(shutdown);
  });
}

/**
 * The Fastify plugin: `await app.register(sockwise, options)`, then `app.websocket(path,
 * handler)`. Not encapsulated (as with `fastify-plugin`): `app.websocket` and
 * `app.websocketServer` are visible to every context.
 */
export const sockwise: FastifyPluginAsync<FastifyWebSocketOptions> = Object.assign(plugin, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "sockwise",
});
