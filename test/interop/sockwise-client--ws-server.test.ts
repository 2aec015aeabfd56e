/**
 * Interop matrix: sockwise's WHATWG client ↔ the `ws` server (defaults). See matrix.ts.
 */
import { packageVersion, startWsServer } from "./ends.js";
import { sockwiseClientHarness } from "./harness.js";
import { runMatrix } from "./matrix.js";

runMatrix({
  peer: "ws",
  peerName: "ws",
  sockwiseRole: "client",
  probe: () => undefined,
  setup: async () => sockwiseClientHarness(await startWsServer(), packageVersion("ws")),
});
