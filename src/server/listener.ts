/**
 * Standalone mode's listener: a `net.Server` that reads each connection's request head with
 * sockwise's own bounded parser ({@link HttpHeadParser}) instead of Node's `http.Server`. A
 * WebSocket server needs one request per connection and no HTTP machinery after it (no
 * `ServerResponse`, no keep-alive, no connection tracking), and skipping that machinery is most
 * of the CPU a handshake costs (docs/benchmarks.md).
 *
 * Per connection, from TCP accept until the request head is decided:
 * - it counts as a handshake in progress; beyond `maxHandshakes` the oldest *stalled* head is
 *   dropped (503) to make room: a flood of incomplete heads stays bounded, while a burst of
 *   fresh connections is never refused (they hold no parser state until their first read, which
 *   either completes the head or makes it stalled);
 * - a head is *stalled* once a read left it incomplete (a client that sends its head in pieces)
 *   or once it has sent nothing across a whole sweep; stalled heads count per address (SPEC.md
 *   P9), and an address over `maxHandshakesPerIp` of them gets 503. A reconnect storm from one
 *   address (a NAT, a proxy) sends complete heads, which are decided in the read that carries
 *   them and never count. Connections from a trusted proxy are not counted per address;
 * - the head must arrive within `handshakeTimeoutMs` (else 408) and fit in `maxHeaderBytes`
 *   (else 431); a malformed head gets 400 (G15, P9);
 * - an upgrade request (a `Connection: upgrade` token and an `Upgrade` header, as Node's parser
 *   decides) goes to the `upgrade` hook as a real `http.IncomingMessage`, with the bytes after
 *   the head (early frames) as `head`, exactly like `http.Server`'s `'upgrade'` event (G14);
 * - any other request is answered (426, or 400 for a broken handshake) and the connection ends.
 *
 * The per-connection state lives on the socket under a symbol and the socket listeners are
 * functions shared by every connection (Node calls them with the socket as `this`), so reading
 * a head allocates no closure; all of it is dropped as soon as the head is decided.
 *
 * @module
 */
import { IncomingMessage } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { HandshakeError } from "../protocol/handshake/handshake-error.js";
import { equalsLowerAscii, listHasElement } from "../protocol/handshake/header-grammar.js";
import { HttpHeadParser, type HttpRequestHead } from "../protocol/handshake/http-head.js";
import { validateRawUpgradeRequest } from "../protocol/handshake/server-handshake.js";
import { rejectUpgrade } from "../node/upgrade.js";
import { normalizeAddress, type ProxyTrust } from "./client-address.js";
import type { RefusalReason } from "./refusal.js";

/** What the listener asks of its server. */
export interface ListenerHooks {
  /** Refuse `socket` with 503 for `reason` (and report it); `address` is the one counted. */
  refuse(socket: Socket, reason: RefusalReason, address: string | undefined): void;
  /** A complete upgrade request: run the opening handshake (as http.Server's 'upgrade'). */
  upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void;
}

/** Limits on a request head. */
export interface ListenerLimits {
  /** The largest request head, request line and blank line included (431 beyond). */
  readonly maxHeaderBytes: number;
  /** Time from TCP accept to a complete request head (408 beyond). */
  readonly handshakeTimeoutMs: number;
  /** Request heads in progress, every address (stalled ones are dropped first beyond). */
  readonly maxHandshakes: number;
  /** Stalled request heads from one address (503 beyond). */
  readonly maxHandshakesPerIp: number;
  /** Proxies whose connections are not counted per address. */
  readonly isTrustedProxy: ProxyTrust;
}

/**
 * The most header fields in a request head (431 beyond): Node's `maxHeadersCount` default, so
 * that in practice `maxHeaderBytes` is the limit that applies, as with `http.Server`.
 */
const MAX_HEADER_COUNT = 2000;

/** The state of a socket whose request head is still being read. */
const kReading = Symbol("sockwise.readingHead");

/** What a socket whose request head is still being read carries (under {@link kReading}). */
class Reading {
  /** Created at the first byte: a connection that sends nothing costs no parser. */
  parser: HttpHeadParser<"request"> | undefined = undefined;
  /** {@link SEEN_BY_SWEEP}, {@link STALLED}. */
  flags = 0;
  /** The address it counts against while stalled (undefined: a trusted proxy, or unknown). */
  address: string | undefined = undefined;

  constructor(
    readonly listener: StandaloneListener,
    /** `performance.now()` by which the head must be complete. */
    readonly deadline: number,
  ) {}
}

/** Flags of a {@link Reading}: a sweep has seen the head in progress. */
const SEEN_BY_SWEEP = 1;
/** The head is stalled: counted per address and the first to be dropped. */
const STALLED = 2;

type ListenerSocket = Socket & { [kReading]?: Reading | undefined };

/** A `net.Server` that hands WebSocket upgrade requests to a `WebSocketServer`. */
export class StandaloneListener {
  /** The listening server: `listen`, `address`, `close` and its events are the caller's. */
  readonly server: Server;
  readonly #hooks: ListenerHooks;
  readonly #limits: {
    readonly maxLineBytes: number;
    readonly maxHeaderCount: number;
    readonly maxHeadBytes: number;
  };
  readonly #timeoutMs: number;
  readonly #maxHeads: number;
  readonly #maxStalledPerAddress: number;
  readonly #isTrustedProxy: ProxyTrust;
  /** Heads in progress, oldest first. */
  readonly #heads = new Set<ListenerSocket>();
  /** Stalled heads, oldest first: the ones dropped first when {@link #heads} is full. */
  readonly #stalled = new Set<ListenerSocket>();
  /** Stalled heads per address. */
  readonly #stalledPerAddress = new Map<string, number>();
  /**
   * Every accepted socket not (yet) handed to a transport: heads in progress, refused
   * connections still flushing their answer, upgrades waiting for `authenticate`. Shutdown
   * answers or destroys them; the timeout sweep looks for heads that are late.
   */
  readonly #sockets = new Set<ListenerSocket>();
  /** Removes a closed socket from {@link StandaloneListener.#sockets} (one per listener). */
  readonly #onClose: (this: ListenerSocket) => void;
  /**
   * Checks heads in progress against their deadline, as http.Server's
   * `connectionsCheckingInterval` does: one timer per server rather than one per connection.
   * Armed while some head is in progress.
   */
  #sweepTimer: NodeJS.Timeout | undefined;
  readonly #sweepMs: number;

  constructor(limits: ListenerLimits, hooks: ListenerHooks) {
    this.#hooks = hooks;
    const maxHeadBytes = Math.max(1, Math.floor(limits.maxHeaderBytes));
    this.#limits = { maxLineBytes: maxHeadBytes, maxHeaderCount: MAX_HEADER_COUNT, maxHeadBytes };
    this.#timeoutMs = limits.handshakeTimeoutMs;
    this.#maxHeads = limits.maxHandshakes;
    this.#maxStalledPerAddress = limits.maxHandshakesPerIp;
    this.#isTrustedProxy = limits.isTrustedProxy;
    // A head is answered 408 at most this late: a quarter of the timeout, within 10 ms–1 s.
    this.#sweepMs = Math.ceil(Math.min(1000, Math.max(10, limits.handshakeTimeoutMs / 4)));
    const sockets = this.#sockets;
    this.#onClose = function (this: ListenerSocket): void {
      stopReading(this);
      sockets.delete(this);
    };
    // allowHalfOpen as http.Server: the WebSocket transport decides when to end its side.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      this.#accept(socket),
    );
  }

  #accept(socket: ListenerSocket): void {
    socket.on("error", onSocketError);
    this.#sockets.add(socket);
    socket.on("close", this.#onClose);
    // P9: an address that already holds its share of stalled heads gets no more. Only looked up
    // while some head is stalled: reading the peer's address is a system call.
    if (this.#stalledPerAddress.size > 0) {
      const address = this.#countedAddress(socket);
      if (
        address !== undefined &&
        (this.#stalledPerAddress.get(address) ?? 0) >= this.#maxStalledPerAddress
      ) {
        this.#refuse(socket, "maxHandshakesPerIp", address);
        return;
      }
    }
    // Make room by dropping the oldest stalled head. A fresh connection is never refused here:
    // the accept loop takes a whole burst before reading any of it (5,000 clients connecting at
    // once were all in progress together), and a head that turns out incomplete is stalled,
    // and dropped first, from then on.
    if (this.#heads.size >= this.#maxHeads) this.#dropOldestStalled();
    socket[kReading] = new Reading(this, performance.now() + this.#timeoutMs);
    this.#heads.add(socket);
    if (this.#sweepTimer === undefined) {
      this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepMs);
      this.#sweepTimer.unref();
    }
    socket.on("data", onHeadData);
    socket.on("end", onHeadEnd);
  }

  /** Drops the oldest stalled head (503, `maxHandshakes`), if there is one. */
  #dropOldestStalled(): void {
    const oldest = firstOf(this.#stalled);
    if (oldest === undefined) return;
    const address = oldest[kReading]?.address;
    stopReading(oldest);
    this.#refuse(oldest, "maxHandshakes", address);
  }

  #refuse(socket: ListenerSocket, reason: RefusalReason, address: string | undefined): void {
    try {
      this.#hooks.refuse(socket, reason, address);
    } catch {
      socket.destroy();
    }
  }

  /** The address a head counts against: none for a trusted proxy (or an unknown peer). */
  #countedAddress(socket: ListenerSocket): string | undefined {
    const peer = socket.remoteAddress;
    if (peer === undefined) return undefined;
    const address = normalizeAddress(peer);
    return this.#isTrustedProxy(address) ? undefined : address;
  }

  /**
   * P9: `socket`'s head is stalled. It now counts against its address, and is refused if that
   * puts the address over `maxHandshakesPerIp`.
   * @returns false when the head was refused
   */
  #markStalled(socket: ListenerSocket, reading: Reading): boolean {
    reading.flags |= STALLED;
    this.#stalled.add(socket);
    // G15: stalled heads (the ones that hold parser state) stay within maxHandshakes.
    if (this.#heads.size > this.#maxHeads) {
      this.#dropOldestStalled();
      if (socket[kReading] === undefined) return false;
    }
    const address = this.#countedAddress(socket);
    if (address === undefined) return true;
    reading.address = address;
    const count = (this.#stalledPerAddress.get(address) ?? 0) + 1;
    this.#stalledPerAddress.set(address, count);
    if (count <= this.#maxStalledPerAddress) return true;
    stopReading(socket);
    this.#refuse(socket, "maxHandshakesPerIp", address);
    return false;
  }

  /**
   * G15/P9: answers 408 to every head that is late, marks as stalled the heads that have sent
   * nothing since the last sweep; stops when no head is in progress.
   */
  #sweep(): void {
    if (this.#heads.size === 0) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
      return;
    }
    const now = performance.now();
    for (const socket of this.#heads) {
      const reading = socket[kReading];
      if (reading === undefined) continue;
      if (reading.deadline <= now) {
        stopReading(socket);
        refuse(socket, 408, "the request head did not arrive in time\n");
        continue;
      }
      if ((reading.flags & STALLED) !== 0) continue;
      // Seen by two sweeps, so it has been through at least one read of the event loop since.
      if ((reading.flags & SEEN_BY_SWEEP) !== 0) this.#markStalled(socket, reading);
      else reading.flags |= SEEN_BY_SWEEP;
    }
  }

  /** A head is no longer in progress (called from {@link stopReading}). */
  static headDone(listener: StandaloneListener, socket: ListenerSocket, reading: Reading): void {
    listener.#heads.delete(socket);
    if ((reading.flags & STALLED) === 0) return;
    listener.#stalled.delete(socket);
    const address = reading.address;
    if (address === undefined) return;
    const count = (listener.#stalledPerAddress.get(address) ?? 1) - 1;
    if (count <= 0) listener.#stalledPerAddress.delete(address);
    else listener.#stalledPerAddress.set(address, count);
  }

  /** Heads in progress and stalled heads (for tests and diagnostics). */
  get headsInProgress(): { readonly heads: number; readonly stalled: number } {
    return { heads: this.#heads.size, stalled: this.#stalled.size };
  }

  /**
   * Feeds a chunk of the request head; decides the request once the head is complete. Called
   * by the 'data' listener that every socket shares.
   *
   * @internal
   */
  readHead(socket: ListenerSocket, reading: Reading, chunk: Buffer): void {
    let head: HttpRequestHead | undefined;
    try {
      reading.parser ??= new HttpHeadParser("request", this.#limits, decodeLatin1);
      head = reading.parser.push(chunk);
    } catch (error) {
      stopReading(socket);
      const status = error instanceof HandshakeError ? error.status : undefined;
      refuse(
        socket,
        status ?? 400,
        error instanceof HandshakeError ? `${error.message}\n` : "malformed request head\n",
      );
      return;
    }
    if (head === undefined) {
      // A read that left the head incomplete: a client sends its head in one write, so this
      // one is slow or hostile (P9).
      if ((reading.flags & STALLED) === 0) this.#markStalled(socket, reading);
      return;
    }
    stopReading(socket);
    const { method, httpVersion, headers } = head;
    const rawHeaders: string[] = [];
    // Node's parser treats a request as an upgrade when it has an Upgrade header and an
    // "upgrade" token in Connection; anything else is a plain request.
    let connectionUpgrade = false;
    let hasUpgrade = false;
    for (const [name, value] of headers) {
      rawHeaders.push(name, value);
      if (isName(name, "upgrade")) hasUpgrade = true;
      else if (!connectionUpgrade && isName(name, "connection"))
        connectionUpgrade = listHasElement(value, "upgrade");
    }
    if (!(hasUpgrade && connectionUpgrade)) {
      answerPlainRequest(socket, method, httpVersion, rawHeaders);
      return;
    }
    const request = new IncomingMessage(socket);
    request.method = method;
    request.url = head.target;
    request.httpVersion = httpVersion;
    request.httpVersionMajor = httpVersion.charCodeAt(0) - 0x30;
    request.httpVersionMinor = httpVersion.charCodeAt(2) - 0x30;
    // Sets `rawHeaders` and the count that Node's lazy `headers`/`headersDistinct` getters read
    // (assigning `rawHeaders` alone leaves `headers` empty); what Node's own parser calls.
    (request as IncomingMessageInternals)._addHeaderLines(rawHeaders, rawHeaders.length);
    (request as IncomingMessageInternals).upgrade = true;
    request.complete = true;
    // As http.Server does for an upgrade request: the request has no body, its stream is over.
    request.push(null);
    try {
      this.#hooks.upgrade(request, socket, head.rest as Buffer);
    } catch {
      // The hook never throws by design; if it ever did, the connection must not hang.
      socket.destroy();
    }
  }

  /** Whether `socket` was accepted by this listener and not released yet. */
  owns(socket: Duplex): boolean {
    return this.#sockets.has(socket as ListenerSocket);
  }

  /** The socket is now a WebSocket connection's: the listener forgets it. */
  release(socket: Duplex): void {
    const owned = socket as ListenerSocket;
    if (!this.#sockets.delete(owned)) return;
    owned.off("close", this.#onClose);
    owned.off("error", onSocketError);
  }

  /** Answers 503 to every connection still sending its request head (graceful shutdown). */
  refuseHeadsInProgress(): void {
    for (const socket of this.#heads) {
      stopReading(socket);
      this.#refuse(socket, "shuttingDown", undefined);
    }
  }

  /** Destroys every connection that was not upgraded (the end of a graceful shutdown). */
  destroyAll(): void {
    for (const socket of this.#sockets) {
      stopReading(socket);
      socket.destroy();
    }
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }
}

/**
 * Node's native latin1 decoding. It must take any Uint8Array: the parser also decodes from its
 * own copy of a line split across chunks, which is not a Buffer.
 */
const latin1Slice = (
  Buffer.prototype as unknown as {
    latin1Slice?: (this: Uint8Array, start: number, end: number) => string;
  }
).latin1Slice;

function decodeLatin1(bytes: Uint8Array, start: number, end: number): string {
  if (latin1Slice !== undefined) return latin1Slice.call(bytes, start, end);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
    "latin1",
    start,
    end,
  );
}

/** Node's internal that its HTTP parser uses to give a request its headers (Node ≥ 15). */
interface IncomingMessageInternals extends IncomingMessage {
  _addHeaderLines(headers: string[], count: number): void;
  /** Documented on `IncomingMessage`, missing from its type definitions. */
  upgrade: boolean;
}

/** The 'data' listener of every socket whose head is in progress. */
function onHeadData(this: ListenerSocket, chunk: Buffer): void {
  const reading = this[kReading];
  if (reading !== undefined) reading.listener.readHead(this, reading, chunk);
}

/** The peer ended its side before the head was complete. */
function onHeadEnd(this: ListenerSocket): void {
  const reading = this[kReading];
  if (reading === undefined) return;
  stopReading(this);
  if (reading.parser === undefined) {
    // Nothing was sent: nothing to answer (as http.Server).
    this.destroy();
    return;
  }
  refuse(this, 400, "the connection ended before the request head was complete\n");
}

/** A socket error before the upgrade (typically ECONNRESET): the socket is gone. */
function onSocketError(this: ListenerSocket): void {
  stopReading(this);
  this.destroy();
}

/** Drops the head-reading state and listeners of `socket`, if any. */
function stopReading(socket: ListenerSocket): void {
  const reading = socket[kReading];
  if (reading === undefined) return;
  socket[kReading] = undefined;
  StandaloneListener.headDone(reading.listener, socket, reading);
  socket.off("data", onHeadData);
  socket.off("end", onHeadEnd);
  // As http.Server before 'upgrade': nothing reads until the next owner attaches a listener,
  // so bytes after the head stay in the socket for the transport.
  (socket as { readableFlowing: boolean | null }).readableFlowing = null;
}

/** The first element of a set (its oldest), or undefined. */
function firstOf<T>(set: Set<T>): T | undefined {
  for (const value of set) return value;
  return undefined;
}

/** Answers with an error status and closes (rejectUpgrade drops what the peer still sends). */
function refuse(socket: ListenerSocket, status: number, body: string): void {
  rejectUpgrade(socket, status, { body });
}

/** Whether the header name `name` is the lower-case ASCII `lower`, ignoring ASCII case. */
function isName(name: string, lower: string): boolean {
  return equalsLowerAscii(name, 0, name.length, lower);
}

/**
 * Answers a request that is not an upgrade. A WebSocket handshake that lacks the
 * `Connection: Upgrade` or `Upgrade: websocket` token is a bad request (RFC 6455 §4.2.1 items
 * 3–4, SPEC.md G3): 400 with the reason; any other request learns that this is a WebSocket
 * endpoint: 426 with `Upgrade: websocket` (RFC 9110 §15.5.22). The connection then closes.
 */
function answerPlainRequest(
  socket: ListenerSocket,
  method: string,
  httpVersion: string,
  rawHeaders: readonly string[],
): void {
  let attempted = false;
  for (let i = 0; i + 1 < rawHeaders.length && !attempted; i += 2) {
    const name = rawHeaders[i]!;
    attempted =
      isName(name, "sec-websocket-key") ||
      (isName(name, "upgrade") && /websocket/i.test(rawHeaders[i + 1]!));
  }
  // RFC 9110 §9.3.2: the answer to HEAD has the headers a GET would get, without the body.
  const omitBody = method === "HEAD";
  const validation = attempted
    ? validateRawUpgradeRequest(method, httpVersion, rawHeaders)
    : undefined;
  if (validation !== undefined && !validation.ok) {
    rejectUpgrade(socket, validation.status, {
      headers: validation.headers,
      body: `${validation.message}\n`,
      omitBody,
    });
  } else {
    rejectUpgrade(socket, 426, {
      headers: [["Upgrade", "websocket"]],
      body: "426 Upgrade Required: this is a WebSocket endpoint\n",
      omitBody,
    });
  }
}
