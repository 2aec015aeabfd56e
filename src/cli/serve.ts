/**
 * `sockwise serve`: an echo server (or a logging-only one) that also serves the browser
 * playground page at `/`, logs each connection's open and close, and shuts down gracefully
 * with 1001 on Ctrl-C or SIGTERM.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { WebSocketServer, type ShutdownResult } from "../index.js";
import { escapeControl } from "./terminal.js";
import { moduleDirectory } from "./module-directory.js";

/** Options of `sockwise serve`. */
export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly path: string;
  readonly echo: boolean;
  readonly quiet: boolean;
}

/** A running `serve`, for tests and for the signal handlers. */
export interface RunningServe {
  readonly url: string;
  readonly playgroundUrl: string;
  /** Shuts down gracefully (1001) and resolves with the counts. */
  stop(): Promise<ShutdownResult>;
}

/**
 * The message convention the playground (and any client) can use to ask the server to close:
 * a text message `/server-close <code> [reason]`. It is documented on the playground page.
 */
export const SERVER_CLOSE_COMMAND = "/server-close";

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

/** Starts the server; resolves once it listens. */
export async function runServe(
  options: ServeOptions,
  log: (line: string) => void,
): Promise<RunningServe> {
  const playgroundPath = findPlayground();
  const page = playgroundPath === undefined ? undefined : readFileSync(playgroundPath);
  const http = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method === "GET" && path === "/" && page !== undefined) {
      response.writeHead(200, {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy":
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src ws: wss:",
      });
      response.end(page);
      return;
    }
    response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    response.end("not found\n");
  });
  // A debugging echo server speaks whatever subprotocol the client asks for first.
  const server = new WebSocketServer({
    server: http,
    path: options.path,
    handleProtocols: (offered) => offered[0],
  });
  let nextId = 1;
  server.on("connection", (socket, request) => {
    const id = nextId++;
    const started = performance.now();
    let messagesIn = 0;
    let messagesOut = 0;
    const peer = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    if (!options.quiet) {
      log(
        `[#${id}] open ${peer} path=${escapeControl(request.url ?? "/")} protocol="${escapeControl(socket.protocol)}"`,
      );
    }
    socket.binaryType = "nodebuffer";
    socket.onmessage = (event: MessageEvent) => {
      messagesIn++;
      const data = event.data as string | Buffer;
      if (typeof data === "string" && data.startsWith(SERVER_CLOSE_COMMAND)) {
        const [, codeText, ...reasonWords] = data.split(" ");
        const code = codeText === undefined || codeText === "" ? undefined : Number(codeText);
        try {
          socket.close(code, reasonWords.join(" "));
        } catch (error) {
          socket.send(`error: ${(error as Error).message}`);
          messagesOut++;
        }
        return;
      }
      if (options.echo) {
        socket.send(data);
        messagesOut++;
      }
    };
    void socket.closed.then((info) => {
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
  let stopping: Promise<ShutdownResult> | undefined;
  return {
    url: `ws://${host}:${port}${options.path}`,
    playgroundUrl: `http://${host}:${port}/`,
    stop(): Promise<ShutdownResult> {
      stopping ??= (async () => {
        const result = await server.close({ code: 1001, reason: "server shutting down" });
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
