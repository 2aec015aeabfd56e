/**
 * The sans-I/O opening handshake: HTTP head parsing, header grammar, and the client and server
 * sides of the RFC 6455 upgrade.
 *
 * @see RFC 6455 §4
 * @module
 */
export {
  HandshakeError,
  HandshakeErrorCodes,
  type HandshakeErrorCode,
  type HandshakeErrorOptions,
  type HandshakeResponseInfo,
} from "./handshake-error.js";
export {
  DEFAULT_HTTP_HEAD_LIMITS,
  getHeaderValues,
  HttpHeadParser,
  type HttpHeadByKind,
  type HttpHeader,
  type HttpHeadKind,
  type HttpHeadLimits,
  type HttpRequestHead,
  type HttpResponseHead,
} from "./http-head.js";
export {
  formatExtensions,
  isToken,
  parseExtensions,
  parseProtocolList,
  parseTokenList,
  type ExtensionParam,
  type ParsedExtension,
} from "./header-grammar.js";
export {
  buildClientRequest,
  ClientHandshake,
  computeAccept,
  validateServerResponse,
  WEBSOCKET_GUID,
  WEBSOCKET_VERSION,
  type ClientHandshakeOptions,
  type ClientHandshakePorts,
  type ClientHandshakeResult,
  type ClientRequest,
  type ClientRequestOptions,
  type ExtensionResponseValidator,
  type NegotiatedHandshake,
  type ServerResponseHooks,
} from "./client-handshake.js";
export {
  buildAcceptResponse,
  buildAcceptResponseHead,
  buildRejectResponse,
  DEFAULT_STATUS_TEXTS,
  validateRawUpgradeRequest,
  validateUpgradeRequest,
  type AcceptableUpgradeRequest,
  type AcceptResponseOptions,
  type RejectedUpgradeRequest,
  type RejectResponseOptions,
  type UpgradeRequest,
  type UpgradeRequestValidation,
} from "./server-handshake.js";
