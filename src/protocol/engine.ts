/**
 * The RFC 6455 connection engine, sans-I/O: one class for both roles. Bytes and commands go in;
 * bytes to write, TCP actions, deadlines and events come out through {@link Engine.takeOutputs}.
 *
 * The engine starts on an established connection: the opening handshake is done by
 * `handshake/` first, and the bytes that followed the handshake head are the first thing fed
 * to {@link Engine.receive}.
 *
 * @module
 */
import { MessageAssembler } from "./assembler.js";
import { isWireCloseCode } from "./close-codes.js";
import { parseClosePayload, serializeClosePayload } from "./close-payload.js";
import { CloseState, type CloseEffect, type CloseOutcome, type ClosePhase } from "./close-state.js";
import { ProtocolError } from "./errors.js";
import {
  MAX_CONTROL_PAYLOAD_BYTES,
  Opcode,
  headerLength,
  isControlOpcode,
  writeHeader,
} from "./frame.js";
import {
  FrameParser,
  type FrameHeader,
  type FrameParserOptions,
  type FrameSink,
} from "./frame-parser.js";
import { applyMask } from "./mask.js";
import { isValidUtf8 } from "./utf8.js";
import type { Output } from "./outputs.js";
import type { Accelerators, Ports } from "./ports.js";
import type { PerMessageDeflate } from "./extensions/permessage-deflate.js";

/** Which end of the connection the engine plays. */
export type Role = "client" | "server";

/** Defaults, per role where they differ. See README "Limits and defaults" for the reasons. */
export const ENGINE_DEFAULTS = {
  /** A public server must not be made to buffer much per peer (1 MiB, as Python websockets). */
  serverMaxMessageBytes: 1024 * 1024,
  /** A client talks to a server its user chose; browsers set no limit, this bounds accidents. */
  clientMaxMessageBytes: 64 * 1024 * 1024,
  maxFragments: 16_384,
  closeTimeoutMs: 10_000,
  tcpCloseWaitMs: 2_000,
} as const;

/** Settings of an {@link Engine}. */
export interface EngineOptions {
  readonly role: Role;
  readonly ports: Ports;
  /** The largest message accepted, reassembled (default: 1 MiB server, 64 MiB client). */
  readonly maxMessageBytes?: number;
  /** The most frames a message may be split into (default 16 384). */
  readonly maxFragments?: number;
  /** How long to wait for the peer's Close once the closing handshake started (default 10 s). */
  readonly closeTimeoutMs?: number;
  /** How long to wait for the peer to end TCP after the Close exchange or a failure (default 2 s). */
  readonly tcpCloseWaitMs?: number;
  /**
   * permessage-deflate, when the opening handshake negotiated it (RFC 7692): RSV1 is then
   * allowed on the first frame of data messages, and messages are (de)compressed through it.
   */
  readonly deflate?: PerMessageDeflate;
}

/** The kind of a data message. */
export type MessageKind = "text" | "binary";

const EMPTY = new Uint8Array(0);
const NO_OUTPUTS: readonly Output[] = Object.freeze([]);

/**
 * One WebSocket connection's protocol state. Not thread-safe, never throws from
 * {@link Engine.receive}: every peer error becomes "fail the connection" and shows in the
 * outputs and the close outcome.
 */
export class Engine implements FrameSink {
  // Memory per connection matters on a server with many idle connections: what every engine
  // with the same settings shares lives in one {@link EngineConfig}; the closing-handshake state
  // is created when the connection starts to close; flags share one number.
  readonly #config: EngineConfig;
  readonly #parser: FrameParser;
  /**
   * Created with the first data frame: an idle connection (most of a busy server's) never needs
   * one. Until then the {@link DISCARDING} flag stands in for it.
   */
  #assembler: MessageAssembler | undefined;
  /** {@link OPEN_STATE} (shared, never changed) until the first transition: see {@link Engine.#closing}. */
  #close: CloseState = OPEN_STATE;
  /** Created with the first output (an idle connection has none). */
  #outputs: Output[] | undefined;
  /** {@link DISCARDING}, {@link PENDING_MESSAGE}, {@link SENDING_FRAGMENTS}, {@link CONTROL_FRAME}. */
  #flags = 0;
  /**
   * A Close or a failure found after a message that the host has not taken yet. It takes
   * effect at the next {@link Engine.takeOutputs}, so the application can still answer the
   * messages that preceded it (processing in order, as Autobahn's "strict" verdicts ask).
   */
  #deferred: (() => void) | undefined;
  #writeCount = 0;
  readonly #deflate: PerMessageDeflate | undefined;
  /** Payload of the control frame being received (at most 125 bytes). */
  #control: Uint8Array = EMPTY;
  #controlFill = 0;

  /**
   * @throws {RangeError} ERR_WS_INVALID_OPTION for a limit that is not a positive number
   */
  constructor(options: EngineOptions) {
    const isClient = options.role === "client";
    const config = engineConfig(
      isClient,
      options.ports,
      positiveOption(
        "maxMessageBytes",
        options.maxMessageBytes ??
          (isClient
            ? ENGINE_DEFAULTS.clientMaxMessageBytes
            : ENGINE_DEFAULTS.serverMaxMessageBytes),
      ),
      positiveOption("maxFragments", options.maxFragments ?? ENGINE_DEFAULTS.maxFragments),
      positiveOption("closeTimeoutMs", options.closeTimeoutMs ?? ENGINE_DEFAULTS.closeTimeoutMs),
      positiveOption("tcpCloseWaitMs", options.tcpCloseWaitMs ?? ENGINE_DEFAULTS.tcpCloseWaitMs),
    );
    this.#config = config;
    this.#deflate = options.deflate;
    // RFC 6455 §5.1: a server must receive masked frames only, a client unmasked ones only.
    // RFC 6455 §5.2: RSV bits only where an extension defines them (permessage-deflate: RSV1).
    this.#parser = new FrameParser(this, config.parserOptions);
    if (this.#deflate !== undefined) this.#parser.setAllowedRsv(RSV1);
  }

  /** `open`, `closing` or `closed`. */
  get phase(): ClosePhase {
    return this.#close.phase;
  }

  /** How the connection ended, once {@link Engine.phase} is `closed`. */
  get outcome(): CloseOutcome | undefined {
    return this.#close.outcome;
  }

  /** The connection's permessage-deflate, when negotiated. */
  get deflate(): PerMessageDeflate | undefined {
    return this.#deflate;
  }

  /** Whether data may still be sent (the connection is open and no Close was sent). */
  get canSend(): boolean {
    const close = this.#close;
    return !close.hasSentClose && close.phase !== "closed";
  }

  /**
   * How many `write` outputs the engine has produced so far (it only grows). A host reads it
   * right after a `send()` to know which write completes that message.
   */
  get writeCount(): number {
    return this.#writeCount;
  }

  /** The time (by the injected clock) at which {@link Engine.handleTimeout} must be called. */
  nextDeadline(): number | undefined {
    return this.#close.deadline;
  }

  /**
   * Returns and clears everything produced since the last call, in order. When a message is
   * followed in the same input by a Close or a protocol error, that Close or failure takes effect
   * at the next call (after the application has seen, and possibly answered, the message), so a
   * host calls this until it returns an empty list.
   */
  takeOutputs(): readonly Output[] {
    // A Close or failure held back behind messages takes effect once those were taken.
    if ((this.#flags & PENDING_MESSAGE) === 0) this.#runDeferred();
    const outputs = this.#outputs;
    if (outputs === undefined) return NO_OUTPUTS;
    this.#outputs = undefined;
    this.#flags &= ~PENDING_MESSAGE;
    return outputs;
  }

  // ---- input from the network -------------------------------------------------------------

  /**
   * Feeds bytes received from the peer. The engine takes ownership of `chunk`: payloads are
   * unmasked in place and messages may be views of it.
   */
  receive(chunk: Uint8Array): void {
    if (this.#parser.halted || this.#close.phase === "closed") return;
    try {
      this.#parser.push(chunk);
    } catch (error) {
      this.#parser.halt();
      const failure = asProtocolError(error);
      this.#afterDeliveredMessages(() =>
        this.#apply(this.#closing().failConnection(failure, this.#config.ports.clock.now())),
      );
    }
  }

  /** The peer ended its side of TCP (a FIN, `'end'` on a Node socket). */
  receiveEof(): void {
    this.#parser.halt();
    this.#runDeferred();
    this.#apply(this.#closing().receiveEof());
  }

  /** The transport closed or failed (`'close'`/`'error'` on a Node socket). */
  transportClosed(error?: unknown): void {
    this.#parser.halt();
    this.#runDeferred();
    this.#apply(this.#closing().transportClosed(error));
  }

  /** Call once the clock reaches {@link Engine.nextDeadline}. */
  handleTimeout(): void {
    // Without a closing handshake there is no deadline: nothing to do.
    if (this.#close === OPEN_STATE) return;
    const effects = this.#close.handleTimeout(this.#config.ports.clock.now());
    if (effects.length > 0) this.#parser.halt();
    this.#apply(effects);
  }

  // ---- commands from the application ------------------------------------------------------

  /**
   * Sends one data message in a single frame. Text must already be valid UTF-8 (the caller's
   * job: the WHATWG facade converts strings as USVString). The engine takes ownership of
   * `payload`: do not change it afterwards.
   *
   * @returns false, sending nothing, once the closing handshake has started on this side
   */
  send(kind: MessageKind, payload: Uint8Array): boolean {
    if ((this.#flags & SENDING_FRAGMENTS) !== 0)
      throw fragmentationError("send() inside a message being sent with sendFrame()");
    if (!this.canSend) return false;
    const opcode = kind === "text" ? Opcode.Text : Opcode.Binary;
    // RFC 7692 §7.2.1: compress the whole message and mark its (only) frame with RSV1.
    const compressed = this.#deflate?.compress(payload);
    if (compressed === undefined) this.#writeFrame(opcode, payload, true);
    else this.#writeFrame(opcode, compressed, true, RSV1);
    return true;
  }

  /**
   * Writes a complete, unmasked data frame built by the caller (server role only): the way one
   * message framed once reaches many connections (topics, `buildServerDataFrame`). The frame is
   * subject to the same rules as {@link Engine.send} (nothing after this side's Close, no
   * message inside a fragmented one) and keeps its place among the other writes. The engine
   * takes the frame as it is: it must never change afterwards, as other connections share it.
   *
   * @throws {TypeError} ERR_WS_INVALID_FRAGMENTATION inside a message being sent with
   *   sendFrame(); ERR_WS_INVALID_ROLE on a client engine (client frames are masked each time)
   * @returns false, sending nothing, once the closing handshake has started on this side
   */
  sendBuiltFrame(frame: Uint8Array): boolean {
    if (this.#config.isClient) {
      throw Object.assign(new TypeError("a client engine masks every frame it sends"), {
        code: "ERR_WS_INVALID_ROLE",
      });
    }
    if ((this.#flags & SENDING_FRAGMENTS) !== 0)
      throw fragmentationError("sendBuiltFrame() inside a message being sent with sendFrame()");
    if (!this.canSend) return false;
    this.#output({ type: "write", data: frame });
    this.#writeCount++;
    return true;
  }

  /**
   * Sends one frame of a message the caller fragments itself (RFC 6455 §5.4): the first with
   * `opcode` text or binary, the rest with continuation; `fin` on the last. Control frames may
   * still be sent in between; other messages may not (RFC 6455 §5.4).
   * @throws {TypeError} ERR_WS_INVALID_FRAGMENTATION for a continuation with no message started,
   *   or a new message while one is in progress
   * @returns false, sending nothing, once the closing handshake has started on this side
   */
  sendFrame(opcode: 0 | 1 | 2, payload: Uint8Array, fin: boolean): boolean {
    const isSendingFragments = (this.#flags & SENDING_FRAGMENTS) !== 0;
    if (opcode === Opcode.Continuation && !isSendingFragments) {
      throw fragmentationError("a continuation frame needs a message started with sendFrame()");
    }
    if (opcode !== Opcode.Continuation && isSendingFragments) {
      throw fragmentationError("a new message cannot start before the current one's final frame");
    }
    if (!this.canSend) return false;
    if (fin) this.#flags &= ~SENDING_FRAGMENTS;
    else this.#flags |= SENDING_FRAGMENTS;
    this.#writeFrame(opcode, payload, fin);
    return true;
  }

  /**
   * Sends a Ping (RFC 6455 §5.5.2).
   * @throws {RangeError} ERR_WS_CONTROL_FRAME_TOO_LONG for more than 125 bytes
   * @returns false once this side has sent its Close
   */
  ping(payload: Uint8Array = EMPTY): boolean {
    checkControlPayload(payload);
    if (!this.canSend) return false;
    this.#writeFrame(Opcode.Ping, payload, true);
    return true;
  }

  /**
   * Sends an unsolicited Pong (RFC 6455 §5.5.3).
   * @throws {RangeError} ERR_WS_CONTROL_FRAME_TOO_LONG for more than 125 bytes
   * @returns false once this side has sent its Close
   */
  pong(payload: Uint8Array = EMPTY): boolean {
    checkControlPayload(payload);
    if (!this.canSend) return false;
    this.#writeFrame(Opcode.Pong, payload, true);
    return true;
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2). With no code the Close body is empty (the
   * peer reports 1005); 1005, 1006 and 1015 are never sent. Does nothing unless open.
   *
   * @throws {RangeError} ERR_WS_INVALID_CLOSE_CODE for a code that may not be sent on the wire,
   *   ERR_WS_INVALID_CLOSE_REASON for a reason over 123 bytes or a reason without a code
   * @returns whether a Close frame was sent
   */
  close(code?: number, reason: string | Uint8Array = ""): boolean {
    if (code !== undefined && !isWireCloseCode(code)) {
      throw Object.assign(new RangeError(`close code ${code} may not be sent on the wire`), {
        code: "ERR_WS_INVALID_CLOSE_CODE",
      });
    }
    if (
      typeof reason !== "string" &&
      reason.length > 0 &&
      !isValidUtf8(reason, this.#config.isUtf8)
    ) {
      throw Object.assign(new RangeError("a close reason must be valid UTF-8"), {
        code: "ERR_WS_INVALID_CLOSE_REASON",
      });
    }
    const payload = serializeClosePayload(code, reason);
    if (this.#close.phase !== "open") return false;
    const text =
      typeof reason === "string"
        ? reason
        : reason.length === 0
          ? ""
          : REASON_DECODER.decode(reason);
    this.#apply(
      this.#closing().startClosingHandshake(
        { code: code ?? 1005, reason: text, payload },
        this.#config.ports.clock.now(),
      ),
    );
    return true;
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7) for a reason found outside the engine, e.g. an
   * extension's decompression limit or an application error (1011).
   */
  fail(error: ProtocolError): void {
    this.#parser.halt();
    this.#deferred = undefined;
    this.#apply(this.#closing().failConnection(error, this.#config.ports.clock.now()));
  }

  /** Drops TCP at once, without a closing handshake (the outcome is 1006 unless it completed). */
  destroy(): void {
    this.#parser.halt();
    this.#deferred = undefined;
    this.#apply(this.#closing().destroy());
  }

  // ---- FrameSink ----------------------------------------------------------------------------

  /** @internal */
  onFrameHeader(header: FrameHeader): void {
    if (isControlOpcode(header.opcode)) {
      this.#flags |= CONTROL_FRAME;
      // RFC 7692 §6: control frames are never compressed; RSV1 on one fails (SPEC.md N12).
      if (header.rsv !== 0) {
        throw new ProtocolError("ERR_WS_UNEXPECTED_RSV", "RSV bits set on a control frame");
      }
      this.#control = header.payloadLength === 0 ? EMPTY : new Uint8Array(header.payloadLength);
      this.#controlFill = 0;
    } else {
      this.#flags &= ~CONTROL_FRAME;
      this.#dataAssembler().startFrame(header);
    }
  }

  /** @internal */
  payloadTarget(header: FrameHeader): Uint8Array | undefined {
    return (this.#flags & CONTROL_FRAME) !== 0 ? undefined : this.#assembler?.payloadTarget(header);
  }

  /** @internal */
  onFramePayload(bytes: Uint8Array): void {
    if ((this.#flags & CONTROL_FRAME) !== 0) {
      this.#control.set(bytes, this.#controlFill);
      this.#controlFill += bytes.length;
    } else {
      this.#assembler!.payload(bytes);
    }
  }

  /** @internal */
  onFrameEnd(header: FrameHeader): void {
    switch (header.opcode) {
      case Opcode.Ping:
        this.#receivePing(this.#takeControl());
        return;
      case Opcode.Pong:
        this.#output({ type: "pong", data: this.#takeControl() });
        return;
      case Opcode.Close:
        this.#receiveClose(this.#takeControl());
        return;
      default: {
        const message = this.#assembler!.endFrame(header);
        if (message !== undefined) {
          const data = message.compressed
            ? this.#inflate(message.binary, message.data)
            : message.data;
          this.#output({ type: "message", binary: message.binary, data });
          this.#flags |= PENDING_MESSAGE;
        }
      }
    }
  }

  // ---- internals ----------------------------------------------------------------------------

  #output(output: Output): void {
    const outputs = this.#outputs;
    if (outputs === undefined) this.#outputs = [output];
    else outputs.push(output);
  }

  /**
   * The closing-handshake state, created for the first transition: until then {@link OPEN_STATE}
   * (shared by every engine) answers the questions of an open connection. Every transition goes
   * through here, so the shared state is never changed.
   */
  #closing(): CloseState {
    let close = this.#close;
    if (close === OPEN_STATE) {
      close = new CloseState(this.#config);
      this.#close = close;
    }
    return close;
  }

  #dataAssembler(): MessageAssembler {
    let assembler = this.#assembler;
    if (assembler === undefined) {
      const config = this.#config;
      assembler = new MessageAssembler(config, config.isUtf8, config.allocate);
      if ((this.#flags & DISCARDING) !== 0) assembler.discardFromNowOn();
      this.#assembler = assembler;
    }
    return assembler;
  }

  /**
   * Inflates a compressed message within the size limit, then checks text as UTF-8.
   * @throws {ProtocolError} 1009 over the limit, 1007 for corrupt data or invalid UTF-8
   */
  #inflate(binary: boolean, data: Uint8Array): Uint8Array {
    const inflated = this.#deflate!.decompress(data, this.#config.maxMessageBytes);
    if (!binary && !isValidUtf8(inflated, this.#config.isUtf8)) {
      throw new ProtocolError("ERR_WS_INVALID_UTF8", "a text message is not valid UTF-8");
    }
    return inflated;
  }

  #takeControl(): Uint8Array {
    const payload = this.#control;
    this.#control = EMPTY;
    this.#controlFill = 0;
    return payload;
  }

  #receivePing(payload: Uint8Array): void {
    this.#output({ type: "ping", data: payload });
    // RFC 6455 §5.5.2: answer with the same payload, unless our Close is already out (SPEC.md J8).
    if (this.canSend) this.#writeFrame(Opcode.Pong, payload, true);
  }

  #receiveClose(payload: Uint8Array): void {
    const { code, reason } = parseClosePayload(payload, this.#config.isUtf8);
    // Nothing after the first Close is processed (RFC 6455 §1.4; SPEC.md L8, L26).
    this.#parser.halt();
    this.#afterDeliveredMessages(() =>
      this.#apply(
        this.#closing().receiveClose({ code, reason, payload }, this.#config.ports.clock.now()),
      ),
    );
  }

  /**
   * Runs `transition` now, or, when messages from the same input are still waiting to be taken
   * by the host, at the next {@link Engine.takeOutputs}: the application sees (and may answer)
   * every message that came before a Close or a protocol error.
   */
  #afterDeliveredMessages(transition: () => void): void {
    if ((this.#flags & PENDING_MESSAGE) !== 0) this.#deferred = transition;
    else transition();
  }

  #runDeferred(): void {
    const deferred = this.#deferred;
    if (deferred === undefined) return;
    this.#deferred = undefined;
    deferred();
  }

  /** Carries out what the closing handshake decided. */
  #apply(effects: readonly CloseEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case "sendClose":
          this.#writeFrame(Opcode.Close, effect.payload, true);
          this.#flags |= DISCARDING;
          this.#assembler?.discardFromNowOn();
          break;
        case "shutdownWrite":
          this.#output({ type: "shutdownWrite" });
          break;
        case "destroy":
          this.#output({ type: "destroy" });
          break;
        case "closing":
          this.#output(
            effect.received === undefined
              ? { type: "closing", initiator: effect.initiator }
              : { type: "closing", initiator: effect.initiator, received: effect.received },
          );
          break;
        case "closed":
          this.#parser.halt();
          this.#output({ type: "closed", outcome: effect.outcome });
          break;
      }
    }
  }

  /**
   * Frames `payload` and queues the bytes. A client masks a private copy with a fresh key
   * (RFC 6455 §5.3, §10.3); a server writes the header and the payload as they are.
   */
  #writeFrame(opcode: number, payload: Uint8Array, fin: boolean, rsv = 0): void {
    const length = payload.length;
    const config = this.#config;
    if (config.isClient) {
      const maskKey = MASK_KEY;
      config.ports.random.fill(maskKey);
      const headerBytes = headerLength(length, true);
      // Every byte of the frame is written below: the header, then the masked payload.
      const frame = allocateFrame(headerBytes + length, config.allocate);
      writeHeader(frame, 0, fin, rsv, opcode, length, maskKey);
      if (length > 0) {
        const body = frame.subarray(headerBytes);
        if (config.maskInto !== undefined) {
          config.maskInto(payload, body, maskKey, 0);
        } else {
          body.set(payload);
          config.applyMask(body, maskKey, 0);
        }
      }
      this.#output({ type: "write", data: frame });
      this.#writeCount++;
      return;
    }
    const headerBytes = headerLength(length, false);
    if (length <= SMALL_FRAME_BYTES) {
      // One small copy is cheaper than a second write.
      const frame = allocateFrame(headerBytes + length, config.allocate);
      writeHeader(frame, 0, fin, rsv, opcode, length, undefined);
      frame.set(payload, headerBytes);
      this.#output({ type: "write", data: frame });
      this.#writeCount++;
      return;
    }
    const header = allocateFrame(headerBytes, config.allocate);
    writeHeader(header, 0, fin, rsv, opcode, length, undefined);
    this.#output({ type: "write", data: header });
    this.#output({ type: "write", data: payload });
    this.#writeCount += 2;
  }
}

/** Flags of an {@link Engine}. Data frames are discarded from now on (our Close is out, RFC 6455 §5.5.1). */
const DISCARDING = 1;
/** A message was output since the last {@link Engine.takeOutputs}. */
const PENDING_MESSAGE = 2;
/** A message of the caller's own fragmentation is in progress (sendFrame). */
const SENDING_FRAGMENTS = 4;
/** The frame being received is a control frame. */
const CONTROL_FRAME = 8;

/**
 * The closing-handshake state of every engine that has not started to close: only read, never
 * transitioned (an engine creates its own state for its first transition, `Engine.#closing`).
 */
const OPEN_STATE = new CloseState({ isClient: false, closeTimeoutMs: 1, tcpCloseWaitMs: 1 });

/**
 * What engines with the same role, ports and limits share: one object for all the connections
 * of a server rather than a copy of each setting per connection.
 */
interface EngineConfig extends BoundAccelerators {
  readonly isClient: boolean;
  readonly ports: Ports;
  readonly maxMessageBytes: number;
  readonly maxFragments: number;
  readonly closeTimeoutMs: number;
  readonly tcpCloseWaitMs: number;
  readonly parserOptions: FrameParserOptions;
}

/** Configs by ports, then by settings. A few entries per ports object in practice. */
const configCache = new WeakMap<Ports, Map<string, EngineConfig>>();
/** Past this many settings per ports object the cache starts again (it stays bounded). */
const MAX_CONFIGS_PER_PORTS = 64;

function engineConfig(
  isClient: boolean,
  ports: Ports,
  maxMessageBytes: number,
  maxFragments: number,
  closeTimeoutMs: number,
  tcpCloseWaitMs: number,
): EngineConfig {
  const key = `${isClient} ${maxMessageBytes} ${maxFragments} ${closeTimeoutMs} ${tcpCloseWaitMs}`;
  let byKey = configCache.get(ports);
  if (byKey === undefined) {
    byKey = new Map();
    configCache.set(ports, byKey);
  }
  let config = byKey.get(key);
  if (config === undefined) {
    const bound = boundAccelerators(ports.accelerators);
    config = Object.freeze({
      ...bound,
      isClient,
      ports,
      maxMessageBytes,
      maxFragments,
      closeTimeoutMs,
      tcpCloseWaitMs,
      parserOptions: Object.freeze({
        expectMasked: !isClient,
        applyMask: bound.applyMask,
        maskInto: bound.maskInto,
        allowedRsv: 0,
      }),
    });
    if (byKey.size >= MAX_CONFIGS_PER_PORTS) byKey.clear();
    byKey.set(key, config);
  }
  return config;
}

/** Zero-filled memory, for hosts that provide no `allocUninitialized`. */
const allocateZeroed = (size: number): Uint8Array => new Uint8Array(size);

/** Payloads up to this size are copied behind their header into one write. */
const SMALL_FRAME_BYTES = 1024;

/**
 * `send()` copies payloads of at most this many bytes before it returns (server frames this small
 * are written as one copy; client frames are always masked into a copy), so a caller need not
 * copy them first to protect against later changes (SPEC.md C10).
 */
export const SEND_COPIES_UP_TO_BYTES = SMALL_FRAME_BYTES;

/** Scratch space for mask keys: the key is copied into the frame header, so one suffices. */
const MASK_KEY = new Uint8Array(4);

/** The "Per-Message Compressed" bit (RFC 7692 §6). */
const RSV1 = 0x4;

const REASON_DECODER = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Frames up to this size are carved from a shared slab instead of allocated one by one: a fresh
 * `Uint8Array` above 64 bytes costs a zero-filled off-heap allocation (300–700 ns), which made
 * small-frame serialisation 5× slower than ws (docs/benchmarks-protocol.md).
 */
const SLAB_MAX_FRAME_BYTES = 4096;
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

/**
 * Returns `size` bytes for an outgoing frame, which the caller writes in full. Slab pieces are
 * never reused: a frame keeps its slab alive until it has been written, as Node's own Buffer
 * pool does. Larger frames come from `allocate` (uninitialised memory in Node).
 */
function allocateFrame(size: number, allocate: (size: number) => Uint8Array): Uint8Array {
  if (size > SLAB_MAX_FRAME_BYTES) return allocate(size);
  if (slabOffset + size > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const frame = new Uint8Array(slab, slabOffset, size);
  // Keep pieces 8-byte aligned so masking can run on whole words.
  slabOffset = (slabOffset + size + 7) & ~7;
  return frame;
}

/** The accelerators of a {@link Ports} as plain functions. */
interface BoundAccelerators {
  readonly isUtf8: ((bytes: Uint8Array) => boolean) | undefined;
  readonly applyMask: (bytes: Uint8Array, key: Uint8Array, offset: number) => number;
  readonly maskInto:
    | ((source: Uint8Array, target: Uint8Array, key: Uint8Array, offset: number) => number)
    | undefined;
  readonly allocate: (size: number) => Uint8Array;
}

const NO_ACCELERATORS: BoundAccelerators = {
  isUtf8: undefined,
  applyMask,
  maskInto: undefined,
  allocate: allocateZeroed,
};
/** Bound once per accelerators object, not per engine: a server holds many engines. */
const boundCache = new WeakMap<Accelerators, BoundAccelerators>();

function boundAccelerators(accelerators: Accelerators | undefined): BoundAccelerators {
  if (accelerators === undefined) return NO_ACCELERATORS;
  let bound = boundCache.get(accelerators);
  if (bound === undefined) {
    bound = {
      isUtf8: accelerators.isUtf8?.bind(accelerators),
      applyMask: accelerators.applyMask?.bind(accelerators) ?? applyMask,
      maskInto: accelerators.maskInto?.bind(accelerators),
      allocate: accelerators.allocUninitialized?.bind(accelerators) ?? allocateZeroed,
    };
    boundCache.set(accelerators, bound);
  }
  return bound;
}

function fragmentationError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: "ERR_WS_INVALID_FRAGMENTATION" });
}

function asProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  return new ProtocolError("ERR_WS_INTERNAL_ERROR", "internal error", { cause: error });
}

function positiveOption(name: string, value: number): number {
  if (typeof value !== "number" || !(value > 0)) {
    throw Object.assign(new RangeError(`${name} must be a positive number, got ${String(value)}`), {
      code: "ERR_WS_INVALID_OPTION",
    });
  }
  return value;
}

function checkControlPayload(payload: Uint8Array): void {
  if (payload.length > MAX_CONTROL_PAYLOAD_BYTES) {
    throw Object.assign(new RangeError("a control frame carries at most 125 bytes"), {
      code: "ERR_WS_CONTROL_FRAME_TOO_LONG",
    });
  }
}
