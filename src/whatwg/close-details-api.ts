/**
 * The public `closeDetails()`: how a client socket closed, beyond what the standard events say.
 * It lives apart from close-details.ts so that it can name every client socket type without an
 * import cycle (the sockets import the recorder, this module imports the sockets).
 *
 * @module
 */
import { readCloseDetails, type CloseDetails } from "./close-details.js";
import type { ReconnectingWebSocket } from "./reconnecting-websocket.js";
import type { WebSocketStream } from "./stream/websocket-stream.js";
import type { WebSocket } from "./websocket.js";

/**
 * Returns how `socket` closed, including why it failed (refused handshake status, socket or TLS
 * error, proxy failure, protocol error code). Non-standard: the standard events and errors
 * deliberately hide causes (SPEC.md E20), so sockwise keeps them here. `undefined` until the
 * connection is closed (the `close` event has fired, or the `closed` promise has settled). For a
 * `ReconnectingWebSocket`, the details of its last connection.
 */
export function closeDetails(
  socket: WebSocket | WebSocketStream | ReconnectingWebSocket,
): CloseDetails | undefined {
  return readCloseDetails(socket);
}
