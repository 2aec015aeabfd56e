/**
 * The server's `node:diagnostics_channel` channels. Each is published only when someone
 * subscribes (`channel.hasSubscribers`), so an unobserved server pays one property read per
 * event. Where undici publishes the same fact for its client (`undici:websocket:open`, `close`,
 * `socket_error`, `ping`, `pong`), the payload has the same shape (and more fields), so a tool
 * written for undici's channels reads these too. Listed with examples in docs/observability.md.
 *
 * @module
 */
import { channel, type Channel } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import type { ServerCloseInfo } from "./server-events.js";
import type { ServerWebSocket } from "./server-socket.js";
import type { HandshakeRefusalReason } from "./server-stats.js";

/**
 * The names of the server's diagnostics channels:
 * `diagnostics_channel.subscribe(serverChannels.open, (message) => …)`.
 */
export const serverChannels = {
  /** A connection opened ({@link ServerOpenMessage}; undici:websocket:open's shape). */
  open: "sockwise:server:open",
  /** A connection closed ({@link ServerCloseMessage}; undici:websocket:close's shape). */
  close: "sockwise:server:close",
  /** An opening handshake was refused ({@link HandshakeRefusedMessage}). */
  handshakeRefused: "sockwise:server:handshake_refused",
  /** A Ping arrived ({@link ServerPingPongMessage}; undici:websocket:ping's shape). */
  ping: "sockwise:server:ping",
  /** A Pong arrived ({@link ServerPingPongMessage}; undici:websocket:pong's shape). */
  pong: "sockwise:server:pong",
  /** A connection ended abnormally: protocol error, timeout, socket error ({@link ServerErrorMessage}). */
  error: "sockwise:server:error",
  /** The socket under a connection failed: the error itself, as undici:websocket:socket_error. */
  socketError: "sockwise:server:socket_error",
} as const;

/** The message of `sockwise:server:open`. */
export interface ServerOpenMessage {
  readonly websocket: ServerWebSocket;
  /** The client's address (as undici's `address`: the peer of this end). */
  readonly address: { readonly address?: string; readonly family?: string; readonly port?: number };
  readonly protocol: string;
  readonly extensions: string;
  /** The 101 answer this server sent. */
  readonly handshakeResponse: {
    readonly status: 101;
    readonly statusText: "Switching Protocols";
    readonly headers: Readonly<Record<string, string>>;
  };
  /** The upgrade request (non-undici). */
  readonly request: IncomingMessage;
}

/** The message of `sockwise:server:close`: undici's `{ websocket, code, reason }` and the details. */
export interface ServerCloseMessage extends ServerCloseInfo {
  readonly websocket: ServerWebSocket;
}

/** The message of `sockwise:server:handshake_refused`. */
export interface HandshakeRefusedMessage {
  readonly request: IncomingMessage | undefined;
  /** The HTTP status of the answer (0 when the connection was dropped without one). */
  readonly status: number;
  readonly reason: HandshakeRefusalReason;
  /** For `invalid-request`, the rule broken (`ERR_WS_HANDSHAKE_*`). */
  readonly code?: string;
  readonly remoteAddress: string | undefined;
}

/** The message of `sockwise:server:ping` and `sockwise:server:pong`. */
export interface ServerPingPongMessage {
  readonly websocket: ServerWebSocket;
  /** The application data of the frame; `undefined` when it had none (as undici). */
  readonly payload: Buffer | undefined;
}

/** The message of `sockwise:server:error`: why a connection ended abnormally. */
export interface ServerErrorMessage {
  readonly websocket: ServerWebSocket;
  /** The stable `ERR_WS_*` code (docs/errors.md). */
  readonly code: string;
  readonly message: string;
  /** The underlying error (a socket or TLS error), when there is one. */
  readonly error?: unknown;
}

/** The channel objects (internal). */
export const channels = {
  open: channel(serverChannels.open),
  close: channel(serverChannels.close),
  handshakeRefused: channel(serverChannels.handshakeRefused),
  ping: channel(serverChannels.ping),
  pong: channel(serverChannels.pong),
  error: channel(serverChannels.error),
  socketError: channel(serverChannels.socketError),
};

/** Publishes a Ping or Pong when observed. */
export function publishPingPong(
  target: Channel,
  websocket: ServerWebSocket,
  data: Uint8Array,
): void {
  const payload =
    data.length === 0 ? undefined : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  target.publish({ websocket, payload } satisfies ServerPingPongMessage);
}

/** Publishes the close, and the error behind an abnormal close, when observed. */
export function publishClosed(websocket: ServerWebSocket, info: ServerCloseInfo): void {
  if (channels.close.hasSubscribers)
    channels.close.publish({ ...info, websocket } satisfies ServerCloseMessage);
  const cause = info.cause;
  if (cause === undefined) return;
  if (channels.error.hasSubscribers)
    channels.error.publish({ websocket, ...cause } satisfies ServerErrorMessage);
  if (cause.error !== undefined && channels.socketError.hasSubscribers)
    channels.socketError.publish(cause.error);
}
