/**
 * permessage-deflate interop with `ws` (RFC 7692; SPEC.md N1–N22), both directions, for every
 * parameter combination (server/client no_context_takeover on and off, max_window_bits 9 and 15,
 * threshold 0 on both ends): both ends must report the same negotiated parameters, every message
 * of the corpus must come back intact, and the wire (seen through a tap) must show compressed
 * messages in both directions, RSV1 only on first frames, and context takeover exactly where
 * negotiated. Also ws's defaults against sockwise's defaults, and an 8-bit window chosen by ws.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import WsWebSocket, { WebSocketServer as WsServer } from "ws";
import {
  COMBOS,
  CORPUS,
  MAX_MESSAGE_BYTES,
  comboName,
  checkLink,
  exchangeCorpus,
  expectedParams,
  openSockwiseDeflateClient,
  paramsOf,
  startSockwiseDeflateServer,
  withTimeout,
  type Combo,
} from "../helpers/deflate-interop.js";
import { WireTap } from "../helpers/deflate-tap.js";
import { packageVersion } from "./ends.js";

const wsVersion = packageVersion("ws");

function wsOptions(combo: Combo): Record<string, unknown> {
  return {
    serverNoContextTakeover: combo.serverNoContextTakeover,
    clientNoContextTakeover: combo.clientNoContextTakeover,
    serverMaxWindowBits: combo.windowBits,
    clientMaxWindowBits: combo.windowBits,
    threshold: 0,
  };
}

/** Opens a ws client that echoes every message. */
async function openWsClient(url: string, perMessageDeflate: unknown): Promise<WsWebSocket> {
  const socket = new WsWebSocket(url, {
    perMessageDeflate: perMessageDeflate as WsWebSocket.ClientOptions["perMessageDeflate"],
    maxPayload: MAX_MESSAGE_BYTES,
  });
  socket.on("message", (data, isBinary) => socket.send(data as Buffer, { binary: isBinary }));
  socket.on("error", () => {});
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    }),
    "the ws client to open",
  );
  return socket;
}

/** Starts a ws server that echoes every message. */
async function startWsServer(
  perMessageDeflate: unknown,
): Promise<{ server: WsServer; port: number }> {
  const server = new WsServer({
    port: 0,
    host: "127.0.0.1",
    perMessageDeflate: perMessageDeflate as WsWebSocket.ServerOptions["perMessageDeflate"],
    maxPayload: MAX_MESSAGE_BYTES,
  });
  server.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => socket.send(data as Buffer, { binary: isBinary }));
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function stopWsServer(server: WsServer): Promise<void> {
  return new Promise((resolve) => {
    for (const client of server.clients) client.terminate();
    server.close(() => resolve());
  });
}

describe(`N1–N22 sockwise server ↔ ws ${wsVersion} client`, () => {
  for (const combo of COMBOS) {
    test(`N7–N11/N19: ${comboName(combo)}: same parameters at both ends, ${CORPUS.length} messages intact, compressed both ways`, async (t) => {
      const sockwise = await startSockwiseDeflateServer(combo);
      const tap = await WireTap.start(sockwise.port);
      t.after(async () => {
        await tap.stop();
        await sockwise.server.close({ timeoutMs: 200 });
      });
      const accepted = sockwise.next();
      const ws = await openWsClient(tap.url(), wsOptions(combo));
      const end = await accepted;
      // ws exposes only the names of the extensions in use; the parameters are on the wire.
      assert.deepEqual(paramsOf(end.extensions), expectedParams(combo));
      assert.equal(ws.extensions, "permessage-deflate");
      assert.equal(tap.last.toClient.header("Sec-WebSocket-Extensions"), end.extensions);
      await exchangeCorpus(end);
      checkLink(tap.last, combo);
      assert.deepEqual(await end.close(), { code: 1000, wasClean: true });
    });
  }

  test("N2/N22: ws's default offer and sockwise's default server settings", async (t) => {
    const sockwise = await startSockwiseDeflateServer(undefined);
    const tap = await WireTap.start(sockwise.port);
    t.after(async () => {
      await tap.stop();
      await sockwise.server.close({ timeoutMs: 200 });
    });
    const accepted = sockwise.next();
    const ws = await openWsClient(tap.url(), { threshold: 0 });
    const end = await accepted;
    assert.equal(
      tap.last.toServer.header("Sec-WebSocket-Extensions"),
      "permessage-deflate; client_max_window_bits",
    );
    assert.equal(
      end.extensions,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    );
    assert.equal(ws.extensions, "permessage-deflate");
    await exchangeCorpus(end);
    checkLink(tap.last, {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      windowBits: 15,
    });
  });

  test("N21: ws asks for server_max_window_bits=8: sockwise accepts and sends uncompressed, ws still compresses", async (t) => {
    const sockwise = await startSockwiseDeflateServer(undefined);
    const tap = await WireTap.start(sockwise.port);
    t.after(async () => {
      await tap.stop();
      await sockwise.server.close({ timeoutMs: 200 });
    });
    const accepted = sockwise.next();
    const ws = await openWsClient(tap.url(), { serverMaxWindowBits: 8, threshold: 0 });
    const end = await accepted;
    assert.ok(paramsOf(end.extensions).includes("server_max_window_bits=8"), end.extensions);
    assert.equal(ws.extensions, "permessage-deflate");
    await exchangeCorpus(end);
    assert.equal(tap.last.toClient.compressedMessages, 0);
    assert.ok(tap.last.toServer.compressedMessages > 0);
  });
});

describe(`N1–N22 sockwise client ↔ ws ${wsVersion} server`, () => {
  for (const combo of COMBOS) {
    test(`N7–N11/N19: ${comboName(combo)}: same parameters at both ends, ${CORPUS.length} messages intact, compressed both ways`, async (t) => {
      const ws = await startWsServer(wsOptions(combo));
      const tap = await WireTap.start(ws.port);
      t.after(async () => {
        await tap.stop();
        await stopWsServer(ws.server);
      });
      const wsConnection = new Promise<WsWebSocket>((resolve) =>
        ws.server.once("connection", resolve),
      );
      const end = await openSockwiseDeflateClient(tap.url(), combo);
      const peer = await withTimeout(wsConnection, "the ws server to accept");
      assert.deepEqual(paramsOf(end.extensions), expectedParams(combo));
      assert.equal(tap.last.toClient.header("Sec-WebSocket-Extensions"), end.extensions);
      assert.equal(peer.extensions, "permessage-deflate");
      await exchangeCorpus(end);
      checkLink(tap.last, combo);
      assert.deepEqual(await end.close(), { code: 1000, wasClean: true });
    });
  }

  test("N21: ws answers server_max_window_bits=8 (its own 8 is zlib's 9): sockwise inflates it", async (t) => {
    const ws = await startWsServer({ serverMaxWindowBits: 8, threshold: 0 });
    const tap = await WireTap.start(ws.port);
    t.after(async () => {
      await tap.stop();
      await stopWsServer(ws.server);
    });
    const end = await openSockwiseDeflateClient(tap.url(), {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      windowBits: 15,
    }).catch((error: unknown) => error as Error);
    // sockwise offered server_max_window_bits=15; ws's answer of 8 is within it.
    assert.ok(!(end instanceof Error), String(end));
    assert.ok(paramsOf(end.extensions).includes("server_max_window_bits=8"), end.extensions);
    await exchangeCorpus(end);
    assert.ok(tap.last.toClient.compressedMessages > 0);
  });
});
