/**
 * A streaming UTF-8 validator (RFC 3629) that carries partial code points across chunks, so a
 * text message split over many frames is judged as a whole yet fails as soon as an invalid
 * sequence is seen (RFC 6455 §8.1; "fail fast", SPEC.md K2–K5).
 *
 * @module
 */

// States of the validator: ACCEPT = at a code point boundary; REJECT = invalid; others say
// how many continuation bytes remain and which range the next one must fall in.
const ACCEPT = 0;
const REJECT = 1;
const CONT1 = 2; // one more continuation byte 80..BF
const CONT2 = 3; // two more, next 80..BF
const CONT3 = 4; // three more, next 80..BF
const E0_SECOND = 5; // after E0: next A0..BF (no overlongs)
const ED_SECOND = 6; // after ED: next 80..9F (no surrogates)
const F0_SECOND = 7; // after F0: next 90..BF (no overlongs)
const F4_SECOND = 8; // after F4: next 80..8F (nothing above U+10FFFF)

/** Returns the state after `byte` when starting from a code point boundary. */
function leadState(byte: number): number {
  if (byte < 0x80) return ACCEPT;
  if (byte < 0xc2) return REJECT; // stray continuation or overlong C0/C1
  if (byte < 0xe0) return CONT1;
  if (byte === 0xe0) return E0_SECOND;
  if (byte === 0xed) return ED_SECOND;
  if (byte < 0xf0) return CONT2;
  if (byte === 0xf0) return F0_SECOND;
  if (byte < 0xf4) return CONT3;
  if (byte === 0xf4) return F4_SECOND;
  return REJECT; // F5..FF
}

/** Returns the state after continuation-position `byte` in `state`. */
function nextState(state: number, byte: number): number {
  switch (state) {
    case CONT1:
      return byte >= 0x80 && byte <= 0xbf ? ACCEPT : REJECT;
    case CONT2:
      return byte >= 0x80 && byte <= 0xbf ? CONT1 : REJECT;
    case CONT3:
      return byte >= 0x80 && byte <= 0xbf ? CONT2 : REJECT;
    case E0_SECOND:
      return byte >= 0xa0 && byte <= 0xbf ? CONT1 : REJECT;
    case ED_SECOND:
      return byte >= 0x80 && byte <= 0x9f ? CONT1 : REJECT;
    case F0_SECOND:
      return byte >= 0x90 && byte <= 0xbf ? CONT2 : REJECT;
    case F4_SECOND:
      return byte >= 0x80 && byte <= 0x8f ? CONT2 : REJECT;
    default:
      return REJECT;
  }
}

/** Below this many bytes the state machine is cheaper than a call into the native check. */
const NATIVE_MIN_BYTES = 32;

/**
 * Checks UTF-8 incrementally. Feed every chunk of a message to {@link Utf8Validator.push},
 * then call {@link Utf8Validator.end}. Reuse it for the next message after `end()` or
 * {@link Utf8Validator.reset}.
 */
export class Utf8Validator {
  #state = ACCEPT;
  readonly #isUtf8: ((bytes: Uint8Array) => boolean) | undefined;

  /**
   * @param isUtf8 an optional native whole-buffer check (e.g. `buffer.isUtf8`) used for the
   *   complete code points in the middle of a chunk; the byte-level state machine then only
   *   handles sequences cut by chunk boundaries.
   */
  constructor(isUtf8?: (bytes: Uint8Array) => boolean) {
    this.#isUtf8 = isUtf8;
  }

  /** Returns false as soon as `bytes` makes the stream invalid; the state is then REJECT. */
  push(bytes: Uint8Array): boolean {
    let state = this.#state;
    if (state === REJECT) return false;
    const length = bytes.length;
    let i = 0;
    // Finish a sequence left open by the previous chunk.
    while (state !== ACCEPT && i < length) {
      state = nextState(state, bytes[i++]!);
      if (state === REJECT) {
        this.#state = REJECT;
        return false;
      }
    }
    if (this.#isUtf8 !== undefined && length - i >= NATIVE_MIN_BYTES) {
      // Let the native check take everything up to the last code point boundary (the whole
      // chunk, without making a view, in the common case of a complete text frame).
      const end = lastBoundary(bytes, i);
      if (end > i) {
        if (!this.#isUtf8(i === 0 && end === length ? bytes : bytes.subarray(i, end))) {
          this.#state = REJECT;
          return false;
        }
        i = end;
      }
    }
    for (; i < length; i++) {
      const byte = bytes[i]!;
      if (state === ACCEPT) {
        if (byte < 0x80) continue;
        state = leadState(byte);
      } else {
        state = nextState(state, byte);
      }
      if (state === REJECT) {
        this.#state = REJECT;
        return false;
      }
    }
    this.#state = state;
    return true;
  }

  /** Returns whether the stream ended on a code point boundary, and resets for reuse. */
  end(): boolean {
    const ok = this.#state === ACCEPT;
    this.#state = ACCEPT;
    return ok;
  }

  /** Forgets any partial state (e.g. when a message is abandoned). */
  reset(): void {
    this.#state = ACCEPT;
  }
}

/**
 * Returns the index just past the last complete code point at or after `start`, judged only by
 * lead bytes: the tail from there on is an unfinished sequence (at most 3 bytes) that the
 * state machine must carry into the next chunk.
 */
function lastBoundary(bytes: Uint8Array, start: number): number {
  const length = bytes.length;
  // Look back over at most 3 trailing continuation bytes for a lead byte.
  for (let back = 1; back <= 4 && length - back >= start; back++) {
    const byte = bytes[length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte, keep looking
    if (byte < 0x80) return length; // ASCII: the chunk ends on a boundary
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return back >= needed ? length : length - back;
  }
  // Only continuation bytes at the end: let the native check judge them (they are invalid
  // unless a lead byte precedes them, and then the native check sees the whole sequence).
  return length;
}

/** Returns whether `bytes` is complete, well-formed UTF-8. */
export function isValidUtf8(bytes: Uint8Array, isUtf8?: (bytes: Uint8Array) => boolean): boolean {
  if (isUtf8 !== undefined) return isUtf8(bytes);
  const validator = new Utf8Validator();
  return validator.push(bytes) && validator.end();
}
