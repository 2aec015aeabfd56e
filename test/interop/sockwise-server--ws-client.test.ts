/**
 * Interop matrix: sockwise's server ↔ the `ws` client (defaults). See matrix.ts.
 */
import { packageVersion, wsClient } from "./ends.js";
import { sockwiseServerHarness } from "./harness.js";
import { runMatrix } from "./matrix.js";

runMatrix({
  peer: "ws",
  peerName: "ws",
  sockwiseRole: "server",
  probe: () => undefined,
  setup: () => sockwiseServerHarness(wsClient, packageVersion("ws")),
});
