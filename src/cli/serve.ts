/**
 * `sockwise serve`: an echo, broadcast or logging server that also serves the browser
 * playground page at `/` (and, with `--static`, the files of a directory), logs each
 * connection's open and close, streams what a traced connection really saw to the playground
 * (its sequence diagram), and shuts down gracefully with 1001 on Ctrl-C or SIGTERM.
 *
 * @module
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import { WebSocketServer, type ServerWebSocket, type ShutdownResult } from "../index.js";
import { moduleDirectory } from "./module-directory.js";
import { serveStatic } from "./static-files.js";
import { escapeControl } from "./terminal.js";
import { preciseNow, tapSocket, type TapEvent } from "./wire-tap.js";

/** What `serve` does with a message. */
export type ServeMode = "echo" | "broadcast" | "log";

/** Options of `sockwise serve`. */
export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly path: string;
  /** Deprecated spelling of `mode: "log"` when false. */
  readonly echo?: boolean;
  /** echo (default): back to the sender; broadcast: to every client; log: nowhere. */
  readonly mode?: ServeMode;
  readonly quiet: boolean;
  /** Serve wss:// and https:// with this certificate and key (PEM files). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Also serve the files under this directory. */
  readonly staticDir?: string;
  /** Share topics (and broadcasts) with other processes through Redis at this URL. */
  readonly redis?: string;
}

/** A running `serve`, for tests and for the signal handlers. */
export interface RunningServe {
  readonly url: string;
  readonly playgroundUrl: string;
  readonly mode: ServeMode;
  /** Shuts down gracefully (1001) and resolves with the counts. */
  stop(): Promise<ShutdownResult>;
}

/**
 * The message convention the playground (and any client) can use to ask the server to close:
 * a text message `/server-close <code> [reason]`. It is documented on the playground page.
 */
export const SERVER_CLOSE_COMMAND = "/server-close";
/** The topic every client of `--mode broadcast` is subscribed to. */
export const BROADCAST_TOPIC = "sockwise:broadcast";
/** `/server-drop`: the server resets the TCP connection (RST), no closing handshake. */
export const SERVER_DROP_COMMAND = "/server-drop";

/** Where the playground opens its trace stream (server-sent events) and reads the clock. */
export const TRACE_PATH = "/__sockwise/trace";
export const CLOCK_PATH = "/__sockwise/clock";

/** At most this many traced connections at a time, and events kept for one before its page. */
const MAX_TRACES = 64;
const MAX_TRACE_EVENTS = 2_000;
/** A trace nobody watches is dropped after this long. */
const TRACE_TTL_MS = 60_000;
const TRACE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Finds playground/index.html next to the package (works from dist/ and from build/). */
export function findPlayground(): string | undefined {
  let dir = moduleDirectory();
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "playground", "index.html");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

/** A traced connection's events, streamed to the page that asked (or kept until it comes). */
interface Trace {
  response: ServerResponse | undefined;
  readonly buffered: string[];
  dropped: number;
  timer: NodeJS.Timeout;
}

/** The traces of the playground's connections, bounded in number and size. */
class Traces {
  readonly #traces = new Map<string, Trace>();

  #entry(id: string): Trace | undefined {
    let trace = this.#traces.get(id);
    if (trace === undefined) {
      if (this.#traces.size >= MAX_TRACES) return undefined;
      trace = {
        response: undefined,
        buffered: [],
        dropped: 0,
        timer: setTimeout(() => this.#end(id), TRACE_TTL_MS).unref(),
      };
      this.#traces.set(id, trace);
    }
    return trace;
  }

  #end(id: string): void {
    const trace = this.#traces.get(id);
    if (trace === undefined) return;
    clearTimeout(trace.timer);
    this.#traces.delete(id);
    trace.response?.end();
  }

  /** A page subscribes to trace `id` (server-sent events). */
  subscribe(id: string, request: IncomingMessage, response: ServerResponse): void {
    const trace = this.#entry(id);
    if (trace === undefined || trace.response !== undefined) {
      response.writeHead(429, { "Content-Type": "text/plain; charset=utf-8" });
      response.end("too many traces\n");
      return;
    }
    response.writeHead(200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
    });
    response.write(`retry: 3600000\n\n`);
    response.write(`data: ${JSON.stringify({ kind: "hello", t: preciseNow() })}\n\n`);
    trace.response = response;
    for (const line of trace.buffered.splice(0)) response.write(line);
    request.once("close", () => this.#end(id));
  }

  /** Whether `id` may be traced (a slot is free, or it is already there). */
  claim(id: string): boolean {
    return this.#entry(id) !== undefined;
  }

  report(id: string, event: TapEvent | Record<string, unknown>): void {
    const trace = this.#traces.get(id);
    if (trace === undefined) return;
    const line = `data: ${JSON.stringify(event)}\n\n`;
    if (trace.response !== undefined) trace.response.write(line);
    else if (trace.buffered.length < MAX_TRACE_EVENTS) trace.buffered.push(line);
    else trace.dropped++;
  }

  endAll(): void {
    for (const id of [...this.#traces.keys()]) this.#end(id);
  }
}

function preview(data: string | Buffer): string {
  if (typeof data !== "string") return `[binary ${data.length} B]`;
  const text = escapeControl(data.length > 120 ? `${data.slice(0, 120)}…` : data);
  return `"${text}"`;
}

/** Starts the server; resolves once it listens. */
export async function runServe(
  options: ServeOptions,
  log: (line: string) => void,
): Promise<RunningServe> {
  const mode: ServeMode = options.mode ?? (options.echo === false ? "log" : "echo");
  const playgroundPath = findPlayground();
  const page = playgroundPath === undefined ? undefined : readFileSync(playgroundPath);
  const staticRoot = options.staticDir === undefined ? undefined : realpathSync(options.staticDir);
  if (staticRoot !== undefined && !statSync(staticRoot).isDirectory())
    throw new Error(`--static ${options.staticDir} is not a directory`);
  const traces = new Traces();

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const target = new URL(request.url ?? "/", "http://localhost");
    const path = target.pathname;
    if (request.method === "GET" && path === "/" && page !== undefined) {
      response.writeHead(200, {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy":
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:",
      });
      response.end(page);
      return;
    }
    if (request.method === "GET" && path === TRACE_PATH) {
      const id = target.searchParams.get("id") ?? "";
      if (!TRACE_ID.test(id)) {
        response.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" });
        response.end("bad trace id\n");
        return;
      }
      traces.subscribe(id, request, response);
      return;
    }
    if (request.method === "GET" && path === CLOCK_PATH) {
      response.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      response.end(JSON.stringify({ now: preciseNow() }));
      return;
    }
    if (staticRoot !== undefined && serveStatic(staticRoot, path, request, response)) return;
    response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    response.end("not found\n");
  };
  const http: HttpServer =
    options.tls === undefined
      ? createServer(handler)
      : (createHttpsServer(
          { cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) },
          handler,
        ) as unknown as HttpServer);

  // Before the WebSocket server's own listener: remember each upgrade's TCP socket (for
  // /server-drop) and tap the ones the playground traces.
  const upgrades = new WeakMap<IncomingMessage, { socket: Socket; trace?: string }>();
  http.prependListener("upgrade", (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const id = new URL(request.url ?? "/", "http://localhost").searchParams.get("trace");
    if (id !== null && TRACE_ID.test(id) && traces.claim(id)) {
      upgrades.set(request, { socket, trace: id });
      traces.report(id, {
        t: preciseNow(),
        kind: "http",
        dir: "in",
        line: `${request.method ?? "GET"} ${request.url ?? "/"} HTTP/${request.httpVersion}`,
      });
      tapSocket(socket, head, (event) => traces.report(id, event));
    } else {
      upgrades.set(request, { socket });
    }
  });

  // A debugging echo server speaks whatever subprotocol the client asks for first; the path
  // is matched on its own, so that `?trace=` does not stop the upgrade.
  // sockwise/redis loads the optional ioredis peer: only when asked for.
  const broker =
    options.redis === undefined
      ? undefined
      : new (await import("../redis/index.js")).RedisBroker({ url: options.redis });
  if (broker !== undefined) {
    broker.on("status", (status) => {
      if (!options.quiet)
        log(
          `redis ${status.state}${status.cause === undefined ? "" : ` (${status.cause.message})`}`,
        );
    });
  }
  const server = new WebSocketServer({
    server: http,
    path: options.path,
    handleProtocols: (offered) => offered[0],
    ...(broker === undefined ? {} : { broker }),
  });
  let nextId = 1;
  server.on("connection", (socket: ServerWebSocket, request: IncomingMessage) => {
    const id = nextId++;
    const started = performance.now();
    const upgrade = upgrades.get(request);
    const trace = upgrade?.trace;
    const report = (event: Record<string, unknown>): void => {
      if (trace !== undefined) traces.report(trace, { t: preciseNow(), ...event });
    };
    let messagesIn = 0;
    let messagesOut = 0;
    const peer = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    if (!options.quiet) {
      log(
        `[#${id}] open ${peer} path=${escapeControl(request.url ?? "/")} protocol="${escapeControl(socket.protocol)}"`,
      );
    }
    report({ kind: "open", id, protocol: socket.protocol, extensions: socket.extensions });
    socket.binaryType = "nodebuffer";
    if (mode === "broadcast") socket.subscribe(BROADCAST_TOPIC);
    const answer = (text: string): void => {
      socket.send(text);
      messagesOut++;
    };
    socket.onmessage = (event: MessageEvent) => {
      messagesIn++;
      const data = event.data as string | Buffer;
      if (typeof data === "string" && data.startsWith("/")) {
        const [command = "", ...words] = data.split(" ");
        if (command === SERVER_CLOSE_COMMAND) {
          const [codeText, ...reasonWords] = words;
          const code = codeText === undefined || codeText === "" ? undefined : Number(codeText);
          const reason = reasonWords.join(" ");
          report({ kind: "api", what: "close", code: code ?? null, reason });
          try {
            socket.close(code, reason);
          } catch (error) {
            report({ kind: "api", what: "exception", message: (error as Error).message });
            answer(`error: ${(error as Error).message}`);
          }
          return;
        }
        if (command === SERVER_DROP_COMMAND) {
          report({ kind: "api", what: "drop" });
          if (upgrade !== undefined) upgrade.socket.resetAndDestroy();
          else socket.destroy();
          return;
        }
        if (command === "/subscribe" || command === "/unsubscribe" || command === "/publish") {
          const [topic = "", ...rest] = words;
          try {
            if (command === "/subscribe") socket.subscribe(topic);
            else if (command === "/unsubscribe") socket.unsubscribe(topic);
            else server.publish(topic, rest.join(" "));
          } catch (error) {
            answer(`error: ${(error as Error).message}`);
          }
          return;
        }
      }
      if (mode === "log" && !options.quiet) log(`[#${id}] message ${preview(data)}`);
      if (mode === "echo") answer(data as string);
      else if (mode === "broadcast") {
        // Through the topic, so that with --redis every process's clients get it.
        server.publish(BROADCAST_TOPIC, data);
        messagesOut++;
      }
    };
    void socket.closed.then((info) => {
      report({
        kind: "closed",
        code: info.code,
        reason: info.reason,
        wasClean: info.wasClean,
        initiator: info.initiator,
        ...(info.sentCode === undefined ? {} : { sentCode: info.sentCode }),
        ...(info.cause === undefined ? {} : { cause: info.cause.code }),
      });
      if (options.quiet) return;
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      const cause = info.cause === undefined ? "" : ` cause=${info.cause.code}`;
      log(
        `[#${id}] close code=${info.code} reason="${escapeControl(info.reason)}" clean=${info.wasClean} ` +
          `initiator=${info.initiator} duration=${seconds}s in=${messagesIn} out=${messagesOut}${cause}`,
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const address = http.address();
  const port = address !== null && typeof address === "object" ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const secure = options.tls !== undefined;
  let stopping: Promise<ShutdownResult> | undefined;
  return {
    url: `${secure ? "wss" : "ws"}://${host}:${port}${options.path}`,
    playgroundUrl: `${secure ? "https" : "http"}://${host}:${port}/`,
    mode,
    stop(): Promise<ShutdownResult> {
      stopping ??= (async () => {
        const result = await server.close({ code: 1001, reason: "server shutting down" });
        traces.endAll();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
        return result;
      })();
      return stopping;
    },
  };
}
