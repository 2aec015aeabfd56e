/**
 * One-line setup for client tests: a {@link RawPeer}, a WHATWG `WebSocket` connected to it and
 * recorded, and cleanup registered on the test context.
 *
 * @module
 */
import type { TestContext } from "node:test";

import { WebSocket, type WebSocketOptions } from "../../src/index.js";
import { record, type Recorder } from "./client-recorder.js";
import { RawPeer, type PeerConnection, type RawPeerOptions } from "./raw-peer.js";

/** What {@link openClient} returns. */
export interface OpenClient {
  readonly peer: RawPeer;
  /** The peer's side of the connection. */
  readonly conn: PeerConnection;
  readonly ws: WebSocket;
  readonly rec: Recorder;
}

/** Options of {@link openClient}. */
export interface OpenClientOptions {
  readonly peer?: RawPeerOptions;
  /** The constructor's second argument. */
  readonly second?: string | readonly string[] | WebSocketOptions;
  /** The path (and query) to connect to. */
  readonly path?: string;
}

/**
 * Starts a peer, connects a WebSocket to it and waits for `open`. The peer (and with it the
 * connection) is stopped when the test ends.
 */
export async function openClient(
  t: TestContext,
  options: OpenClientOptions = {},
): Promise<OpenClient> {
  const peer = await RawPeer.start(options.peer);
  t.after(() => peer.stop());
  const url = peer.urlFor(options.path ?? "/");
  const ws = options.second === undefined ? new WebSocket(url) : new WebSocket(url, options.second);
  const rec = record(ws);
  await rec.opened();
  const conn = await peer.connection();
  return { peer, conn, ws, rec };
}
