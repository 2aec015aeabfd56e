#!/usr/bin/env node
/**
 * The `sockwise` command: `sockwise connect <url>` and `sockwise serve`. Exit codes: 0 for a
 * clean close (or a clean shutdown), 1 for an unclean one, 2 for a usage error.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeInputLine, runConnect } from "./connect.js";
import { colorEnabled } from "./terminal.js";
import { runServe } from "./serve.js";
import { formatBenchResult, runBench } from "./bench.js";
import { moduleDirectory } from "./module-directory.js";
import {
  announceWorkerReady,
  isPrimaryOf,
  onWorkerShutdown,
  runPrimary,
  workerId,
} from "./workers.js";
import { validateCloseCodeAndReason } from "../whatwg/validate-close.js";

const USAGE = `usage:
  sockwise connect <url> [options]   talk to a WebSocket server
      -p, --protocol <name>          offer a subprotocol (repeatable)
      -H, --header "Name: value"     add a request header (repeatable)
      --auth <user:pass>             HTTP Basic authentication (an Authorization header)
      --origin <url>                 send this Origin header
      --ca <file> --cert <file> --key <file>   TLS trust anchors / client certificate
      --insecure                     do not verify the server's certificate
      --proxy <url>                  through an HTTP(S) CONNECT or SOCKS5 proxy (http://, https://,
                                     socks5://, socks5h://; user:pass@ for credentials). Default:
                                     the environment's (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY)
      --no-proxy                     connect directly, whatever the environment says
      --reconnect                    reconnect after an unexpected close (backoff with jitter),
                                     printing each attempt; /quit or the end of input stops
      -x, --execute <message>        send this message once open (repeatable), wait for the
                                     replies (as --wait), close and exit; stdin is not read
      --input text|hex|base64        how input lines (and -x) become messages: text, or binary
                                     messages written as hex or base64 (default text)
      --binary-output hex|base64     print binary messages whole in this encoding (default:
                                     spaced hex, elided past 64 bytes)
      --max-message <bytes>          the largest message accepted (default 64 MiB; over it 1009)
      --show-ping-pong               print the Pings received and the Pongs to our Pings
      --ping-interval <seconds>      send a Ping this often (with --show-ping-pong: print each RTT)
      --timestamps                   prefix every line with the time (--json: a "time" field)
      --close-code <code>            the close code used when closing (default: none, peer sees 1005)
      --close-reason <text>          the close reason used when closing
      --wait <seconds>               pipe mode and -x: after the input, wait at most this long for
                                     the replies before closing (default 2)
      --json                         one JSON object per event on stdout
      --quiet                        print only received messages and the close line
      --color, --no-color            colours (default: on a terminal, unless NO_COLOR is set;
                                     FORCE_COLOR forces them)
  sockwise serve [options]           an echo server with a browser playground at /
      --port <n>                     (default 8080; 0 for any free port)
      --host <addr>                  (default 127.0.0.1)
      --path <path>                  WebSocket path (default /)
      --mode echo|broadcast|log      echo each message back (default), send it to every client
                                     (a chat), or only log it
      --no-echo                      same as --mode log
      --tls --cert <file> --key <file>   serve wss:// and https://
      --static <dir>                 also serve the files under <dir> (GET/HEAD, no listing)
      --redis <url>                  share topics and broadcasts with other processes through
                                     Redis (sockwise/redis; needs the ioredis package)
      --workers <n>                  n processes on the one port (node:cluster); give them --redis
                                     to share topics and broadcasts
      --quiet                        do not log connections
  sockwise bench <url> [options]     a load generator for any WebSocket server (an echo server)
      -c, --connections <n>          connections (default 50)
      --rate <msg/s>                 open loop: this many messages per second in all (default:
                                     closed loop)
      --window <n>                   closed loop: messages in flight per connection (default 1)
      --size <bytes>                 message size (default 64)
      --type text|binary             message type (default text)
      -d, --duration <seconds>       how long to measure (default 10)
      --connect-concurrency <n>      handshakes in flight while connecting (default 64)
      -H, --header "Name: value"     add a request header (repeatable)
      --insecure                     wss: do not verify the server's certificate
      --json                         print the result as one JSON object
  sockwise --help | --version

Interactive commands (connect, when stdin is a terminal):
  /close [code] [reason]   /ping [text]   /binary <hex>   /base64 <b64>   /quit
`;

function readIfExists(url: string): string | undefined {
  try {
    return readFileSync(url, "utf8");
  } catch {
    return undefined;
  }
}

function fail(message: string): never {
  process.stderr.write(`sockwise: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  if (colon <= 0) fail(`a header must look like "Name: value", got ${JSON.stringify(text)}`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

function toNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    fail(`${name} must be a number, got ${JSON.stringify(text)}`);
  return value;
}

function oneOf<T extends string>(
  name: string,
  text: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text))
    fail(`${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(text)}`);
  return text as T;
}

function positiveNumber(
  name: string,
  text: string | undefined,
  integer = false,
): number | undefined {
  const value = toNumber(name, text);
  if (value === undefined) return undefined;
  if (value <= 0 || (integer && !Number.isInteger(value)))
    fail(`${name} must be a positive ${integer ? "integer" : "number"}, got ${text}`);
  return value;
}

/** setTimeout() and setInterval() fire at once beyond 2^31 - 1 ms. */
function seconds(name: string, text: string | undefined): number | undefined {
  const value = toNumber(name, text);
  if (value !== undefined && (value < 0 || value * 1000 > 2 ** 31 - 1))
    fail(`${name} must be between 0 and 2147483 seconds, got ${value}`);
  return value;
}

async function connect(rest: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        protocol: { type: "string", short: "p", multiple: true },
        header: { type: "string", short: "H", multiple: true },
        auth: { type: "string" },
        origin: { type: "string" },
        ca: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        insecure: { type: "boolean" },
        execute: { type: "string", short: "x", multiple: true },
        input: { type: "string" },
        "binary-output": { type: "string" },
        "max-message": { type: "string" },
        "show-ping-pong": { type: "boolean" },
        "ping-interval": { type: "string" },
        timestamps: { type: "boolean" },
        "close-code": { type: "string" },
        "close-reason": { type: "string" },
        wait: { type: "string" },
        json: { type: "boolean" },
        quiet: { type: "boolean" },
        color: { type: "boolean" },
        "no-color": { type: "boolean" },
        proxy: { type: "string" },
        "no-proxy": { type: "boolean" },
        reconnect: { type: "boolean" },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) fail("connect takes exactly one URL");
  if (values.proxy !== undefined && values["no-proxy"] === true)
    fail("--proxy and --no-proxy exclude each other");
  if (
    values.reconnect === true &&
    (values["show-ping-pong"] === true || values["ping-interval"] !== undefined)
  )
    fail("--reconnect cannot show or send Pings (the reconnecting socket exposes none)");
  const closeCode = toNumber("--close-code", values["close-code"]);
  if (closeCode !== undefined && !Number.isInteger(closeCode))
    fail(`--close-code must be an integer, got ${closeCode}`);
  try {
    // Checked now, as close() would check it: a code or reason the WebSocket API refuses
    // must not leave the connection open forever when it is time to close.
    validateCloseCodeAndReason(closeCode, values["close-reason"]);
  } catch (error) {
    fail(`--close-code/--close-reason: ${(error as Error).message}`);
  }
  const waitSeconds = seconds("--wait", values.wait) ?? 2;
  const pingInterval = seconds("--ping-interval", values["ping-interval"]);
  if (pingInterval === 0) fail("--ping-interval must be more than 0");
  const maxMessage = positiveNumber("--max-message", values["max-message"], true);
  const input = oneOf("--input", values.input, ["text", "hex", "base64"] as const) ?? "text";
  const binaryOutput = oneOf("--binary-output", values["binary-output"], [
    "hex",
    "base64",
  ] as const);
  const execute = values.execute ?? [];
  for (const message of execute) {
    const decoded = decodeInputLine(message, input);
    if ("error" in decoded) fail(`-x: ${decoded.error}`);
  }
  const headers = (values.header ?? []).map(parseHeader);
  if (values.auth !== undefined) {
    if (!values.auth.includes(":")) fail('--auth must look like "user:password"');
    headers.push(["Authorization", `Basic ${Buffer.from(values.auth, "utf8").toString("base64")}`]);
  }
  const colorFlag = values["no-color"] === true ? false : values.color === true ? true : undefined;
  return runConnect(
    {
      url: positionals[0]!,
      protocols: values.protocol ?? [],
      headers,
      ...(values.ca === undefined ? {} : { ca: values.ca }),
      ...(values.cert === undefined ? {} : { cert: values.cert }),
      ...(values.key === undefined ? {} : { key: values.key }),
      insecure: values.insecure === true,
      ...(closeCode === undefined ? {} : { closeCode }),
      ...(values["close-reason"] === undefined ? {} : { closeReason: values["close-reason"] }),
      json: values.json === true,
      quiet: values.quiet === true,
      waitSeconds,
      ...(values.origin === undefined ? {} : { origin: values.origin }),
      execute,
      showPingPong: values["show-ping-pong"] === true,
      ...(pingInterval === undefined ? {} : { pingIntervalSeconds: pingInterval }),
      timestamps: values.timestamps === true,
      input,
      ...(binaryOutput === undefined ? {} : { binaryOutput }),
      ...(maxMessage === undefined ? {} : { maxMessageBytes: maxMessage }),
      proxy: values["no-proxy"] === true ? false : (values.proxy ?? true),
      reconnect: values.reconnect === true,
      color: {
        stdout: colorEnabled(process.stdout, process.env, colorFlag),
        stderr: colorEnabled(process.stderr, process.env, colorFlag),
      },
    },
    { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
  );
}

async function serve(rest: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        path: { type: "string" },
        mode: { type: "string" },
        "no-echo": { type: "boolean" },
        tls: { type: "boolean" },
        cert: { type: "string" },
        key: { type: "string" },
        static: { type: "string" },
        quiet: { type: "boolean" },
        workers: { type: "string" },
        redis: { type: "string" },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values } = parsed;
  const port = toNumber("--port", values.port) ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be an integer from 0 to 65535, got ${port}`);
  const path = values.path ?? "/";
  if (!path.startsWith("/")) fail(`--path must start with "/", got ${JSON.stringify(path)}`);
  const mode =
    oneOf("--mode", values.mode, ["echo", "broadcast", "log"] as const) ??
    (values["no-echo"] === true ? "log" : "echo");
  if (values["no-echo"] === true && mode !== "log") fail("--no-echo contradicts --mode " + mode);
  if (values.tls === true && (values.cert === undefined || values.key === undefined))
    fail("--tls needs --cert <file> and --key <file>");
  if (values.tls !== true && (values.cert !== undefined || values.key !== undefined))
    fail("--cert and --key go with --tls");
  const workers = positiveNumber("--workers", values.workers, true) ?? 1;
  if (workers > 64) fail(`--workers must be at most 64, got ${workers}`);
  if (values.redis !== undefined) {
    let redisUrl: URL | undefined;
    try {
      redisUrl = new URL(values.redis);
    } catch {
      redisUrl = undefined;
    }
    if (
      redisUrl === undefined ||
      (redisUrl.protocol !== "redis:" && redisUrl.protocol !== "rediss:")
    )
      fail(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(values.redis)}`);
  }
  if (isPrimaryOf(workers)) return runPrimary(workers, process.stdout);
  const worker = workerId();
  const prefix = worker === undefined ? "" : `w${worker} `;
  const log = (line: string): void => {
    process.stdout.write(`${new Date().toISOString()} ${prefix}${line}\n`);
  };
  let running;
  try {
    running = await runServe(
      {
        port,
        host: values.host ?? "127.0.0.1",
        path,
        mode,
        quiet: values.quiet === true,
        ...(values.tls === true ? { tls: { cert: values.cert!, key: values.key! } } : {}),
        ...(values.static === undefined ? {} : { staticDir: values.static }),
        ...(values.redis === undefined ? {} : { redis: values.redis }),
      },
      log,
    );
  } catch (error) {
    process.stderr.write(`sockwise: cannot listen: ${(error as Error).message}\n`);
    return 1;
  }
  const stopped = new Promise<number>((resolve) => {
    let once = false;
    const shutdown = (): void => {
      if (once) return;
      once = true;
      process.stdout.write(`${prefix}shutting down (1001)…\n`);
      void running.stop().then((result) => {
        process.stdout.write(
          `${prefix}shutdown: ${result.clean} closed cleanly, ${result.forced} forced\n`,
        );
        resolve(0);
      });
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    if (worker !== undefined) onWorkerShutdown(shutdown);
  });
  if (worker !== undefined) {
    announceWorkerReady({
      kind: "ready",
      url: running.url,
      playgroundUrl: running.playgroundUrl,
      mode: running.mode,
    });
    return stopped;
  }
  // Only once the signal handlers are in place: whoever waits for these lines (a script, a
  // test) may send SIGTERM at once and must get the graceful shutdown, not a killed process.
  process.stdout.write(`sockwise serve: WebSocket ${running.mode} server on ${running.url}\n`);
  process.stdout.write(`playground: ${running.playgroundUrl}\n`);
  return stopped;
}

async function bench(rest: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        connections: { type: "string", short: "c" },
        rate: { type: "string" },
        window: { type: "string" },
        size: { type: "string" },
        type: { type: "string" },
        duration: { type: "string", short: "d" },
        "connect-concurrency": { type: "string" },
        header: { type: "string", short: "H", multiple: true },
        insecure: { type: "boolean" },
        json: { type: "boolean" },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) fail("bench takes exactly one URL");
  const connections = positiveNumber("--connections", values.connections, true) ?? 50;
  const rate = positiveNumber("--rate", values.rate);
  const window = positiveNumber("--window", values.window, true) ?? 1;
  if (rate !== undefined && values.window !== undefined)
    fail("--rate (open loop) and --window (closed loop) exclude each other");
  const size = toNumber("--size", values.size) ?? 64;
  if (!Number.isInteger(size) || size < 0 || size > 64 * 1024 * 1024)
    fail(`--size must be an integer from 0 to 67108864, got ${size}`);
  const type = oneOf("--type", values.type, ["text", "binary"] as const) ?? "text";
  const duration = seconds("--duration", values.duration) ?? 10;
  if (duration <= 0) fail("--duration must be more than 0");
  const connectConcurrency =
    positiveNumber("--connect-concurrency", values["connect-concurrency"], true) ?? 64;
  try {
    const url = new URL(positionals[0]!);
    if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) throw new Error("scheme");
  } catch {
    fail(`not a ws:// or wss:// URL: ${JSON.stringify(positionals[0])}`);
  }
  const result = await runBench(
    {
      url: positionals[0]!,
      connections,
      ...(rate === undefined ? {} : { rate }),
      window,
      size,
      type,
      durationSeconds: duration,
      connectConcurrency,
      insecure: values.insecure === true,
      headers: (values.header ?? []).map(parseHeader),
    },
    { stdout: process.stdout, stderr: process.stderr },
  );
  process.stdout.write(
    values.json === true ? `${JSON.stringify(result)}\n` : formatBenchResult(result),
  );
  return result.connect.opened > 0 && result.messages.received > 0 ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-v") {
    // dist/cjs/cli/main.js and build/src/cli/main.js sit three levels below the package.
    const candidates = ["../../package.json", "../../../package.json"].map((path) =>
      join(moduleDirectory(), path),
    );
    const text = candidates
      .map((url) => readIfExists(url))
      .find((content) => content?.includes('"name": "sockwise"'));
    const pkg = JSON.parse(text ?? '{"version":"unknown"}') as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (command === "connect") return connect(rest);
  if (command === "serve") return serve(rest);
  if (command === "bench") return bench(rest);
  fail(`unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let pending output flush, then leave even if a keep-alive handle lingers.
    setTimeout(() => process.exit(code), 50).unref();
  },
  (error: unknown) => {
    process.stderr.write(`sockwise: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
