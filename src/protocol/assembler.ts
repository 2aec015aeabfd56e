/**
 * Reassembly of data messages from frames (RFC 6455 §5.4, §6.2): continuation rules, the
 * per-message size and fragment limits (checked before anything is buffered), and incremental
 * UTF-8 validation of text that fails as soon as an invalid sequence appears.
 *
 * @module
 */
import { ProtocolError } from "./errors.js";
import { Opcode } from "./frame.js";
import type { FrameHeader } from "./frame-parser.js";
import { Utf8Validator } from "./utf8.js";

/** Limits on what a peer may make this endpoint buffer. */
export interface MessageLimits {
  /** The largest message, in bytes, once reassembled. */
  readonly maxMessageBytes: number;
  /** The most frames one message may be split into. */
  readonly maxFragments: number;
}

/** A complete message. */
export interface AssembledMessage {
  readonly binary: boolean;
  /** The payload; still DEFLATE-compressed (and not yet UTF-8 checked) when `compressed`. */
  readonly data: Uint8Array;
  /** RSV1 was set on the first frame: permessage-deflate compressed it (RFC 7692 §6). */
  readonly compressed: boolean;
}

const EMPTY = new Uint8Array(0);
const RSV1 = 0x4;

/** Zero-filled memory: the allocation of an engine whose host provides nothing faster. */
const allocateZeroed = (size: number): Uint8Array => new Uint8Array(size);

/**
 * Collects the frames of one message at a time. Payload slices are kept as given (no copy per
 * frame) and joined once, when the final frame ends. An unfragmented message whose payload spans
 * several chunks is instead written by the parser straight into one buffer of the message's size
 * ({@link MessageAssembler.payloadTarget}).
 *
 * Message buffers may come from uninitialised memory (the `allocate` function). No byte of one
 * reaches the application unless it was written: a buffer is handed out only once the payload
 * written into it has exactly its size, and dropped on every other path (a failure, a discard).
 */
export class MessageAssembler {
  readonly #limits: MessageLimits;
  readonly #utf8: Utf8Validator;
  #inMessage = false;
  #binary = false;
  #compressed = false;
  #discarding = false;
  #fragments = 0;
  #bytes = 0;
  #parts: Uint8Array[] = [];
  /** The buffer the parser is writing the current (single-frame) message into, if any. */
  #target: Uint8Array | undefined = undefined;
  readonly #allocate: (size: number) => Uint8Array;

  /**
   * @param allocate returns a new buffer of the given size that owns its whole `ArrayBuffer`;
   *   its contents may be uninitialised (e.g. `Accelerators.allocUninitialized`)
   */
  constructor(
    limits: MessageLimits,
    isUtf8?: (bytes: Uint8Array) => boolean,
    allocate: (size: number) => Uint8Array = allocateZeroed,
  ) {
    this.#limits = limits;
    this.#utf8 = new Utf8Validator(isUtf8);
    this.#allocate = allocate;
  }

  /**
   * From now on, keep checking the frame sequence but neither buffer nor validate payloads:
   * used once this endpoint has sent its Close (data is no longer delivered, SPEC.md L9).
   */
  discardFromNowOn(): void {
    this.#discarding = true;
    this.#parts = [];
    this.#target = undefined;
    this.#utf8.reset();
  }

  /**
   * Checks a data frame's header against the message in progress and the limits.
   * @throws {ProtocolError} 1002 for a continuation without a message or a new message inside
   *   one; 1009 when the message would exceed the size or fragment limit
   */
  startFrame(header: FrameHeader): void {
    if (header.opcode === Opcode.Continuation) {
      if (!this.#inMessage) {
        throw new ProtocolError(
          "ERR_WS_UNEXPECTED_CONTINUATION",
          "a continuation frame arrived with no message in progress",
        );
      }
      // RFC 7692 §6.1: RSV1 marks only the first frame of a compressed message (SPEC.md N12).
      if (header.rsv !== 0) {
        throw new ProtocolError("ERR_WS_UNEXPECTED_RSV", "RSV1 set on a continuation frame");
      }
    } else {
      if (this.#inMessage) {
        throw new ProtocolError(
          "ERR_WS_EXPECTED_CONTINUATION",
          "a new data frame arrived inside a fragmented message",
        );
      }
      this.#inMessage = true;
      this.#binary = header.opcode === Opcode.Binary;
      this.#compressed = (header.rsv & RSV1) !== 0;
      this.#fragments = 0;
      this.#bytes = 0;
      this.#target = undefined;
    }
    if (this.#discarding) return;
    this.#fragments++;
    if (this.#fragments > this.#limits.maxFragments) {
      throw new ProtocolError(
        "ERR_WS_TOO_MANY_FRAGMENTS",
        `a message may have at most ${this.#limits.maxFragments} frames`,
      );
    }
    // A compressed message is judged again, inflated, against the real limit; compressed, it may
    // exceed it a little when its data does not compress (Python websockets turns 1 MiB of
    // random bytes into 1 MiB + 2.5 KiB).
    const limit = this.#compressed
      ? compressedLimit(this.#limits.maxMessageBytes)
      : this.#limits.maxMessageBytes;
    if (this.#bytes + header.payloadLength > limit) {
      throw new ProtocolError(
        "ERR_WS_MESSAGE_TOO_BIG",
        `a message may be at most ${this.#limits.maxMessageBytes} bytes`,
      );
    }
  }

  /**
   * Called by the parser when the current frame's payload spans chunks (after
   * {@link MessageAssembler.startFrame} accepted it): for a message in one frame, returns a new
   * buffer of exactly its size for the parser to write the payload into, which saves joining
   * the pieces afterwards. Fragmented messages keep their pieces and are joined at the end.
   */
  payloadTarget(header: FrameHeader): Uint8Array | undefined {
    if (this.#discarding || !header.fin || header.opcode === Opcode.Continuation) return undefined;
    if (this.#bytes !== 0) return undefined;
    this.#target = this.#allocate(header.payloadLength);
    return this.#target;
  }

  /**
   * Takes the next payload piece of the current data frame (a view of the buffer from
   * {@link MessageAssembler.payloadTarget} when it gave one).
   * @throws {ProtocolError} 1007 as soon as a text message stops being valid UTF-8
   */
  payload(bytes: Uint8Array): void {
    if (this.#discarding) return;
    // Compressed text is checked once inflated (SPEC.md K1).
    if (!this.#binary && !this.#compressed && !this.#utf8.push(bytes)) {
      throw new ProtocolError("ERR_WS_INVALID_UTF8", "a text message is not valid UTF-8");
    }
    this.#bytes += bytes.length;
    if (this.#target === undefined) this.#parts.push(bytes);
  }

  /**
   * Ends the current data frame; returns the message when it was the final frame.
   * @throws {ProtocolError} 1007 when a text message ends inside a UTF-8 sequence
   */
  endFrame(header: FrameHeader): AssembledMessage | undefined {
    if (!header.fin) return undefined;
    this.#inMessage = false;
    if (this.#discarding) return undefined;
    if (!this.#binary && !this.#compressed && !this.#utf8.end()) {
      throw new ProtocolError("ERR_WS_INVALID_UTF8", "a text message ends inside a UTF-8 sequence");
    }
    const target = this.#target;
    let data: Uint8Array;
    if (target !== undefined) {
      this.#target = undefined;
      // Every byte of the (possibly uninitialised) buffer must have been written.
      if (this.#bytes !== target.length) {
        throw new ProtocolError("ERR_WS_INTERNAL_ERROR", "a message buffer was not filled");
      }
      data = target;
    } else {
      const parts = this.#parts;
      data =
        parts.length === 1
          ? parts[0]!
          : parts.length === 0
            ? EMPTY
            : join(parts, this.#bytes, this.#allocate);
      this.#parts = [];
    }
    return { binary: this.#binary, data, compressed: this.#compressed };
  }
}

/** Concatenates `parts` (`total` bytes in all) into a new buffer, every byte of it written. */
function join(
  parts: readonly Uint8Array[],
  total: number,
  allocate: (size: number) => Uint8Array,
): Uint8Array {
  const out = allocate(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  if (offset !== total) {
    throw new ProtocolError("ERR_WS_INTERNAL_ERROR", "a message buffer was not filled");
  }
  return out;
}

/**
 * The most compressed bytes worth buffering for a message that may inflate to `limit` bytes:
 * DEFLATE's worst-case growth is far below 1/64, so this refuses nothing a peer could send
 * honestly, while still bounding what is buffered before inflating.
 */
function compressedLimit(limit: number): number {
  return limit + Math.ceil(limit / 64) + 4096;
}
