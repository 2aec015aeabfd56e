// Exports a sockwise server's `stats()` as Prometheus metrics with prom-client, on the same
// port as the WebSocket endpoint: GET /metrics is the scrape target, /ws the WebSocket.
//
//   npm install sockwise prom-client
//   PORT=8080 node prometheus.mjs
//
// stats() reads counters (it never walks the connections), so computing it on every scrape
// costs the same with ten or a hundred thousand connections. test/packaging/tarball.test.ts
// runs this file against the installed package.
import { createServer } from "node:http";
import client from "prom-client";
import { WebSocketServer } from "sockwise";

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const http = createServer(async (request, response) => {
  if (request.url === "/metrics") {
    response.writeHead(200, { "Content-Type": registry.contentType });
    response.end(await registry.metrics());
    return;
  }
  response.writeHead(404).end();
});
const wss = new WebSocketServer({ server: http, path: "/ws" });
wss.on("connection", (socket) => {
  socket.addEventListener("message", (event) => socket.send(event.data));
});

/** A counter whose total sockwise keeps: set it from the snapshot at each scrape. */
function total(name, help, read, labelNames = []) {
  return new client.Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      const value = read(wss.stats());
      if (typeof value === "number") this.inc(value);
      else for (const [label, count] of value) this.inc({ [labelNames[0]]: label }, count);
    },
  });
}

function gauge(name, help, read) {
  return new client.Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read(wss.stats()));
    },
  });
}

gauge("sockwise_open_connections", "WebSocket connections open now", (s) => s.openConnections);
gauge(
  "sockwise_buffered_bytes",
  "Bytes given to send() and not yet written",
  (s) => s.bufferedBytes,
);
total(
  "sockwise_handshakes_accepted_total",
  "Opening handshakes accepted",
  (s) => s.handshakesAccepted,
);
total(
  "sockwise_handshakes_refused_total",
  "Opening handshakes refused, by reason",
  (s) => Object.entries(s.handshakesRefusedByReason),
  ["reason"],
);
total("sockwise_messages_received_total", "Messages received", (s) => s.messagesIn);
total("sockwise_messages_sent_total", "Messages sent", (s) => s.messagesOut);
total("sockwise_received_bytes_total", "Payload bytes received", (s) => s.bytesIn);
total("sockwise_sent_bytes_total", "Payload bytes sent", (s) => s.bytesOut);
total(
  "sockwise_closes_total",
  "Connections closed, by close code",
  (s) => Object.entries(s.closeCodes),
  ["code"],
);

http.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = http.address();
  console.log(`metrics: http://${address}:${port}/metrics websocket: ws://${address}:${port}/ws`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    await wss.close();
    http.close(() => process.exit(0));
  });
}
