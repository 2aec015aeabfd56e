/**
 * Interop matrix: sockwise's WHATWG client ↔ Python `websockets` as a server (Debian's
 * python3-websockets, library defaults). See matrix.ts and ../helpers/websockets_peer.py.
 */
import { sockwiseClientHarness } from "./harness.js";
import { runMatrix } from "./matrix.js";
import { probePythonWebsockets } from "../helpers/python-websockets.js";
import { PythonPeer } from "./python-peer.js";

runMatrix({
  peer: "websockets",
  peerName: "Python websockets",
  sockwiseRole: "client",
  probe: () => {
    const probe = probePythonWebsockets();
    return "missing" in probe ? probe.missing : undefined;
  },
  setup: async () => {
    const probe = probePythonWebsockets();
    const python = new PythonPeer();
    try {
      return await sockwiseClientHarness(
        await python.serve(),
        "version" in probe ? probe.version : "?",
        () => python.stop(),
      );
    } catch (error) {
      await python.stop();
      throw error;
    }
  },
});
