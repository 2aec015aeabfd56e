/**
 * sockwise: a WHATWG-exact WebSocket client and an RFC 6455 server for Node.js 20+.
 *
 * @module
 */
export {
  WebSocket,
  ping,
  type WebSocketOptions,
  type CloseDetails,
  type PongInfo,
} from "./whatwg/websocket.js";
export { closeDetails } from "./whatwg/close-details-api.js";
export type { ClientOptions } from "./whatwg/client-options.js";
export { setGlobalOrigin, getGlobalOrigin } from "./whatwg/global-origin.js";
export {
  ReconnectingWebSocket,
  ReconnectEvent,
  type ReconnectingWebSocketOptions,
  type PerAttempt,
} from "./whatwg/reconnecting-websocket.js";
export {
  NO_RECONNECT_CODES,
  backoffDelayMs,
  type ReconnectContext,
  type BackoffBounds,
} from "./whatwg/reconnect-policy.js";
export { CloseEvent, MessageEvent, type CloseEventInit } from "./whatwg/events.js";
export {
  WebSocketStream,
  type WebSocketStreamOptions,
  type WebSocketOpenInfo,
  type WebSocketClosedInfo,
  type WebSocketStreamChunk,
  type WebSocketStreamMessage,
} from "./whatwg/stream/websocket-stream.js";
export { WebSocketError } from "./whatwg/stream/websocket-error.js";
export type { WebSocketCloseInfo } from "./whatwg/stream/close-info.js";
export type { CloseOutcome, CloseInitiator } from "./protocol/close-state.js";
export { CloseCode } from "./protocol/close-codes.js";
export {
  WebSocketServer,
  type ShutdownOptions,
  type ShutdownResult,
  type BroadcastResult,
  type WebSocketServerEvents,
} from "./server/server.js";
export type { RefusalInfo, RefusalReason } from "./server/refusal.js";
export {
  ServerWebSocket,
  type ServerCloseInfo,
  type ServerWebSocketEventMap,
} from "./server/server-socket.js";
export { ServerCloseEvent, ServerMessageEvent } from "./server/server-events.js";
export {
  MemoryBroker,
  MemoryHub,
  type Broker,
  type BrokerSink,
  type BrokerStatus,
} from "./server/broker.js";
export type { PublishResult } from "./server/topics.js";
export {
  SERVER_DEFAULTS,
  type WebSocketServerOptions,
  type AuthenticationResult,
  type UpgradeInfo,
  type HeartbeatOptions,
} from "./server/options.js";
