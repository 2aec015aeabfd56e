/**
 * Interop matrix: sockwise's server ↔ headless Chromium's native `WebSocket` (Debian's
 * /usr/bin/chromium driven by playwright-core). The page comes from the HTTP server the sockwise
 * server is attached to. See matrix.ts and chromium-peer.ts.
 */
import type { AddressInfo } from "node:net";
import { ChromiumPeer, probeChromium } from "./chromium-peer.js";
import { sockwiseServerHarness } from "./harness.js";
import { runMatrix } from "./matrix.js";

runMatrix({
  peer: "chromium",
  peerName: "Chromium",
  sockwiseRole: "server",
  probe: probeChromium,
  setup: async () => {
    const http = ChromiumPeer.pageServer();
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const port = (http.address() as AddressInfo).port;
    let chromium: ChromiumPeer;
    try {
      chromium = await ChromiumPeer.launch(`http://127.0.0.1:${port}/`);
    } catch (error) {
      http.close();
      throw error;
    }
    const harness = await sockwiseServerHarness(chromium.client, chromium.version, http);
    return {
      ...harness,
      async stop() {
        await harness.stop();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      },
    };
  },
});
