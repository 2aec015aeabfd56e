/**
 * The server's `node:diagnostics_channel` channels. Each is published only when someone
 * subscribes (`channel.hasSubscribers`), so an unobserved server pays one property read per
 * event. Where undici publishes the same fact for its client (`undici:websocket:open`, `close`,
 * `socket_error`, `ping`, `pong`), the payload has the same shape (and more fields), so a tool
 * written for undici's channels reads these too. Listed with examples in docs/observability.md.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { ServerCloseInfo } from "./server-events.js";
import type { ServerWebSocket } from "./server-socket.js";
import type { HandshakeRefusalReason } from "./server-stats.js";

export { serverChannels } from "./channels.js";

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
