/**
 * Builds a complete server data frame (header and payload in one buffer) once, so that the same
 * bytes can be written to many connections (topics: a message is framed once per process).
 *
 * @module
 */
import { Opcode, headerLength, writeHeader } from "./frame.js";
import type { MessageKind } from "./engine.js";

/** The "Per-Message Compressed" bit (RFC 7692 §6). */
const RSV1 = 0x4;

/**
 * Returns one unmasked, final data frame carrying `payload` (RFC 6455 §5.2; a server never
 * masks, §5.1). With `compressed`, RSV1 is set: `payload` must then be the output of the
 * connection's permessage-deflate compressor for a message (RFC 7692 §7.2.1).
 *
 * @param allocate where the frame's memory comes from (uninitialised memory in Node); every
 *   byte is written
 */
export function buildServerDataFrame(
  kind: MessageKind,
  payload: Uint8Array,
  compressed: boolean,
  allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size),
): Uint8Array {
  const length = payload.length;
  const header = headerLength(length, false);
  const frame = allocate(header + length);
  writeHeader(
    frame,
    0,
    true,
    compressed ? RSV1 : 0,
    kind === "text" ? Opcode.Text : Opcode.Binary,
    length,
    undefined,
  );
  frame.set(payload, header);
  return frame;
}
