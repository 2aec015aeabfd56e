/**
 * permessage-deflate negotiation (RFC 7692 §5, §7): the client's offer, the server's choice among
 * offers, and the client's check of the server's answer. Pure: the codec itself is injected
 * (see `ports.ts`), so this file only decides parameters.
 *
 * @see RFC 7692 §7.1 (extension parameters)
 * @module
 */
import { ProtocolError } from "../errors.js";
import type { ExtensionParam, ParsedExtension } from "../handshake/header-grammar.js";
import type { DeflateCodec } from "../ports.js";

/** The extension token. */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** The largest window RFC 7692 allows, and the default when a parameter is absent (§7.1.2). */
const MAX_WINDOW_BITS = 15;

/**
 * The negotiated parameters of one connection, named from the point of view of the two roles
 * (RFC 7692's naming): `server*` applies to messages the server compresses, `client*` to
 * messages the client compresses.
 */
export interface DeflateParameters {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  /** 8–15; absent in the header means 15 (RFC 7692 §7.1.2). */
  readonly serverMaxWindowBits: number;
  readonly clientMaxWindowBits: number;
}

/** What a client asks for in its offer. */
export interface DeflateOfferOptions {
  /** Ask the server not to keep its compression context between messages. */
  readonly serverNoContextTakeover?: boolean;
  /** Announce that the client will not keep its context (a hint the server may echo). */
  readonly clientNoContextTakeover?: boolean;
  /** Limit the server's window (9–15). */
  readonly serverMaxWindowBits?: number;
  /**
   * `true` announces that the server may limit the client's window (the value-less form
   * browsers send); a number also caps it (9–15). Default `true`.
   */
  readonly clientMaxWindowBits?: boolean | number;
}

/** How a server answers offers. */
export interface DeflateServerOptions {
  /** Reset the server's compressor after every message (saves memory, costs ratio). */
  readonly serverNoContextTakeover?: boolean;
  /** Ask the client to reset its compressor after every message (saves server inflate memory). */
  readonly clientNoContextTakeover?: boolean;
  /** The server's window, 9–15 (default 15). */
  readonly serverMaxWindowBits?: number;
  /** The most the client may use, 9–15, applied when the client allows it (default 15). */
  readonly clientMaxWindowBits?: number;
}

/** Why an offer or a response cannot be used. */
export class DeflateNegotiationError extends Error {
  override readonly name = "DeflateNegotiationError";
}

/**
 * Reads the parameters of one `permessage-deflate` element, refusing unknown or duplicated
 * parameters and invalid values (RFC 7692 §7, N3–N5).
 * @throws {DeflateNegotiationError}
 */
function readParams(
  params: readonly ExtensionParam[],
  isResponse: boolean,
): Map<string, string | true> {
  const seen = new Map<string, string | true>();
  for (const [name, value] of params) {
    const key = name.toLowerCase();
    if (seen.has(key)) throw new DeflateNegotiationError(`duplicate parameter ${name}`);
    switch (key) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== true) throw new DeflateNegotiationError(`${name} takes no value`);
        break;
      case "server_max_window_bits":
        if (value === true) throw new DeflateNegotiationError(`${name} needs a value`);
        parseWindowBits(name, value);
        break;
      case "client_max_window_bits":
        // A value is optional in an offer, required in a response (§7.1.2.2).
        if (value === true) {
          if (isResponse) throw new DeflateNegotiationError(`${name} needs a value in a response`);
        } else {
          parseWindowBits(name, value);
        }
        break;
      default:
        throw new DeflateNegotiationError(`unknown parameter ${name}`);
    }
    seen.set(key, value);
  }
  return seen;
}

/** Decimal 8–15 without leading zeros (§7.1.2; a quoted value arrives already unquoted). */
function parseWindowBits(name: string, value: string): number {
  if (!/^(?:8|9|1[0-5])$/.test(value)) {
    throw new DeflateNegotiationError(`${name} must be an integer from 8 to 15, got "${value}"`);
  }
  return Number(value);
}

function checkWindowOption(name: string, value: number | undefined): void {
  if (value === undefined) return;
  // SPEC.md N21: zlib cannot make raw streams with an 8-bit window, so sockwise never uses 8.
  if (!Number.isInteger(value) || value < 9 || value > MAX_WINDOW_BITS) {
    throw Object.assign(
      new RangeError(`${name} must be an integer from 9 to 15, got ${String(value)}`),
      {
        code: "ERR_WS_INVALID_OPTION",
      },
    );
  }
}

/**
 * Builds a client's offer, e.g. `permessage-deflate; client_max_window_bits` (what browsers
 * send, SPEC.md F12).
 * @throws {RangeError} ERR_WS_INVALID_OPTION for a window outside 9–15
 */
export function buildDeflateOffer(options: DeflateOfferOptions = {}): string {
  checkWindowOption("serverMaxWindowBits", options.serverMaxWindowBits);
  const clientBits = options.clientMaxWindowBits ?? true;
  if (typeof clientBits === "number") checkWindowOption("clientMaxWindowBits", clientBits);
  const parts = [PERMESSAGE_DEFLATE];
  if (options.serverNoContextTakeover === true) parts.push("server_no_context_takeover");
  if (options.clientNoContextTakeover === true) parts.push("client_no_context_takeover");
  if (options.serverMaxWindowBits !== undefined)
    parts.push(`server_max_window_bits=${options.serverMaxWindowBits}`);
  if (clientBits === true) parts.push("client_max_window_bits");
  else if (typeof clientBits === "number") parts.push(`client_max_window_bits=${clientBits}`);
  return parts.join("; ");
}

/**
 * Client side: checks the server's `permessage-deflate` answer against what was offered and
 * returns the parameters in force (RFC 7692 §5, §7; SPEC.md N6–N10).
 * @throws {DeflateNegotiationError} for anything a client must refuse (the handshake fails)
 */
export function acceptDeflateResponse(
  response: ParsedExtension,
  offered: DeflateOfferOptions = {},
): DeflateParameters {
  const params = readParams(response.params, true);
  const serverNoContextTakeover = params.has("server_no_context_takeover");
  // ★ N7: asked for server_no_context_takeover, the server must confirm it.
  if (offered.serverNoContextTakeover === true && !serverNoContextTakeover) {
    throw new DeflateNegotiationError("the server did not confirm server_no_context_takeover");
  }
  const serverBitsValue = params.get("server_max_window_bits");
  const serverMaxWindowBits =
    serverBitsValue === undefined
      ? MAX_WINDOW_BITS
      : parseWindowBits("server_max_window_bits", serverBitsValue as string);
  if (
    offered.serverMaxWindowBits !== undefined &&
    serverMaxWindowBits > offered.serverMaxWindowBits
  ) {
    // N9: the answer must not exceed what was offered.
    throw new DeflateNegotiationError(
      `server_max_window_bits=${serverMaxWindowBits} exceeds the offered ${offered.serverMaxWindowBits}`,
    );
  }
  const clientBitsValue = params.get("client_max_window_bits");
  const offeredClientBits = offered.clientMaxWindowBits ?? true;
  let clientMaxWindowBits = MAX_WINDOW_BITS;
  if (clientBitsValue !== undefined) {
    // N10: only if offered, and never above the offered value.
    if (offeredClientBits === false) {
      throw new DeflateNegotiationError("client_max_window_bits in the response was not offered");
    }
    clientMaxWindowBits = parseWindowBits("client_max_window_bits", clientBitsValue as string);
    if (typeof offeredClientBits === "number" && clientMaxWindowBits > offeredClientBits) {
      throw new DeflateNegotiationError(
        `client_max_window_bits=${clientMaxWindowBits} exceeds the offered ${offeredClientBits}`,
      );
    }
  } else if (typeof offeredClientBits === "number") {
    clientMaxWindowBits = offeredClientBits;
  }
  return {
    serverNoContextTakeover,
    clientNoContextTakeover:
      params.has("client_no_context_takeover") || offered.clientNoContextTakeover === true,
    serverMaxWindowBits,
    clientMaxWindowBits,
  };
}

/** The server's answer: the header element to send and the parameters in force. */
export interface DeflateAgreement {
  readonly response: string;
  readonly parameters: DeflateParameters;
}

/**
 * Server side: picks the first acceptable `permessage-deflate` offer (RFC 7692 §5: offers are in
 * the client's order of preference) and builds the answer. Offers with unknown or duplicate
 * parameters or invalid values are declined (N5). Returns `undefined` when none is acceptable.
 * @throws {RangeError} ERR_WS_INVALID_OPTION for a server option outside 9–15
 */
export function negotiateDeflate(
  offers: readonly ParsedExtension[],
  options: DeflateServerOptions = {},
): DeflateAgreement | undefined {
  checkWindowOption("serverMaxWindowBits", options.serverMaxWindowBits);
  checkWindowOption("clientMaxWindowBits", options.clientMaxWindowBits);
  for (const offer of offers) {
    if (offer.name.toLowerCase() !== PERMESSAGE_DEFLATE) continue;
    let params: Map<string, string | true>;
    try {
      params = readParams(offer.params, false);
    } catch {
      continue; // N5: decline this offer, maybe accept a later one
    }
    const response = [PERMESSAGE_DEFLATE];
    const serverNoContextTakeover =
      params.has("server_no_context_takeover") || options.serverNoContextTakeover === true;
    if (serverNoContextTakeover) response.push("server_no_context_takeover");
    const clientNoContextTakeover =
      params.has("client_no_context_takeover") || options.clientNoContextTakeover === true;
    if (clientNoContextTakeover) response.push("client_no_context_takeover");

    let serverMaxWindowBits = options.serverMaxWindowBits ?? MAX_WINDOW_BITS;
    const requestedServerBits = params.get("server_max_window_bits");
    if (requestedServerBits !== undefined) {
      serverMaxWindowBits = Math.min(serverMaxWindowBits, Number(requestedServerBits));
    }
    if (serverMaxWindowBits < MAX_WINDOW_BITS || requestedServerBits !== undefined) {
      response.push(`server_max_window_bits=${serverMaxWindowBits}`);
    }

    let clientMaxWindowBits = MAX_WINDOW_BITS;
    const clientBitsOffer = params.get("client_max_window_bits");
    if (clientBitsOffer !== undefined) {
      const cap = clientBitsOffer === true ? MAX_WINDOW_BITS : Number(clientBitsOffer);
      clientMaxWindowBits = Math.min(cap, options.clientMaxWindowBits ?? MAX_WINDOW_BITS);
      if (clientMaxWindowBits < MAX_WINDOW_BITS || clientBitsOffer !== true) {
        response.push(`client_max_window_bits=${clientMaxWindowBits}`);
      }
    }
    return {
      response: response.join("; "),
      parameters: {
        serverNoContextTakeover,
        clientNoContextTakeover,
        serverMaxWindowBits,
        clientMaxWindowBits,
      },
    };
  }
  return undefined;
}

/** The smallest window zlib can produce a raw stream with (SPEC.md N21). */
export const ZLIB_MIN_COMPRESS_WINDOW_BITS = 9;

/** Whether this end may compress with the window it negotiated (false for an 8-bit window). */
export function canCompressWith(windowBits: number): boolean {
  return windowBits >= ZLIB_MIN_COMPRESS_WINDOW_BITS;
}

/** Settings of the per-connection {@link PerMessageDeflate}. */
export interface PerMessageDeflateOptions {
  /** Which end this is: decides which negotiated parameters apply to which direction. */
  readonly isClient: boolean;
  readonly parameters: DeflateParameters;
  readonly codec: DeflateCodec;
  /** Messages smaller than this are sent uncompressed (RSV1 clear; RFC 7692 §6, N18). */
  readonly thresholdBytes: number;
}

/**
 * permessage-deflate on one connection (RFC 7692 §6, §7.2): compresses outgoing messages and
 * decompresses incoming ones through the injected codec, keeping only what context takeover
 * needs between messages: the last window of uncompressed bytes of each direction that uses
 * it (at most 2^windowBits bytes), never a zlib context.
 */
export class PerMessageDeflate {
  readonly #codec: DeflateCodec;
  readonly #thresholdBytes: number;
  /** Our compressor's window; `undefined` when this end may not compress (an 8-bit window). */
  readonly #sendWindowBits: number | undefined;
  readonly #sendTakeover: boolean;
  readonly #receiveWindowBits: number;
  readonly #receiveTakeover: boolean;
  #sendHistory: Uint8Array | undefined;
  #receiveHistory: Uint8Array | undefined;

  constructor(options: PerMessageDeflateOptions) {
    const { parameters: p, isClient } = options;
    this.#codec = options.codec;
    this.#thresholdBytes = options.thresholdBytes;
    const sendBits = isClient ? p.clientMaxWindowBits : p.serverMaxWindowBits;
    this.#sendWindowBits = canCompressWith(sendBits) ? sendBits : undefined;
    this.#sendTakeover = !(isClient ? p.clientNoContextTakeover : p.serverNoContextTakeover);
    this.#receiveWindowBits = isClient ? p.serverMaxWindowBits : p.clientMaxWindowBits;
    this.#receiveTakeover = !(isClient ? p.serverNoContextTakeover : p.clientNoContextTakeover);
  }

  /**
   * What decides this connection's compressed output, when {@link PerMessageDeflate.compress} is
   * stateless (no context takeover for what this end sends): connections with the same key, the
   * same codec and the same threshold produce identical bytes for a message, so one compressed
   * frame serves them all. `undefined` when each message depends on the previous ones (context
   * takeover) or when this end may not compress.
   */
  get sharedCompressionKey(): number | undefined {
    return this.#sendTakeover ? undefined : this.#sendWindowBits;
  }

  /** Bytes kept between messages for context takeover (for memory accounting). */
  get retainedBytes(): number {
    return (this.#sendHistory?.length ?? 0) + (this.#receiveHistory?.length ?? 0);
  }

  /**
   * Compresses one outgoing message, or returns `undefined` to send it uncompressed (below the
   * threshold, when compression would not make it smaller, or when this end may not compress:
   * SPEC.md N21).
   */
  compress(payload: Uint8Array): Uint8Array | undefined {
    const windowBits = this.#sendWindowBits;
    if (windowBits === undefined || payload.length < this.#thresholdBytes) return undefined;
    const dictionary = this.#sendTakeover ? this.#sendHistory : undefined;
    const compressed = this.#codec.deflate(
      payload,
      dictionary === undefined ? { windowBits } : { windowBits, dictionary },
    );
    // Data that does not shrink goes out as it is (RFC 7692 §6 lets any message be sent
    // uncompressed): the frame never grows, and a peer's size limit is never crossed by
    // compression overhead. The window then does not include it, as the peer never inflates it.
    if (compressed.length >= payload.length) return undefined;
    if (this.#sendTakeover) this.#sendHistory = slide(this.#sendHistory, payload, windowBits);
    return compressed;
  }

  /**
   * Decompresses one incoming message (RSV1 was set on its first frame), stopping at `maxBytes`.
   * @throws {ProtocolError} ERR_WS_MESSAGE_TOO_BIG (1009) beyond the limit, checked while
   *   inflating; ERR_WS_INVALID_COMPRESSED_DATA (1007 ★ N20) for data that does not inflate
   */
  decompress(payload: Uint8Array, maxBytes: number): Uint8Array {
    const windowBits = this.#receiveWindowBits;
    const dictionary = this.#receiveTakeover ? this.#receiveHistory : undefined;
    const result = this.#codec.inflate(
      payload,
      dictionary === undefined ? { windowBits, maxBytes } : { windowBits, maxBytes, dictionary },
    );
    if (result === "too-big") {
      throw new ProtocolError(
        "ERR_WS_MESSAGE_TOO_BIG",
        `a message may be at most ${maxBytes} bytes once inflated`,
      );
    }
    if (result === "corrupt") {
      throw new ProtocolError(
        "ERR_WS_INVALID_COMPRESSED_DATA",
        "a compressed message does not inflate",
      );
    }
    if (this.#receiveTakeover)
      this.#receiveHistory = slide(this.#receiveHistory, result, windowBits);
    return result;
  }
}

/** The last 2^windowBits bytes of `history` followed by `data`. */
function slide(history: Uint8Array | undefined, data: Uint8Array, windowBits: number): Uint8Array {
  const size = 1 << Math.max(windowBits, ZLIB_MIN_COMPRESS_WINDOW_BITS);
  // A copy, never a view: `data` may be the application's buffer (a send) or the bytes handed
  // to it (a receive), and a Buffer's `slice` is a view.
  if (data.length >= size) return Uint8Array.prototype.slice.call(data, data.length - size);
  const kept = history === undefined ? 0 : Math.min(history.length, size - data.length);
  const window = new Uint8Array(kept + data.length);
  if (kept > 0) window.set(history!.subarray(history!.length - kept));
  window.set(data, kept);
  return window;
}
