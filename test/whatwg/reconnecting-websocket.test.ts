/**
 * `ReconnectingWebSocket` (SPEC.md L27) against a real sockwise server that refuses (nothing
 * listening), drops (destroys the TCP connection), closes with a code, and restarts on the same
 * port. Each problem users of `reconnecting-websocket` and `partysocket` reported has a test:
 * messages lost while down, listeners or `binaryType` lost on reconnect, `close()` not stopping a
 * pending retry (in every state), timers keeping the process alive (a child process must exit
 * on its own), and errors escaping as exceptions.
 *
 * Delays are small (`initialDelayMs` 10–20 ms) so that the file stays fast; every wait is
 * bounded.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import {
  ReconnectingWebSocket,
  ReconnectEvent,
  WebSocketServer,
  backoffDelayMs,
  closeDetails,
  type CloseEvent,
  type MessageEvent,
  type ReconnectingWebSocketOptions,
  type ServerWebSocket,
} from "../../src/index.js";
import { freePort } from "../helpers/real-proxies.js";
import { sleep, waitUntil, withTimeout } from "../helpers/server-harness.js";

const FAST = { initialDelayMs: 20, maxDelayMs: 40 } as const;

/** An echo server on a fixed port (so it can restart there); it records what it received. */
class EchoServer {
  received: string[] = [];
  sockets: ServerWebSocket[] = [];
  headers: (string | undefined)[] = [];
  protocols: (string | undefined)[] = [];
  server: WebSocketServer | undefined;
  constructor(readonly port: number) {}

  static async start(t: TestContext, port?: number): Promise<EchoServer> {
    const echo = new EchoServer(port ?? (await freePort()));
    t.after(() => echo.stop());
    await echo.listen();
    return echo;
  }

  async listen(): Promise<void> {
    const server = new WebSocketServer({
      port: this.port,
      host: "127.0.0.1",
      heartbeat: false,
      handleProtocols: (offered) => offered[0],
    });
    server.on("connection", (socket, request) => {
      this.sockets.push(socket);
      this.headers.push(request.headers.authorization);
      this.protocols.push(request.headers["sec-websocket-protocol"] as string | undefined);
      socket.onmessage = (event) => {
        const data = event.data;
        if (typeof data === "string") {
          this.received.push(data);
          if (data.startsWith("echo:")) socket.send(data);
        } else socket.send(data as ArrayBuffer);
      };
    });
    this.server = server;
    await withTimeout(server.ready(), "the server to listen");
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close({ timeoutMs: 200 });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }
}

/** Records the socket's events as short strings. */
function recordEvents(socket: ReconnectingWebSocket): string[] {
  const log: string[] = [];
  for (const type of ["open", "error", "close", "connecting", "reconnecting"]) {
    socket.addEventListener(type, (event) => {
      if (event instanceof ReconnectEvent) log.push(`${type}#${event.attempt}`);
      else if (type === "close") log.push(`close:${(event as CloseEvent).code}`);
      else log.push(type);
    });
  }
  return log;
}

function closeAfter(t: TestContext, socket: ReconnectingWebSocket): void {
  t.after(() => socket.close());
}

function nextEvent(socket: EventTarget, type: string): Promise<Event> {
  return withTimeout(
    new Promise<Event>((resolve) => socket.addEventListener(type, resolve, { once: true })),
    `a ${type} event`,
  );
}

test("B1, B13: the WebSocket interface: constants, attributes, class string, on* handlers", async (t) => {
  const echo = await EchoServer.start(t);
  const socket = new ReconnectingWebSocket(echo.url, FAST);
  closeAfter(t, socket);
  assert.equal(Object.prototype.toString.call(socket), "[object ReconnectingWebSocket]");
  assert.equal(ReconnectingWebSocket.OPEN, 1);
  assert.equal(socket.CLOSED, 3);
  assert.equal(socket.readyState, ReconnectingWebSocket.CONNECTING);
  assert.equal(socket.url, echo.url);
  assert.equal(socket.binaryType, "blob");
  socket.binaryType = "nonsense";
  assert.equal(socket.binaryType, "blob");
  assert.equal(socket.onopen, null);
  socket.onopen = 5 as unknown as null;
  assert.equal(socket.onopen, null);
  const opened = new Promise<Event>((resolve) => (socket.onopen = resolve));
  await withTimeout(opened, "open");
  assert.equal(socket.readyState, ReconnectingWebSocket.OPEN);
  assert.equal(socket.protocol, "");
  assert.equal(typeof socket.extensions, "string");
  assert.equal(socket.bufferedAmount, 0);
});

test("L27: a server that refuses, then starts: the socket retries with backoff and every queued message arrives, in order, before open", async (t) => {
  const port = await freePort();
  const socket = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, FAST);
  closeAfter(t, socket);
  const log = recordEvents(socket);
  const delays: number[] = [];
  socket.addEventListener("reconnecting", (event) =>
    delays.push((event as ReconnectEvent).delayMs),
  );
  for (let i = 0; i < 5; i++) socket.send(`queued ${i}`);
  assert.equal(socket.bufferedAmount, 5 * "queued 0".length);
  await waitUntil(() => delays.length >= 3, "three refused attempts");
  // Each failure is error + close 1006, then the delay; the delays stay within the bounds.
  assert.deepEqual(log.slice(0, 4), ["connecting#1", "error", "close:1006", "reconnecting#2"]);
  for (const delay of delays) assert.ok(delay >= 0 && delay < FAST.maxDelayMs, String(delay));
  assert.equal(socket.readyState, ReconnectingWebSocket.CONNECTING);
  assert.equal(closeDetails(socket)?.cause?.code, "ERR_WS_CONNECT_FAILED");
  let receivedAtOpen = -1;
  const echo = new EchoServer(port);
  t.after(() => echo.stop());
  socket.onopen = () => {
    receivedAtOpen = echo.received.length;
    socket.send("after open");
  };
  await echo.listen();
  await waitUntil(() => echo.received.length === 6, "the queued messages and one more");
  assert.deepEqual(echo.received, [
    "queued 0",
    "queued 1",
    "queued 2",
    "queued 3",
    "queued 4",
    "after open",
  ]);
  assert.equal(receivedAtOpen <= 5, true);
  assert.equal(socket.bufferedAmount, 0);
});

test("L27: a dropped connection reconnects; listeners, handlers and binaryType survive; messages sent while down are not lost", async (t) => {
  const echo = await EchoServer.start(t);
  const socket = new ReconnectingWebSocket(echo.url, FAST);
  closeAfter(t, socket);
  socket.binaryType = "arraybuffer";
  const viaHandler: unknown[] = [];
  const viaListener: unknown[] = [];
  socket.onmessage = (event) => viaHandler.push((event as MessageEvent).data);
  socket.addEventListener("message", (event) => viaListener.push((event as MessageEvent).data));
  await nextEvent(socket, "open");
  socket.send("echo:one");
  socket.send(Uint8Array.of(1, 2, 3));
  await waitUntil(() => viaHandler.length === 2, "two echoes");
  // Drop the TCP connection (no Close frame): 1006 on the client, then a new connection.
  const closed = nextEvent(socket, "close");
  echo.sockets[0]!.destroy();
  assert.equal(((await closed) as CloseEvent).code, 1006);
  assert.equal(socket.readyState, ReconnectingWebSocket.CONNECTING);
  socket.send("echo:while down");
  const buffer = new Uint8Array([9, 9]);
  socket.send(buffer);
  buffer[0] = 0; // the queue holds a private copy (SPEC.md C10)
  await nextEvent(socket, "open");
  await waitUntil(() => viaHandler.length === 4, "two more echoes");
  assert.deepEqual(viaHandler, viaListener);
  assert.equal(viaHandler[0], "echo:one");
  assert.ok(viaHandler[1] instanceof ArrayBuffer);
  assert.equal(viaHandler[2], "echo:while down");
  assert.deepEqual(new Uint8Array(viaHandler[3] as ArrayBuffer), Uint8Array.of(9, 9));
  assert.equal(echo.sockets.length, 2);
});

test("L27: a server restart (1001, then nothing listening, then back on the same port): no message sent while down is lost", async (t) => {
  const echo = await EchoServer.start(t);
  const socket = new ReconnectingWebSocket(echo.url, FAST);
  closeAfter(t, socket);
  await nextEvent(socket, "open");
  const closed = nextEvent(socket, "close");
  await echo.stop();
  assert.equal(((await closed) as CloseEvent).code, 1001);
  const sent: string[] = [];
  for (let i = 0; i < 20; i++) {
    sent.push(`m${i}`);
    socket.send(`m${i}`);
    if (i % 5 === 0) await sleep(15); // some sends land during refused attempts
  }
  await echo.listen();
  await waitUntil(() => echo.received.length === sent.length, "every message");
  assert.deepEqual(echo.received, sent);
});

test("close() while CONNECTING (first attempt, nothing listening): one close, no further attempt", async () => {
  const port = await freePort();
  const socket = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, FAST);
  const log = recordEvents(socket);
  socket.send("never sent");
  socket.close();
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSING);
  await nextEvent(socket, "close");
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSED);
  await sleep(FAST.maxDelayMs * 3);
  assert.deepEqual(log, ["connecting#1", "error", "close:1006"]);
});

test("close() between attempts (a retry pending): CLOSED at once, no event, no further attempt", async (t) => {
  const port = await freePort();
  const socket = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, {
    initialDelayMs: 100,
    maxDelayMs: 100,
  });
  const log = recordEvents(socket);
  await nextEvent(socket, "reconnecting");
  socket.close();
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSED);
  const echo = new EchoServer(port);
  t.after(() => echo.stop());
  await echo.listen();
  await sleep(250);
  assert.deepEqual(log, ["connecting#1", "error", "close:1006", "reconnecting#2"]);
  assert.equal(echo.sockets.length, 0);
  socket.send("dropped after close"); // no exception, nothing sent
});

test("close() while OPEN: a clean close and no reconnection; close() inside a close listener stops the retry", async (t) => {
  const echo = await EchoServer.start(t);
  const socket = new ReconnectingWebSocket(echo.url, FAST);
  await nextEvent(socket, "open");
  socket.close(4000, "bye");
  const event = (await nextEvent(socket, "close")) as CloseEvent;
  assert.deepEqual([event.code, event.reason, event.wasClean], [4000, "bye", true]);
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSED);

  const second = new ReconnectingWebSocket(echo.url, FAST);
  const log = recordEvents(second);
  await nextEvent(second, "open");
  second.addEventListener("close", () => second.close());
  echo.sockets.at(-1)!.destroy();
  await nextEvent(second, "close");
  await sleep(FAST.maxDelayMs * 3);
  assert.equal(second.readyState, ReconnectingWebSocket.CLOSED);
  assert.deepEqual(log, ["connecting#1", "open", "error", "close:1006"]);
});

test("close() while an async URL function is pending: the attempt never starts", async (t) => {
  const echo = await EchoServer.start(t);
  let resolveUrl!: (url: string) => void;
  const socket = new ReconnectingWebSocket(
    () => new Promise<string>((resolve) => (resolveUrl = resolve)),
    FAST,
  );
  socket.close();
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSED);
  resolveUrl(echo.url);
  await sleep(50);
  assert.equal(echo.sockets.length, 0);
});

test("close() validates its arguments like WebSocket.close(), in every state", () => {
  const socket = new ReconnectingWebSocket("ws://127.0.0.1:9/", FAST);
  assert.throws(() => socket.close(1001), { name: "InvalidAccessError" });
  assert.throws(() => socket.close(1000, "x".repeat(124)), { name: "SyntaxError" });
  socket.close();
  assert.throws(() => socket.close(5000), { name: "InvalidAccessError" });
});

test("the default predicate: no reconnection after 1008 (policy), reconnection after 1011; a custom predicate decides", async (t) => {
  const echo = await EchoServer.start(t);
  const socket = new ReconnectingWebSocket(echo.url, FAST);
  closeAfter(t, socket);
  await nextEvent(socket, "open");
  echo.sockets[0]!.close(1011, "oops");
  await nextEvent(socket, "close");
  await nextEvent(socket, "open");
  echo.sockets[1]!.close(1008, "go away");
  const event = (await nextEvent(socket, "close")) as CloseEvent;
  assert.equal(event.code, 1008);
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSED);

  const seen: [number, number][] = [];
  const custom = new ReconnectingWebSocket(echo.url, {
    ...FAST,
    shouldReconnect: (close, context) => {
      seen.push([close.code, context.attempt]);
      return close.code === 4001;
    },
  });
  closeAfter(t, custom);
  await nextEvent(custom, "open");
  echo.sockets.at(-1)!.close(4001);
  await nextEvent(custom, "open");
  echo.sockets.at(-1)!.close(1000);
  await nextEvent(custom, "close");
  assert.equal(custom.readyState, ReconnectingWebSocket.CLOSED);
  assert.deepEqual(seen, [
    [4001, 1],
    [1000, 2],
  ]);
});

test("fresh URL, protocols and headers per attempt (functions, async), e.g. a refreshed token", async (t) => {
  const echo = await EchoServer.start(t);
  let calls = 0;
  const attempts: ReconnectEvent[] = [];
  const socket = new ReconnectingWebSocket(() => `${echo.url}?n=${++calls}`, {
    ...FAST,
    protocols: () => [`v${calls}`],
    headers: async () => ({ Authorization: `Bearer token-${calls}` }),
  });
  closeAfter(t, socket);
  socket.addEventListener("connecting", (event) => attempts.push(event as ReconnectEvent));
  await nextEvent(socket, "open");
  assert.equal(socket.protocol, "v1");
  echo.sockets[0]!.destroy();
  await nextEvent(socket, "open");
  assert.deepEqual(echo.headers, ["Bearer token-1", "Bearer token-2"]);
  assert.deepEqual(echo.protocols, ["v1", "v2"]);
  assert.equal(socket.url, `${echo.url}?n=2`);
  assert.deepEqual(
    attempts.map((event) => [event.attempt, event.url]),
    [
      [1, `${echo.url}?n=1`],
      [2, `${echo.url}?n=2`],
    ],
  );
});

test("a headers function that rejects is a failed attempt (error, close 1006), then a retry", async (t) => {
  const echo = await EchoServer.start(t);
  let calls = 0;
  const socket = new ReconnectingWebSocket(echo.url, {
    ...FAST,
    headers: () => (++calls === 1 ? Promise.reject(new Error("token service down")) : {}),
  });
  closeAfter(t, socket);
  const log = recordEvents(socket);
  await nextEvent(socket, "open");
  assert.deepEqual(log, ["error", "close:1006", "reconnecting#2", "connecting#2", "open"]);
});

test("a URL function giving an invalid URL: the socket gives up (the next attempt would fail the same way)", async () => {
  let calls = 0;
  const socket = new ReconnectingWebSocket(
    () => (++calls === 1 ? Promise.resolve("ftp://x/") : "ws://x/"),
    FAST,
  );
  const log = recordEvents(socket);
  await nextEvent(socket, "close");
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSED);
  assert.equal(closeDetails(socket)?.cause?.code, "ERR_WS_RECONNECT_ATTEMPT");
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.equal(calls, 1);
});

test("minUptimeMs: a server that accepts and drops at once keeps the backoff growing; a stable connection resets it", async (t) => {
  const echo = await EchoServer.start(t);
  echo.server!.on("connection", (socket) => socket.close(1001, "going away"));
  const seen = async (minUptimeMs: number): Promise<number[]> => {
    const retries: number[] = [];
    const socket = new ReconnectingWebSocket(echo.url, {
      initialDelayMs: 5,
      maxDelayMs: 40,
      minUptimeMs,
      maxRetries: 3,
      shouldReconnect: (_event, context) => {
        retries.push(context.retries);
        return true;
      },
    });
    t.after(() => socket.close());
    await waitUntil(
      () => socket.readyState === ReconnectingWebSocket.CLOSED,
      "the socket to give up",
    );
    return retries;
  };
  // Each connection opened, then lasted less than minUptimeMs: it counts as a failure.
  assert.deepEqual(await seen(5000), [0, 1, 2]);
  // With minUptimeMs 0 every open is a success: the count starts over each time (and
  // maxRetries is never reached, so this one is closed by hand).
  const retries: number[] = [];
  const socket = new ReconnectingWebSocket(echo.url, {
    initialDelayMs: 5,
    maxDelayMs: 40,
    minUptimeMs: 0,
    shouldReconnect: (_event, context) => retries.push(context.retries) > 0,
  });
  await waitUntil(() => retries.length >= 4, "four reconnections");
  socket.close();
  assert.deepEqual(retries.slice(0, 4), [0, 0, 0, 0]);
});

test("maxRetries: gives up after that many failures in a row", async () => {
  const port = await freePort();
  const socket = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, { ...FAST, maxRetries: 2 });
  const log = recordEvents(socket);
  await waitUntil(
    () => socket.readyState === ReconnectingWebSocket.CLOSED,
    "the socket to give up",
  );
  assert.equal(log.filter((entry) => entry.startsWith("connecting")).length, 3);
  assert.equal(log.at(-1), "close:1006");
});

test("the queue is bounded: a full queue throws ERR_WS_QUEUE_FULL (never a silent drop); queueWhileDown: false drops", async (t) => {
  const port = await freePort();
  const socket = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, {
    ...FAST,
    maxQueuedMessages: 2,
    maxQueuedBytes: 10,
  });
  closeAfter(t, socket);
  socket.send("12345");
  assert.throws(() => socket.send("1234567"), { code: "ERR_WS_QUEUE_FULL" });
  socket.send("12345");
  assert.throws(() => socket.send(""), { code: "ERR_WS_QUEUE_FULL" });
  assert.throws(() => socket.send(Symbol("x") as unknown as string), TypeError);
  assert.equal(socket.bufferedAmount, 10);

  const dropping = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, {
    ...FAST,
    queueWhileDown: false,
  });
  closeAfter(t, dropping);
  dropping.send("gone");
  assert.equal(dropping.bufferedAmount, 0);
  const echo = new EchoServer(port);
  t.after(() => echo.stop());
  await echo.listen();
  await nextEvent(dropping, "open");
  dropping.send("kept");
  await waitUntil(() => echo.received.includes("kept"), "the message sent while open");
  assert.ok(!echo.received.includes("gone"));
});

test("no error escapes: connection failures are events, never exceptions or unhandled rejections", async () => {
  const port = await freePort();
  const socket = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, FAST);
  await nextEvent(socket, "reconnecting");
  socket.close();
});

test("the process exits on its own after close(), in every state (a child process)", async (t) => {
  const echo = await EchoServer.start(t);
  {
    const script = fileURLToPath(new URL("../helpers/reconnect-exit-child.js", import.meta.url));
    const deadPort = await freePort();
    const child = spawn(process.execPath, [script, `ws://127.0.0.1:${deadPort}/`, echo.url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await withTimeout(
      new Promise<number | null>((resolve) => child.once("exit", resolve)),
      "the child to exit on its own",
      // Bounded, but generous: a loaded CI machine takes a second or more to start Node.
      15_000,
    ).catch((error: unknown) => {
      child.kill("SIGKILL");
      throw error;
    });
    assert.equal(code, 0, output);
    assert.match(
      output,
      /closed while waiting to retry\nclosed while connecting\nclosed while open\n/,
    );
  }
});

test("L27: backoffDelayMs is full jitter under a doubling, capped bound", () => {
  const bounds = { initialDelayMs: 1000, maxDelayMs: 30_000 };
  const rows: [retries: number, random: number, expected: number][] = [
    [0, 0, 0],
    [0, 0.5, 500],
    [0, 0.999, 999],
    [1, 0.5, 1000],
    [3, 0.5, 4000],
    [4, 0.999, 15_984],
    [5, 0.5, 15_000], // 32 000 is capped at 30 000
    [100, 0.5, 15_000],
    [10_000, 0.999, 29_970],
  ];
  for (const [retries, random, expected] of rows) {
    assert.equal(backoffDelayMs(retries, bounds, random), expected, `${retries} ${random}`);
  }
});

test("options out of range throw ERR_WS_INVALID_OPTION from the constructor; a bad URL throws SyntaxError", () => {
  const cases: ReconnectingWebSocketOptions[] = [
    { initialDelayMs: -1 },
    { maxDelayMs: Number.NaN },
    { maxRetries: -1 },
    { maxQueuedMessages: -5 },
    { shouldReconnect: 5 as unknown as () => boolean },
  ];
  for (const options of cases) {
    assert.throws(() => new ReconnectingWebSocket("ws://127.0.0.1:9/", options), {
      code: "ERR_WS_INVALID_OPTION",
    });
  }
  assert.throws(() => new ReconnectingWebSocket("ftp://h/"), { name: "SyntaxError" });
  assert.throws(() => new ReconnectingWebSocket("ws://h/", ["a", "a"]), { name: "SyntaxError" });
});

test("brand checks: a foreign this is a TypeError before argument conversion", () => {
  const poison = {
    toString(): string {
      throw new Error("converted");
    },
  };
  const proto = ReconnectingWebSocket.prototype;
  assert.throws(() => proto.close.call({}, poison as unknown as number), TypeError);
  assert.throws(() => proto.send.call(null, "x"), TypeError);
  const binaryType = Object.getOwnPropertyDescriptor(proto, "binaryType")!;
  assert.throws(() => binaryType.set!.call({}, poison), TypeError);
  assert.throws(() => binaryType.get!.call({}), TypeError);
  assert.throws(() => Object.getOwnPropertyDescriptor(proto, "onopen")!.get!.call({}), TypeError);
});
