/**
 * The server side of the opening handshake on a Node `'upgrade'` (request, socket, head):
 * validating the request with the sans-I/O `handshake/` module, answering with a 101 or an
 * HTTP error, and wrapping an accepted socket in a {@link Transport} around a server
 * {@link Engine}.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { Engine, type EngineOptions } from "../protocol/engine.js";
import {
  buildAcceptResponseHead,
  buildRejectResponse,
  validateRawUpgradeRequest,
  type UpgradeRequestValidation,
} from "../protocol/handshake/server-handshake.js";
import { nodePorts } from "./node-ports.js";
import { Transport, type TransportHandlers } from "./transport.js";

/** Checks an upgrade request against RFC 6455 §4.2.1 (see `validateUpgradeRequest`). */
export function checkUpgradeRequest(request: IncomingMessage): UpgradeRequestValidation {
  return validateRawUpgradeRequest(request.method ?? "", request.httpVersion, request.rawHeaders);
}

/** How long an HTTP error answer may take to flush before the socket is destroyed. */
const REJECT_LINGER_MS = 1_000;

/**
 * Answers the upgrade with an HTTP error and closes the connection (RFC 6455 §4.2.2: never a
 * Close frame, the connection was not established; SPEC.md G13). Never throws.
 */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  options: {
    headers?: readonly (readonly [string, string])[];
    body?: string;
    statusText?: string;
    /** Send the headers only, `Content-Length` included (the answer to a HEAD request). */
    omitBody?: boolean;
  } = {},
): void {
  if (socket.destroyed) return;
  socket.on("error", ignore);
  let bytes: Uint8Array;
  try {
    bytes = buildRejectResponse(status, {
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.statusText === undefined ? {} : { statusText: options.statusText }),
      ...(options.omitBody === undefined ? {} : { omitBody: options.omitBody }),
    });
  } catch {
    // An application-supplied status or header that cannot be sent: answer 500 instead.
    bytes = buildRejectResponse(500);
  }
  if (socket.writable) {
    socket.end(bytes);
    // Read and drop whatever the peer still sends: its FIN is then seen (the socket closes
    // without waiting for the linger timer) and closing never leaves unread bytes behind,
    // which would turn the FIN into a reset that may destroy the answer in flight.
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), REJECT_LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  } else {
    socket.destroy();
  }
}

/**
 * Writes the 101 response and returns the open connection's transport. The `head` bytes (frames
 * that arrived with the request) are fed when the caller calls `transport.start(head)`.
 * `engineOptions` (role "server", Node's ports, the limits) is used as given, so a server can
 * build it once for every connection.
 */
export function acceptUpgrade(
  socket: Duplex,
  key: string,
  accepted: {
    protocol?: string;
    extensions?: string;
    headers?: readonly (readonly [string, string])[];
  },
  engineOptions: EngineOptions,
  handlers: TransportHandlers,
): Transport {
  // Written as a latin1 string: Node encodes it straight into the write request.
  socket.write(buildAcceptResponseHead(key, accepted, nodePorts.sha1), "latin1");
  return new Transport(socket as Socket, new Engine(engineOptions), handlers);
}

function ignore(): void {}
