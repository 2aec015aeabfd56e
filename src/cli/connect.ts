/**
 * `sockwise connect <url>`: a WebSocket client for the terminal (interactive when stdin is a
 * TTY, line-per-message when it is a pipe or file) that shows close codes properly.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createInterface, type Interface } from "node:readline";
import {
  WebSocket,
  closeDetails,
  ping,
  type CloseDetails,
  type CloseEvent,
  type WebSocketOptions,
} from "../index.js";
import { escapeControl, parseHex, toHex, toTerminalJson } from "./terminal.js";

/**
 * Pipe mode: once input has ended and as many messages have come back as were sent, wait this
 * long without a message before closing, so that a reply is not cut off when the server also
 * sends messages of its own (a greeting, say). `--wait` still bounds the whole wait.
 */
const SETTLE_MS = 200;

/** Options of `sockwise connect`, parsed from argv. */
export interface ConnectOptions {
  readonly url: string;
  readonly protocols: readonly string[];
  readonly headers: readonly (readonly [string, string])[];
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly insecure: boolean;
  readonly closeCode?: number;
  readonly closeReason?: string;
  readonly json: boolean;
  readonly quiet: boolean;
  /** Pipe mode: after input ends, wait at most this long for replies before closing. */
  readonly waitSeconds: number;
}

/** Where the command writes; injectable for tests. */
export interface ConnectIO {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/**
 * Runs `connect` until the connection closes. Resolves with the exit code: 0 for a clean
 * close, 1 otherwise.
 */
export function runConnect(options: ConnectOptions, io: ConnectIO): Promise<number> {
  return new Promise((resolve) => {
    const interactive = io.stdin.isTTY === true && !options.json;
    let rl: Interface | undefined;
    const files: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    for (const name of ["ca", "cert", "key"] as const) {
      const path = options[name];
      if (path === undefined) continue;
      try {
        files[name] = readFileSync(path);
      } catch (error) {
        io.stderr.write(`sockwise: cannot read --${name} ${path}: ${(error as Error).message}\n`);
        resolve(2);
        return;
      }
    }
    const wsOptions: WebSocketOptions = {
      protocols: options.protocols,
      headers: options.headers,
      ...files,
      ...(options.insecure ? { rejectUnauthorized: false } : {}),
    };
    let socket: WebSocket;
    try {
      socket = new WebSocket(options.url, wsOptions);
    } catch (error) {
      io.stderr.write(`error: ${(error as Error).message}\n`);
      resolve(2);
      return;
    }
    socket.binaryType = "arraybuffer";

    /** Prints a line without garbling the interactive prompt. */
    const print = (stream: NodeJS.WritableStream, line: string): void => {
      if (rl !== undefined) {
        (io.stdout as NodeJS.WriteStream).write("\r\x1b[2K");
        stream.write(`${line}\n`);
        rl.prompt(true);
      } else {
        stream.write(`${line}\n`);
      }
    };
    const status = (line: string): void => {
      if (!options.quiet && !options.json) print(io.stderr, line);
    };
    const emit = (event: Record<string, unknown>): void => {
      io.stdout.write(`${toTerminalJson(event)}\n`);
    };

    let sent = 0;
    let received = 0;
    let inputEnded = false;
    const pending: string[] = [];
    let closeRequested = false;
    let waitTimer: NodeJS.Timeout | undefined;
    let settleTimer: NodeJS.Timeout | undefined;
    const clearTimers = (): void => {
      clearTimeout(waitTimer);
      clearTimeout(settleTimer);
    };

    const closeNow = (code = options.closeCode, reason = options.closeReason): void => {
      if (closeRequested) return;
      closeRequested = true;
      clearTimers();
      try {
        if (code === undefined && reason === undefined) socket.close();
        else socket.close(code, reason);
      } catch (error) {
        print(io.stderr, `error: ${(error as Error).message}`);
        closeRequested = false;
      }
    };
    const maybeFinish = (): void => {
      if (interactive || !inputEnded || closeRequested || socket.readyState !== WebSocket.OPEN)
        return;
      // --wait counts from when input has ended and the connection is open, whichever is
      // later: a slow handshake is bounded by its own timeout, not cut short by --wait.
      waitTimer ??= setTimeout(() => closeNow(), options.waitSeconds * 1000);
      if (received < sent) return;
      clearTimeout(settleTimer);
      settleTimer = setTimeout(() => closeNow(), SETTLE_MS);
    };
    const sendText = (line: string): void => {
      socket.send(line);
      sent++;
      if (options.json) emit({ event: "sent", type: "text", data: line });
      else if (!interactive) status(`> ${escapeControl(line)}`);
    };

    socket.onopen = () => {
      if (options.json)
        emit({
          event: "open",
          url: socket.url,
          protocol: socket.protocol,
          extensions: socket.extensions,
        });
      else
        status(
          `connected to ${socket.url}${socket.protocol === "" ? "" : ` (protocol ${socket.protocol})`}`,
        );
      for (const line of pending.splice(0)) sendText(line);
      maybeFinish();
      if (interactive) startPrompt();
    };
    socket.onmessage = (event: MessageEvent) => {
      received++;
      const data = event.data as string | ArrayBuffer;
      if (options.json) {
        emit(
          typeof data === "string"
            ? { event: "message", type: "text", data }
            : { event: "message", type: "binary", data: Buffer.from(data).toString("hex") },
        );
      } else if (typeof data === "string") {
        print(io.stdout, options.quiet ? escapeControl(data) : `< ${escapeControl(data)}`);
      } else {
        const bytes = new Uint8Array(data);
        print(io.stdout, `${options.quiet ? "" : "< "}[binary ${bytes.length} B] ${toHex(bytes)}`);
      }
      maybeFinish();
    };
    socket.onerror = () => {
      if (options.json) emit({ event: "error" });
    };
    socket.onclose = (event: CloseEvent) => {
      clearTimers();
      rl?.close();
      const details = closeDetails(socket);
      if (options.json) {
        emit({
          event: "close",
          code: event.code,
          reason: event.reason,
          wasClean: event.wasClean,
          ...(details?.cause === undefined ? {} : { cause: describeCause(details.cause) }),
        });
      } else {
        const cause =
          details?.cause === undefined
            ? ""
            : ` cause="${escapeControl(describeCause(details.cause))}"`;
        io.stderr.write(
          `closed: code=${event.code} reason="${escapeControl(event.reason)}" clean=${event.wasClean}${cause}\n`,
        );
      }
      resolve(event.wasClean ? 0 : 1);
    };

    const startPrompt = (): void => {
      rl = createInterface({ input: io.stdin, output: io.stdout, prompt: "> ", terminal: true });
      rl.prompt();
      rl.on("line", (line) => {
        const handled = runCommand(line);
        if (!handled && line.length > 0) {
          socket.send(line);
          sent++;
        }
        rl?.prompt();
      });
      rl.on("close", () => {
        rl = undefined;
        // Take the prompt (and any half-typed line) off the screen: what comes next replaces it.
        io.stdout.write("\r\x1b[2K");
        closeNow();
      });
      rl.on("SIGINT", () => closeNow());
    };

    /** Handles a slash command; returns false for an ordinary line. */
    const runCommand = (line: string): boolean => {
      if (!line.startsWith("/")) return false;
      const [command = "", ...rest] = line.slice(1).split(" ");
      switch (command) {
        case "close": {
          const code = rest[0] === undefined || rest[0] === "" ? undefined : Number(rest[0]);
          const reason = rest.length > 1 ? rest.slice(1).join(" ") : undefined;
          closeNow(code, reason);
          return true;
        }
        case "quit":
          closeNow();
          return true;
        case "binary": {
          const bytes = parseHex(rest.join(""));
          if (bytes === undefined)
            print(io.stderr, "usage: /binary <hex bytes>, e.g. /binary 01 02 ff");
          else {
            socket.send(bytes);
            sent++;
          }
          return true;
        }
        case "ping": {
          // Non-standard: the WHATWG API has no ping, so sockwise's `ping()` helper sends it.
          const text = rest.join(" ");
          try {
            void ping(socket, text).then((pong) => {
              if (pong === undefined)
                print(io.stderr, "ping: the connection closed before the pong");
              else
                print(
                  io.stderr,
                  `pong ${JSON.stringify(escapeControl(new TextDecoder().decode(pong.data)))} after ${pong.rttMs.toFixed(1)} ms`,
                );
            });
          } catch (error) {
            print(io.stderr, `ping: ${(error as Error).message}`);
          }
          return true;
        }
        case "help":
          print(
            io.stderr,
            "commands: /close [code] [reason]  /ping [text]  /binary <hex>  /quit  (/help)",
          );
          return true;
        default:
          return false;
      }
    };

    if (!interactive) {
      // Pipe or file: one message per line, then close once the replies are in.
      const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
      lines.on("line", (line) => {
        if (socket.readyState === WebSocket.CONNECTING) pending.push(line);
        else if (socket.readyState === WebSocket.OPEN && !closeRequested) sendText(line);
      });
      lines.on("close", () => {
        inputEnded = true;
        maybeFinish();
      });
    }
    process.once("SIGINT", () => closeNow());
  });
}

function describeCause(cause: NonNullable<CloseDetails["cause"]>): string {
  if (cause.response !== undefined) {
    return `HTTP ${cause.response.status}${cause.response.statusText === "" ? "" : ` ${cause.response.statusText}`} (${cause.code})`;
  }
  const error = cause.error as { code?: string; message?: string } | undefined;
  if (error?.code === "ECONNREFUSED") return `connection refused (${cause.code})`;
  if (error?.message !== undefined) return `${error.message} (${cause.code})`;
  return `${cause.message} (${cause.code})`;
}
