/**
 * One benchmark server in its own process, started by `bench/run.ts`:
 * `node build/bench/server.js <impl>` with impl one of
 *
 * - `sockwise`: `WebSocketServer`, echoing with `socket.onmessage = (e) => socket.send(e.data)`;
 * - `ws`: ws's `WebSocketServer` (the parent sets `WS_NO_BUFFER_UTIL=1` and
 *   `WS_NO_UTF_8_VALIDATE=1` for plain ws; without them ws loads bufferutil);
 * - `raw`: a `node:net` echo of 4-byte-length-prefixed messages (the ceiling);
 * - `fixed`: the bench's own minimal WebSocket echo server on `node:net` (streaming unmask with
 *   bufferutil, one write per read), the fixed peer against which clients are compared.
 *
 * Text is echoed as a string in both libraries: sockwise delivers a string (WHATWG), and ws
 * echoes `data.toString()`, so both decode and re-encode UTF-8 as an application would.
 *
 * The parent drives it with the commands at the end of this file. Every TCP connection is
 * counted at the socket level (its `'close'`), so "all connections gone" means the same thing
 * for every implementation.
 *
 * @module
 */
import { once } from "node:events";
import { createRequire } from "node:module";
import type { IncomingMessage } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { writeHeapSnapshot } from "node:v8";
import { announceReady, monotonicMs, serveCommands } from "./lib/rpc.js";
import {
  MIB,
  OPCODE,
  SAMPLE_KEY,
  acceptFor,
  encodePrefixed,
  headerBytesFor,
  maskInto,
  maskingPath,
  pseudoRandomBytes,
  writeHeader,
} from "./lib/wire.js";

export type ServerImpl = "sockwise" | "ws" | "raw" | "fixed";

/** The same message limit everywhere, above every size measured. */
const MAX_MESSAGE_BYTES = 16 * MIB;

const impl = process.argv[2] as ServerImpl;

// ---- connection accounting -------------------------------------------------------------------

let openSockets = 0;
let lastCloseAt = 0;
let emptyWaiters: (() => void)[] = [];

/** One shared listener, so counting adds no closure per connection. */
function onSocketClose(): void {
  openSockets--;
  lastCloseAt = monotonicMs();
  if (openSockets === 0) {
    const waiters = emptyWaiters;
    emptyWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function track(socket: Socket): void {
  openSockets++;
  socket.on("close", onSocketClose);
}

// ---- implementations -------------------------------------------------------------------------

interface Running {
  readonly port: number;
  readonly details: string;
  broadcast(payload: Buffer, count: number): void;
  /** Starts closing every connection from the server side (and stops listening). */
  closeAll(code: number): void;
  /** What the implementation itself reported about its shutdown, if anything. */
  shutdownReport(): unknown;
}

/**
 * `SOCKWISE_BENCH_TEXT_AS_BYTES=1`: the relay shape of issue 16 item 5 (`textType: "nodebuffer"`,
 * text echoed with `sendText(bytes)`, never decoded), to compare text with binary echo.
 */
const textAsBytes = process.env["SOCKWISE_BENCH_TEXT_AS_BYTES"] === "1";

async function startSockwise(): Promise<Running> {
  const { WebSocketServer } = await import("../src/index.js");
  const server = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    maxMessageBytes: MAX_MESSAGE_BYTES,
    heartbeat: false,
    binaryType: "nodebuffer",
    perMessageDeflate: false,
    ...(textAsBytes ? { textType: "nodebuffer" as const } : {}),
  });
  server.on("connection", (socket, request: IncomingMessage) => {
    track(request.socket);
    socket.onmessage = textAsBytes
      ? (e) => (e.isBinary ? socket.send(e.data as Buffer) : socket.sendText(e.data as Buffer))
      : (e) => socket.send(e.data);
  });
  const { port } = await server.ready();
  let report: unknown;
  return {
    port,
    details: `WebSocketServer, perMessageDeflate false, heartbeat false, binaryType nodebuffer${textAsBytes ? ", textType nodebuffer + sendText" : ""}`,
    broadcast: (payload, count) => {
      for (let i = 0; i < count; i++) server.broadcast(payload);
    },
    closeAll: (code) => {
      server.close({ code, timeoutMs: 20_000 }).then((result) => (report = result));
    },
    shutdownReport: () => report,
  };
}

async function startWs(): Promise<Running> {
  const ws = await import("ws");
  const wss = new ws.WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
  });
  wss.on("connection", (socket, request) => {
    track(request.socket);
    socket.on("message", (data, isBinary) => {
      const buffer = data as Buffer;
      socket.send(isBinary ? buffer : buffer.toString());
    });
  });
  await once(wss, "listening");
  const address = wss.address();
  if (address === null || typeof address === "string") throw new Error("unexpected address");
  const native = process.env["WS_NO_BUFFER_UTIL"] === "1" ? "JS masking" : `bufferutil`;
  return {
    port: address.port,
    details: `ws ${wsVersion()} WebSocketServer, perMessageDeflate false, ${native}`,
    broadcast: (payload, count) => {
      // The broadcast loop of ws's README.
      for (let i = 0; i < count; i++) {
        for (const client of wss.clients) {
          if (client.readyState === ws.WebSocket.OPEN) client.send(payload, { binary: true });
        }
      }
    },
    closeAll: (code) => {
      for (const client of wss.clients) client.close(code);
      wss.close();
    },
    shutdownReport: () => undefined,
  };
}

function wsVersion(): string {
  return (createRequire(import.meta.url)("ws/package.json") as { version: string }).version;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1", 4096);
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("unexpected address");
  return address.port;
}

/**
 * The ceiling: messages with a 4-byte length prefix, echoed byte for byte as they arrive (the
 * lengths are parsed to count messages, but nothing is reassembled or copied).
 */
async function startRaw(): Promise<Running> {
  const sockets = new Set<Socket>();
  let messages = 0;
  const server = createServer((socket) => {
    track(socket);
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    const header = Buffer.alloc(4);
    let headerHave = 0;
    let remaining = 0;
    socket.on("data", (chunk: Buffer) => {
      let i = 0;
      while (i < chunk.length) {
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - i);
          remaining -= take;
          i += take;
          if (remaining === 0) messages++;
          continue;
        }
        header[headerHave++] = chunk[i++]!;
        if (headerHave === 4) {
          headerHave = 0;
          remaining = header.readUInt32BE(0);
          if (remaining === 0) messages++;
        }
      }
      socket.write(chunk);
    });
  });
  const port = await listen(server);
  return {
    port,
    details: "node:net, 4-byte length prefix, chunks echoed as they arrive",
    broadcast: (payload, count) => {
      const frame = encodePrefixed(payload);
      for (let i = 0; i < count; i++) for (const socket of sockets) socket.write(frame);
    },
    closeAll: () => {
      for (const socket of sockets) socket.end();
      server.close();
    },
    shutdownReport: () => ({ messages }),
  };
}

/**
 * The fixed WebSocket echo server for comparing clients: the smallest honest server the bench
 * could write. It answers the handshake without extensions, then echoes each frame as it
 * streams in: the header as soon as it is parsed, the payload unmasked (bufferutil) straight
 * into one output buffer per read, so each read costs one write. Close is echoed, then TCP ends.
 */
async function startFixed(): Promise<Running> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    track(socket);
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let head: Buffer = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 16 * 1024) socket.destroy();
        return;
      }
      const text = head.subarray(0, end).toString("latin1");
      const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(text)?.[1];
      if (key === undefined) {
        socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
      );
      socket.off("data", onHead);
      const echo = new StreamingEcho(socket);
      socket.on("data", echo.onData);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) echo.onData(rest);
    };
    socket.on("data", onHead);
  });
  const port = await listen(server);
  if (acceptFor(SAMPLE_KEY) !== "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") throw new Error("bad SHA-1");
  return {
    port,
    details: `bench WebSocket echo on node:net, unmasking with ${maskingPath}`,
    broadcast: () => {
      throw new Error("the fixed server does not broadcast");
    },
    closeAll: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
    shutdownReport: () => undefined,
  };
}

/** Per-connection state of the fixed server: a frame parser that echoes as it parses. */
class StreamingEcho {
  readonly #socket: Socket;
  readonly #header = Buffer.alloc(14);
  #headerHave = 0;
  #remaining = 0;
  #opcode = 0;
  #payloadAt = 0;
  readonly #maskKey = Buffer.alloc(4);
  readonly #rotated = Buffer.alloc(4);
  /** Payload of the current control frame (echoed whole). */
  #control: Buffer[] | undefined;
  #closing = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  readonly onData = (chunk: Buffer): void => {
    if (this.#closing) return;
    // Server frames are 4 bytes shorter than masked client frames: the output never outgrows
    // the input plus one pending header.
    const out = Buffer.allocUnsafe(chunk.length + 14);
    this.#flushedTo = 0;
    let o = 0;
    let i = 0;
    while (i < chunk.length && !this.#closing) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - i);
        const mask = this.#rotatedMask();
        if (this.#control !== undefined) {
          const part = Buffer.allocUnsafe(take);
          maskInto(chunk.subarray(i, i + take), mask, part, 0, take);
          this.#control.push(part);
        } else {
          maskInto(chunk.subarray(i, i + take), mask, out, o, take);
          o += take;
        }
        this.#payloadAt += take;
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) o = this.#endFrame(out, o);
        continue;
      }
      this.#header[this.#headerHave++] = chunk[i++]!;
      if (this.#headerHave < 2) continue;
      const len7 = this.#header[1]! & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + 4;
      if (this.#headerHave < need) continue;
      this.#headerHave = 0;
      if ((this.#header[1]! & 0x80) === 0) {
        this.#socket.destroy(); // clients must mask
        return;
      }
      const length =
        len7 === 126
          ? this.#header.readUInt16BE(2)
          : len7 === 127
            ? this.#header.readUInt32BE(2) * 0x1_0000_0000 + this.#header.readUInt32BE(6)
            : len7;
      this.#header.copy(this.#maskKey, 0, need - 4, need);
      this.#opcode = this.#header[0]! & 0x0f;
      this.#remaining = length;
      this.#payloadAt = 0;
      if (this.#opcode >= 0x8) {
        this.#control = [];
      } else {
        // Data frames keep their FIN bit and opcode: fragmentation is echoed as it came.
        o += writeHeader(out, o, this.#header[0]!, length, false);
      }
      if (length === 0) o = this.#endFrame(out, o);
    }
    if (o > this.#flushedTo && !this.#closing) this.#socket.write(out.subarray(this.#flushedTo, o));
  };

  /** How much of the current read's output buffer has been written already. */
  #flushedTo = 0;

  #rotatedMask(): Buffer {
    const shift = this.#payloadAt & 3;
    if (shift === 0) return this.#maskKey;
    for (let j = 0; j < 4; j++) this.#rotated[j] = this.#maskKey[(shift + j) & 3]!;
    return this.#rotated;
  }

  #endFrame(out: Buffer, o: number): number {
    const control = this.#control;
    if (control === undefined) return o;
    this.#control = undefined;
    const payload = Buffer.concat(control);
    if (this.#opcode === OPCODE.ping || this.#opcode === OPCODE.close) {
      const opcode = this.#opcode === OPCODE.ping ? OPCODE.pong : OPCODE.close;
      const body = opcode === OPCODE.close ? payload.subarray(0, 2) : payload;
      const frame = Buffer.allocUnsafe(headerBytesFor(body.length, false) + body.length);
      body.copy(frame, writeHeader(frame, 0, 0x80 | opcode, body.length, false));
      // Earlier echoes in this read go first; the region written stays untouched afterwards.
      if (o > this.#flushedTo) this.#socket.write(out.subarray(this.#flushedTo, o));
      this.#flushedTo = o;
      if (opcode === OPCODE.close) {
        this.#closing = true;
        this.#socket.end(frame);
      } else {
        this.#socket.write(frame);
      }
    }
    return o;
  }
}

// ---- commands ----------------------------------------------------------------------------------

const running = await (impl === "sockwise"
  ? startSockwise()
  : impl === "ws"
    ? startWs()
    : impl === "raw"
      ? startRaw()
      : startFixed());

declare const gc: (() => void) | undefined;

serveCommands({
  cpu: () => process.cpuUsage(),
  /** Memory after two full collections (needs --expose-gc). */
  memory: async () => {
    if (typeof gc !== "function") throw new Error("start the server with --expose-gc");
    for (let i = 0; i < 2; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage();
  },
  /** Writes a heap snapshot (after two collections) for bench/heap-diff.ts. */
  heapSnapshot: async ({ path }: { path: string }) => {
    if (typeof gc === "function") {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    return writeHeapSnapshot(path);
  },
  count: () => openSockets,
  broadcast: ({ size, count }: { size: number; count: number }) => {
    const payload = pseudoRandomBytes(size, 0xb0ad);
    const startedAt = monotonicMs();
    running.broadcast(payload, count);
    return { startedAt, returnedAt: monotonicMs() };
  },
  closeAll: ({ code }: { code: number }) => {
    const startedAt = monotonicMs();
    running.closeAll(code);
    return { startedAt };
  },
  /** Resolves once no TCP connection is left, with the time the last one closed. */
  waitEmpty: async () => {
    if (openSockets > 0) await new Promise<void>((resolve) => emptyWaiters.push(resolve));
    // Let a shutdown promise settle (it resolves after the last socket closed).
    await new Promise((resolve) => setTimeout(resolve, 10));
    return { lastCloseAt, report: running.shutdownReport() };
  },
  exit: () => {
    setImmediate(() => process.exit(0));
    return true;
  },
});

announceReady({ port: running.port, details: running.details, pid: process.pid });
