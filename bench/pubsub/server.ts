/**
 * One server process of `npm run bench:pubsub` (bench/pubsub/run.ts). `argv[2]` names the
 * implementation:
 *
 * - `sockwise`: `WebSocketServer` topics, in-memory broker (`argv[3]` = a Redis URL: `RedisBroker`);
 * - `socketio`: socket.io 4 rooms, with `@socket.io/redis-adapter` when given a Redis URL;
 * - `ws`: `ws` with the usual hand-written Redis pub/sub loop (a Set of sockets per channel,
 *   one SUBSCRIBE per channel, a loop of `send` per message from Redis).
 *
 * A client subscribes by sending `sub` (socket.io: emitting `sub`). The parent drives it over IPC:
 * `publish` (messages at a rate, each carrying its send time), `memory` (heap after a GC) and
 * `subscribers`.
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { announceReady, monotonicMs, serveCommands } from "../lib/rpc.js";
import { WebSocketServer } from "../../src/index.js";
import { RedisBroker } from "../../src/redis/index.js";

const impl = process.argv[2] as "sockwise" | "socketio" | "ws";
const redisUrl = process.argv[3] === "-" ? undefined : process.argv[3];
const TOPIC = "bench";

interface Publisher {
  publish(text: string): void;
  subscribers(): number;
  close(): Promise<void>;
}

async function startSockwise(): Promise<[number, Publisher]> {
  const server = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    heartbeat: false,
    perMessageDeflate: false,
    maxConnections: 100_000,
    maxHandshakesPerIp: 100_000,
    ...(redisUrl === undefined ? {} : { broker: new RedisBroker({ url: redisUrl }) }),
  });
  server.on("connection", (socket) => {
    socket.onmessage = (event) => {
      if (event.data === "sub") socket.subscribe(TOPIC);
    };
  });
  const { port } = await server.ready();
  return [
    port,
    {
      publish: (text) => server.publish(TOPIC, text),
      subscribers: () => server.subscriberCount(TOPIC),
      close: async () => void (await server.close({ timeoutMs: 100 })),
    },
  ];
}

async function startSocketIo(): Promise<[number, Publisher]> {
  const { Server } = await import("socket.io");
  const http = createServer();
  const io = new Server(http, { transports: ["websocket"], serveClient: false });
  let pub: Redis | undefined;
  let sub: Redis | undefined;
  if (redisUrl !== undefined) {
    const { createAdapter } = await import("@socket.io/redis-adapter");
    pub = new Redis(redisUrl);
    sub = pub.duplicate();
    io.adapter(createAdapter(pub, sub));
  }
  let joined = 0;
  io.on("connection", (socket) => {
    socket.on("sub", () => {
      void socket.join(TOPIC);
      joined++;
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return [
    (http.address() as AddressInfo).port,
    {
      publish: (text) => void io.to(TOPIC).emit("m", text),
      subscribers: () => joined,
      close: async () => {
        await io.close();
        pub?.disconnect();
        sub?.disconnect();
      },
    },
  ];
}

async function startWs(): Promise<[number, Publisher]> {
  const { WebSocketServer: WsServer } = await import("ws");
  type WsSocket = import("ws").WebSocket;
  const wss = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  const channels = new Map<string, Set<WsSocket>>();
  const pub = redisUrl === undefined ? undefined : new Redis(redisUrl);
  const sub = pub?.duplicate();
  const deliver = (channel: string, message: string): void => {
    for (const socket of channels.get(channel) ?? []) socket.send(message);
  };
  sub?.on("message", deliver);
  wss.on("connection", (socket) => {
    socket.on("message", (data) => {
      if (data.toString() !== "sub") return;
      let set = channels.get(TOPIC);
      if (set === undefined) {
        set = new Set();
        channels.set(TOPIC, set);
        void sub?.subscribe(TOPIC);
      }
      set.add(socket);
    });
    socket.on("close", () => channels.get(TOPIC)?.delete(socket));
  });
  await new Promise<void>((resolve) => wss.once("listening", resolve));
  return [
    (wss.address() as AddressInfo).port,
    {
      // The usual loop: deliver locally, and publish for the other processes; each process
      // delivers what comes from Redis, so here our own echo is delivered by Redis instead of
      // locally when there is a Redis (the hand-written bridges do exactly this).
      publish: (text) => {
        if (pub === undefined) deliver(TOPIC, text);
        else void pub.publish(TOPIC, text);
      },
      subscribers: () => channels.get(TOPIC)?.size ?? 0,
      close: async () => {
        wss.close();
        pub?.disconnect();
        sub?.disconnect();
      },
    },
  ];
}

const [port, publisher] =
  impl === "sockwise"
    ? await startSockwise()
    : impl === "socketio"
      ? await startSocketIo()
      : await startWs();

/** A 128-byte text message whose first 20 characters carry its send time. */
function message(): string {
  const stamp = monotonicMs().toFixed(3).padStart(19, "0");
  return (stamp + "|").padEnd(128, "x");
}

serveCommands({
  subscribers: () => publisher.subscribers(),
  memory: () => {
    for (let i = 0; i < 3; i++) globalThis.gc?.();
    // The heap only: subscriptions are JS objects; socket buffers (external) come and go.
    return process.memoryUsage().heapUsed;
  },
  /** Publishes `count` messages, `perTick` of them per event-loop turn (yielding in between). */
  publish: async ({
    count,
    perTick,
    intervalMs,
  }: {
    count: number;
    perTick: number;
    intervalMs: number;
  }) => {
    for (let sent = 0; sent < count;) {
      for (let k = 0; k < perTick && sent < count; k++, sent++) publisher.publish(message());
      await new Promise((resolve) =>
        intervalMs > 0 ? setTimeout(resolve, intervalMs) : setImmediate(resolve),
      );
    }
    return count;
  },
  exit: async () => {
    await publisher.close();
    setImmediate(() => process.exit(0));
  },
});
announceReady({ port });
