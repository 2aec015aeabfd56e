/**
 * The permessage-deflate codec on `node:zlib`: one synchronous, self-contained call per message
 * (`deflateRawSync`/`inflateRawSync`), with context takeover carried by a preset dictionary.
 *
 * Why synchronous and stateless (the STYLE.md open decision, settled by measurement): Node's
 * only persistent zlib contexts are asynchronous streams, and thousands of them (≈ 300 KiB of
 * native memory each at the default memLevel) are what makes `ws` servers with compression grow
 * to gigabytes. Here no zlib state outlives a call, so an idle connection holds no zlib memory;
 * a 1 KiB JSON message deflates in about 25 µs and inflates in about 8 µs; a 32 KiB dictionary
 * (context takeover) adds about 50 µs to deflate and a few µs to inflate (docs/permessage-deflate.md,
 * measured on this project's 2-core machine). Work is done on
 * the event loop, one message at a time: that is the process-wide concurrency limit (1), and no
 * queue of pending (de)compressions can build up.
 *
 * @module
 */
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import type { DeflateCodec, InflateFailure } from "../protocol/ports.js";

/** zlib settings for compression. */
export interface DeflateCodecOptions {
  /** 0–9 (default 6, zlib's default: the ratio `ws` users get). */
  readonly level?: number;
  /** 1–9 (default 8): memory for the compressor's internal state during a call. */
  readonly memLevel?: number;
}

const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** Creates a codec; the options are checked here. @throws {RangeError} ERR_WS_INVALID_OPTION */
export function createDeflateCodec(options: DeflateCodecOptions = {}): DeflateCodec {
  const level = options.level ?? 6;
  const memLevel = options.memLevel ?? 8;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw invalid("level", level, "0–9");
  if (!Number.isInteger(memLevel) || memLevel < 1 || memLevel > 9)
    throw invalid("memLevel", memLevel, "1–9");
  return {
    deflate(data, { windowBits, dictionary }) {
      const out = deflateRawSync(data, {
        level,
        memLevel,
        windowBits,
        finishFlush: constants.Z_SYNC_FLUSH,
        ...(dictionary === undefined || dictionary.length === 0 ? {} : { dictionary }),
      });
      // A sync flush always ends with the empty stored block 00 00 ff ff (RFC 7692 §7.2.1).
      return out.subarray(0, out.length - 4);
    },
    inflate(data, { windowBits, dictionary, maxBytes }): Uint8Array | InflateFailure {
      const input = new Uint8Array(data.length + 4);
      input.set(data);
      input.set(TAIL, data.length);
      try {
        return inflateRawSync(input, {
          // A window at least as large as the peer's decodes its stream (8 becomes 9 in zlib).
          windowBits: Math.max(windowBits, 9),
          finishFlush: constants.Z_SYNC_FLUSH,
          // zlib checks this while inflating: a bomb stops at the limit (SPEC.md P7, N20).
          maxOutputLength: Math.max(1, Math.min(maxBytes, MAX_OUTPUT_BYTES)),
          ...(dictionary === undefined || dictionary.length === 0 ? {} : { dictionary }),
        });
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === "ERR_BUFFER_TOO_LARGE") return "too-big";
        return "corrupt";
      }
    },
  };
}

/** The largest output `inflateRawSync` can produce in one call (buffer.constants.MAX_LENGTH is larger on 64-bit). */
const MAX_OUTPUT_BYTES = 2 ** 31 - 1;

function invalid(name: string, value: number, range: string): RangeError {
  return Object.assign(
    new RangeError(`${name} must be an integer ${range}, got ${String(value)}`),
    {
      code: "ERR_WS_INVALID_OPTION",
    },
  );
}
