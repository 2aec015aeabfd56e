/**
 * Python `websockets` (Debian's python3-websockets) as a test peer: the interpreter that sees
 * it, the one peer script (test/helpers/websockets_peer.py, driven over JSON lines by
 * test/interop/python-peer.ts and test/helpers/deflate-python-peer.ts), and the probe that says
 * whether it can run here.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The interpreter that sees Debian's python3-websockets (a pyenv `python3` would not). */
export const PYTHON = "/usr/bin/python3";

/** The peer script, in the source tree (build/test/helpers/ → test/helpers/). */
export const WEBSOCKETS_PEER_SCRIPT = fileURLToPath(
  new URL("../../../test/helpers/websockets_peer.py", import.meta.url),
);

/** The installed `websockets` version, or why it cannot be used. */
export function probePythonWebsockets(): { version: string } | { missing: string } {
  const result = spawnSync(PYTHON, ["-c", "import websockets; print(websockets.__version__)"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (result.error !== undefined)
    return { missing: `${PYTHON} cannot run: ${result.error.message}` };
  if (result.status !== 0) {
    return {
      missing: `python3-websockets is not installed for ${PYTHON} (apt-get install -y python3-websockets)`,
    };
  }
  return { version: result.stdout.trim() };
}
