/**
 * The frame layout of RFC 6455 §5.2: opcodes, and header serialisation with the shortest
 * length encoding.
 *
 * @module
 */

/** Frame opcodes (RFC 6455 §5.2, §11.8). 3–7 and 0xB–0xF are reserved. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** A defined opcode. */
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** Control frames carry at most this many payload bytes (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;

/** The longest frame header: 2 bytes, an 8-byte extended length and a 4-byte mask key. */
export const MAX_HEADER_BYTES = 14;

/** Returns whether `opcode` is a control opcode (Close, Ping, Pong, or reserved 0xB–0xF). */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** Returns whether `opcode` is one RFC 6455 defines. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

/** Returns the header length for a payload of `payloadLength` bytes. */
export function headerLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Writes a frame header into `target` at `offset` and returns the offset after it. The length
 * uses the shortest encoding (RFC 6455 §5.2: "the minimal number of bytes MUST be used").
 *
 * @param rsv the three RSV bits as a number 0–7 (RSV1 = 4)
 * @param maskKey the 4-byte key to put in the header, or `undefined` for an unmasked frame
 */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  fin: boolean,
  rsv: number,
  opcode: number,
  payloadLength: number,
  maskKey: Uint8Array | undefined,
): number {
  let o = offset;
  target[o++] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const maskBit = maskKey === undefined ? 0 : 0x80;
  if (payloadLength < 126) {
    target[o++] = maskBit | payloadLength;
  } else if (payloadLength < 0x10000) {
    target[o++] = maskBit | 126;
    target[o++] = payloadLength >>> 8;
    target[o++] = payloadLength & 0xff;
  } else {
    target[o++] = maskBit | 127;
    const high = Math.floor(payloadLength / 0x100000000);
    const low = payloadLength >>> 0;
    target[o++] = high >>> 24;
    target[o++] = (high >>> 16) & 0xff;
    target[o++] = (high >>> 8) & 0xff;
    target[o++] = high & 0xff;
    target[o++] = low >>> 24;
    target[o++] = (low >>> 16) & 0xff;
    target[o++] = (low >>> 8) & 0xff;
    target[o++] = low & 0xff;
  }
  if (maskKey !== undefined) {
    target[o++] = maskKey[0]!;
    target[o++] = maskKey[1]!;
    target[o++] = maskKey[2]!;
    target[o++] = maskKey[3]!;
  }
  return o;
}
