/**
 * One sockwise server process with the Redis broker, for the multi-process topic tests (and,
 * with `workers` > 0, a `node:cluster` primary whose workers share one port).
 *
 * Run as `node build/test/helpers/pubsub-node.js` with a JSON config in `SOCKWISE_PUBSUB_NODE`
 * ({@link NodeConfig}) and an IPC channel. Every connection subscribes to the topic of its URL
 * (`/?topic=t`, default "t") and first gets a text message `hello <pid>`; every message a client
 * sends is published with `socket.publish` (to everyone else, cluster-wide). Over IPC the parent
 * may ask for `{ type: "status" }` (answered with {@link NodeStatus}) and `{ type: "close" }`.
 *
 * @module
 */
import cluster from "node:cluster";
import { WebSocketServer } from "../../src/index.js";
import { RedisBroker } from "../../src/redis/index.js";

/** The configuration of one node. */
export interface NodeConfig {
  readonly redisUrl: string;
  readonly port?: number;
  /** Fork this many `node:cluster` workers sharing the port (0: serve in this process). */
  readonly workers?: number;
  readonly maxQueuedMessages?: number;
}

/** What a node reports over IPC. */
export interface NodeStatus {
  readonly type: "status";
  readonly pid: number;
  readonly state: string;
  readonly dropped: number;
  readonly subscribers: number;
  readonly published: number;
}

const config = JSON.parse(process.env["SOCKWISE_PUBSUB_NODE"] ?? "{}") as NodeConfig;

if ((config.workers ?? 0) > 0 && cluster.isPrimary) {
  // The primary only forks and relays: every worker serves the same port.
  const ready = new Set<number>();
  let port = 0;
  for (let i = 0; i < config.workers!; i++) {
    const worker = cluster.fork({
      SOCKWISE_PUBSUB_NODE: JSON.stringify({ ...config, workers: 0 }),
    });
    worker.on("message", (message: { type: string; port?: number }) => {
      if (message.type === "ready") {
        port = message.port!;
        ready.add(worker.id);
        if (ready.size === config.workers)
          process.send?.({ type: "ready", port, pid: process.pid });
      } else process.send?.(message);
    });
  }
  process.on("message", (message: { type: string }) => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.send(message);
    if (message.type === "close") setTimeout(() => process.exit(0), 500).unref();
  });
  process.on("disconnect", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const broker = new RedisBroker({
    url: config.redisUrl,
    ...(config.maxQueuedMessages === undefined
      ? {}
      : { maxQueuedMessages: config.maxQueuedMessages }),
  });
  const server = new WebSocketServer({
    port: config.port ?? 0,
    host: "127.0.0.1",
    heartbeat: false,
    broker,
    maxConnections: 100_000,
    maxHandshakesPerIp: 100_000,
    perMessageDeflate: false,
    binaryType: "nodebuffer",
  });
  let published = 0;
  server.on("connection", (socket, request) => {
    const topic = new URL(request.url ?? "/", "http://x").searchParams.get("topic") ?? "t";
    socket.send(`hello ${process.pid}`);
    socket.subscribe(topic);
    socket.onmessage = (event) => {
      published++;
      socket.publish(topic, event.data as string | Buffer);
    };
  });
  broker.on("status", (status) => process.send?.({ type: "broker", pid: process.pid, ...status }));
  void server.ready().then(({ port }) => process.send?.({ type: "ready", port, pid: process.pid }));
  process.on("message", (message: { type: string; topic?: string }) => {
    if (message.type === "status") {
      const status: NodeStatus = {
        type: "status",
        pid: process.pid,
        state: broker.status.state,
        dropped: broker.dropped,
        subscribers: server.subscriberCount(message.topic ?? "t"),
        published,
      };
      process.send?.(status);
    } else if (message.type === "close") {
      void server.close({ timeoutMs: 200 }).then(() => process.exit(0));
    }
  });
  process.on("disconnect", () => process.exit(0));
}
