/**
 * Issue 16 item 1: the defaults hold under real load. Every connection of a deploy behind a load
 * balancer or nginx comes from one address, and every client reconnects at once after a restart;
 * `maxHandshakesPerIp: 128` and `maxConnections: 10 000` used to refuse such storms with 503.
 * The server (default settings) and the lean raw-socket load generators each run in a child
 * process whose open-files limit is raised where the hard limit allows
 * (test/helpers/storm-child.ts): each end of 20,000 connections needs 20,000 descriptors.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { ServerReport, StormRequest, StormResult } from "../helpers/storm-child.js";
import { probeNginx, startNginx, type RunningNginx } from "../helpers/nginx.js";

const CHILD = fileURLToPath(new URL("../helpers/storm-child.js", import.meta.url));

/** Descriptors a process needs besides its connections (stdio, IPC, epoll, the listener…). */
const SPARE_DESCRIPTORS = 100;

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

interface Child {
  readonly process: ChildProcess;
  /** The open-files limit it runs with. */
  readonly openFiles: number;
  /** Sends `message` and resolves with the next message. */
  ask<T>(message: object): Promise<T>;
  /** Resolves once it exited (killed after 15 s). */
  stopped(): Promise<void>;
}

/** Starts the child in `role` with `ulimit -n 65536` (or the hard limit, if that is lower). */
async function startChild(role: "server" | "client"): Promise<Child> {
  const child = spawn(
    "bash",
    [
      "-c",
      'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; STORM_ULIMIT="$(ulimit -n)" exec "$0" "$@"',
      process.execPath,
      CHILD,
      role,
    ],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  children.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      children.delete(child);
      resolve();
    }),
  );
  const ask = <T>(message: object): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`the storm ${role} exited (${String(code)})`));
      child.once("exit", onExit);
      child.once("message", (answer) => {
        child.off("exit", onExit);
        resolve(answer as T);
      });
      child.send(message);
    });
  const openFiles = Number(
    await new Promise<string>((resolve) => {
      const probe = spawn("bash", [
        "-c",
        'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ulimit -n',
      ]);
      let out = "";
      probe.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      probe.once("exit", () => resolve(out.trim()));
    }),
  );
  return {
    process: child,
    openFiles,
    ask,
    stopped: async () => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs a storm of `count` connections to `port` from generators of at most `perGenerator`
 * connections each, `inFlight` handshakes in flight in all; returns their summed results.
 */
async function runStorm(
  port: number,
  count: number,
  inFlight: number,
  perGenerator: number,
): Promise<{ result: StormResult; generators: Child[] }> {
  const parts = Math.ceil(count / perGenerator);
  const generators = await Promise.all(Array.from({ length: parts }, () => startChild("client")));
  const results = await Promise.all(
    generators.map((generator, i) => {
      const share = Math.floor(count / parts) + (i < count % parts ? 1 : 0);
      const request: StormRequest = {
        type: "storm",
        port,
        count: share,
        inFlight: Math.ceil(inFlight / parts),
      };
      return generator.ask<StormResult>(request);
    }),
  );
  const sum = (pick: (result: StormResult) => Record<string, number>): Record<string, number> => {
    const total: Record<string, number> = {};
    for (const result of results)
      for (const [key, n] of Object.entries(pick(result))) total[key] = (total[key] ?? 0) + n;
    return total;
  };
  return {
    generators,
    result: {
      type: "result",
      opened: results.reduce((n, result) => n + result.opened, 0),
      refused: sum((result) => result.refused),
      errors: sum((result) => result.errors),
      durationMs: Math.max(...results.map((result) => result.durationMs)),
      openFilesLimit: results.map((result) => result.openFilesLimit).join(","),
    },
  };
}

async function stopAll(server: Child, generators: readonly Child[]): Promise<void> {
  for (const generator of generators) generator.process.send({ type: "stop" });
  await Promise.all(generators.map((generator) => generator.stopped()));
  server.process.send({ type: "stop" });
  await server.stopped();
}

describe("reconnect storms with the default settings (issue 16 item 1, SPEC.md P9)", () => {
  test("item 1/P9: 20,000 clients from one address, 256 handshakes in flight: every one connects (no 503)", async (t) => {
    const server = await startChild("server");
    const { port } = await new Promise<{ port: number }>((resolve) =>
      server.process.once("message", (message) => resolve(message as { port: number })),
    );
    // 20,000, unless this machine's hard open-files limit cannot hold them in one process (the
    // sandbox this was written in allows exactly 20,000, so the server can hold 19,900).
    const count = Math.min(20_000, server.openFiles - SPARE_DESCRIPTORS);
    if (count < 20_000)
      t.diagnostic(`open-files hard limit ${server.openFiles}: ${count} connections, not 20,000`);
    const { result, generators } = await runStorm(port, count, 256, 10_000);
    const report = await server.ask<ServerReport>({ type: "report", expect: count });
    await stopAll(server, generators);
    t.diagnostic(`${count} handshakes in ${Math.round(result.durationMs)} ms`);
    assert.deepEqual(
      { refused: result.refused, errors: result.errors, reasons: report.reasons },
      { refused: {}, errors: {}, reasons: {} },
    );
    assert.equal(result.opened, count);
    assert.equal(report.clients, count);
    assert.equal(report.refusedEvents, 0);
  });

  test("item 1/P9: 5,000 clients through a real nginx reverse proxy (all from nginx's address), all at once: every one connects", async (t) => {
    const probe = probeNginx();
    if ("missing" in probe) {
      if (process.env["CI"] !== undefined) assert.fail(`CI needs nginx: ${probe.missing}`);
      t.skip(`nginx is not available: ${probe.missing}`);
      return;
    }
    const server = await startChild("server");
    const { port } = await new Promise<{ port: number }>((resolve) =>
      server.process.once("message", (message) => resolve(message as { port: number })),
    );
    let nginx: RunningNginx | undefined;
    let generators: Child[] = [];
    try {
      nginx = await startNginx(port, 5_000);
      // All at once, as after a restart: nginx opens an upstream connection per client.
      const storm = await runStorm(nginx.port, 5_000, 5_000, 5_000);
      generators = storm.generators;
      const { result } = storm;
      const report = await server.ask<ServerReport>({ type: "report", expect: 5_000 });
      t.diagnostic(`5000 handshakes through nginx in ${Math.round(result.durationMs)} ms`);
      assert.deepEqual(
        { refused: result.refused, errors: result.errors, reasons: report.reasons },
        { refused: {}, errors: {}, reasons: {} },
        `nginx error log: ${nginx.errorLog().slice(-2000)}`,
      );
      assert.equal(result.opened, 5_000);
      assert.equal(report.clients, 5_000);
      assert.equal(report.refusedEvents, 0);
      assert.equal(report.forwardedFor, "127.0.0.1", "the requests came through nginx");
    } finally {
      await nginx?.stop();
      await stopAll(server, generators);
    }
  });
});
