/**
 * Interop matrix: sockwise's server ↔ undici 7's WHATWG `WebSocket` (the code behind Node's
 * global `WebSocket`). See matrix.ts.
 */
import { packageVersion, undiciClient } from "./ends.js";
import { sockwiseServerHarness } from "./harness.js";
import { runMatrix } from "./matrix.js";

runMatrix({
  peer: "undici",
  peerName: "undici",
  sockwiseRole: "server",
  probe: () => undefined,
  setup: () => sockwiseServerHarness(undiciClient, packageVersion("undici")),
});
