/**
 * Real proxies from Debian as test peers, started on free loopback ports and stopped by PID:
 * `tinyproxy` (HTTP CONNECT, optionally with Basic auth) and `microsocks` (SOCKS5, optionally
 * with RFC 1929 username/password). Used by test/node/proxy.test.ts and the CLI tests.
 *
 * ```ts
 * const proxy = await startTinyproxy({ user: "alice", password: "s3cret" });
 * t.after(() => proxy.stop());
 * new WebSocket(url, { proxy: proxy.url });
 * ```
 *
 * When a binary is missing, {@link proxyBinaryMissing} says why; under `CI` the tests fail
 * loudly (see {@link requireProxyBinary}).
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { tryConnect, withTimeout, sleep } from "./server-harness.js";

/** A proxy process started by a test. */
export interface RealProxy {
  /** The proxy URL, with credentials when it was started with some. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the process (SIGTERM, then SIGKILL after 1 s) and removes its files. Idempotent. */
  stop(): Promise<void>;
  /** What the process wrote to stdout and stderr so far (for failure messages). */
  output(): string;
}

/** Credentials a proxy requires. */
export interface ProxyCredentials {
  readonly user: string;
  readonly password: string;
}

/** Why `binary` cannot run here, or `undefined` when it can. */
export function proxyBinaryMissing(binary: "tinyproxy" | "microsocks"): string | undefined {
  const probe = spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" });
  if (probe.status === 0 && probe.stdout.trim() !== "") return undefined;
  return `${binary} is not installed (apt-get install -y ${binary})`;
}

/**
 * Options for `describe()` when `binary` may be missing: skip with the reason, except under
 * `CI`, where a test that fails says what is missing.
 */
export function requireProxyBinary(binary: "tinyproxy" | "microsocks"): { skip?: string } {
  const missing = proxyBinaryMissing(binary);
  if (missing === undefined) return {};
  if (!["", "0", "false"].includes(process.env["CI"] ?? "")) {
    test(`${binary} is installed`, () => assert.fail(`${missing} — required when CI is set`));
  }
  return { skip: missing };
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts tinyproxy on a free loopback port, with Basic auth when `credentials` are given. */
export async function startTinyproxy(credentials?: ProxyCredentials): Promise<RealProxy> {
  return startWithRetry(async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "sockwise-tinyproxy-"));
    const config = [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 30",
      "Allow 127.0.0.1",
      "MaxClients 64",
      "LogLevel Connect", // logs each CONNECT request line: the tests check the tunnel was used
      "DisableViaHeader Yes",
      // No ConnectPort line: CONNECT is allowed to any port (the test servers use random ones).
      ...(credentials === undefined
        ? []
        : [`BasicAuth ${credentials.user} ${credentials.password}`]),
    ];
    const file = join(dir, "tinyproxy.conf");
    writeFileSync(file, `${config.join("\n")}\n`);
    const child = spawn("tinyproxy", ["-d", "-c", file], { stdio: ["ignore", "pipe", "pipe"] });
    return watch(child, port, dir, "http", credentials);
  });
}

/** Starts microsocks on a free loopback port, requiring `credentials` when given. */
export async function startMicrosocks(
  credentials?: ProxyCredentials,
  scheme: "socks5" | "socks5h" = "socks5h",
): Promise<RealProxy> {
  return startWithRetry(async () => {
    const port = await freePort();
    const args = ["-i", "127.0.0.1", "-p", String(port)];
    if (credentials !== undefined) args.push("-u", credentials.user, "-P", credentials.password);
    const child = spawn("microsocks", args, { stdio: ["ignore", "pipe", "pipe"] });
    return watch(child, port, undefined, scheme, credentials);
  });
}

/** Another process may take the port between `freePort()` and the proxy's bind: try again. */
async function startWithRetry(start: () => Promise<RealProxy>): Promise<RealProxy> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await start();
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function watch(
  child: ChildProcess,
  port: number,
  dir: string | undefined,
  scheme: string,
  credentials: ProxyCredentials | undefined,
): Promise<RealProxy> {
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", (error) => {
      output += String(error);
      exited = true;
      resolve();
    });
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited && child.pid !== undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
      await exit;
      clearTimeout(timer);
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  // Ready once it accepts TCP connections (bounded wait).
  try {
    await withTimeout(
      (async () => {
        while ((await tryConnect(port)) !== "connected") {
          if (exited) throw new Error(`the proxy exited: ${output}`);
          await sleep(10);
        }
      })(),
      `${scheme} proxy on port ${port} to accept connections`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const userinfo =
    credentials === undefined
      ? ""
      : `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@`;
  return {
    url: `${scheme}://${userinfo}127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop,
    output: () => output,
  };
}
