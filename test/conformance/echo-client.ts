/**
 * The sockwise echo client for the protocol conformance harness (../shared/conformance, client
 * mode): `node build/test/conformance/echo-client.js <url>`. It uses the WHATWG `WebSocket`,
 * echoes every message and exits when the connection closes.
 */
import { WebSocket, closeDetails, type CloseEvent } from "../../src/index.js";

const url = process.argv[2];
if (url === undefined) {
  process.stderr.write("usage: echo-client.js <url>\n");
  process.exit(2);
}
const socket = new WebSocket(url, { maxMessageBytes: 64 * 1024 * 1024, maxFragments: 1_000_000 });
socket.binaryType = "arraybuffer";
socket.onmessage = (event: MessageEvent) => socket.send(event.data as string | ArrayBuffer);
socket.onclose = (event: CloseEvent) => {
  const details = closeDetails(socket);
  process.stderr.write(
    `closed ${event.code} ${JSON.stringify(event.reason)} clean=${event.wasClean} cause=${details?.cause?.code ?? "-"}\n`,
  );
  process.exit(0);
};
