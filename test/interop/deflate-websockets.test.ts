/**
 * permessage-deflate interop with Python `websockets` (Debian python3-websockets, driven through
 * test/helpers/websockets_peer.py), both directions, for every parameter combination
 * (server/client no_context_takeover on and off, max_window_bits 9 and 15; websockets has no
 * threshold and compresses everything, sockwise runs with threshold 0), plus the library's
 * defaults and 8-bit windows chosen by websockets (SPEC.md N21). Each connection is checked on
 * both ends and on the wire (see test/helpers/deflate-interop.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  COMBOS,
  CORPUS,
  comboName,
  checkLink,
  exchangeCorpus,
  expectedParams,
  openSockwiseDeflateClient,
  paramsOf,
  requirePeer,
  startSockwiseDeflateServer,
  type Combo,
} from "../helpers/deflate-interop.js";
import { PythonDeflatePeer, type PythonDeflate } from "../helpers/deflate-python-peer.js";
import { probePythonWebsockets } from "../helpers/python-websockets.js";
import { WireTap } from "../helpers/deflate-tap.js";

const probe = probePythonWebsockets();
const version = "version" in probe ? probe.version : "?";
const options = requirePeer("missing" in probe ? probe.missing : undefined);

function pythonSettings(combo: Combo): PythonDeflate {
  return {
    server_no_context_takeover: combo.serverNoContextTakeover,
    client_no_context_takeover: combo.clientNoContextTakeover,
    server_max_window_bits: combo.windowBits,
    client_max_window_bits: combo.windowBits,
  };
}

describe(`N1–N22 sockwise server ↔ Python websockets ${version} client`, options, () => {
  let python: PythonDeflatePeer;
  before(() => {
    python = new PythonDeflatePeer();
  });
  after(() => python.stop());

  for (const combo of COMBOS) {
    test(`N7–N11/N19: ${comboName(combo)}: same parameters at both ends, ${CORPUS.length} messages intact, compressed both ways`, async (t) => {
      const sockwise = await startSockwiseDeflateServer(combo);
      const tap = await WireTap.start(sockwise.port);
      t.after(async () => {
        await tap.stop();
        await sockwise.server.close({ timeoutMs: 500 });
      });
      const accepted = sockwise.next();
      const peer = await python.connect(tap.url(), pythonSettings(combo));
      const end = await accepted;
      assert.deepEqual(paramsOf(end.extensions), expectedParams(combo));
      assert.equal(peer.extensions, end.extensions);
      await exchangeCorpus(end);
      checkLink(tap.last, combo);
      assert.deepEqual(await end.close(), { code: 1000, wasClean: true });
    });
  }

  test("N2/N22: websockets' default offer (compression=\"deflate\") and sockwise's default settings", async (t) => {
    const sockwise = await startSockwiseDeflateServer(undefined);
    const tap = await WireTap.start(sockwise.port);
    t.after(async () => {
      await tap.stop();
      await sockwise.server.close({ timeoutMs: 500 });
    });
    const accepted = sockwise.next();
    const peer = await python.connect(tap.url(), null);
    const end = await accepted;
    assert.equal(
      end.extensions,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    );
    assert.equal(peer.extensions, end.extensions);
    await exchangeCorpus(end);
    checkLink(tap.last, {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      windowBits: 15,
    });
  });

  test("N21: websockets asks for server_max_window_bits=8: sockwise accepts, sends uncompressed, inflates websockets' 15-bit stream", async (t) => {
    // websockets cannot compress with an 8-bit window itself (zlib refuses a raw 8-bit
    // compressor: "ValueError: Invalid initialization option"), so only sockwise's window is 8.
    const sockwise = await startSockwiseDeflateServer(undefined);
    const tap = await WireTap.start(sockwise.port);
    t.after(async () => {
      await tap.stop();
      await sockwise.server.close({ timeoutMs: 500 });
    });
    const accepted = sockwise.next();
    const peer = await python.connect(tap.url(), {
      server_max_window_bits: 8,
      client_max_window_bits: true,
    });
    const end = await accepted;
    assert.deepEqual(paramsOf(end.extensions), [
      "client_no_context_takeover",
      "server_max_window_bits=8",
      "server_no_context_takeover",
    ]);
    assert.equal(peer.extensions, end.extensions);
    await exchangeCorpus(end);
    checkLink(
      tap.last,
      { serverNoContextTakeover: true, clientNoContextTakeover: true, windowBits: 15 },
      { toClient: false, toServer: true },
    );
  });
});

describe(`N1–N22 sockwise client ↔ Python websockets ${version} server`, options, () => {
  let python: PythonDeflatePeer;
  before(() => {
    python = new PythonDeflatePeer();
  });
  after(() => python.stop());

  for (const combo of COMBOS) {
    test(`N7–N11/N19: ${comboName(combo)}: same parameters at both ends, ${CORPUS.length} messages intact, compressed both ways`, async (t) => {
      const port = await python.serve(pythonSettings(combo));
      const tap = await WireTap.start(port);
      t.after(() => tap.stop());
      const end = await openSockwiseDeflateClient(tap.url(), combo);
      const peer = await python.nextConnection();
      assert.deepEqual(paramsOf(end.extensions), expectedParams(combo));
      assert.equal(peer.extensions, end.extensions);
      await exchangeCorpus(end);
      checkLink(tap.last, combo);
      assert.deepEqual(await end.close(), { code: 1000, wasClean: true });
    });
  }

  test("N21: websockets answers client_max_window_bits=8: sockwise sends uncompressed and inflates websockets' stream", async (t) => {
    // Only the client's window is 8: websockets' own compressor cannot use 8 (see above), and
    // its decompressor can.
    const port = await python.serve({ client_max_window_bits: 8 });
    const tap = await WireTap.start(port);
    t.after(() => tap.stop());
    const end = await openSockwiseDeflateClient(tap.url(), {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      windowBits: 15,
    });
    const peer = await python.nextConnection();
    assert.equal(peer.extensions, end.extensions);
    assert.deepEqual(paramsOf(end.extensions), [
      "client_max_window_bits=8",
      "server_max_window_bits=15",
    ]);
    await exchangeCorpus(end);
    checkLink(
      tap.last,
      { serverNoContextTakeover: false, clientNoContextTakeover: false, windowBits: 15 },
      { toClient: true, toServer: false },
    );
  });
});
