/**
 * The sans-I/O RFC 6455 protocol core: `import { Engine } from "sockwise/protocol"` to drive a
 * WebSocket connection over any transport.
 *
 * @module
 */
export {
  Engine,
  ENGINE_DEFAULTS,
  type EngineOptions,
  type MessageKind,
  type Role,
} from "./engine.js";
export type * from "./outputs.js";
export type { CloseOutcome, CloseInitiator, CloseFrameInfo, ClosePhase } from "./close-state.js";
export {
  CloseCode,
  MAX_CLOSE_REASON_BYTES,
  isWireCloseCode,
  type NamedCloseCode,
} from "./close-codes.js";
export {
  ProtocolError,
  ProtocolErrorCodes,
  AbnormalCauseCodes,
  type ProtocolErrorCode,
  type AbnormalCause,
  type AbnormalCauseCode,
} from "./errors.js";
export { Opcode } from "./frame.js";
export type { Ports, RandomSource, Sha1, Clock, Accelerators } from "./ports.js";
