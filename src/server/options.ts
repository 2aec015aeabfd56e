/**
 * Every option of `WebSocketServer`, its default, and its validation, in one place.
 *
 * @module
 */
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { ENGINE_DEFAULTS } from "../protocol/engine.js";
import { MAX_CLOSE_REASON_BYTES, isWireCloseCode } from "../protocol/close-codes.js";
import type { BinaryType, TextType } from "../facade/message-data.js";
import { createDeflateCodec } from "../node/deflate-codec.js";
import {
  negotiateDeflate,
  type DeflateServerOptions,
} from "../protocol/extensions/permessage-deflate.js";
import type { DeflateCodec } from "../protocol/ports.js";
import { proxyTrust, type ProxyTrust } from "./client-address.js";
import type { Broker } from "./broker.js";

/**
 * What an `authenticate` hook may answer: `true` or `undefined` to accept, `false` to refuse
 * (403), `{ status, headers?, body? }` to refuse with that answer, or `{ data }` to accept and
 * give the connection its `socket.data` (typed by the server's `Data` parameter).
 */
export type AuthenticationResult<Data = unknown> =
  | boolean
  | undefined
  | {
      /** Refuse with this HTTP status (e.g. 401, 403, 429). */
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  | {
      /** Accept, and set the connection's `data` to this. */
      readonly data: Data;
      readonly status?: undefined;
    };

/** What the handshake hooks learn about a request. */
export interface UpgradeInfo {
  /** The subprotocols the client offered, in its order. */
  readonly protocols: readonly string[];
  /** The `Origin` header, when the client sent one (browsers always do). */
  readonly origin: string | undefined;
}

/** Ping idle peers and drop those that stop answering. */
export interface HeartbeatOptions {
  /** Ping a connection that has received nothing for this long (default 30 000 ms). */
  readonly intervalMs: number;
  /** Drop it if nothing arrives within this long after the ping (default 10 000 ms). */
  readonly timeoutMs: number;
}

/**
 * Options of `new WebSocketServer(options)`. `Data` is the type of each connection's
 * `socket.data`, set by `authenticate` (or given to `handleUpgrade`).
 */
export interface WebSocketServerOptions<Data = unknown> {
  /** Standalone mode: listen on this port (0 for any free port). */
  readonly port?: number;
  /** Standalone mode: the address to listen on (default: all interfaces, as `http.Server`). */
  readonly host?: string;
  /** Attached mode: share this HTTP(S) server's port with its ordinary routes. */
  readonly server?: HttpServer | HttpsServer;
  /** Neither: connections come only through `handleUpgrade()`. */
  readonly noServer?: boolean;
  /** Accept upgrades only for this path (e.g. "/ws"); others get 404 (or go to another server). */
  readonly path?: string;
  /** The largest message accepted (default 1 MiB); over it the connection fails with 1009. */
  readonly maxMessageBytes?: number;
  /** The most frames one message may have (default 16 384). */
  readonly maxFragments?: number;
  /** How long to wait for the client's Close after sending ours (default 10 000 ms). */
  readonly closeTimeoutMs?: number;
  /**
   * How long to wait for the client to end TCP after the Close frames were exchanged (the server
   * half-closes first) or after a failure, before destroying the socket (default 2 000 ms).
   */
  readonly tcpCloseWaitMs?: number;
  /** How long a client may take from the upgrade request to the 101 (default 10 000 ms). */
  readonly handshakeTimeoutMs?: number;
  /**
   * Refuse new connections with 503 beyond this many open connections plus upgrades waiting for
   * `authenticate` (default 1 000 000: far above what one process can serve; the open-files limit
   * binds first). docs/server.md "Limits under load" has the numbers.
   */
  readonly maxConnections?: number;
  /**
   * The most handshakes in progress (default 4 096; G15): standalone request heads being read
   * (beyond, the oldest *stalled* head is dropped with 503 to make room; a fresh connection is
   * never refused for it), and upgrades waiting for `authenticate` (503 beyond).
   */
  readonly maxHandshakes?: number;
  /**
   * The most *stalled* request heads from one IP address (default 1 024; SPEC.md P9, G15), and
   * the most upgrades from one client address waiting for `authenticate`; beyond, 503. A head is
   * stalled once a read left it incomplete, or once it has sent nothing across a sweep of the
   * handshake timer: a client that sends its head in one write (every real one) never counts,
   * so a reconnect storm from one address (a NAT, a proxy) is not refused.
   */
  readonly maxHandshakesPerIp?: number;
  /**
   * Reverse proxies to trust (their IP addresses, or a function): their connections are not
   * counted per address, and the client's address is read from `Forwarded` or
   * `X-Forwarded-For` for the per-address limit. Default: none (those headers are ignored).
   */
  readonly trustedProxies?: readonly string[] | ((address: string) => boolean);
  /** Standalone mode: the largest request head accepted (default 16 KiB; 431 beyond). */
  readonly maxHeaderBytes?: number;
  /** Accept only these `Origin`s (403 otherwise), or decide with a function (SPEC.md P4). */
  readonly origins?:
    readonly string[] | ((origin: string | undefined, request: IncomingMessage) => boolean);
  /**
   * Decide, possibly asynchronously, whether to accept; refuse with any status, or accept with
   * `{ data }` to give the connection its `socket.data` (default: accept).
   */
  readonly authenticate?: (
    request: IncomingMessage,
    info: UpgradeInfo,
  ) => AuthenticationResult<Data> | Promise<AuthenticationResult<Data>>;
  /**
   * Choose the subprotocol from the client's offer; return `undefined` to choose none. Default:
   * the client's first offer that is in `protocols`; none when `protocols` is not given (a server
   * must not claim a subprotocol it does not speak, RFC 6455 §4.2.2; a browser client that asked
   * for one then fails the connection, which is the honest outcome).
   */
  readonly handleProtocols?: (
    protocols: readonly string[],
    request: IncomingMessage,
  ) => string | undefined;
  /** The subprotocols this server speaks (used by the default `handleProtocols`). */
  readonly protocols?: readonly string[];
  /** Heartbeat settings, or `false` to turn it off (default on: 30 s interval, 10 s timeout). */
  readonly heartbeat?: HeartbeatOptions | false;
  /** `broadcast()` skips a connection with more than this many bytes unsent (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** The initial `binaryType` of each connection (default "arraybuffer"). */
  readonly binaryType?: BinaryType;
  /**
   * The initial `textType` of each connection: "string" (default) decodes text messages;
   * "nodebuffer" delivers their validated UTF-8 bytes undecoded (relays, brokers: send them on
   * with `sendText()`).
   */
  readonly textType?: TextType;
  /**
   * permessage-deflate (RFC 7692): `true` (the default) accepts it with the settings below,
   * `false` declines every offer.
   */
  readonly perMessageDeflate?: boolean | PerMessageDeflateServerOptions;
  // ---- topics (docs/pubsub.md) ----
  /**
   * Carries topics between processes: `new RedisBroker({ url })` from `sockwise/redis` for
   * several processes or machines (default: an in-memory broker, one process).
   */
  readonly broker?: Broker;
  /** The longest topic name, in characters (default 256). */
  readonly maxTopicLength?: number;
  /** The most topics one connection may subscribe to (default 64). */
  readonly maxTopicsPerSocket?: number;
  /**
   * What a publish does to a subscriber over `maxBufferedBytes`: `"skip"` it (the default, as
   * `broadcast()`), or `"close"` it with 1013 "subscriber too slow".
   */
  readonly slowSubscribers?: "skip" | "close";
}

/**
 * How the server answers permessage-deflate offers. The defaults keep no compression state
 * between messages in either direction (`server_no_context_takeover` and
 * `client_no_context_takeover`), so an idle connection costs no compression memory at all;
 * set both to `false` for a better ratio on streams of similar messages, at the cost of one
 * retained window (up to 32 KiB) per direction and connection. docs/permessage-deflate.md has the figures.
 */
export interface PerMessageDeflateServerOptions extends DeflateServerOptions {
  /** Messages smaller than this many bytes are sent uncompressed (default 1024). */
  readonly thresholdBytes?: number;
  /** zlib compression level 0–9 (default 6). */
  readonly level?: number;
  /** zlib memLevel 1–9 (default 8): compressor memory during a call, not between calls. */
  readonly memLevel?: number;
}

/** The resolved permessage-deflate settings. */
export interface ResolvedDeflateSettings extends DeflateServerOptions {
  readonly thresholdBytes: number;
  readonly codec: DeflateCodec;
}

/** The defaults, exported so that documentation and tests read them from one place. */
export const SERVER_DEFAULTS = {
  maxMessageBytes: ENGINE_DEFAULTS.serverMaxMessageBytes,
  maxFragments: ENGINE_DEFAULTS.maxFragments,
  closeTimeoutMs: ENGINE_DEFAULTS.closeTimeoutMs,
  tcpCloseWaitMs: ENGINE_DEFAULTS.tcpCloseWaitMs,
  handshakeTimeoutMs: 10_000,
  maxConnections: 1_000_000,
  maxHandshakes: 4_096,
  maxHandshakesPerIp: 1_024,
  maxHeaderBytes: 16 * 1024,
  heartbeat: { intervalMs: 30_000, timeoutMs: 10_000 },
  maxBufferedBytes: 4 * 1024 * 1024,
  binaryType: "arraybuffer",
  textType: "string",
  shutdownCode: 1001,
  shutdownTimeoutMs: 5_000,
  maxTopicLength: 256,
  maxTopicsPerSocket: 64,
  slowSubscribers: "skip",
} as const;

/** The options with every default applied. */
export interface ResolvedServerOptions {
  readonly mode: "standalone" | "attached" | "noServer";
  readonly port: number | undefined;
  readonly host: string | undefined;
  readonly server: HttpServer | HttpsServer | undefined;
  readonly path: string | undefined;
  readonly maxMessageBytes: number;
  readonly maxFragments: number;
  readonly closeTimeoutMs: number;
  readonly tcpCloseWaitMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxHandshakes: number;
  readonly maxHandshakesPerIp: number;
  readonly isTrustedProxy: ProxyTrust;
  readonly maxHeaderBytes: number;
  readonly origins: WebSocketServerOptions["origins"];
  readonly authenticate: WebSocketServerOptions["authenticate"];
  readonly handleProtocols: NonNullable<WebSocketServerOptions["handleProtocols"]>;
  readonly heartbeat: HeartbeatOptions | false;
  readonly maxBufferedBytes: number;
  readonly binaryType: BinaryType;
  readonly textType: TextType;
  /** `undefined` when permessage-deflate is off. */
  readonly perMessageDeflate: ResolvedDeflateSettings | undefined;
  /** `undefined`: the server creates its own in-memory broker. */
  readonly broker: Broker | undefined;
  readonly maxTopicLength: number;
  readonly maxTopicsPerSocket: number;
  readonly slowSubscribers: "skip" | "close";
}

function invalid(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: "ERR_WS_INVALID_OPTION" });
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0))
    throw invalid(`${name} must be a positive number, got ${String(value)}`);
  return value;
}

/**
 * Applies defaults and checks every option.
 * @throws {TypeError} ERR_WS_INVALID_OPTION for a missing mode, conflicting modes or a bad value
 */
export function resolveServerOptions(options: WebSocketServerOptions): ResolvedServerOptions {
  if (options === null || typeof options !== "object")
    throw invalid("WebSocketServer needs an options object");
  const modes = [
    options.port !== undefined,
    options.server !== undefined,
    options.noServer === true,
  ].filter(Boolean);
  if (modes.length !== 1) {
    throw invalid(
      "give exactly one of `port` (standalone), `server` (attached) or `noServer: true` (handleUpgrade only)",
    );
  }
  if (
    options.port !== undefined &&
    !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)
  ) {
    throw invalid(`port must be an integer 0–65535, got ${String(options.port)}`);
  }
  if (
    options.path !== undefined &&
    (typeof options.path !== "string" || !options.path.startsWith("/"))
  ) {
    throw invalid(`path must start with "/", got ${String(options.path)}`);
  }
  let heartbeat: HeartbeatOptions | false = SERVER_DEFAULTS.heartbeat;
  if (options.heartbeat === false) heartbeat = false;
  else if (options.heartbeat !== undefined) {
    heartbeat = {
      intervalMs: positive(
        "heartbeat.intervalMs",
        options.heartbeat.intervalMs,
        SERVER_DEFAULTS.heartbeat.intervalMs,
      ),
      timeoutMs: positive(
        "heartbeat.timeoutMs",
        options.heartbeat.timeoutMs,
        SERVER_DEFAULTS.heartbeat.timeoutMs,
      ),
    };
  }
  const binaryType = options.binaryType ?? SERVER_DEFAULTS.binaryType;
  if (binaryType !== "arraybuffer" && binaryType !== "blob" && binaryType !== "nodebuffer") {
    throw invalid(
      `binaryType must be "arraybuffer", "blob" or "nodebuffer", got ${String(binaryType)}`,
    );
  }
  const textType = options.textType ?? SERVER_DEFAULTS.textType;
  if (textType !== "string" && textType !== "nodebuffer") {
    throw invalid(`textType must be "string" or "nodebuffer", got ${String(textType)}`);
  }
  const supported = options.protocols;
  const handleProtocols =
    options.handleProtocols ??
    ((offered: readonly string[]): string | undefined =>
      supported === undefined
        ? undefined
        : offered.find((protocol) => supported.includes(protocol)));
  return {
    mode:
      options.server !== undefined
        ? "attached"
        : options.noServer === true
          ? "noServer"
          : "standalone",
    port: options.port,
    host: options.host,
    server: options.server,
    path: options.path,
    maxMessageBytes: positive(
      "maxMessageBytes",
      options.maxMessageBytes,
      SERVER_DEFAULTS.maxMessageBytes,
    ),
    maxFragments: positive("maxFragments", options.maxFragments, SERVER_DEFAULTS.maxFragments),
    closeTimeoutMs: positive(
      "closeTimeoutMs",
      options.closeTimeoutMs,
      SERVER_DEFAULTS.closeTimeoutMs,
    ),
    tcpCloseWaitMs: positive(
      "tcpCloseWaitMs",
      options.tcpCloseWaitMs,
      SERVER_DEFAULTS.tcpCloseWaitMs,
    ),
    handshakeTimeoutMs: positive(
      "handshakeTimeoutMs",
      options.handshakeTimeoutMs,
      SERVER_DEFAULTS.handshakeTimeoutMs,
    ),
    maxConnections: positive(
      "maxConnections",
      options.maxConnections,
      SERVER_DEFAULTS.maxConnections,
    ),
    maxHandshakes: positive("maxHandshakes", options.maxHandshakes, SERVER_DEFAULTS.maxHandshakes),
    maxHandshakesPerIp: positive(
      "maxHandshakesPerIp",
      options.maxHandshakesPerIp,
      SERVER_DEFAULTS.maxHandshakesPerIp,
    ),
    isTrustedProxy: proxyTrust(options.trustedProxies),
    maxHeaderBytes: positive(
      "maxHeaderBytes",
      options.maxHeaderBytes,
      SERVER_DEFAULTS.maxHeaderBytes,
    ),
    origins: options.origins,
    authenticate: options.authenticate,
    handleProtocols,
    heartbeat,
    maxBufferedBytes: positive(
      "maxBufferedBytes",
      options.maxBufferedBytes,
      SERVER_DEFAULTS.maxBufferedBytes,
    ),
    binaryType,
    textType,
    perMessageDeflate: resolveDeflate(options.perMessageDeflate),
    ...resolveTopicOptions(options),
  };
}

function resolveTopicOptions(
  options: WebSocketServerOptions,
): Pick<
  ResolvedServerOptions,
  "broker" | "maxTopicLength" | "maxTopicsPerSocket" | "slowSubscribers"
> {
  const { broker, slowSubscribers = SERVER_DEFAULTS.slowSubscribers } = options;
  if (
    broker !== undefined &&
    (broker === null ||
      typeof broker !== "object" ||
      typeof broker.start !== "function" ||
      typeof broker.publish !== "function" ||
      typeof broker.subscribe !== "function" ||
      typeof broker.unsubscribe !== "function" ||
      typeof broker.close !== "function")
  ) {
    throw invalid("broker must have start, publish, subscribe, unsubscribe and close methods");
  }
  if (slowSubscribers !== "skip" && slowSubscribers !== "close")
    throw invalid(`slowSubscribers must be "skip" or "close", got ${String(slowSubscribers)}`);
  const whole = (name: string, value: number | undefined, fallback: number): number => {
    const resolved = positive(name, value, fallback);
    if (!Number.isInteger(resolved)) throw invalid(`${name} must be a whole number`);
    return resolved;
  };
  return {
    broker,
    maxTopicLength: whole("maxTopicLength", options.maxTopicLength, SERVER_DEFAULTS.maxTopicLength),
    maxTopicsPerSocket: whole(
      "maxTopicsPerSocket",
      options.maxTopicsPerSocket,
      SERVER_DEFAULTS.maxTopicsPerSocket,
    ),
    slowSubscribers,
  };
}

/** Options of `WebSocketServer.close()`. */
export interface ShutdownOptions {
  /** The close code sent to every client (default 1001 Going Away); any code valid on the wire. */
  readonly code?: number;
  /** The close reason sent with it (default none), at most 123 UTF-8 bytes. */
  readonly reason?: string;
  /** How long to wait for clients to complete the closing handshake (default 5 000 ms). */
  readonly timeoutMs?: number;
}

/** {@link ShutdownOptions} with every default applied. */
export interface ResolvedShutdownOptions {
  readonly code: number;
  readonly reason: string;
  readonly timeoutMs: number;
}

/**
 * Applies the shutdown defaults and checks the values.
 * @throws {RangeError} ERR_WS_INVALID_CLOSE_CODE, ERR_WS_INVALID_CLOSE_REASON or
 *   ERR_WS_INVALID_OPTION
 */
export function resolveShutdownOptions(options: ShutdownOptions): ResolvedShutdownOptions {
  const code = options.code ?? SERVER_DEFAULTS.shutdownCode;
  if (!isWireCloseCode(code)) {
    throw Object.assign(
      new RangeError(
        `shutdown code ${String(code)} may not be sent: use 1000–1003, 1007–1014 or 3000–4999`,
      ),
      { code: "ERR_WS_INVALID_CLOSE_CODE" },
    );
  }
  const reason = options.reason ?? "";
  if (typeof reason !== "string" || Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) {
    throw Object.assign(
      new RangeError(`the shutdown reason must be a string of at most 123 UTF-8 bytes`),
      { code: "ERR_WS_INVALID_CLOSE_REASON" },
    );
  }
  const timeoutMs = options.timeoutMs ?? SERVER_DEFAULTS.shutdownTimeoutMs;
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
    throw Object.assign(
      new RangeError(`timeoutMs must be a number ≥ 0, got ${String(timeoutMs)}`),
      { code: "ERR_WS_INVALID_OPTION" },
    );
  }
  return { code, reason, timeoutMs };
}

/** The permessage-deflate defaults of the server. */
export const SERVER_DEFLATE_DEFAULTS = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  thresholdBytes: 1024,
} as const;

function resolveDeflate(
  value: WebSocketServerOptions["perMessageDeflate"],
): ResolvedDeflateSettings | undefined {
  if (value === false) return undefined;
  const settings = value === undefined || value === true ? {} : value;
  if (settings === null || typeof settings !== "object") {
    throw invalid(`perMessageDeflate must be a boolean or an object, got ${String(value)}`);
  }
  const thresholdBytes = settings.thresholdBytes ?? SERVER_DEFLATE_DEFAULTS.thresholdBytes;
  if (typeof thresholdBytes !== "number" || !(thresholdBytes >= 0)) {
    throw invalid(
      `perMessageDeflate.thresholdBytes must be a number ≥ 0, got ${String(thresholdBytes)}`,
    );
  }
  const resolved: ResolvedDeflateSettings = {
    serverNoContextTakeover:
      settings.serverNoContextTakeover ?? SERVER_DEFLATE_DEFAULTS.serverNoContextTakeover,
    clientNoContextTakeover:
      settings.clientNoContextTakeover ?? SERVER_DEFLATE_DEFAULTS.clientNoContextTakeover,
    ...(settings.serverMaxWindowBits === undefined
      ? {}
      : { serverMaxWindowBits: settings.serverMaxWindowBits }),
    ...(settings.clientMaxWindowBits === undefined
      ? {}
      : { clientMaxWindowBits: settings.clientMaxWindowBits }),
    thresholdBytes,
    codec: createDeflateCodec({
      ...(settings.level === undefined ? {} : { level: settings.level }),
      ...(settings.memLevel === undefined ? {} : { memLevel: settings.memLevel }),
    }),
  };
  // Checks the window options (9–15) now rather than at the first handshake.
  negotiateDeflate([], resolved);
  return resolved;
}
