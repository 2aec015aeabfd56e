/**
 * permessage-deflate interop with headless Chromium's native `WebSocket` (SPEC.md F12, N1–N22):
 * Chromium always offers `permessage-deflate; client_max_window_bits`, and the sockwise server
 * must accept it and exchange compressed messages, for every server configuration (server/client
 * no_context_takeover on and off, max_window_bits 9 and 15, threshold 0) and with its defaults.
 * Both ends' `extensions` must show the same answer (N22: Chromium shows it unchanged); every
 * message of the corpus, up to 2 MiB, must come back intact; the wire must show compression in
 * both directions and context takeover exactly where negotiated.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ChromiumDeflatePeer, probeChromium } from "../helpers/deflate-chromium.js";
import {
  COMBOS,
  CORPUS,
  comboName,
  checkLink,
  exchangeCorpus,
  paramsOf,
  requirePeer,
  startSockwiseDeflateServer,
  withTimeout,
  type Combo,
} from "../helpers/deflate-interop.js";
import { WireTap } from "../helpers/deflate-tap.js";

const options = requirePeer(probeChromium());

/** What sockwise answers Chromium's value-less client_max_window_bits offer with. */
function expectedForChromium(combo: Combo): string[] {
  return [
    ...(combo.serverNoContextTakeover ? ["server_no_context_takeover"] : []),
    ...(combo.clientNoContextTakeover ? ["client_no_context_takeover"] : []),
    ...(combo.windowBits === 15 ? [] : [`server_max_window_bits=${combo.windowBits}`]),
    ...(combo.windowBits === 15 ? [] : [`client_max_window_bits=${combo.windowBits}`]),
  ].sort();
}

describe("F12/N1–N22 sockwise server ↔ headless Chromium", options, () => {
  let chromium: ChromiumDeflatePeer;
  before(async () => {
    chromium = await ChromiumDeflatePeer.launch();
  });
  after(() => chromium?.stop());

  async function run(t: import("node:test").TestContext, combo: Combo | undefined): Promise<void> {
    const sockwise = await startSockwiseDeflateServer(combo);
    const tap = await WireTap.start(sockwise.port);
    t.after(async () => {
      await tap.stop();
      await sockwise.server.close({ timeoutMs: 500 });
    });
    const accepted = sockwise.next();
    const browser = await chromium.connect(tap.url());
    const end = await accepted;
    t.diagnostic(
      `Chromium ${chromium.version} offered: ${tap.last.toServer.header("Sec-WebSocket-Extensions")}`,
    );
    t.diagnostic(`sockwise answered: ${end.extensions}`);
    // F12: Chromium offers permessage-deflate; N22: its extensions attribute is our answer.
    assert.match(tap.last.toServer.header("Sec-WebSocket-Extensions") ?? "", /^permessage-deflate/);
    assert.equal(browser.extensions, end.extensions);
    const effective = combo ?? {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      windowBits: 15,
    };
    assert.deepEqual(paramsOf(end.extensions), expectedForChromium(effective));
    await exchangeCorpus(end);
    checkLink(tap.last, effective);
    assert.deepEqual(await end.close(), { code: 1000, wasClean: true });
    assert.deepEqual(await withTimeout(browser.closed, "Chromium's close event"), {
      code: 1000,
      wasClean: true,
    });
  }

  test(`N2/N22: sockwise's default settings: ${CORPUS.length} messages intact, compressed both ways`, async (t) => {
    await run(t, undefined);
  });

  for (const combo of COMBOS) {
    test(`N7–N11/N19: ${comboName(combo)}: ${CORPUS.length} messages intact, compressed both ways`, async (t) => {
      await run(t, combo);
    });
  }
});
