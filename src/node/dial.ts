/**
 * Opening a client connection: TCP or TLS to the URL's host, the opening handshake (built and
 * checked by the sans-I/O `handshake/` module), then a {@link Transport} around a client
 * {@link Engine}. Everything that can go wrong before the connection is open is reported once,
 * as a {@link DialFailure} value; nothing is thrown from socket callbacks.
 *
 * @module
 */
import { lookup as dnsLookup } from "node:dns";
import { isIP, connect as netConnect, type LookupFunction, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { Engine, type EngineOptions } from "../protocol/engine.js";
import { ClientHandshake, buildClientRequest } from "../protocol/handshake/client-handshake.js";
import {
  HandshakeError,
  type HandshakeResponseInfo,
} from "../protocol/handshake/handshake-error.js";
import type { HttpHeader } from "../protocol/handshake/http-head.js";
import {
  PERMESSAGE_DEFLATE,
  PerMessageDeflate,
  acceptDeflateResponse,
  buildDeflateOffer,
  type DeflateOfferOptions,
  type DeflateParameters,
} from "../protocol/extensions/permessage-deflate.js";
import type { DeflateCodec } from "../protocol/ports.js";
import { nodePorts } from "./node-ports.js";
import { openTunnel, type ProxyConfig, type ProxyFailureCode, type Tunnelling } from "./proxy.js";
import { Transport, type TransportHandlers } from "./transport.js";

/** TLS settings for `wss:` (passed to `tls.connect`). */
export interface DialTlsOptions {
  readonly ca?: ConnectionOptions["ca"];
  readonly cert?: ConnectionOptions["cert"];
  readonly key?: ConnectionOptions["key"];
  /** Verify the server's certificate (default true; SPEC.md P12). */
  readonly rejectUnauthorized?: boolean;
  /** The SNI server name (default: the URL's host name when it is not an IP address). */
  readonly servername?: string;
}

/** What to connect to and how. */
export interface DialOptions {
  /** A `ws:` or `wss:` URL, already validated. */
  readonly url: URL;
  readonly protocols: readonly string[];
  /** The `Sec-WebSocket-Extensions` offer, if any. */
  readonly extensions?: string;
  readonly origin?: string;
  /** Extra request headers (validated by the handshake builder). */
  readonly headers?: readonly (readonly [string, string])[];
  readonly tls?: DialTlsOptions;
  /** Fail if the connection is not open after this long. */
  readonly handshakeTimeoutMs: number;
  /**
   * RFC 6455 §4.1 step 2 (SPEC.md F3): keep at most one connection per remote (IP address,
   * port) in the CONNECTING state; later attempts wait in line (the wait counts against
   * `handshakeTimeoutMs`). Off by default.
   */
  readonly serializeConnecting?: boolean;
  /**
   * Reach the server through this proxy (SPEC.md F4, S1–S5): an HTTP CONNECT or SOCKS5 tunnel,
   * inside which TLS (for `wss:`) and the handshake run as they would over TCP.
   */
  readonly proxy?: ProxyConfig;
  /** Settings of the engine once open. */
  readonly engine?: Omit<EngineOptions, "role" | "ports" | "deflate">;
  /**
   * Offer permessage-deflate (RFC 7692) with these parameters; when the server accepts, messages
   * are (de)compressed through `codec`. Replaces `extensions`.
   */
  readonly deflate?: {
    readonly offer: DeflateOfferOptions;
    readonly codec: DeflateCodec;
    readonly thresholdBytes: number;
  };
}

/**
 * The stable codes of a failed connection attempt (`ERR_WS_BLOCKED_PORT` is decided before
 * dialing, by the WHATWG layer, SPEC.md A11; `dial()` itself never reports it).
 */
export type DialFailureCode =
  | "ERR_WS_BLOCKED_PORT"
  | "ERR_WS_CONNECT_FAILED"
  | "ERR_WS_TLS_FAILED"
  | "ERR_WS_HANDSHAKE_TIMEOUT"
  | "ERR_WS_ABORTED"
  | ProxyFailureCode
  | HandshakeError["code"];

/** Why a connection attempt failed. */
export interface DialFailure {
  readonly code: DialFailureCode;
  readonly message: string;
  /** The server's response, when it answered the handshake but not acceptably. */
  readonly response?: HandshakeResponseInfo;
  /** The underlying error (socket, TLS or handshake). */
  readonly error?: unknown;
}

/** What the connection is, once open. */
export interface OpenInfo {
  readonly protocol: string;
  readonly extensions: string;
  readonly status: number;
  readonly headers: readonly HttpHeader[];
}

/** Callbacks for a connection attempt; after `open`, the transport handlers take over. */
export interface DialHandlers extends TransportHandlers {
  /** The handshake succeeded. Called before any message of the connection. */
  open(transport: Transport, info: OpenInfo): void;
  /** The attempt failed; no other handler is called afterwards. */
  failed(failure: DialFailure): void;
}

/** A connection attempt in progress. */
export interface Dialing {
  /** Abandons the attempt if it has not succeeded yet (reported as `ERR_WS_ABORTED`). */
  abort(): void;
}

/**
 * Connects to `options.url` and runs the opening handshake (RFC 6455 §4.1).
 * Never throws: every failure reaches `handlers.failed`, once.
 */
export function dial(options: DialOptions, handlers: DialHandlers): Dialing {
  const { url } = options;
  const secure = url.protocol === "wss:";
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  let settled = false;
  let socket: Socket | undefined;
  let socketError: unknown;
  // Assigned below (when there is a timeout), but read by `fail`, which may run before that.
  let timer: NodeJS.Timeout | undefined;
  let tunnelling: Tunnelling | undefined;

  const fail = (failure: DialFailure): void => {
    if (settled) return;
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
    tunnelling?.abort();
    socket?.destroy();
    leaveLine?.();
    handlers.failed(failure);
  };

  let handshake: ClientHandshake;
  let requestBytes: Uint8Array;
  let engine: Engine;
  let deflateParameters: DeflateParameters | undefined;
  try {
    // Built now, so that a bad option fails the attempt here rather than throwing later from a
    // socket callback.
    engine = new Engine({ ...options.engine, role: "client", ports: nodePorts });
    const offer =
      options.deflate === undefined ? options.extensions : buildDeflateOffer(options.deflate.offer);
    const request = buildClientRequest(
      {
        host: url.hostname,
        port,
        secure,
        resourceName: `${url.pathname}${url.search}`,
        protocols: options.protocols,
        ...(offer === undefined ? {} : { extensions: offer }),
        ...(options.origin === undefined ? {} : { origin: options.origin }),
        ...(options.headers === undefined ? {} : { headers: options.headers }),
      },
      nodePorts,
    );
    handshake = new ClientHandshake(request, {
      // RFC 7692 §5, §7 (SPEC.md N6–N10): check what the server accepted against the offer.
      validateExtensions: (accepted) => {
        deflateParameters = undefined;
        const deflate = options.deflate;
        for (const extension of accepted) {
          if (extension.name === PERMESSAGE_DEFLATE && deflate !== undefined) {
            deflateParameters = acceptDeflateResponse(extension, deflate.offer);
          }
        }
      },
    });
    requestBytes = request.bytes;
  } catch (error) {
    queueMicrotask(() => fail(asFailure(error)));
    return {
      abort: () => fail({ code: "ERR_WS_ABORTED", message: "the connection attempt was aborted" }),
    };
  }

  const onData = (chunk: Buffer): void => {
    let result: ReturnType<ClientHandshake["receive"]>;
    try {
      result = handshake.receive(chunk);
    } catch (error) {
      fail(asFailure(error));
      return;
    }
    if (result === undefined || settled) return;
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
    leaveLine?.();
    const s = socket!;
    s.off("data", onData);
    s.off("error", onError);
    s.off("close", onClose);
    s.off("end", onEnd);
    if (deflateParameters !== undefined && options.deflate !== undefined) {
      const deflate = new PerMessageDeflate({
        isClient: true,
        parameters: deflateParameters,
        codec: options.deflate.codec,
        thresholdBytes: options.deflate.thresholdBytes,
      });
      engine = new Engine({ ...options.engine, role: "client", ports: nodePorts, deflate });
    }
    const transport = new Transport(s, engine, handlers);
    handlers.open(transport, {
      protocol: result.protocol,
      extensions: result.extensions,
      status: result.head.status,
      headers: result.head.headers,
    });
    transport.start(result.rest);
  };
  const onError = (error: Error): void => {
    socketError ??= error;
  };
  const onEnd = (): void => {
    fail({
      code: "ERR_WS_CONNECT_FAILED",
      message: "the server closed the connection during the handshake",
    });
  };
  const onClose = (): void => {
    const tlsFailure = secure && isTlsError(socketError);
    fail({
      code: tlsFailure ? "ERR_WS_TLS_FAILED" : "ERR_WS_CONNECT_FAILED",
      message:
        socketError instanceof Error
          ? `${tlsFailure ? "TLS handshake failed" : "connection failed"}: ${socketError.message}`
          : "the connection closed during the handshake",
      ...(socketError === undefined ? {} : { error: socketError }),
    });
  };
  const onConnected = (): void => {
    if (!settled) socket!.write(requestBytes);
  };

  // SPEC.md F3: with `serializeConnecting`, resolve the host first, then wait for the other
  // attempts to the same (IP address, port) to finish their handshakes before connecting.
  let leaveLine: (() => void) | undefined;
  const listen = (s: Socket): void => {
    s.on("data", onData);
    s.on("error", onError);
    s.on("end", onEnd);
    s.on("close", onClose);
  };
  const connectNow = (address?: { address: string; family: number }): void => {
    if (settled) return;
    if (options.proxy !== undefined) {
      connectThroughProxy(options.proxy);
      return;
    }
    try {
      socket = openSocket(address);
    } catch (error) {
      fail({ code: "ERR_WS_CONNECT_FAILED", message: String(error), error });
      return;
    }
    listen(socket);
  };
  // SPEC.md S1–S4: the tunnel replaces the TCP connection; TLS and the handshake run inside it.
  const connectThroughProxy = (proxy: ProxyConfig): void => {
    const tls = options.tls ?? {};
    tunnelling = openTunnel(
      proxy,
      { host, port },
      {
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.rejectUnauthorized === undefined
          ? {}
          : { rejectUnauthorized: tls.rejectUnauthorized }),
      },
      (result) => {
        tunnelling = undefined;
        if ("failure" in result) {
          fail(result.failure);
          return;
        }
        if (settled) {
          result.socket.destroy();
          return;
        }
        if (secure) {
          try {
            socket = tlsConnect({ socket: result.socket, ...targetTlsOptions() }, onConnected);
          } catch (error) {
            result.socket.destroy();
            fail({ code: "ERR_WS_TLS_FAILED", message: String(error), error });
            return;
          }
          listen(socket);
          return;
        }
        socket = result.socket;
        listen(socket);
        onConnected();
      },
    );
  };
  /** TLS to the target: SNI, trust, client certificate (SPEC.md F5, P12). */
  const targetTlsOptions = (): ConnectionOptions => {
    const tls = options.tls ?? {};
    const servername = tls.servername ?? (isIP(host) === 0 ? host : undefined);
    return {
      ALPNProtocols: ["http/1.1"],
      ...(servername === undefined ? {} : { servername }),
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
    };
  };
  const openSocket = (address?: { address: string; family: number }): Socket => {
    // The connection goes to the address the line was kept for, while `host` stays the name
    // (for TLS: SNI and the certificate check).
    const lookup: LookupFunction | undefined =
      address === undefined
        ? undefined
        : (_hostname, _options, callback) => {
            callback(null, address.address, address.family);
          };
    if (secure) {
      return tlsConnect(
        { host, port, ...(lookup === undefined ? {} : { lookup }), ...targetTlsOptions() },
        onConnected,
      );
    }
    return netConnect({ host, port, ...(lookup === undefined ? {} : { lookup }) }, onConnected);
  };

  if (options.serializeConnecting === true) {
    const enterLine = (address: string, family: number): void => {
      if (settled) return;
      const place = connectingLine.enter(`${address}|${port}`, () =>
        connectNow({ address, family }),
      );
      leaveLine = place.leave;
      if (place.isFirst) connectNow({ address, family });
    };
    const family = isIP(host);
    // Through a proxy the address is the proxy's business: the line is kept per host name.
    if (family !== 0 || options.proxy !== undefined) enterLine(host, family);
    else
      dnsLookup(host, (error, address, addressFamily) => {
        if (error !== null) {
          fail({
            code: "ERR_WS_CONNECT_FAILED",
            message: `connection failed: ${error.message}`,
            error,
          });
          return;
        }
        enterLine(address, addressFamily);
      });
  } else {
    connectNow();
  }
  // A timeout beyond what setTimeout honours (or Infinity) means no handshake timeout.
  if (options.handshakeTimeoutMs <= MAX_TIMER_DELAY_MS)
    timer = setTimeout(() => {
      fail({
        code: "ERR_WS_HANDSHAKE_TIMEOUT",
        message: `the opening handshake did not complete within ${options.handshakeTimeoutMs} ms`,
      });
    }, options.handshakeTimeoutMs);
  timer?.unref();

  return {
    abort: () => fail({ code: "ERR_WS_ABORTED", message: "the connection attempt was aborted" }),
  };
}

function asFailure(error: unknown): DialFailure {
  if (error instanceof HandshakeError) {
    return {
      code: error.code,
      message: error.message,
      error,
      ...(error.response === undefined ? {} : { response: error.response }),
    };
  }
  return { code: "ERR_WS_CONNECT_FAILED", message: String(error), error };
}

function isTlsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return false;
  return (
    code.startsWith("ERR_SSL") ||
    code.startsWith("ERR_TLS") ||
    code.includes("CERT") ||
    code === "DEPTH_ZERO_SELF_SIGNED_CERT" ||
    code === "SELF_SIGNED_CERT_IN_CHAIN" ||
    code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
  );
}

/** The longest delay `setTimeout` honours (2^31 − 1 ms). */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * The attempts in the CONNECTING state per remote (IP address, port), for `serializeConnecting`
 * (SPEC.md F3): the first of a key runs, the others wait in order. Process-wide, as a browser's
 * is per user agent.
 */
class ConnectingLine {
  readonly #waiting = new Map<string, (() => void)[]>();

  /**
   * Takes a place in the line of `key`. When no attempt to `key` is connecting, the place is
   * the first (`isFirst`: the caller starts now); otherwise `start` is called once those before
   * it have left. `leave` (idempotent) is called when the attempt opens or fails, or to give up
   * a place still waiting.
   */
  enter(key: string, start: () => void): { readonly isFirst: boolean; readonly leave: () => void } {
    const queue = this.#waiting.get(key);
    let state: "waiting" | "running" | "left" = queue === undefined ? "running" : "waiting";
    const run = (): void => {
      state = "running";
      start();
    };
    if (queue === undefined) this.#waiting.set(key, []);
    else queue.push(run);
    const leave = (): void => {
      if (state === "left") return;
      const wasRunning = state === "running";
      state = "left";
      const line = this.#waiting.get(key);
      if (line === undefined) return;
      if (!wasRunning) {
        const index = line.indexOf(run);
        if (index !== -1) line.splice(index, 1);
        return;
      }
      const next = line.shift();
      if (next === undefined) this.#waiting.delete(key);
      else next();
    };
    return { isFirst: queue === undefined, leave };
  }
}

const connectingLine = new ConnectingLine();
