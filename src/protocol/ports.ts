/**
 * Capabilities the sans-I/O protocol core needs from its host, injected so that the core
 * itself stays free of `node:*`, timers and global randomness (STYLE.md §2). The Node
 * implementations live in `src/node/node-ports.ts`; tests use deterministic fakes.
 *
 * @module
 */

/** A source of cryptographically strong random bytes (mask keys, `Sec-WebSocket-Key`). */
export interface RandomSource {
  /**
   * Fills `target` with fresh random bytes.
   * @see RFC 6455 §5.3 (mask keys must be unpredictable) and §10.3
   */
  fill(target: Uint8Array): void;
}

/** SHA-1, needed only to compute and check `Sec-WebSocket-Accept`. */
export interface Sha1 {
  /** Returns the 20-byte SHA-1 digest of `data`. */
  digest(data: Uint8Array): Uint8Array;
  /**
   * Optional fast path: base64 of the SHA-1 digest of `text` encoded as latin1 (one byte per
   * code unit), i.e. `encodeBase64(digest(encodeLatin1(text)))`, in one native call.
   */
  digestLatin1ToBase64?(text: string): string;
}

/** A monotonic clock in milliseconds; only differences between readings matter. */
export interface Clock {
  /** The current reading, in milliseconds. */
  now(): number;
}

/**
 * Optional fast paths for hot primitives. The core has pure TypeScript fallbacks for each,
 * so a host may leave any of them out.
 */
export interface Accelerators {
  /** Returns whether the whole of `bytes` is well-formed UTF-8 (e.g. `buffer.isUtf8`). */
  isUtf8?(bytes: Uint8Array): boolean;
  /**
   * XORs `bytes` in place with the 4-byte `maskKey`, starting at key position `keyOffset`
   * (0–3), and returns the key offset for the next byte. Must behave exactly like
   * `applyMask` in mask.ts.
   */
  applyMask?(bytes: Uint8Array, maskKey: Uint8Array, keyOffset: number): number;
  /**
   * Writes `source` XOR the 4-byte `maskKey` into `target` (of the same length; possibly
   * `source` itself), `source[0]` lining up with key position `keyOffset`, and returns the key
   * offset for the next byte. Must behave exactly like `maskInto` in mask.ts.
   * Used to unmask a payload straight into its message buffer, and to mask a client's frame.
   */
  maskInto?(source: Uint8Array, target: Uint8Array, maskKey: Uint8Array, keyOffset: number): number;
  /**
   * Returns a new buffer of `size` bytes that owns its whole `ArrayBuffer` and whose contents
   * may be anything (e.g. `Buffer.allocUnsafeSlow`): the engine writes every byte of it before
   * any of it leaves the engine. Without it the engine allocates zero-filled memory.
   */
  allocUninitialized?(size: number): Uint8Array;
}

/** Everything a protocol engine may be given by its host. */
export interface Ports {
  readonly random: RandomSource;
  readonly clock: Clock;
  readonly accelerators?: Accelerators;
}

/** Why a {@link DeflateCodec} could not decompress a message. */
export type InflateFailure = "too-big" | "corrupt";

/**
 * Raw DEFLATE (RFC 1951) for permessage-deflate, synchronous and stateless: every call is one
 * whole message, and context takeover is expressed by passing the previous window as a preset
 * `dictionary` (the LZ77 window is exactly the most recent uncompressed bytes). So no zlib
 * state lives between messages.
 */
export interface DeflateCodec {
  /**
   * Compresses `data` into DEFLATE blocks ending with an empty stored block (a sync flush), and
   * returns them **without** the final `00 00 ff ff` (RFC 7692 §7.2.1).
   */
  deflate(
    data: Uint8Array,
    options: { readonly windowBits: number; readonly dictionary?: Uint8Array },
  ): Uint8Array;
  /**
   * Appends `00 00 ff ff` to `data` and inflates it (RFC 7692 §7.2.2), producing at most
   * `maxBytes` bytes: beyond that it stops and reports `too-big` without allocating the rest.
   * @returns the bytes, or the reason it failed
   */
  inflate(
    data: Uint8Array,
    options: {
      readonly windowBits: number;
      readonly dictionary?: Uint8Array;
      readonly maxBytes: number;
    },
  ): Uint8Array | InflateFailure;
}
