/**
 * `WebSocketServer`: accepts WebSocket connections standalone (its own `net.Server`), attached
 * to an existing HTTP(S) server (routed by `path`), or through `handleUpgrade()` for Express,
 * Fastify and friends; detects dead peers with a heartbeat; shuts down gracefully.
 *
 * @module
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { acceptUpgrade, checkUpgradeRequest, rejectUpgrade } from "../node/upgrade.js";
import { toOutgoing } from "../facade/message-data.js";
import {
  PerMessageDeflate,
  negotiateDeflate,
  type DeflateAgreement,
} from "../protocol/extensions/permessage-deflate.js";
import {
  resolveServerOptions,
  resolveShutdownOptions,
  type ResolvedServerOptions,
  type ResolvedShutdownOptions,
  type ShutdownOptions,
  type WebSocketServerOptions,
} from "./options.js";
import type { AcceptableUpgradeRequest as ValidUpgradeRequest } from "../protocol/handshake/server-handshake.js";
import { nodePorts } from "../node/node-ports.js";
import type { EngineOptions } from "../protocol/engine.js";
import { ServerWebSocket, type ServerCloseInfo } from "./server-socket.js";
import { HandshakesPerIp } from "./handshakes-per-ip.js";
import { clientAddress, normalizeAddress } from "./client-address.js";
import { refuseWith503, type RefusalInfo, type RefusalReason } from "./refusal.js";
import { StandaloneListener } from "./listener.js";
import { MemoryBroker, type Broker } from "./broker.js";
import { TopicRegistry, type PublishResult } from "./topics.js";
import { toPublished } from "./server-socket.js";

/** The result of a graceful shutdown. */
export interface ShutdownResult {
  /** Connections whose closing handshake completed. */
  readonly clean: number;
  /** Connections that ended otherwise: destroyed at the deadline, or closed abnormally. */
  readonly forced: number;
}

export type { ShutdownOptions } from "./options.js";

/** The result of {@link WebSocketServer.broadcast}. */
export interface BroadcastResult {
  readonly sent: number;
  /** Connections skipped because their unsent data was over `maxBufferedBytes`. */
  readonly skipped: number;
}

/** Events of a {@link WebSocketServer}; `Data` is the type of each connection's `data`. */
export interface WebSocketServerEvents<Data = unknown> {
  connection: [socket: ServerWebSocket<Data>, request: IncomingMessage];
  listening: [address: AddressInfo];
  /** Listening failed (e.g. the port is in use). Only emitted when someone listens for it. */
  error: [error: Error];
  /**
   * A connection was refused with 503 because a limit was hit (`reason` names the option) or the
   * server is shutting down. The answer carries the reason in its `Sockwise-Refused` header.
   */
  refused: [info: RefusalInfo];
  close: [];
}

/** Routes upgrades on one shared HTTP server to the attached WebSocket servers by path. */
interface UpgradeRouter {
  readonly servers: Set<WebSocketServer>;
  readonly listener: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
}
const routers = new WeakMap<HttpServer, UpgradeRouter>();

/** The 101 without a subprotocol or extensions (the usual case): no object per handshake. */
const NOTHING_CHOSEN = Object.freeze({});

/** What the handshake timer resolves with. */
const TIMED_OUT = Symbol("timed out");

/**
 * A WebSocket server.
 *
 * ```ts
 * const server = new WebSocketServer({ port: 8080, host: "127.0.0.1" });
 * server.on("connection", (socket, request) => {
 *   socket.addEventListener("message", (e) => socket.send(e.data));
 *   socket.onclose = (e) => console.log(e.code, e.reason, e.wasClean);
 * });
 * ```
 */
export class WebSocketServer<Data = unknown> extends EventEmitter<WebSocketServerEvents<Data>> {
  readonly #options: ResolvedServerOptions;
  /** Standalone mode's own listener. */
  readonly #listener: StandaloneListener | undefined;
  readonly #clients = new Set<ServerWebSocket>();
  readonly #handshakes = new Set<Duplex>();
  #ready: Promise<AddressInfo> | undefined;
  #listenError: Error | undefined;
  #shuttingDown: Promise<ShutdownResult> | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  readonly #heartbeat = new WeakMap<
    ServerWebSocket,
    { seen: number; idleSince: number; pingedAt: number | undefined }
  >();

  /** Handshakes in progress per IP address (SPEC.md P9). */
  readonly #perIp: HandshakesPerIp;
  /** What every connection's engine is built with (plus its deflate, when negotiated). */
  readonly #engineOptions: EngineOptions;
  /** Topics of this process, carried to others by the broker (docs/pubsub.md). */
  readonly #topics: TopicRegistry<ServerWebSocket>;

  /**
   * @throws {TypeError} ERR_WS_INVALID_OPTION for missing or conflicting modes and bad values
   */
  constructor(options: WebSocketServerOptions<Data>) {
    super();
    this.#options = resolveServerOptions(options);
    this.#perIp = new HandshakesPerIp(this.#options.maxHandshakesPerIp);
    this.#engineOptions = Object.freeze({
      role: "server",
      ports: nodePorts,
      maxMessageBytes: this.#options.maxMessageBytes,
      maxFragments: this.#options.maxFragments,
      closeTimeoutMs: this.#options.closeTimeoutMs,
      tcpCloseWaitMs: this.#options.tcpCloseWaitMs,
    });
    this.#topics = new TopicRegistry(this.#options, this.#options.broker ?? new MemoryBroker());
    this.#topics.broker.start(this.#topics);
    const { mode } = this.#options;
    if (mode === "standalone") {
      // Standalone mode reads request heads itself on a net.Server (src/server/listener.ts):
      // one request per connection needs none of http.Server's machinery.
      const listener = new StandaloneListener(
        {
          maxHeaderBytes: this.#options.maxHeaderBytes,
          handshakeTimeoutMs: this.#options.handshakeTimeoutMs,
          maxHandshakes: this.#options.maxHandshakes,
          maxHandshakesPerIp: this.#options.maxHandshakesPerIp,
          isTrustedProxy: this.#options.isTrustedProxy,
        },
        {
          // G15/P9: the listener bounds request heads in progress (in all and per address).
          refuse: (socket, reason, address) => this.#refuse(socket, reason, address),
          upgrade: (request, socket, head) => {
            void this.#handle(request, socket, head, true, undefined);
          },
        },
      );
      const server = listener.server;
      this.#listener = listener;
      this.#ready = new Promise<AddressInfo>((resolve, reject) => {
        server.once("listening", () => {
          const address = server.address() as AddressInfo;
          resolve(address);
          this.emit("listening", address);
        });
        server.once("error", (error) => {
          this.#listenError = error;
          reject(error);
          if (this.listenerCount("error") > 0) this.emit("error", error);
          else
            process.emitWarning(`WebSocketServer could not listen: ${error.message}`, {
              code: "ERR_WS_LISTEN",
            });
        });
      });
      // Only a caller of ready() observes the rejection; never an unhandled one.
      this.#ready.catch(() => {});
      server.listen(this.#options.port, this.#options.host);
    } else if (mode === "attached") {
      this.#attach(this.#options.server as HttpServer);
    }
    if (this.#options.heartbeat !== false) this.#startHeartbeat(this.#options.heartbeat);
  }

  /**
   * Resolves with the bound address once a standalone server listens (rejects if listening
   * failed). For an attached server, the address of the HTTP server once it listens.
   */
  ready(): Promise<AddressInfo> {
    if (this.#ready !== undefined) return this.#ready;
    const server = this.#options.server;
    if (server === undefined)
      return Promise.reject(new Error("a noServer WebSocketServer does not listen"));
    if (server.listening) return Promise.resolve(server.address() as AddressInfo);
    return new Promise((resolve) =>
      server.once("listening", () => resolve(server.address() as AddressInfo)),
    );
  }

  /** The bound address of the underlying HTTP server, or `null` before it listens. */
  address(): AddressInfo | null {
    const server = this.#listener?.server ?? this.#options.server;
    const address = server?.address();
    return address !== null && typeof address === "object" ? address : null;
  }

  /** The open connections. */
  get clients(): ReadonlySet<ServerWebSocket<Data>> {
    return this.#clients as ReadonlySet<ServerWebSocket<Data>>;
  }

  /**
   * Runs the opening handshake on a request taken from an HTTP server's `'upgrade'` event (for
   * frameworks that own the server). Resolves with the socket, also emitted as `connection`, or
   * with `undefined` when the request was refused (the HTTP answer has been sent). Never rejects.
   * `data` becomes the socket's {@link ServerWebSocket.data} (an `authenticate` hook that answers
   * `{ data }` replaces it).
   */
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    data?: Data,
  ): Promise<ServerWebSocket<Data> | undefined> {
    try {
      return Promise.resolve(
        this.#handle(request, socket, head, false, data) as
          ServerWebSocket<Data> | undefined | Promise<ServerWebSocket<Data> | undefined>,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends one message to every open connection, encoding it once; connections whose unsent
   * data is over `maxBufferedBytes` are skipped instead of growing memory without bound.
   */
  broadcast(
    data: string | ArrayBufferLike | ArrayBufferView,
    options: { except?: ServerWebSocket | Iterable<ServerWebSocket> } = {},
  ): BroadcastResult {
    const outgoing = toOutgoing(data, "'broadcast'");
    if (outgoing.bytes === undefined) throw new TypeError("broadcast() does not take a Blob");
    const bytes = outgoing.kind === "binary" ? outgoing.bytes.slice() : outgoing.bytes;
    const except = new Set<ServerWebSocket>(
      options.except === undefined
        ? []
        : options.except instanceof ServerWebSocket
          ? [options.except]
          : options.except,
    );
    let sent = 0;
    let skipped = 0;
    for (const client of this.#clients) {
      if (except.has(client) || client.readyState !== ServerWebSocket.OPEN) continue;
      if (client.bufferedAmount > this.#options.maxBufferedBytes) {
        skipped++;
        continue;
      }
      client.sendShared(outgoing.kind, bytes, outgoing.size);
      sent++;
    }
    return { sent, skipped };
  }

  /**
   * Publishes to every subscriber of `topic`, in this process at once and in every other through
   * the `broker`: a string as text, bytes as binary (or as text with `{ binary: false }`: they
   * must be UTF-8). The message is framed (and compressed) once for all local subscribers;
   * those over `maxBufferedBytes` are skipped, or closed with `slowSubscribers: "close"`.
   * @returns what happened at this process's subscribers
   * @throws {TypeError} ERR_WS_INVALID_TOPIC for a topic that is not a non-empty string of at
   *   most `maxTopicLength` characters; ERR_WS_INVALID_UTF8 for bytes sent as text that are not
   *   UTF-8
   */
  publish(
    topic: string,
    data: string | ArrayBufferLike | ArrayBufferView,
    options: { readonly binary?: boolean } = {},
  ): PublishResult {
    this.#topics.checkTopic(topic);
    const message = toPublished(data, options.binary, "'publish'");
    return this.#topics.publish(topic, message.bytes, message.isBinary);
  }

  /** How many connections of this process subscribe to `topic`. */
  subscriberCount(topic: string): number {
    return this.#topics.count(topic);
  }

  /** The broker carrying this server's topics between processes. */
  get broker(): Broker {
    return this.#topics.broker;
  }

  /**
   * Shuts down gracefully: stops accepting, starts the closing handshake on every connection
   * (1001 by default), waits for them up to `timeoutMs`, destroys the stragglers, and resolves
   * with how many closed cleanly and how many were forced. An attached HTTP server is left to
   * its owner; a standalone one is closed. Calling it again returns the same promise.
   *
   * @throws {RangeError} ERR_WS_INVALID_CLOSE_CODE for a code not valid on the wire (SPEC.md
   *   M2), ERR_WS_INVALID_CLOSE_REASON for a reason over 123 UTF-8 bytes, ERR_WS_INVALID_OPTION
   *   for a negative or non-numeric timeout; nothing is shut down then
   */
  close(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    if (this.#shuttingDown === undefined) {
      // Checked before anything is shut: a bad argument must not leave the server half closed.
      const shutdown = resolveShutdownOptions(options);
      this.#shuttingDown = this.#shutdown(shutdown);
    }
    return this.#shuttingDown;
  }

  async #shutdown({ code, reason, timeoutMs }: ResolvedShutdownOptions): Promise<ShutdownResult> {
    this.#stopHeartbeat();
    this.#detach();
    const listenerClosed = this.#closeListener();
    this.#listener?.refuseHeadsInProgress();
    for (const socket of this.#handshakes) this.#refuse(socket, "shuttingDown", undefined);
    const clients = [...this.#clients];
    for (const client of clients) client.close(code, reason);
    const all = Promise.all(clients.map((client) => client.closed));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([all, deadline]);
    clearTimeout(timer);
    for (const client of clients) {
      if (client.closeInfo === undefined)
        client.destroyWithCause(
          "ERR_WS_SHUTDOWN_TIMEOUT",
          "the client did not complete the closing handshake before the shutdown deadline",
        );
    }
    const outcomes: ServerCloseInfo[] = await all;
    this.#listener?.destroyAll();
    await listenerClosed;
    // A broker must not reject; a faulty one still must not fail the shutdown.
    await Promise.resolve()
      .then(() => this.#topics.broker.close())
      .catch(() => {});
    this.emit("close");
    const clean = outcomes.filter((outcome) => outcome.wasClean).length;
    return { clean, forced: outcomes.length - clean };
  }

  /**
   * Closes a standalone server's listener; resolves once it has closed (every connection
   * included). If it is still starting to listen, waits for that first, so the port is never
   * left open after close().
   */
  async #closeListener(): Promise<void> {
    const server = this.#listener?.server;
    if (server === undefined) return;
    if (!server.listening) {
      if (this.#listenError !== undefined) return;
      try {
        await this.#ready;
      } catch {
        return;
      }
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- accepting --------------------------------------------------------------------------

  #attach(server: HttpServer): void {
    let router = routers.get(server);
    if (router === undefined) {
      const servers = new Set<WebSocketServer>();
      const listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
        // The server for exactly this path wins; one without `path` takes the rest, whatever
        // the order in which they were attached.
        const path = pathOf(request);
        let chosen: WebSocketServer | undefined;
        for (const candidate of servers) {
          const wanted = candidate.#options.path;
          if (wanted === path) {
            chosen = candidate;
            break;
          }
          if (wanted === undefined) chosen ??= candidate;
        }
        if (chosen !== undefined) {
          void chosen.#handle(request, socket, head, false, undefined);
          return;
        }
        // Nobody here wants it; answer 404 unless someone else listens for upgrades too.
        if (server.listenerCount("upgrade") === 1) rejectUpgrade(socket, 404);
      };
      router = { servers, listener };
      routers.set(server, router);
      server.on("upgrade", listener);
    }
    router.servers.add(this);
  }

  #detach(): void {
    const server = this.#options.server as HttpServer | undefined;
    if (server === undefined) return;
    const router = routers.get(server);
    if (router === undefined) return;
    router.servers.delete(this);
    if (router.servers.size === 0) {
      server.off("upgrade", router.listener);
      routers.delete(server);
    }
  }

  /**
   * Runs the opening handshake. Without an `authenticate` hook nothing in it waits, so it runs
   * to the end synchronously: no handshake timer, no promise. With the hook it continues in
   * {@link WebSocketServer.#authenticateThenAccept}.
   */
  #handle(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    checkPath: boolean,
    data: unknown,
  ): ServerWebSocket | undefined | Promise<ServerWebSocket | undefined> {
    const decision = this.#decide(request, socket, head, checkPath, data);
    // Decided now (an `authenticate` hook keeps its count until it is done).
    if (!(decision instanceof Promise)) this.#perIp.leave(socket);
    return decision;
  }

  #decide(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    checkPath: boolean,
    data: unknown,
  ): ServerWebSocket | undefined | Promise<ServerWebSocket | undefined> {
    // From here on no socket error may reach the process as an unhandled 'error'. (A standalone
    // server's listener already listens until it releases the socket: no second listener.)
    if (this.#listener?.owns(socket) !== true) socket.on("error", noop);
    const options = this.#options;
    if (this.#shuttingDown !== undefined) {
      this.#refuse(socket, "shuttingDown", undefined);
      return undefined;
    }
    if (checkPath && options.path !== undefined && pathOf(request) !== options.path) {
      rejectUpgrade(socket, 404);
      return undefined;
    }
    if (this.#clients.size + this.#handshakes.size >= options.maxConnections) {
      this.#refuse(socket, "maxConnections", undefined);
      return undefined;
    }
    const validation = checkUpgradeRequest(request);
    if (!validation.ok) {
      rejectUpgrade(socket, validation.status, {
        headers: validation.headers,
        body: `${validation.message}\n`,
      });
      return undefined;
    }
    if (!originAllowed(options.origins, validation.origin, request)) {
      rejectUpgrade(socket, 403, { body: "origin not allowed\n" });
      return undefined;
    }
    if (options.authenticate !== undefined)
      return this.#authenticateThenAccept(
        options.authenticate,
        request,
        socket,
        head,
        validation,
        data,
      );
    return this.#negotiateAndAccept(request, socket, head, validation, data);
  }

  /** Asks the `authenticate` hook, within the handshake timeout, then accepts or refuses. */
  async #authenticateThenAccept(
    authenticate: NonNullable<ResolvedServerOptions["authenticate"]>,
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    validation: ValidUpgradeRequest,
    data: unknown,
  ): Promise<ServerWebSocket | undefined> {
    // G15: upgrades waiting for the hook count against maxHandshakes (a standalone server's
    // request heads in progress are counted by its listener).
    if (this.#handshakes.size >= this.#options.maxHandshakes) {
      this.#refuse(socket, "maxHandshakes", undefined);
      return undefined;
    }
    // P9: per client address (the forwarded one behind a trusted proxy) while the hook runs.
    const peer = (socket as Duplex & { remoteAddress?: string }).remoteAddress;
    const address = clientAddress(
      peer === undefined ? undefined : normalizeAddress(peer),
      request.rawHeaders,
      this.#options.isTrustedProxy,
    );
    if (!this.#perIp.enter(socket, address)) {
      this.#refuse(socket, "maxHandshakesPerIp", address);
      return undefined;
    }
    this.#handshakes.add(socket);
    // G15: a handshake that is not decided in time is dropped, even if `authenticate` never
    // settles; the slot it held counts against maxConnections only until then.
    let timedOut!: () => void;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timedOut = () => resolve(TIMED_OUT);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      timedOut();
    }, this.#options.handshakeTimeoutMs);
    try {
      let decision;
      try {
        decision = await Promise.race([
          authenticate(request, { protocols: validation.protocols, origin: validation.origin }),
          timeout,
        ]);
      } catch {
        rejectUpgrade(socket, 500);
        return undefined;
      }
      if (decision === TIMED_OUT) return undefined;
      if (decision === false) {
        // 403, not 401: a 401 must carry a WWW-Authenticate challenge (RFC 9110 §15.5.2),
        // which only the application can write (return { status: 401, headers }).
        rejectUpgrade(socket, 403);
        return undefined;
      }
      if (decision !== null && typeof decision === "object" && decision.status !== undefined) {
        rejectUpgrade(socket, decision.status, {
          ...(decision.headers === undefined ? {} : { headers: Object.entries(decision.headers) }),
          ...(decision.body === undefined ? {} : { body: decision.body }),
        });
        return undefined;
      }
      const accepted = decision !== null && typeof decision === "object" ? decision.data : data;
      return this.#negotiateAndAccept(request, socket, head, validation, accepted);
    } finally {
      clearTimeout(timer);
      this.#handshakes.delete(socket);
      this.#perIp.leave(socket);
    }
  }

  /** Chooses the subprotocol and the extensions, then accepts (or refuses with a 500). */
  #negotiateAndAccept(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    validation: ValidUpgradeRequest,
    data: unknown,
  ): ServerWebSocket | undefined {
    const options = this.#options;
    // The client may have left while `authenticate` ran (or before a framework called
    // handleUpgrade). Its FIN was consumed with no listener, so the transport would never see
    // it: check now, and never accept a connection that is already gone.
    if (
      socket.destroyed ||
      !socket.writable ||
      socket.readableEnded ||
      this.#shuttingDown !== undefined
    ) {
      socket.destroy();
      return undefined;
    }
    let protocol: string | undefined;
    try {
      protocol =
        validation.protocols.length === 0
          ? undefined
          : options.handleProtocols(validation.protocols, request);
    } catch {
      rejectUpgrade(socket, 500);
      return undefined;
    }
    if (protocol !== undefined && !validation.protocols.includes(protocol)) {
      // G9: only one of the client's values, byte for byte.
      rejectUpgrade(socket, 500, {
        body: "handleProtocols chose a protocol the client did not offer\n",
      });
      return undefined;
    }
    // RFC 7692 §5: accept the first acceptable permessage-deflate offer, if enabled.
    const agreement =
      options.perMessageDeflate === undefined
        ? undefined
        : negotiateDeflate(validation.extensions, options.perMessageDeflate);
    return this.#accept(request, socket, head, validation.key, protocol, agreement, data);
  }

  #accept(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    key: string,
    protocol: string | undefined,
    agreement: DeflateAgreement | undefined,
    data: unknown,
  ): ServerWebSocket {
    const options = this.#options;
    const deflateSettings = options.perMessageDeflate;
    const deflate =
      agreement === undefined || deflateSettings === undefined
        ? undefined
        : new PerMessageDeflate({
            isClient: false,
            parameters: agreement.parameters,
            codec: deflateSettings.codec,
            thresholdBytes: deflateSettings.thresholdBytes,
          });
    const net = socket as Duplex & {
      remoteAddress?: string;
      remotePort?: number;
      remoteFamily?: string;
    };
    const client = ServerWebSocket.create({
      url: request.url ?? "/",
      protocol: protocol ?? "",
      extensions: agreement?.response ?? "",
      remoteAddress: net.remoteAddress,
      remotePort: net.remotePort,
      remoteFamily: net.remoteFamily,
      binaryType: options.binaryType,
      textType: options.textType,
      clients: this.#clients,
      topics: this.#topics,
      data,
    });
    // The handshake is decided: stop counting it (P9) before the transport and the application
    // add their own 'close' listeners, so that the socket's listener array stays small.
    this.#perIp.leave(socket);
    const transport = acceptUpgrade(
      socket,
      key,
      protocol === undefined && agreement === undefined
        ? NOTHING_CHOSEN
        : {
            ...(protocol === undefined ? {} : { protocol }),
            ...(agreement === undefined ? {} : { extensions: agreement.response }),
          },
      deflate === undefined ? this.#engineOptions : { ...this.#engineOptions, deflate },
      client,
    );
    // The transport listens for errors from now on.
    if (this.#listener?.owns(socket) !== true) socket.off("error", noop);
    this.#listener?.release(socket);
    client.attach(transport);
    this.#clients.add(client);
    if (this.#heartbeatTimer !== undefined)
      this.#heartbeat.set(client, { seen: 0, idleSince: performance.now(), pingedAt: undefined });
    try {
      this.emit("connection", client as ServerWebSocket<Data>, request);
    } catch (error) {
      // A listener's bug: surface it as an uncaught exception, as any event listener's would,
      // without leaving this connection half started or rejecting handleUpgrade().
      process.nextTick(() => {
        throw error;
      });
    }
    transport.start(head);
    return client;
  }

  /** Answers 503 for `reason` and reports it as `refused`. */
  #refuse(socket: Duplex, reason: RefusalReason, address: string | undefined): void {
    refuseWith503(socket, reason);
    if (this.listenerCount("refused") === 0) return;
    try {
      this.emit("refused", { reason, status: 503, address });
    } catch (error) {
      // A listener's bug: an uncaught exception, as any event listener's, without breaking
      // the accept path.
      process.nextTick(() => {
        throw error;
      });
    }
  }

  // ---- heartbeat (SPEC.md J9) ---------------------------------------------------------------

  #startHeartbeat(heartbeat: { intervalMs: number; timeoutMs: number }): void {
    const period = Math.min(heartbeat.intervalMs, heartbeat.timeoutMs);
    this.#heartbeatTimer = setInterval(() => this.#sweep(heartbeat), period);
    this.#heartbeatTimer.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  /** Pings connections idle for `intervalMs`; drops those silent for `timeoutMs` after a ping. */
  #sweep(heartbeat: { intervalMs: number; timeoutMs: number }): void {
    const now = performance.now();
    for (const client of this.#clients) {
      const state = this.#heartbeat.get(client);
      const transport = client.transport;
      if (
        state === undefined ||
        transport === undefined ||
        client.readyState !== ServerWebSocket.OPEN
      )
        continue;
      const seen = transport.receivedChunks;
      if (seen !== state.seen) {
        state.seen = seen;
        state.pingedAt = undefined;
        state.idleSince = now;
        continue;
      }
      if (state.pingedAt === undefined) {
        if (now - state.idleSince >= heartbeat.intervalMs) {
          state.pingedAt = now;
          transport.ping();
        }
      } else if (now - state.pingedAt >= heartbeat.timeoutMs) {
        client.destroyWithCause(
          "ERR_WS_HEARTBEAT_TIMEOUT",
          `no answer to a ping within ${heartbeat.timeoutMs} ms`,
        );
      }
    }
  }
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

function originAllowed(
  origins: ResolvedServerOptions["origins"],
  origin: string | undefined,
  request: IncomingMessage,
): boolean {
  if (origins === undefined) return true;
  if (typeof origins === "function") {
    try {
      return origins(origin, request) === true;
    } catch {
      return false;
    }
  }
  return origin !== undefined && origins.includes(origin);
}

function noop(): void {}
