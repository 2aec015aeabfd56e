/**
 * A real `redis-server` (Debian package `redis-server`) as a child process on a free loopback
 * port, persistence off, stopped by its PID. Under CI a missing `redis-server` fails the test
 * loudly; elsewhere the test is skipped with the reason.
 *
 * ```ts
 * const redis = await startRedis(t); // skips (or fails under CI) when redis-server is missing
 * if (redis === undefined) return;
 * const broker = new RedisBroker({ url: redis.url });
 * ```
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";

export const REDIS_SERVER = "redis-server";

const isCI = !["", "0", "false"].includes(process.env["CI"] ?? "");

/** The installed redis-server version, or why it cannot run. */
export function probeRedis(): { version: string } | { missing: string } {
  const result = spawnSync(REDIS_SERVER, ["--version"], { encoding: "utf8", timeout: 10_000 });
  if (result.error !== undefined || result.status !== 0)
    return { missing: "redis-server is not installed (apt-get install -y redis-server)" };
  return { version: /v=(\S+)/.exec(result.stdout)?.[1] ?? result.stdout.trim() };
}

/** A free TCP port on 127.0.0.1 (released before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One running redis-server. */
export class RedisProcess {
  readonly port: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts redis-server on `port` (a free one by default); resolves once it answers PING. */
  static async start(port?: number): Promise<RedisProcess> {
    const redis = new RedisProcess(port ?? (await freePort()));
    await redis.restart();
    return redis;
  }

  /** Starts it again on the same port (after {@link RedisProcess.kill}). */
  async restart(): Promise<void> {
    assert.equal(this.#child, undefined, "redis-server is already running");
    // Another process may take the port in the short window between freePort() and here,
    // in which case redis-server exits at once: the wait below then fails with its output.
    const child = spawn(
      REDIS_SERVER,
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
        "--loglevel",
        "warning",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    this.#child = child;
    this.#exited = new Promise((resolve) =>
      child.once("exit", () => {
        if (this.#child === child) this.#child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.#child !== child)
        throw new Error(`redis-server exited at start on port ${this.port}: ${output}`);
      const ok = await this.#ping();
      if (ok) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`redis-server did not answer PING within 10 s: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #ping(): Promise<boolean> {
    const client = this.client({ retryStrategy: () => null, lazyConnect: true });
    try {
      await client.connect();
      return (await client.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }

  /** A plain ioredis client for inspecting the server (PUBSUB CHANNELS…); disconnect it. */
  client(options: Record<string, unknown> = {}): Redis {
    const client = new Redis({
      host: "127.0.0.1",
      port: this.port,
      maxRetriesPerRequest: 0,
      ...options,
    } as never);
    client.on("error", () => {});
    return client;
  }

  /** Runs one command on a fresh connection. */
  async command(...args: (string | number)[]): Promise<unknown> {
    const client = this.client();
    try {
      return await client.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      client.disconnect();
    }
  }

  /** Kills it (SIGKILL by default, by PID) and resolves once it has exited. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill(signal);
    await this.#exited;
  }
}

/**
 * Starts a redis-server for one test (killed in the test's `after`), or skips the test with the
 * reason (fails under CI) when redis-server is missing.
 */
export async function startRedis(t: TestContext): Promise<RedisProcess | undefined> {
  const probe = probeRedis();
  if ("missing" in probe) {
    if (isCI) assert.fail(`${probe.missing}; CI must run the Redis tests`);
    t.skip(probe.missing);
    return undefined;
  }
  const redis = await RedisProcess.start();
  t.after(() => redis.kill());
  return redis;
}
