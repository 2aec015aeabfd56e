/**
 * `sockwise connect <url>`: a WebSocket client for the terminal (interactive when stdin is a
 * TTY, line-per-message when it is a pipe or file, or a fixed list of messages with `-x`) that
 * shows close codes properly.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createInterface, type Interface } from "node:readline";
import {
  ReconnectingWebSocket,
  ReconnectEvent,
  WebSocket,
  closeDetails,
  ping,
  type CloseDetails,
  type CloseEvent,
  type WebSocketOptions,
} from "../index.js";
import { observeControlFrames } from "../whatwg/control-frames.js";
import {
  encodeBinary,
  escapeControl,
  paint,
  parseBase64,
  parseHex,
  toHex,
  toTerminalJson,
  type BinaryEncoding,
  type Colour,
} from "./terminal.js";

/**
 * Pipe mode: once input has ended and as many messages have come back as were sent, wait this
 * long without a message before closing, so that a reply is not cut off when the server also
 * sends messages of its own (a greeting, say). `--wait` still bounds the whole wait.
 */
const SETTLE_MS = 200;

/** How input lines (pipe mode, `-x`) become messages. */
export type InputFormat = "text" | "hex" | "base64";

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
  /** The `Origin` header. */
  readonly origin?: string;
  /** Messages to send once open instead of reading stdin (`-x`); then wait, close and exit. */
  readonly execute?: readonly string[];
  /** Print the Pings and Pongs received (and the Pings sent). */
  readonly showPingPong?: boolean;
  /** Send a Ping this often. */
  readonly pingIntervalSeconds?: number;
  /** Prefix each line with the time (HH:MM:SS.mmm); `--json` gets a `time` field. */
  readonly timestamps?: boolean;
  /** How input lines become messages (default text). */
  readonly input?: InputFormat;
  /** Print binary messages whole in this encoding (default: spaced hex, elided past 64 bytes). */
  readonly binaryOutput?: BinaryEncoding;
  /** The largest message accepted (the client's `maxMessageBytes`). */
  readonly maxMessageBytes?: number;
  /**
   * The proxy: a URL, `true` for the environment's (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
   * `NO_PROXY`; the CLI's default, as for curl), `false` for none.
   */
  readonly proxy?: string | boolean;
  /** Reconnect after an unclean close, through `ReconnectingWebSocket`, printing each attempt. */
  readonly reconnect?: boolean;
  /** Colour stdout / stderr (decided by the caller from the TTY, NO_COLOR and FORCE_COLOR). */
  readonly color?: { readonly stdout: boolean; readonly stderr: boolean };
}

/** Where the command writes; injectable for tests. */
export interface ConnectIO {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Turns one input line into a message; a string is an error to report. */
export function decodeInputLine(
  line: string,
  format: InputFormat,
): { data: string | Uint8Array } | { error: string } {
  if (format === "text") return { data: line };
  const bytes = format === "hex" ? parseHex(line) : parseBase64(line);
  return bytes === undefined
    ? {
        error: `not ${format === "hex" ? "hex" : "base64"}: ${JSON.stringify(escapeControl(line))}`,
      }
    : { data: bytes };
}

/** A payload as readable text when it is UTF-8, as hex otherwise. */
function describePayload(data: Uint8Array): string {
  if (data.length === 0) return "(empty)";
  try {
    return `"${escapeControl(new TextDecoder("utf-8", { fatal: true }).decode(data))}"`;
  } catch {
    return toHex(data);
  }
}

function clock(): string {
  return new Date().toISOString().slice(11, 23);
}

/**
 * Runs `connect` until the connection closes. Resolves with the exit code: 0 for a clean
 * close, 1 otherwise.
 */
export function runConnect(options: ConnectOptions, io: ConnectIO): Promise<number> {
  return new Promise((resolve) => {
    const execute = options.execute ?? [];
    const inputFormat = options.input ?? "text";
    const interactive = io.stdin.isTTY === true && !options.json && execute.length === 0;
    const colorOut = options.color?.stdout === true;
    const colorErr = options.color?.stderr === true;
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
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      ...(options.maxMessageBytes === undefined
        ? {}
        : { maxMessageBytes: options.maxMessageBytes }),
      proxy: options.proxy ?? true,
    };
    let socket: WebSocket | ReconnectingWebSocket;
    try {
      socket =
        options.reconnect === true
          ? new ReconnectingWebSocket(options.url, wsOptions)
          : new WebSocket(options.url, wsOptions);
    } catch (error) {
      io.stderr.write(`error: ${(error as Error).message}\n`);
      resolve(2);
      return;
    }
    socket.binaryType = "arraybuffer";

    const stamp = (line: string): string =>
      options.timestamps === true ? `${clock()} ${line}` : line;
    /** Prints a line without garbling the interactive prompt. */
    const print = (stream: NodeJS.WritableStream, line: string): void => {
      if (rl !== undefined) {
        (io.stdout as NodeJS.WriteStream).write("\r\x1b[2K");
        stream.write(`${stamp(line)}\n`);
        rl.prompt(true);
      } else {
        stream.write(`${stamp(line)}\n`);
      }
    };
    const status = (line: string, colour: Colour = "dim"): void => {
      if (!options.quiet && !options.json) print(io.stderr, paint(colorErr, colour, line));
    };
    const emit = (event: Record<string, unknown>): void => {
      const stamped =
        options.timestamps === true ? { time: new Date().toISOString(), ...event } : event;
      io.stdout.write(`${toTerminalJson(stamped)}\n`);
    };

    let sent = 0;
    let received = 0;
    let inputEnded = execute.length > 0;
    const pending: (string | Uint8Array)[] = [];
    let closeRequested = false;
    let waitTimer: NodeJS.Timeout | undefined;
    let settleTimer: NodeJS.Timeout | undefined;
    let pingTimer: NodeJS.Timeout | undefined;
    const clearTimers = (): void => {
      clearTimeout(waitTimer);
      clearTimeout(settleTimer);
      clearInterval(pingTimer);
    };

    const closeNow = (code = options.closeCode, reason = options.closeReason): void => {
      if (closeRequested) return;
      closeRequested = true;
      clearTimers();
      try {
        if (code === undefined && reason === undefined) socket.close();
        else socket.close(code, reason);
      } catch (error) {
        print(io.stderr, paint(colorErr, "red", `error: ${(error as Error).message}`));
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
    const formatBinary = (bytes: Uint8Array): string =>
      options.binaryOutput === undefined
        ? `[binary ${bytes.length} B] ${toHex(bytes)}`
        : `[binary ${bytes.length} B] ${encodeBinary(bytes, options.binaryOutput)}`;
    const sendData = (data: string | Uint8Array): void => {
      socket.send(data);
      sent++;
      if (options.json) {
        emit(
          typeof data === "string"
            ? { event: "sent", type: "text", data }
            : {
                event: "sent",
                type: "binary",
                data: encodeBinary(data, options.binaryOutput ?? "hex"),
              },
        );
      } else if (!interactive) {
        status(`> ${typeof data === "string" ? escapeControl(data) : formatBinary(data)}`, "blue");
      }
    };

    const pingNow = (payload: string, announce: boolean, onPong?: () => void): void => {
      try {
        if (announce && options.showPingPong === true) {
          if (options.json) emit({ event: "ping-sent", data: payload });
          else status(`> ping ${describePayload(new TextEncoder().encode(payload))}`, "magenta");
        }
        if (!(socket instanceof WebSocket)) throw new TypeError("no pings with --reconnect");
        void ping(socket, payload).then((pong) => {
          if (pong === undefined) {
            if (!announce) print(io.stderr, "ping: the connection closed before the pong");
            return;
          }
          onPong?.();
          const shown = JSON.stringify(escapeControl(new TextDecoder().decode(pong.data)));
          const rtt = `after ${pong.rttMs.toFixed(1)} ms`;
          if (announce && options.showPingPong !== true) return;
          if (options.json) emit({ event: "pong", data: payload, rttMs: pong.rttMs });
          else
            print(
              io.stderr,
              paint(colorErr, "magenta", `${announce ? "< pong" : "pong"} ${shown} ${rtt}`),
            );
        });
      } catch (error) {
        print(io.stderr, paint(colorErr, "red", `ping: ${(error as Error).message}`));
      }
    };

    if (options.showPingPong === true) {
      // Pings from the server (answered by the socket itself); Pongs are shown with the Ping
      // they answer, with the round-trip time.
      observeControlFrames(socket, (kind, data) => {
        if (kind !== "ping") return;
        // After the open event, which is dispatched from a task queued before this Ping arrived.
        setImmediate(() => {
          if (options.json) emit({ event: "ping", data: encodeBinary(data, "hex") });
          else print(io.stderr, paint(colorErr, "magenta", `< ping ${describePayload(data)}`));
        });
      });
    }

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
          "green",
        );
      if (options.pingIntervalSeconds !== undefined && pingTimer === undefined) {
        let count = 0;
        let answered = true;
        pingTimer = setInterval(() => {
          if (socket.readyState !== WebSocket.OPEN) return;
          if (!answered)
            status(`no pong to ping ${count} within ${options.pingIntervalSeconds} s`, "yellow");
          count++;
          answered = false;
          pingNow(String(count), true, () => (answered = true));
        }, options.pingIntervalSeconds * 1000);
      }
      for (const data of pending.splice(0)) sendData(data);
      for (const line of execute) {
        const decoded = decodeInputLine(line, inputFormat);
        if ("data" in decoded) sendData(decoded.data);
      }
      maybeFinish();
      if (interactive && rl === undefined) startPrompt();
    };
    if (socket instanceof ReconnectingWebSocket) {
      const attempt = (event: Event): void => {
        if (!(event instanceof ReconnectEvent)) return;
        if (options.json)
          emit({
            event: event.type,
            attempt: event.attempt,
            url: event.url,
            ...(event.type === "reconnecting" ? { delayMs: event.delayMs } : {}),
          });
        else if (event.type === "connecting")
          status(`connecting to ${event.url} (attempt ${event.attempt})`, "yellow");
        else
          status(
            `reconnecting in ${Math.round(event.delayMs)} ms (attempt ${event.attempt})`,
            "yellow",
          );
      };
      socket.addEventListener("connecting", attempt);
      socket.addEventListener("reconnecting", attempt);
    }
    socket.onmessage = (event: MessageEvent) => {
      received++;
      const data = event.data as string | ArrayBuffer;
      if (options.json) {
        emit(
          typeof data === "string"
            ? { event: "message", type: "text", data }
            : {
                event: "message",
                type: "binary",
                data: encodeBinary(new Uint8Array(data), options.binaryOutput ?? "hex"),
              },
        );
      } else if (typeof data === "string") {
        print(
          io.stdout,
          options.quiet
            ? escapeControl(data)
            : `${paint(colorOut, "green", "<")} ${escapeControl(data)}`,
        );
      } else {
        const bytes = new Uint8Array(data);
        print(
          io.stdout,
          options.quiet
            ? options.binaryOutput === undefined
              ? formatBinary(bytes)
              : encodeBinary(bytes, options.binaryOutput)
            : `${paint(colorOut, "green", "<")} ${formatBinary(bytes)}`,
        );
      }
      maybeFinish();
    };
    socket.onerror = () => {
      if (options.json) emit({ event: "error" });
    };
    socket.onclose = (event: CloseEvent) => {
      // A reconnecting socket stays CONNECTING through the close event when it will retry.
      const again = socket.readyState !== WebSocket.CLOSED;
      if (!again) {
        clearTimers();
        observeControlFrames(socket, undefined);
        rl?.close();
      }
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
        const line = paint(
          colorErr,
          event.wasClean ? "green" : "red",
          `closed: code=${event.code} reason="${escapeControl(event.reason)}" clean=${event.wasClean}${cause}`,
        );
        if (again) print(io.stderr, line);
        else io.stderr.write(`${stamp(line)}\n`);
      }
      if (!again) resolve(event.wasClean ? 0 : 1);
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
        case "binary":
        case "base64": {
          const bytes = command === "binary" ? parseHex(rest.join("")) : parseBase64(rest.join(""));
          if (bytes === undefined)
            print(
              io.stderr,
              command === "binary"
                ? "usage: /binary <hex bytes>, e.g. /binary 01 02 ff"
                : "usage: /base64 <base64>, e.g. /base64 AQL/",
            );
          else {
            socket.send(bytes);
            sent++;
          }
          return true;
        }
        case "ping":
          // Non-standard: the WHATWG API has no ping, so sockwise's `ping()` helper sends it.
          pingNow(rest.join(" "), false);
          return true;
        case "help":
          print(
            io.stderr,
            "commands: /close [code] [reason]  /ping [text]  /binary <hex>  /base64 <b64>  /quit  (/help)",
          );
          return true;
        default:
          return false;
      }
    };

    if (!interactive && execute.length === 0) {
      // Pipe or file: one message per line, then close once the replies are in.
      const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
      lines.on("line", (line) => {
        const decoded = decodeInputLine(line, inputFormat);
        if ("error" in decoded) {
          print(io.stderr, paint(colorErr, "red", `error: ${decoded.error} (not sent)`));
          return;
        }
        if (socket.readyState === WebSocket.CONNECTING) pending.push(decoded.data);
        else if (socket.readyState === WebSocket.OPEN && !closeRequested) sendData(decoded.data);
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
