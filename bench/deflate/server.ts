/**
 * A permessage-deflate echo server for `bench/deflate/run.ts`, one implementation per process:
 * `node --expose-gc build/bench/deflate/server.js <sockwise|ws> <takeover|no-takeover>`.
 * It prints its port, then answers "mem" on stdin with a JSON line of its memory after a GC.
 */
import { createInterface } from "node:readline";
import { WebSocketServer as WsServer } from "ws";
import { WebSocketServer } from "../../src/index.js";

const [impl = "sockwise", mode = "no-takeover"] = process.argv.slice(2);
const noTakeover = mode === "no-takeover";
let port: number;

if (impl === "sockwise") {
  const server = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    heartbeat: false,
    maxConnections: 100_000,
    binaryType: "nodebuffer",
    perMessageDeflate: {
      serverNoContextTakeover: noTakeover,
      clientNoContextTakeover: noTakeover,
      thresholdBytes: 1024,
    },
  });
  server.on("connection", (socket) => {
    socket.onmessage = (event: MessageEvent) => socket.send(event.data as string | Buffer);
  });
  port = (await server.ready()).port;
} else {
  const server = new WsServer({
    port: 0,
    host: "127.0.0.1",
    perMessageDeflate: {
      serverNoContextTakeover: noTakeover,
      clientNoContextTakeover: noTakeover,
      threshold: 1024,
    },
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  server.on("connection", (socket) =>
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })),
  );
  port = (server.address() as { port: number }).port;
}
process.stdout.write(`${JSON.stringify({ port })}\n`);
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line !== "mem") return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ rss, heapUsed, external, arrayBuffers })}\n`);
});
