/**
 * A child process for the reconnect-storm tests (issue 16): a `WebSocketServer` with the default
 * settings (only `port: 0` and `host`), or a lean load generator that opens `count` connections
 * with at most `inFlight` handshakes in flight, each a raw TCP socket that writes an upgrade
 * request and reads the answer's status and `Sockwise-Refused` header; no WebSocket object per
 * client. Each runs in its own process, started with `bash -c 'ulimit -n 65536; exec node …'` so
 * that its open-files limit is raised where the hard limit allows.
 *
 * Two roles, one per process (`storm-child.js server` or `… client`), as one process cannot
 * hold 20,000 connections at both ends under a 20,000 open-files limit. Over the IPC channel: the
 * server sends `{ type: "listening", port }`, answers `{ type: "report", expect }` with a
 * {@link ServerReport} and `{ type: "stop" }` by closing; a generator takes
 * `{ type: "storm", port, count, inFlight }` (the server's port, or a proxy's), answers with a
 * {@link StormResult}, and destroys its connections at the next message.
 *
 * @module
 */
import { connect, type Socket } from "node:net";
import { WebSocketServer } from "../../src/index.js";
import type { RefusalInfo } from "../../src/index.js";

export interface StormRequest {
  readonly type: "storm";
  readonly port: number;
  readonly count: number;
  readonly inFlight: number;
}

export interface StormResult {
  readonly type: "result";
  /** Connections answered 101. */
  readonly opened: number;
  /** Other answers by status (and refusal reason). */
  readonly refused: Record<string, number>;
  /** Connections that failed without an answer, by error code. */
  readonly errors: Record<string, number>;
  readonly durationMs: number;
  /** The open-files limit the child ran with. */
  readonly openFilesLimit: string;
}

const REQUEST = Buffer.from(
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  "latin1",
);

/** How long one handshake may take before it counts as failed. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

const kPending = Symbol("pending frame bytes");

/**
 * Answers each Ping the server sends with a Pong (masked with a zero key), so that connections
 * held through a slow run survive the default heartbeat. Other frames are skipped.
 */
function answerPings(this: Socket & { [kPending]?: Buffer | undefined }, chunk: Buffer): void {
  let bytes = this[kPending] === undefined ? chunk : Buffer.concat([this[kPending], chunk]);
  this[kPending] = undefined;
  while (bytes.length >= 2) {
    const length = bytes[1]! & 0x7f;
    const header = length === 126 ? 4 : length === 127 ? 10 : 2;
    if (bytes.length < header) break;
    const size =
      length === 126
        ? bytes.readUInt16BE(2)
        : length === 127
          ? Number(bytes.readBigUInt64BE(2))
          : length;
    if (bytes.length < header + size) break;
    if ((bytes[0]! & 0x0f) === 0x9) {
      const pong = Buffer.alloc(6 + size);
      pong[0] = 0x8a;
      pong[1] = 0x80 | size;
      bytes.copy(pong, 6, header, header + size);
      this.write(pong);
    }
    bytes = bytes.subarray(header + size);
  }
  if (bytes.length > 0) this[kPending] = Buffer.from(bytes);
}

/** Opens one connection; resolves with "101", another status (and reason), or an error code. */
function handshake(port: number, sockets: Socket[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", noDelay: true });
    let head = "";
    let settled = false;
    const finish = (outcome: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off("data", onData);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish("timeout");
    }, HANDSHAKE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      const status = head.slice(9, 12);
      if (status === "101") {
        sockets.push(socket);
        finish("101");
        // Stay alive through the server's heartbeat (a slow run may outlast its interval).
        const after = Buffer.from(head.slice(end + 4), "latin1");
        socket.on("data", answerPings);
        if (after.length > 0) answerPings.call(socket, after);
        return;
      }
      const reason = /\r\nSockwise-Refused: *([^\r]*)/i.exec(head)?.[1];
      socket.destroy();
      finish(reason === undefined ? status : `${status} ${reason}`);
    };
    socket.on("data", onData);
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? "error"));
    socket.on("close", () => finish("closed before an answer"));
    socket.write(REQUEST);
  });
}

async function storm(request: StormRequest): Promise<{ result: StormResult; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const outcomes = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < request.count) {
      next++;
      const outcome = await handshake(request.port, sockets);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: request.inFlight }, worker));
  const durationMs = performance.now() - started;
  const refused: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const [outcome, n] of outcomes) {
    if (outcome === "101") continue;
    if (/^\d{3}/.test(outcome)) refused[outcome] = n;
    else errors[outcome] = n;
  }
  return {
    sockets,
    result: {
      type: "result",
      opened: outcomes.get("101") ?? 0,
      refused,
      errors,
      durationMs,
      openFilesLimit: process.env["STORM_ULIMIT"] ?? "?",
    },
  };
}

/** The server role: a server with the default settings; reports its counts when asked. */
async function serve(): Promise<void> {
  // The defaults, as a production server would run them: only where to listen is given.
  // (STORM_SERVER_OPTIONS, JSON, is for experiments with other limits; the tests never set it.)
  const server = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    ...(JSON.parse(process.env["STORM_SERVER_OPTIONS"] ?? "{}") as object),
  });
  let refusedEvents = 0;
  const reasons: Record<string, number> = {};
  server.on("refused", (info: RefusalInfo) => {
    refusedEvents++;
    reasons[info.reason] = (reasons[info.reason] ?? 0) + 1;
  });
  let forwardedFor: string | undefined;
  server.on("connection", (_socket, request) => {
    const header = request.headers["x-forwarded-for"];
    if (typeof header === "string") forwardedFor = header;
  });
  const { port } = await server.ready();
  process.on("message", (message: { type: string; expect?: number }) => {
    if (message.type === "report") {
      void (async () => {
        // The server may see the last connections a moment after their 101 left.
        const deadline = performance.now() + 5000;
        while (server.clients.size < (message.expect ?? 0) && performance.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 5));
        const report: ServerReport = {
          type: "report",
          clients: server.clients.size,
          refusedEvents,
          reasons,
          forwardedFor,
          openFilesLimit: process.env["STORM_ULIMIT"] ?? "?",
        };
        process.send!(report);
      })();
    } else if (message.type === "stop") {
      void (async () => {
        const deadline = performance.now() + 10_000;
        while (server.clients.size > 0 && performance.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 10));
        await server.close({ timeoutMs: 1000 });
        process.disconnect();
      })();
    }
  });
  process.send!({ type: "listening", port });
}

/** The load-generator role: one storm, then hold the connections until told to stop. */
async function generate(): Promise<void> {
  const request = await new Promise<StormRequest>((resolve) =>
    process.once("message", (message) => resolve(message as StormRequest)),
  );
  const { result, sockets } = await storm(request);
  process.send!(result);
  process.once("message", () => {
    for (const socket of sockets) socket.destroy();
    process.disconnect();
  });
}

/** What the server role reports. */
export interface ServerReport {
  readonly type: "report";
  readonly clients: number;
  readonly refusedEvents: number;
  readonly reasons: Record<string, number>;
  readonly forwardedFor: string | undefined;
  readonly openFilesLimit: string;
}

void (process.argv[2] === "server" ? serve() : generate()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
