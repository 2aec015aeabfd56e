/**
 * sockwise: a WHATWG-exact WebSocket client and an RFC 6455 server for Node.js 20+.
 *
 * @module
 */
export {
  WebSocket,
  closeDetails,
  type WebSocketOptions,
  type CloseDetails,
} from "./whatwg/websocket.js";
export { CloseEvent, MessageEvent, type CloseEventInit } from "./whatwg/events.js";
export type { CloseOutcome, CloseInitiator } from "./protocol/close-state.js";
export { CloseCode } from "./protocol/close-codes.js";
