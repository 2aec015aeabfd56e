/**
 * Interop matrix: sockwise's server ↔ Python `websockets` as a client (Debian's
 * python3-websockets, library defaults). See matrix.ts and ../helpers/websockets_peer.py.
 */
import { sockwiseServerHarness } from "./harness.js";
import { runMatrix } from "./matrix.js";
import { probePythonWebsockets } from "../helpers/python-websockets.js";
import { PythonPeer } from "./python-peer.js";

runMatrix({
  peer: "websockets",
  peerName: "Python websockets",
  sockwiseRole: "server",
  probe: () => {
    const probe = probePythonWebsockets();
    return "missing" in probe ? probe.missing : undefined;
  },
  setup: async () => {
    const probe = probePythonWebsockets();
    const python = new PythonPeer();
    const client = python.client;
    return sockwiseServerHarness(
      { connect: (url) => client.connect(url), stop: () => python.stop() },
      "version" in probe ? probe.version : "?",
    );
  },
});
