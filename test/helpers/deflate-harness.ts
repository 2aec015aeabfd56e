/**
 * permessage-deflate test helpers: an {@link EngineHarness} whose engine has negotiated
 * permessage-deflate (RFC 7692) with given parameters, a reference DEFLATE implementation built
 * straight on `node:zlib` streams (a real, stateful compressor/decompressor, independent of the
 * stateless dictionary-based codec under test), a frame decoder for what an engine wrote, and
 * deterministic corpora (JSON-like text, random bytes).
 *
 * @module
 */
import {
  constants,
  createDeflateRaw,
  createInflateRaw,
  deflateRawSync,
  inflateRawSync,
} from "node:zlib";
import type { DeflateRaw, InflateRaw } from "node:zlib";
import { createDeflateCodec } from "../../src/node/deflate-codec.js";
import {
  PerMessageDeflate,
  type DeflateParameters,
} from "../../src/protocol/extensions/permessage-deflate.js";
import { Engine, type Role } from "../../src/protocol/engine.js";
import type { Output } from "../../src/protocol/outputs.js";
import type { DeflateCodec } from "../../src/protocol/ports.js";
import { chunkings, type Chunking } from "./chunking.js";
import { EngineHarness, type HarnessOptions } from "./engine-harness.js";
import { concat } from "./frames.js";

/** The empty stored block a sync flush ends with (RFC 7692 §7.2.1). */
export const SYNC_TAIL: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** The RSV1 bit in the {@link PeerFrameOptions} sense (RSV1 = 4). */
export const RSV1 = 4;

/** Context takeover in both directions, 32 KiB windows: what an absent parameter means (N11). */
export const TAKEOVER_15: DeflateParameters = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

/** sockwise's server default: no context takeover in either direction. */
export const NO_TAKEOVER_15: DeflateParameters = {
  ...TAKEOVER_15,
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
};

/** Options of a {@link DeflateHarness}. */
export interface DeflateHarnessOptions extends HarnessOptions {
  /** Default: the real Node codec with its defaults. */
  readonly codec?: DeflateCodec;
  /** Default 0: every message that shrinks is compressed. */
  readonly thresholdBytes?: number;
}

/**
 * An {@link EngineHarness} whose engine negotiated permessage-deflate with `parameters`. The
 * base class builds an engine without the extension; this one replaces it, before any use, by
 * an engine on the same fake ports with a {@link PerMessageDeflate} (helpers only read
 * `engine`, so every base assertion applies unchanged).
 */
export class DeflateHarness extends EngineHarness {
  readonly deflate: PerMessageDeflate;

  constructor(
    role: Role,
    parameters: Partial<DeflateParameters> = {},
    options: DeflateHarnessOptions = {},
  ) {
    super(role, options);
    this.deflate = new PerMessageDeflate({
      isClient: role === "client",
      parameters: { ...TAKEOVER_15, ...parameters },
      codec: options.codec ?? createDeflateCodec(),
      thresholdBytes: options.thresholdBytes ?? 0,
    });
    const accelerators = options.accelerators;
    (this as { engine: Engine }).engine = new Engine({
      role,
      ports:
        accelerators === undefined
          ? { random: this.random, clock: this.clock }
          : { random: this.random, clock: this.clock, accelerators },
      deflate: this.deflate,
      ...(options.maxMessageBytes === undefined
        ? {}
        : { maxMessageBytes: options.maxMessageBytes }),
      ...(options.maxFragments === undefined ? {} : { maxFragments: options.maxFragments }),
      ...(options.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: options.closeTimeoutMs }),
      ...(options.tcpCloseWaitMs === undefined ? {} : { tcpCloseWaitMs: options.tcpCloseWaitMs }),
    });
  }

  /** A compressed data frame from the peer (RSV1 set unless `rsv` says otherwise). */
  peerCompressed(
    opcode: number,
    compressed: Uint8Array,
    options: { readonly fin?: boolean; readonly rsv?: number } = {},
  ): Uint8Array {
    return this.peerFrame(opcode, compressed, {
      fin: options.fin ?? true,
      rsv: options.rsv ?? RSV1,
    });
  }

  /** Takes the new outputs and decodes the frames written (unmasking a client's). */
  takeFrames(): { frames: DecodedFrame[]; others: Output[] } {
    const outputs = this.take();
    const writes = outputs.filter((o) => o.type === "write").map((o) => o.data);
    return {
      frames: decodeFrames(concat(...writes), this.role === "client"),
      others: outputs.filter((o) => o.type !== "write"),
    };
  }
}

/**
 * Runs `check` once per chunking of `input` (see chunking.ts), each time on a fresh
 * {@link DeflateHarness} that has received the chunks; a failure names the chunking.
 */
export function forEveryDeflateChunking(
  role: Role,
  input: Uint8Array,
  check: (h: DeflateHarness, chunking: Chunking) => void,
  parameters: Partial<DeflateParameters> = {},
  options: DeflateHarnessOptions = {},
  splitPoints?: Iterable<number>,
): void {
  for (const chunking of chunkings(input, splitPoints)) {
    const h = new DeflateHarness(role, parameters, options);
    h.receive(...chunking.chunks);
    try {
      check(h, chunking);
    } catch (error) {
      if (error instanceof Error) error.message = `[${role}, ${chunking.label}] ${error.message}`;
      throw error;
    }
  }
}

/** A frame as written by an engine. */
export interface DecodedFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  /** Unmasked. */
  readonly payload: Uint8Array;
  /** Header length plus payload length: the frame's size on the wire. */
  readonly wireBytes: number;
}

/**
 * Decodes consecutive whole frames (RFC 6455 §5.2), independently of src/protocol.
 * @param expectMasked - Whether every frame must be masked (a client's) or none (a server's).
 */
export function decodeFrames(bytes: Uint8Array, expectMasked: boolean): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const b0 = bytes[at++]!;
    const b1 = bytes[at++]!;
    let length = b1 & 0x7f;
    if (length === 126) {
      length = (bytes[at]! << 8) | bytes[at + 1]!;
      at += 2;
    } else if (length === 127) {
      length = 0;
      for (let i = 0; i < 8; i++) length = length * 256 + bytes[at + i]!;
      at += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked !== expectMasked) throw new Error(`frame at ${start}: MASK bit is ${masked}`);
    const key = masked ? bytes.subarray(at, at + 4) : undefined;
    if (masked) at += 4;
    if (at + length > bytes.length) throw new Error(`frame at ${start} is truncated`);
    const payload = bytes.slice(at, at + length);
    if (key !== undefined) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    at += length;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 7,
      opcode: b0 & 0x0f,
      masked,
      payload,
      wireBytes: at - start,
    });
  }
  return frames;
}

// ---- a reference DEFLATE peer ----------------------------------------------------------------

/** One message compressed the RFC 7692 §7.2.1 way by the reference compressor. */
export function referenceDeflate(data: Uint8Array, windowBits = 15, level = 6): Uint8Array {
  const out = deflateRawSync(data, { windowBits, level, finishFlush: constants.Z_SYNC_FLUSH });
  return stripTail(out);
}

/** Inflates one message the RFC 7692 §7.2.2 way (no context), for checking what was sent. */
export function referenceInflate(data: Uint8Array, windowBits = 15): Uint8Array {
  return inflateRawSync(concat(data, SYNC_TAIL), {
    windowBits: Math.max(windowBits, 9),
    finishFlush: constants.Z_SYNC_FLUSH,
  });
}

function stripTail(out: Uint8Array): Uint8Array {
  const n = out.length;
  if (n < 4 || out[n - 4] !== 0 || out[n - 3] !== 0 || out[n - 2] !== 0xff || out[n - 1] !== 0xff) {
    throw new Error("a sync flush must end with 00 00 ff ff");
  }
  return out.slice(0, n - 4);
}

/**
 * A stateful reference compressor: one zlib deflate stream for a whole connection direction,
 * flushed (Z_SYNC_FLUSH) after each message, exactly as RFC 7692 §7.2.1 describes context
 * takeover. It shares nothing with the dictionary-based codec under test.
 */
export class StreamingDeflater {
  readonly #stream: DeflateRaw;
  readonly #chunks: Buffer[] = [];

  constructor(windowBits = 15, level = 6) {
    this.#stream = createDeflateRaw({ windowBits, level });
    this.#stream.on("data", (chunk: Buffer) => this.#chunks.push(chunk));
  }

  /** Compresses the next message of the sequence. */
  async compress(data: Uint8Array): Promise<Uint8Array> {
    this.#stream.write(data);
    await new Promise<void>((resolve) => this.#stream.flush(constants.Z_SYNC_FLUSH, resolve));
    const out = Buffer.concat(this.#chunks.splice(0));
    return stripTail(out);
  }

  close(): void {
    this.#stream.close();
  }
}

/** A stateful reference decompressor for one direction of a connection with context takeover. */
export class StreamingInflater {
  readonly #stream: InflateRaw;
  readonly #chunks: Buffer[] = [];

  constructor(windowBits = 15) {
    this.#stream = createInflateRaw({ windowBits: Math.max(windowBits, 9) });
    this.#stream.on("data", (chunk: Buffer) => this.#chunks.push(chunk));
  }

  /** Inflates the next message of the sequence. */
  async decompress(data: Uint8Array): Promise<Uint8Array> {
    this.#stream.write(concat(data, SYNC_TAIL));
    await new Promise<void>((resolve) => this.#stream.flush(constants.Z_SYNC_FLUSH, resolve));
    return Buffer.concat(this.#chunks.splice(0));
  }

  close(): void {
    this.#stream.close();
  }
}

// ---- corpora ---------------------------------------------------------------------------------

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` deterministic random bytes (incompressible). */
export function randomBytesSeeded(length: number, seed = 1): Uint8Array {
  const next = prng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (next() * 256) & 0xff;
  return out;
}

const NAMES = ["alice", "bob", "carol", "dave", "eve", "mallory", "trent", "peggy", "victor"];
const EVENTS = ["login", "logout", "message", "typing", "presence", "reaction", "edit"];

/**
 * A JSON-like text of about `length` characters (exactly `length` UTF-8 bytes, non-ASCII
 * included): an array of event records that repeat their keys, like a chat or telemetry feed.
 */
export function jsonLikeText(length: number, seed = 7): string {
  const next = prng(seed);
  const records: string[] = [];
  let size = 1;
  let id = Math.floor(next() * 1e6);
  while (size < length) {
    const record = JSON.stringify({
      id: id++,
      user: NAMES[Math.floor(next() * NAMES.length)],
      event: EVENTS[Math.floor(next() * EVENTS.length)],
      ts: 1_700_000_000_000 + Math.floor(next() * 1e9),
      text: next() < 0.2 ? "héllo wörld ✓" : `n=${Math.floor(next() * 1000)}`,
      ok: next() < 0.9,
    });
    records.push(record);
    size += record.length + 1;
  }
  const text = `[${records.join(",")}]`;
  // Cut to exactly `length` bytes on a code point boundary, padding with spaces.
  const bytes = Buffer.from(text, "utf8");
  let cut = Math.min(length, bytes.length);
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString("utf8") + " ".repeat(length - cut);
}
