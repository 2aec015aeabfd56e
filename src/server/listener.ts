/**
 * Standalone mode's listener: a `net.Server` that reads each connection's request head with
 * sockwise's own bounded parser ({@link HttpHeadParser}) instead of Node's `http.Server`. A
 * WebSocket server needs one request per connection and no HTTP machinery after it (no
 * `ServerResponse`, no keep-alive, no connection tracking), and skipping that machinery is most
 * of the CPU a handshake costs (docs/benchmarks.md).
 *
 * Per connection, from TCP accept until the request head is decided:
 * - the `connection` hook counts it (SPEC.md P9) and may refuse it;
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

/** What the listener asks of its server. */
export interface ListenerHooks {
  /**
   * A connection was accepted, before anything is read. Return false to refuse it; the hook has
   * then answered it (with rejectUpgrade, which discards what the peer sends).
   */
  connection(socket: Socket): boolean;
  /** A complete upgrade request: run the opening handshake (as http.Server's 'upgrade'). */
  upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void;
  /** The listener refused a connection before any upgrade request (for `server.stats()`). */
  refused?(
    socket: Socket,
    status: number,
    reason: "timeout" | "bad-head" | "not-websocket" | "shutting-down",
  ): void;
}

/** Limits on a request head. */
export interface ListenerLimits {
  /** The largest request head, request line and blank line included (431 beyond). */
  readonly maxHeaderBytes: number;
  /** Time from TCP accept to a complete request head (408 beyond). */
  readonly handshakeTimeoutMs: number;
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

  constructor(
    readonly listener: StandaloneListener,
    /** `performance.now()` by which the head must be complete. */
    readonly deadline: number,
  ) {}
}

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
  /**
   * Every accepted socket not (yet) handed to a transport: heads in progress, refused
   * connections still flushing their answer, upgrades waiting for `authenticate`. Shutdown
   * answers or destroys them; the timeout sweep looks for heads that are late.
   */
  readonly #sockets = new Set<ListenerSocket>();
  /** Removes a closed socket from {@link StandaloneListener.#sockets} (one per listener). */
  readonly #onClose: (this: ListenerSocket) => void;
  /** Heads in progress. */
  #reading = 0;
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
    let accepted: boolean;
    try {
      accepted = this.#hooks.connection(socket);
    } catch {
      accepted = false;
      rejectUpgrade(socket, 500);
    }
    if (!accepted) return;
    socket[kReading] = new Reading(this, performance.now() + this.#timeoutMs);
    if (this.#reading++ === 0 && this.#sweepTimer === undefined) {
      this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepMs);
      this.#sweepTimer.unref();
    }
    socket.on("data", onHeadData);
    socket.on("end", onHeadEnd);
  }

  /** G15/P9: answers 408 to every head that is late; stops when no head is in progress. */
  #sweep(): void {
    if (this.#reading === 0) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
      return;
    }
    const now = performance.now();
    for (const socket of this.#sockets) {
      const reading = socket[kReading];
      if (reading === undefined || reading.deadline > now) continue;
      stopReading(socket);
      this.noteRefused(socket, 408, "timeout");
      refuse(socket, 408, "the request head did not arrive in time\n");
    }
  }

  /** A head is no longer in progress (called from {@link stopReading}). */
  static headDone(listener: StandaloneListener): void {
    listener.#reading--;
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
      this.noteRefused(socket, status ?? 400, "bad-head");
      refuse(
        socket,
        status ?? 400,
        error instanceof HandshakeError ? `${error.message}\n` : "malformed request head\n",
      );
      return;
    }
    if (head === undefined) return;
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
      this.noteRefused(socket, 426, "not-websocket");
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

  /** @internal Tells the server about a refusal (never throws). */
  noteRefused(
    socket: Socket,
    status: number,
    reason: Parameters<NonNullable<ListenerHooks["refused"]>>[2],
  ): void {
    try {
      this.#hooks.refused?.(socket, status, reason);
    } catch {
      // Counting must never break answering.
    }
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
    for (const socket of this.#sockets) {
      if (socket[kReading] === undefined) continue;
      stopReading(socket);
      this.noteRefused(socket, 503, "shutting-down");
      refuse(socket, 503, "the server is shutting down\n");
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
  reading.listener.noteRefused(this, 400, "bad-head");
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
  StandaloneListener.headDone(reading.listener);
  socket.off("data", onHeadData);
  socket.off("end", onHeadEnd);
  // As http.Server before 'upgrade': nothing reads until the next owner attaches a listener,
  // so bytes after the head stay in the socket for the transport.
  (socket as { readableFlowing: boolean | null }).readableFlowing = null;
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
