/**
 * sockwise: a WHATWG-exact WebSocket client and an RFC 6455 server for Node.js 20+.
 *
 * @module
 */
export {
  WebSocket,
  closeDetails,
  ping,
  type WebSocketOptions,
  type CloseDetails,
  type PongInfo,
} from "./whatwg/websocket.js";
export { CloseEvent, MessageEvent, type CloseEventInit } from "./whatwg/events.js";
export type { CloseOutcome, CloseInitiator } from "./protocol/close-state.js";
export { CloseCode } from "./protocol/close-codes.js";
export {
  WebSocketServer,
  type ShutdownOptions,
  type ShutdownResult,
  type BroadcastResult,
  type WebSocketServerEvents,
} from "./server/server.js";
export {
  ServerWebSocket,
  type ServerCloseInfo,
  type ServerWebSocketEventMap,
  type ServerMessageEvent,
} from "./server/server-socket.js";
export { ServerCloseEvent } from "./server/server-events.js";
export {
  SERVER_DEFAULTS,
  type WebSocketServerOptions,
  type AuthenticationResult,
  type UpgradeInfo,
  type HeartbeatOptions,
} from "./server/options.js";
