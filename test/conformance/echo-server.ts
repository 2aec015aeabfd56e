/**
 * The sockwise echo server for the protocol conformance harness (../shared/conformance, server
 * mode): `node build/test/conformance/echo-server.js <port>`. Limits are raised to what the
 * harness's limit cases need (16 MiB messages, 65 536 fragments) and the heartbeat is off (the
 * harness counts unsolicited pings as unexpected events).
 */
import { WebSocketServer } from "../../src/index.js";

const port = Number(process.argv[2] ?? 9001);
const server = new WebSocketServer({
  port,
  host: "127.0.0.1",
  maxMessageBytes: 64 * 1024 * 1024,
  maxFragments: 1_000_000,
  heartbeat: false,
  binaryType: "nodebuffer",
});
server.on("connection", (socket) => {
  socket.onmessage = (event: MessageEvent) => socket.send(event.data as string | Buffer);
});
server.ready().then(
  (address) =>
    process.stderr.write(`sockwise echo server listening on ${address.address}:${address.port}\n`),
  (error: unknown) => {
    process.stderr.write(`cannot listen: ${String(error)}\n`);
    process.exit(1);
  },
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void server.close({ timeoutMs: 1000 }).then(() => process.exit(0));
  });
}
