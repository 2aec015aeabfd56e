/**
 * The server's `node:diagnostics_channel` channels: their names and channel objects. The
 * message shapes are documented in diagnostics.ts; this file imports nothing from the server,
 * so the connection (server-socket.ts) can publish without an import cycle.
 *
 * @module
 */
import { channel } from "node:diagnostics_channel";

/**
 * The names of the server's diagnostics channels:
 * `diagnostics_channel.subscribe(serverChannels.open, (message) => …)`.
 */
export const serverChannels = {
  /** A connection opened (`ServerOpenMessage`; undici:websocket:open's shape). */
  open: "sockwise:server:open",
  /** A connection closed (`ServerCloseMessage`; undici:websocket:close's shape). */
  close: "sockwise:server:close",
  /** An opening handshake was refused (`HandshakeRefusedMessage`). */
  handshakeRefused: "sockwise:server:handshake_refused",
  /** A Ping arrived (`ServerPingPongMessage`; undici:websocket:ping's shape). */
  ping: "sockwise:server:ping",
  /** A Pong arrived (`ServerPingPongMessage`; undici:websocket:pong's shape). */
  pong: "sockwise:server:pong",
  /** A connection ended abnormally: protocol error, timeout, socket error (`ServerErrorMessage`). */
  error: "sockwise:server:error",
  /** The socket under a connection failed: the error itself, as undici:websocket:socket_error. */
  socketError: "sockwise:server:socket_error",
} as const;

/** The channel objects (internal): publish only `if (channels.x.hasSubscribers)`. */
export const channels = {
  open: channel(serverChannels.open),
  close: channel(serverChannels.close),
  handshakeRefused: channel(serverChannels.handshakeRefused),
  ping: channel(serverChannels.ping),
  pong: channel(serverChannels.pong),
  error: channel(serverChannels.error),
  socketError: channel(serverChannels.socketError),
};
