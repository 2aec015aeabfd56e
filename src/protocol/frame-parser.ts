/**
 * An incremental frame parser: feed it chunks of any size (one byte at a time up to many frames
 * at once) and it reports each frame's header, its payload (unmasked, as slices of the input)
 * and its end. Structural rules that need no message context are checked here; message-level
 * rules (continuations, size limits, UTF-8) belong to the sink. The one size rule here refuses
 * lengths above 2^53 − 1, which no limit could be checked against exactly (SPEC.md P6).
 *
 * @module
 */
import { ProtocolError } from "./errors.js";
import {
  MAX_CONTROL_PAYLOAD_BYTES,
  MAX_HEADER_BYTES,
  isControlOpcode,
  isKnownOpcode,
} from "./frame.js";
import { applyMask } from "./mask.js";

/**
 * The header of the frame being parsed. The parser passes itself (its getters describe the
 * current frame), so a sink must copy what it wants to keep.
 */
export interface FrameHeader {
  fin: boolean;
  /** The RSV bits as a number 0–7 (RSV1 = 4, RSV2 = 2, RSV3 = 1). */
  rsv: number;
  opcode: number;
  masked: boolean;
  payloadLength: number;
}

/** Receives what the parser finds. Any method may throw a {@link ProtocolError}. */
export interface FrameSink {
  /** Called once the whole header is known, before any payload byte is buffered. */
  onFrameHeader(header: FrameHeader): void;
  /**
   * Optional. Called before the first payload piece of a frame whose payload does not all lie in
   * the chunk being parsed. The sink may return a buffer of exactly `header.payloadLength`
   * bytes: the parser then writes the payload into it (unmasking as it copies, so each byte is
   * moved once) and the pieces given to {@link FrameSink.onFramePayload} are views of it. When
   * it returns `undefined`, the pieces are views of the chunks, unmasked in place.
   */
  payloadTarget?(header: FrameHeader): Uint8Array | undefined;
  /** Called with consecutive pieces of the payload, already unmasked; never empty. */
  onFramePayload(bytes: Uint8Array): void;
  /** Called after the last payload byte (at once for an empty payload). */
  onFrameEnd(header: FrameHeader): void;
}

/** How the parser judges frames it receives. */
export interface FrameParserOptions {
  /** True on the server: every frame must be masked. False on the client: none may be. */
  expectMasked: boolean;
  /** RSV bits that a negotiated extension defines (e.g. 4 for permessage-deflate's RSV1). */
  allowedRsv?: number;
  /** A faster unmasking routine with the contract of {@link applyMask} (e.g. from a port). */
  applyMask?: (bytes: Uint8Array, maskKey: Uint8Array, keyOffset: number) => number;
  /**
   * A faster unmask-while-copying routine with the contract of `maskInto` (mask.ts); without it a
   * copy is followed by `applyMask`.
   */
  maskInto?:
    | ((source: Uint8Array, target: Uint8Array, maskKey: Uint8Array, keyOffset: number) => number)
    | undefined;
}

/** The high 32 bits of 2^53 − 1, the largest length a number holds exactly. */
const MAX_SAFE_HIGH = 0x1fffff;

/** Flags of a parser, above its allowed RSV bits (0–7). Reading a payload, not a header. */
const IN_PAYLOAD = 8;
const HALTED = 16;
const RSV_BITS = 7;
/** In {@link FrameParser.#head}, above the first header byte: the MASK bit. */
const MASKED = 0x100;

/**
 * One scratch key for every parser: a parser keeps its frame's key as a number, and the bytes
 * are only needed for the duration of one synchronous unmasking call. (A 4-byte `Uint8Array`
 * per connection costs about 200 bytes of heap with its `ArrayBuffer`.)
 */
const MASK_KEY_SCRATCH = new Uint8Array(4);

function maskKeyBytes(key: number): Uint8Array {
  MASK_KEY_SCRATCH[0] = key >>> 24;
  MASK_KEY_SCRATCH[1] = (key >>> 16) & 0xff;
  MASK_KEY_SCRATCH[2] = (key >>> 8) & 0xff;
  MASK_KEY_SCRATCH[3] = key & 0xff;
  return MASK_KEY_SCRATCH;
}

/**
 * Parses frames incrementally.
 *
 * Payload bytes are unmasked **in place in the chunks given to {@link FrameParser.push}**, and
 * the slices handed to the sink are views of those chunks: the caller gives up ownership of
 * each chunk it pushes. A payload that spans chunks may instead be copied (and unmasked on the
 * way) into a buffer the sink provides ({@link FrameSink.payloadTarget}).
 */
export class FrameParser implements FrameHeader {
  // Memory per connection matters on a server with many idle connections: the options object is
  // kept (an engine passes one shared by all its parsers), the current header is two numbers
  // of the parser itself, and the small flags share one number.
  readonly #sink: FrameSink;
  readonly #options: FrameParserOptions;
  /** The allowed RSV bits, {@link IN_PAYLOAD} and {@link HALTED}. */
  #flags: number;
  /** The first header byte of the current frame (FIN, RSV, opcode), and {@link MASKED}. */
  #head = 0;
  #payloadLength = 0;
  /** The frame's masking key as a big-endian 32-bit number (see {@link maskKeyBytes}). */
  #maskKey = 0;
  #keyOffset = 0;
  #remaining = 0;
  /** Where the current frame's payload is being copied, if the sink gave a buffer. */
  #target: Uint8Array | undefined = undefined;
  /** A header cut by a chunk boundary is gathered here (allocated the first time it happens). */
  #headerBytes: Uint8Array | undefined;
  #headerFill = 0;

  /** The parser keeps `options`: do not change them afterwards. */
  constructor(sink: FrameSink, options: FrameParserOptions) {
    this.#sink = sink;
    this.#options = options;
    this.#flags = (options.allowedRsv ?? 0) & RSV_BITS;
  }

  /** The current frame's FIN bit. */
  get fin(): boolean {
    return (this.#head & 0x80) !== 0;
  }

  /** The current frame's RSV bits as a number 0–7 (RSV1 = 4, RSV2 = 2, RSV3 = 1). */
  get rsv(): number {
    return (this.#head >> 4) & 0x7;
  }

  /** The current frame's opcode. */
  get opcode(): number {
    return this.#head & 0xf;
  }

  /** Whether the current frame is masked. */
  get masked(): boolean {
    return (this.#head & MASKED) !== 0;
  }

  /** The current frame's payload length. */
  get payloadLength(): number {
    return this.#payloadLength;
  }

  /** Changes which RSV bits are allowed (once an extension is negotiated). */
  setAllowedRsv(bits: number): void {
    this.#flags = (this.#flags & ~RSV_BITS) | (bits & RSV_BITS);
  }

  /** Stops parsing: later input, and the rest of the current chunk, are ignored. */
  halt(): void {
    this.#flags |= HALTED;
  }

  /** Whether {@link FrameParser.halt} was called. */
  get halted(): boolean {
    return (this.#flags & HALTED) !== 0;
  }

  /**
   * Parses `chunk`, calling the sink for what it completes.
   * @throws {ProtocolError} for a structurally invalid frame, or whatever the sink throws
   */
  push(chunk: Uint8Array): void {
    const length = chunk.length;
    let pos = 0;
    while (pos < length && (this.#flags & HALTED) === 0) {
      if ((this.#flags & IN_PAYLOAD) === 0) {
        pos = this.#readHeader(chunk, pos);
        continue;
      }
      const payloadLength = this.#payloadLength;
      const masked = (this.#head & MASKED) !== 0;
      const remaining = this.#remaining;
      const take = Math.min(remaining, length - pos);
      const source = chunk.subarray(pos, pos + take);
      pos += take;
      this.#remaining = remaining - take;
      // A payload cut by the end of the chunk: the sink may take it into one buffer of its own.
      if (remaining === payloadLength && take < remaining) {
        this.#target = this.#sink.payloadTarget?.(this);
        if ((this.#flags & HALTED) !== 0) return;
      }
      const target = this.#target;
      let piece = source;
      if (target !== undefined) {
        const at = payloadLength - remaining;
        piece = target.subarray(at, at + take);
        const maskInto = this.#options.maskInto;
        if (masked && maskInto !== undefined) {
          this.#keyOffset = maskInto(source, piece, maskKeyBytes(this.#maskKey), this.#keyOffset);
        } else {
          piece.set(source);
          if (masked) this.#unmask(piece);
        }
      } else if (masked) {
        this.#unmask(source);
      }
      this.#sink.onFramePayload(piece);
      if (this.#remaining === 0 && (this.#flags & HALTED) === 0) this.#endFrame();
    }
  }

  #unmask(bytes: Uint8Array): void {
    this.#keyOffset = (this.#options.applyMask ?? applyMask)(
      bytes,
      maskKeyBytes(this.#maskKey),
      this.#keyOffset,
    );
  }

  /** Reads header bytes from `chunk` at `pos`; returns the new position. */
  #readHeader(chunk: Uint8Array, pos: number): number {
    if (this.#headerFill === 0 && chunk.length - pos >= 2) {
      const needed = this.#checkFirstBytes(chunk[pos]!, chunk[pos + 1]!);
      if (chunk.length - pos >= needed) {
        this.#decodeHeader(chunk, pos);
        return pos + needed;
      }
    }
    // Slow path: the header is cut by a chunk boundary, so gather it byte by byte.
    const buffer = (this.#headerBytes ??= new Uint8Array(MAX_HEADER_BYTES));
    while (pos < chunk.length) {
      buffer[this.#headerFill++] = chunk[pos++]!;
      if (this.#headerFill < 2) continue;
      const needed = this.#checkFirstBytes(buffer[0]!, buffer[1]!);
      if (this.#headerFill === needed) {
        this.#headerFill = 0;
        this.#decodeHeader(buffer, 0);
        return pos;
      }
    }
    return pos;
  }

  /**
   * Checks what the first two header bytes alone can tell (so that a bad frame fails before
   * its extended length arrives) and returns the full header length.
   */
  #checkFirstBytes(byte0: number, byte1: number): number {
    const rsv = (byte0 >> 4) & 0x7;
    const opcode = byte0 & 0xf;
    if ((rsv & ~(this.#flags & RSV_BITS)) !== 0) {
      throw new ProtocolError(
        "ERR_WS_UNEXPECTED_RSV",
        `RSV bits ${rsv.toString(2).padStart(3, "0")} set without an extension that defines them`,
      );
    }
    if (!isKnownOpcode(opcode)) {
      throw new ProtocolError("ERR_WS_INVALID_OPCODE", `reserved opcode 0x${opcode.toString(16)}`);
    }
    const masked = (byte1 & 0x80) !== 0;
    if (masked !== this.#options.expectMasked) {
      throw masked
        ? new ProtocolError("ERR_WS_MASKED_FRAME", "a server must not mask the frames it sends")
        : new ProtocolError("ERR_WS_UNMASKED_FRAME", "a client must mask every frame it sends");
    }
    const length7 = byte1 & 0x7f;
    if (isControlOpcode(opcode)) {
      if ((byte0 & 0x80) === 0) {
        throw new ProtocolError(
          "ERR_WS_FRAGMENTED_CONTROL_FRAME",
          "control frames must not be fragmented",
        );
      }
      if (length7 > MAX_CONTROL_PAYLOAD_BYTES) {
        throw new ProtocolError(
          "ERR_WS_CONTROL_FRAME_TOO_LONG",
          "control frames carry at most 125 bytes",
        );
      }
    }
    const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    return 2 + extended + (masked ? 4 : 0);
  }

  /** Decodes a complete header that starts at `bytes[at]`, then tells the sink. */
  #decodeHeader(bytes: Uint8Array, at: number): void {
    const byte0 = bytes[at]!;
    const byte1 = bytes[at + 1]!;
    const masked = (byte1 & 0x80) !== 0;
    this.#head = masked ? byte0 | MASKED : byte0;
    let length = byte1 & 0x7f;
    let o = at + 2;
    if (length === 126) {
      length = (bytes[o]! << 8) | bytes[o + 1]!;
      o += 2;
    } else if (length === 127) {
      const high =
        ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
      const low =
        ((bytes[o + 4]! << 24) | (bytes[o + 5]! << 16) | (bytes[o + 6]! << 8) | bytes[o + 7]!) >>>
        0;
      if (high >= 0x80000000) {
        throw new ProtocolError(
          "ERR_WS_INVALID_PAYLOAD_LENGTH",
          "the most significant bit of a 64-bit length must be 0",
        );
      }
      // Above 2^53 − 1 the length is no longer exact as a number, and no limit (not even an
      // infinite one) could be checked reliably: refuse it before anything is buffered (P6).
      if (high > MAX_SAFE_HIGH) {
        throw new ProtocolError(
          "ERR_WS_MESSAGE_TOO_BIG",
          "a frame longer than 2^53 - 1 bytes is refused",
        );
      }
      length = high * 0x100000000 + low;
      o += 8;
    }
    // A longer-than-needed length encoding is accepted on receipt (SPEC.md H3).
    this.#payloadLength = length;
    if (masked) {
      this.#maskKey =
        ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
    }
    this.#keyOffset = 0;
    this.#sink.onFrameHeader(this);
    if ((this.#flags & HALTED) !== 0) return;
    if (length === 0) {
      this.#endFrame();
    } else {
      this.#remaining = length;
      this.#flags |= IN_PAYLOAD;
    }
  }

  #endFrame(): void {
    this.#flags &= ~IN_PAYLOAD;
    this.#target = undefined;
    this.#sink.onFrameEnd(this);
  }
}
