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
import { runConnect } from "./connect.js";
import { runServe } from "./serve.js";
import { moduleDirectory } from "./module-directory.js";
import { validateCloseCodeAndReason } from "../whatwg/validate-close.js";

const USAGE = `usage:
  sockwise connect <url> [options]   talk to a WebSocket server
      -p, --protocol <name>          offer a subprotocol (repeatable)
      -H, --header "Name: value"     add a request header (repeatable)
      --ca <file> --cert <file> --key <file>   TLS trust anchors / client certificate
      --insecure                     do not verify the server's certificate
      --close-code <code>            the close code used when closing (default: none, peer sees 1005)
      --close-reason <text>          the close reason used when closing
      --wait <seconds>               pipe mode: after input ends, wait at most this long for
                                     the replies before closing (default 2)
      --json                         one JSON object per event on stdout
      --quiet                        print only received messages and the close line
  sockwise serve [options]           an echo server with a browser playground at /
      --port <n>                     (default 8080; 0 for any free port)
      --host <addr>                  (default 127.0.0.1)
      --path <path>                  WebSocket path (default /)
      --no-echo                      log only, do not echo
      --quiet                        do not log connections
  sockwise --help | --version

Interactive commands (connect, when stdin is a terminal):
  /close [code] [reason]   /ping [text]   /binary <hex>   /quit
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
  if (command === "connect") {
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          protocol: { type: "string", short: "p", multiple: true },
          header: { type: "string", short: "H", multiple: true },
          ca: { type: "string" },
          cert: { type: "string" },
          key: { type: "string" },
          insecure: { type: "boolean" },
          "close-code": { type: "string" },
          "close-reason": { type: "string" },
          wait: { type: "string" },
          json: { type: "boolean" },
          quiet: { type: "boolean" },
        },
      });
    } catch (error) {
      fail((error as Error).message);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) fail("connect takes exactly one URL");
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
    const waitSeconds = toNumber("--wait", values.wait) ?? 2;
    // setTimeout() fires at once beyond 2^31 - 1 ms.
    if (waitSeconds < 0 || waitSeconds * 1000 > 2 ** 31 - 1)
      fail(`--wait must be between 0 and 2147483 seconds, got ${waitSeconds}`);
    return runConnect(
      {
        url: positionals[0]!,
        protocols: values.protocol ?? [],
        headers: (values.header ?? []).map(parseHeader),
        ...(values.ca === undefined ? {} : { ca: values.ca }),
        ...(values.cert === undefined ? {} : { cert: values.cert }),
        ...(values.key === undefined ? {} : { key: values.key }),
        insecure: values.insecure === true,
        ...(closeCode === undefined ? {} : { closeCode }),
        ...(values["close-reason"] === undefined ? {} : { closeReason: values["close-reason"] }),
        json: values.json === true,
        quiet: values.quiet === true,
        waitSeconds,
      },
      { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    );
  }
  if (command === "serve") {
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: {
          port: { type: "string" },
          host: { type: "string" },
          path: { type: "string" },
          "no-echo": { type: "boolean" },
          quiet: { type: "boolean" },
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
    const log = (line: string): void => {
      process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    };
    let running;
    try {
      running = await runServe(
        {
          port,
          host: values.host ?? "127.0.0.1",
          path,
          echo: values["no-echo"] !== true,
          quiet: values.quiet === true,
        },
        log,
      );
    } catch (error) {
      process.stderr.write(`sockwise: cannot listen: ${(error as Error).message}\n`);
      return 1;
    }
    const stopped = new Promise<number>((resolve) => {
      const shutdown = (): void => {
        process.stdout.write("shutting down (1001)…\n");
        void running.stop().then((result) => {
          process.stdout.write(
            `shutdown: ${result.clean} closed cleanly, ${result.forced} forced\n`,
          );
          resolve(0);
        });
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
    });
    // Only once the signal handlers are in place: whoever waits for these lines (a script, a
    // test) may send SIGTERM at once and must get the graceful shutdown, not a killed process.
    process.stdout.write(`sockwise serve: WebSocket echo server on ${running.url}\n`);
    process.stdout.write(`playground: ${running.playgroundUrl}\n`);
    return stopped;
  }
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
