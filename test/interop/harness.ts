/**
 * Starts the two kinds of pairing: sockwise's server with a peer client, and sockwise's client
 * with a peer server, each with a {@link Relay} in between.
 *
 * @module
 */
import type { Server as HttpServer } from "node:http";
import {
  openSockwiseClient,
  startSockwiseServer,
  type PeerClient,
  type PeerServer,
} from "./ends.js";
import type { Harness } from "./matrix.js";
import { Relay } from "./relay.js";

/** sockwise's server (own port, or attached to `httpServer`) and a peer client. */
export async function sockwiseServerHarness(
  peer: PeerClient,
  peerVersion: string,
  httpServer?: HttpServer,
): Promise<Harness> {
  const { server, port, connections } = await startSockwiseServer(httpServer);
  const relay = await Relay.start(port);
  const url = `ws://127.0.0.1:${relay.port}/`;
  return {
    peerVersion,
    async connect() {
      const link = relay.nextLink();
      const peerEnd = await peer.connect(url);
      const sockwise = await connections.take("the sockwise server to accept the connection");
      return { sockwise, peer: peerEnd, link: await link };
    },
    async stop() {
      await peer.stop();
      await relay.stop();
      await server.close({ timeoutMs: 100 });
    },
  };
}

/** A peer server and sockwise's client. */
export async function sockwiseClientHarness(
  peerServer: PeerServer,
  peerVersion: string,
  stopPeer: () => Promise<void> = () => peerServer.stop(),
): Promise<Harness> {
  const relay = await Relay.start(peerServer.port);
  const url = `ws://127.0.0.1:${relay.port}/`;
  return {
    peerVersion,
    async connect() {
      const link = relay.nextLink();
      const sockwise = await openSockwiseClient(url);
      const peer = await peerServer.nextConnection();
      return { sockwise, peer, link: await link };
    },
    async stop() {
      await relay.stop();
      await stopPeer();
    },
  };
}
