/**
 * `npm run bench [-- --quick] [-- --only <scenario>[,<scenario>]] [-- --rows <text>]
 * [-- --impl <name>,…] [-- --profile]`: sockwise against ws (plain and with bufferutil),
 * undici's client and a raw `node:net` ceiling, end to end over 127.0.0.1, side by side in one
 * run. Method and results: docs/benchmarks.md.
 *
 * Every server runs in its own child process pinned to core 0; the load generator (one fixed
 * client for every server) and each library client run in child processes pinned to core 1,
 * so that on a 2-core machine the two ends never share a core. Scenarios:
 *
 * - `pingpong`: one connection, strict echo round trips (msg/s, p50/p99 latency);
 * - `pipelined`: bounded windows in flight, 16 B to 1 MiB, text and binary, 1 and 8 connections;
 * - `clients`: ping-pong and pipelined for each client against one fixed echo server;
 * - `idle`: thousands of idle connections (connect rate, CPU per handshake, memory per
 *   connection);
 * - `broadcast`: one small message to thousands of clients;
 * - `close`: close storms, server-initiated and client-initiated.
 *
 * Prints Markdown and writes JSON (and the Markdown) to test-artifacts/bench/.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Child } from "./lib/rpc.js";
import {
  CLIENT_IMPLS,
  SECTIONS,
  SERVER_IMPLS,
  median,
  renderSection,
  type Metric,
} from "./lib/report.js";
import { KIB, MIB, sizeLabel, windowFor, type MessageKind, type MessageSpec } from "./lib/wire.js";

// ---- settings ----------------------------------------------------------------------------------

const SCENARIOS = [
  "pingpong",
  "pipelined",
  "clients",
  "idle",
  "broadcast",
  "close",
  "deflate",
] as const;
type Scenario = (typeof SCENARIOS)[number];

const argv = process.argv.slice(2);
if (argv.includes("--help")) {
  console.log(
    [
      "usage: npm run bench -- [options]   (or node build/bench/run.js [options] after a build)",
      "  --quick                 short rounds, fewer connections (under 2 minutes; indicative only)",
      `  --only <a,b>            scenarios: ${SCENARIOS.join(", ")}`,
      '  --rows <text>           only throughput rows whose label contains the text, e.g. "binary 1 KiB, 8 conns"',
      "  --impl <a,b>            only these implementations besides sockwise: ws, ws+bufferutil, raw, undici",
      "  --profile               write a CPU profile of every server and library client under test",
      "  --heap-snapshot         heap snapshots of each server around the idle connections (skews memory)",
      "Results: Markdown on stdout; JSON and Markdown in test-artifacts/bench/.",
    ].join("\n"),
  );
  process.exit(0);
}
const isQuick = argv.includes("--quick");
const isProfiling = argv.includes("--profile");
/** Heap snapshots of each server before and after the idle connections (skews their memory). */
const isSnapshotting = argv.includes("--heap-snapshot");

/** Every value given for `name`; split at commas unless `whole` (row labels contain commas). */
function optionValues(name: string, whole = false): string[] {
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] !== name || value === undefined) continue;
    values.push(...(whole ? [value] : value.split(",")));
  }
  return values;
}

const only = optionValues("--only");
for (const name of only) {
  if (!(SCENARIOS as readonly string[]).includes(name)) {
    console.error(`unknown scenario ${name}; use one of ${SCENARIOS.join(", ")}`);
    process.exit(2);
  }
}
const rowFilter = optionValues("--rows", true);
const implFilter = optionValues("--impl");
const wanted = (scenario: Scenario): boolean => only.length === 0 || only.includes(scenario);
const rowWanted = (row: string): boolean =>
  rowFilter.length === 0 || rowFilter.some((text) => row.includes(text));
const implWanted = (impl: string): boolean =>
  implFilter.length === 0 || impl === "sockwise" || implFilter.includes(impl);

const SETTINGS = isQuick
  ? {
      rampMs: 60,
      durationMs: 150,
      rounds: 1,
      idle: 1000,
      idleLarge: 0,
      broadcastClients: 500,
      broadcastRounds: 5,
      burst: 10,
      storm: 1000,
      warmConns: 100,
      deadlineMs: 115_000,
    }
  : {
      rampMs: 150,
      durationMs: 500,
      rounds: 3,
      idle: 5000,
      idleLarge: 20_000,
      broadcastClients: 2000,
      broadcastRounds: 20,
      burst: 50,
      storm: 5000,
      warmConns: 200,
      deadlineMs: 470_000,
    };
/**
 * Handshakes in flight while connections are opened: the load shape of a reconnect storm
 * (issue 16), never shaped to stay under a server's default limits.
 */
const CONNECT_CONCURRENCY = 256;
const BROADCAST_BYTES = 128;
const SIZES = [16, KIB, 64 * KIB, MIB] as const;
const KINDS: readonly MessageKind[] = ["text", "binary"];
const SERVER_CORE = 0;
const CLIENT_CORE = 1;

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const SERVER_SCRIPT = `${here}server.js`;
const CLIENT_SCRIPT = `${here}client.js`;
const ARTIFACTS = `${repoRoot}test-artifacts/bench/`;

// ---- machine -----------------------------------------------------------------------------------

const hasTaskset =
  cpus().length >= 2 && spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" }).status === 0;

function openFilesLimit(): number {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    return match?.[1] === undefined || match[1] === "unlimited" ? Infinity : Number(match[1]);
  } catch {
    return Infinity;
  }
}

function versionOf(name: string): string {
  try {
    const requireHere = createRequire(import.meta.url);
    return (requireHere(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

function gitDescription(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot })
      .toString()
      .trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: repoRoot })
      .toString()
      .trim();
    return dirty === "" ? head : `${head} + uncommitted changes in src/`;
  } catch {
    return "unknown";
  }
}

// ---- children ----------------------------------------------------------------------------------

const baseEnv: NodeJS.ProcessEnv = { ...process.env };
delete baseEnv["WS_NO_BUFFER_UTIL"];
delete baseEnv["WS_NO_UTF_8_VALIDATE"];
/** ws without its native add-on: its JS masking (and buffer.isUtf8, which it prefers anyway). */
const plainWsEnv: NodeJS.ProcessEnv = {
  ...baseEnv,
  WS_NO_BUFFER_UTIL: "1",
  WS_NO_UTF_8_VALIDATE: "1",
};

type ServerName = (typeof SERVER_IMPLS)[number] | "fixed";
type ClientName = (typeof CLIENT_IMPLS)[number];

let profileCount = 0;

/** <impl>-<role>-<scenarios>-<rows>-<time>: what the profile covers, from the command line. */
function profileName(impl: string): string {
  const what = [only.join("+") || "all", rowFilter.join("+")]
    .filter((part) => part !== "")
    .join("-")
    .replace(/[^A-Za-z0-9+-]+/g, "_");
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return `${impl.replace("+", "-")}-${what}-${stamp}`;
}

/** Node flags that write a CPU profile when the child exits (with --profile). */
function profileFlags(name: string, role: "server" | "client"): string[] {
  if (!isProfiling) return [];
  mkdirSync(`${ARTIFACTS}profiles`, { recursive: true });
  return [
    "--cpu-prof",
    `--cpu-prof-dir=${ARTIFACTS}profiles`,
    `--cpu-prof-name=${profileName(`${name}-${role}`)}-${++profileCount}.cpuprofile`,
    "--cpu-prof-interval=250",
  ];
}

function startServer(name: ServerName, expose = false): Child {
  const script = name === "ws+bufferutil" ? "ws" : name;
  const flags = expose ? ["--expose-gc"] : [];
  // The bench's own peers are not profiled: only the implementations under test.
  if (name !== "fixed") flags.push(...profileFlags(name, "server"));
  return new Child(
    {
      name: `server ${name}`,
      script: SERVER_SCRIPT,
      args: [script],
      nodeFlags: flags,
      core: SERVER_CORE,
      env: name === "ws" ? plainWsEnv : baseEnv,
    },
    hasTaskset,
  );
}

function startClient(name: ClientName): Child {
  const script = name === "ws+bufferutil" ? "ws" : name;
  return new Child(
    {
      name: `client ${name}`,
      script: CLIENT_SCRIPT,
      args: [script],
      nodeFlags: name === "raw" ? [] : profileFlags(name, "client"),
      core: CLIENT_CORE,
      env: name === "ws" ? plainWsEnv : baseEnv,
    },
    hasTaskset,
  );
}

interface ServerInfo {
  readonly port: number;
  readonly details: string;
  readonly pid: number;
}

interface CpuUsage {
  readonly user: number;
  readonly system: number;
}

const cpuMs = (before: CpuUsage, after: CpuUsage): number =>
  (after.user - before.user + after.system - before.system) / 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- results -----------------------------------------------------------------------------------

const metrics: Metric[] = [];
const errors: string[] = [];
const details: Record<string, string> = {};

function fail(where: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  errors.push(`${where}: ${message.split("\n")[0] ?? message}`);
  console.error(`bench: ${where}: ${message}`);
}

// ---- (a)(b) throughput: one load generator against every server, or every client against one
// fixed server ------------------------------------------------------------------------------------

interface Row {
  readonly section: string;
  readonly label: string;
  readonly spec: MessageSpec;
  readonly conns: number;
  readonly window: number;
  readonly latency: boolean;
}

function throughputRows(sectionPrefix: "server" | "client"): Row[] {
  const rows: Row[] = [];
  if (wanted(sectionPrefix === "server" ? "pingpong" : "clients")) {
    rows.push({
      section: `${sectionPrefix}-pingpong`,
      label: "binary 16 B, 1 conn",
      spec: { kind: "binary", size: 16 },
      conns: 1,
      window: 1,
      latency: true,
    });
  }
  if (wanted(sectionPrefix === "server" ? "pipelined" : "clients")) {
    for (const size of SIZES) {
      for (const kind of KINDS) {
        for (const conns of sectionPrefix === "server" ? [1, 8] : [1]) {
          rows.push({
            section: `${sectionPrefix}-pipelined`,
            label: `${kind} ${sizeLabel(size)}, ${conns} conn${conns > 1 ? "s" : ""}`,
            spec: { kind, size },
            conns,
            window: windowFor(size),
            latency: false,
          });
        }
      }
    }
  }
  return rows.filter((row) => rowWanted(row.label));
}

interface RunResult {
  readonly messages: number;
  readonly seconds: number;
  readonly cpu: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
}

/** One side of a throughput comparison: who sends (client process, label) and who echoes. */
interface Contender {
  readonly name: string;
  readonly client: Child;
  readonly server: Child;
  /** The client's connection label. */
  readonly label: string;
  broken?: string;
}

interface Sample {
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpu: number;
  readonly clientCpu: number;
}

async function measureOnce(contender: Contender, row: Row): Promise<Sample> {
  const before = await contender.server.call<CpuUsage>("cpu", {}, 5_000);
  const start = performance.now();
  const result = await contender.client.call<RunResult>(
    "run",
    {
      label: contender.label,
      conns: row.conns,
      window: row.window,
      rampMs: SETTINGS.rampMs,
      durationMs: SETTINGS.durationMs,
      latency: row.latency,
    },
    SETTINGS.rampMs + SETTINGS.durationMs + 30_000,
  );
  const wallMs = performance.now() - start;
  const after = await contender.server.call<CpuUsage>("cpu", {}, 5_000);
  return {
    rate: result.messages / result.seconds,
    p50Ms: result.p50Ms ?? NaN,
    p99Ms: result.p99Ms ?? NaN,
    serverCpu: cpuMs(before, after) / wallMs,
    clientCpu: result.cpu,
  };
}

/**
 * Measures each row for every contender: the message is set and one echo verified, then
 * `rounds` rounds alternate the contenders (rotating who goes first) and the median is kept.
 */
async function measureRows(rows: readonly Row[], contenders: readonly Contender[]): Promise<void> {
  for (const [rowIndex, row] of rows.entries()) {
    const samples = new Map<string, Sample[]>();
    for (const contender of contenders) {
      if (contender.broken !== undefined) continue;
      try {
        await contender.client.call(
          "setMessage",
          { label: contender.label, spec: row.spec, window: row.window },
          30_000,
        );
        await contender.client.call("verify", { label: contender.label, conns: row.conns }, 30_000);
        samples.set(contender.name, []);
      } catch (error) {
        fail(`${row.section} ${row.label} ${contender.name} (verify)`, error);
      }
    }
    for (let round = 0; round < SETTINGS.rounds; round++) {
      const order = contenders.map(
        (_, i) => contenders[(i + round + rowIndex) % contenders.length]!,
      );
      for (const contender of order) {
        const list = samples.get(contender.name);
        if (list === undefined || contender.broken !== undefined) continue;
        try {
          list.push(await measureOnce(contender, row));
        } catch (error) {
          contender.broken = String(error);
          samples.delete(contender.name);
          fail(`${row.section} ${row.label} ${contender.name}`, error);
        }
      }
    }
    const medianOf = (name: string, pick: (sample: Sample) => number): number | null => {
      const list = samples.get(name);
      return list === undefined || list.length === 0 ? null : median(list.map(pick));
    };
    const values: Record<string, number | null> = {};
    const cpu: Record<string, { server: number; client: number }> = {};
    for (const contender of contenders) {
      values[contender.name] = medianOf(contender.name, (sample) => sample.rate);
      const server = medianOf(contender.name, (sample) => sample.serverCpu);
      const client = medianOf(contender.name, (sample) => sample.clientCpu);
      if (server !== null && client !== null) cpu[contender.name] = { server, client };
    }
    metrics.push({
      section: row.section,
      row: row.label,
      unit: "msg/s",
      better: "higher",
      values,
      messageBytes: row.spec.size,
      cpu,
    });
    if (row.latency) {
      for (const [key, label] of [
        ["p50Ms", "p50 latency"],
        ["p99Ms", "p99 latency"],
      ] as const) {
        const latency: Record<string, number | null> = {};
        for (const contender of contenders) {
          const value = medianOf(contender.name, (sample) => sample[key]);
          latency[contender.name] = value === null ? null : value * 1000;
        }
        metrics.push({
          section: row.section,
          row: label,
          unit: "µs",
          better: "lower",
          values: latency,
        });
      }
    }
    progress(`${row.section} ${row.label}`);
  }
}

async function serverThroughput(): Promise<void> {
  const rows = throughputRows("server");
  if (rows.length === 0) return;
  const generator = startClient("raw");
  const names = SERVER_IMPLS.filter(implWanted);
  const servers = names.map((name) => startServer(name));
  try {
    await generator.ready;
    const contenders: Contender[] = [];
    const maxConns = Math.max(...rows.map((row) => row.conns));
    for (const [i, name] of names.entries()) {
      const server = servers[i]!;
      try {
        const info = (await server.ready) as ServerInfo;
        details[`server ${name}`] = info.details;
        const opened = await generator.call<{ opened: number; firstError?: string }>(
          "connect",
          {
            label: name,
            port: info.port,
            proto: name === "raw" ? "prefixed" : "ws",
            count: maxConns,
            concurrency: maxConns,
          },
          30_000,
        );
        if (opened.opened < maxConns) throw new Error(`connect: ${opened.firstError ?? "failed"}`);
        contenders.push({ name, client: generator, server, label: name });
      } catch (error) {
        fail(`server ${name} (start)`, error);
      }
    }
    await measureRows(rows, contenders);
  } finally {
    await Promise.all([generator, ...servers].map((child) => child.exit()));
  }
}

async function clientThroughput(): Promise<void> {
  const rows = throughputRows("client");
  if (rows.length === 0) return;
  const server = startServer("fixed");
  const names = CLIENT_IMPLS.filter(implWanted);
  const clients = names.map((name) => startClient(name));
  try {
    const info = (await server.ready) as ServerInfo;
    details["fixed server"] = info.details;
    const contenders: Contender[] = [];
    for (const [i, name] of names.entries()) {
      const client = clients[i]!;
      try {
        const ready = (await client.ready) as { masking: string };
        if (name === "raw") details["client raw"] = `load generator, masking ${ready.masking}`;
        const opened = await client.call<{ opened: number; firstError?: string }>(
          "connect",
          { label: "fixed", port: info.port, proto: "ws", count: 1, concurrency: 1 },
          30_000,
        );
        if (opened.opened < 1) throw new Error(`connect: ${opened.firstError ?? "failed"}`);
        contenders.push({ name, client, server, label: "fixed" });
      } catch (error) {
        fail(`client ${name} (start)`, error);
      }
    }
    await measureRows(rows, contenders);
  } finally {
    await Promise.all([server, ...clients].map((child) => child.exit()));
  }
}

// ---- (c)(d)(e) many connections: a fresh server process per implementation ---------------------

interface Connected {
  readonly opened: number;
  readonly failed: number;
  readonly ms: number;
  readonly firstError?: string;
}

interface Closed {
  readonly lastAt: number;
  readonly clean: number;
  readonly total: number;
  readonly unclean: Readonly<Record<string, number>>;
}

interface Emptied {
  readonly lastCloseAt: number;
  readonly report: unknown;
}

type Values = Record<string, number | null>;

/**
 * Opens `count` connections, then waits until the server holds them all (a raw TCP connection
 * is open at the client before the server has accepted it).
 */
async function connectAll(
  generator: Child,
  server: Child,
  name: string,
  port: number,
  label: string,
  count: number,
): Promise<Connected> {
  const before = await server.call<number>("count", {}, 5_000);
  const result = await generator.call<Connected>(
    "connect",
    {
      label,
      port,
      proto: name === "raw" ? "prefixed" : "ws",
      count,
      concurrency: CONNECT_CONCURRENCY,
    },
    // 20,000 handshakes on a busy shared machine can take minutes; a hang still ends.
    Math.max(120_000, count * 30),
  );
  if (result.failed > 0) {
    errors.push(
      `${name}: ${result.failed}/${count} connections failed (${result.firstError ?? "?"})`,
    );
  }
  const deadline = performance.now() + 10_000;
  while ((await server.call<number>("count", {}, 5_000)) < before + result.opened) {
    if (performance.now() > deadline) throw new Error("the server did not accept every connection");
    await sleep(5);
  }
  return result;
}

/** Starts a storm and waits until every connection is gone at both ends. */
async function storm(
  generator: Child,
  server: Child,
  label: string,
  initiator: "server" | "client",
): Promise<{ ms: number; clean: number; total: number; serverCpuMs: number; report: unknown }> {
  const cpuBefore = await server.call<CpuUsage>("cpu", {}, 5_000);
  const emptied = server.call<Emptied>("waitEmpty", {}, 60_000);
  const closed = generator.call<Closed>("waitClosed", { label }, 60_000);
  const { startedAt } =
    initiator === "server"
      ? await server.call<{ startedAt: number }>("closeAll", { code: 1001 }, 5_000)
      : await generator.call<{ startedAt: number }>("closeStorm", { label }, 5_000);
  const [client, serverSide] = await Promise.all([closed, emptied]);
  const cpuAfter = await server.call<CpuUsage>("cpu", {}, 5_000).catch(() => cpuBefore);
  if (client.clean < client.total && label !== "warm") {
    details[`unclean closes, ${initiator}-initiated, ${server.name}`] = JSON.stringify(
      client.unclean,
    );
  }
  return {
    ms: Math.max(client.lastAt, serverSide.lastCloseAt) - startedAt,
    clean: client.clean,
    total: client.total,
    serverCpuMs: cpuMs(cpuBefore, cpuAfter),
    report: serverSide.report,
  };
}

interface MemoryUsage {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

async function snapshot(server: Child, name: string, when: string): Promise<void> {
  if (!isSnapshotting) return;
  mkdirSync(`${ARTIFACTS}heap`, { recursive: true });
  const path = `${ARTIFACTS}heap/${name.replace("+", "-")}-${SETTINGS.idle}-${when}.heapsnapshot`;
  await server.call("heapSnapshot", { path }, 120_000);
  details[`heap snapshot ${name} ${when}`] = path.slice(repoRoot.length);
}

async function idleAndClientStorm(
  generator: Child,
  names: readonly string[],
  n: number,
  withClose: boolean,
): Promise<void> {
  const rows: Record<string, Values> = {
    rate: {},
    cpu: {},
    rss: {},
    heap: {},
    external: {},
    stormMs: {},
    stormClean: {},
    stormCpu: {},
  };
  const totals: Record<string, number> = {};
  for (const name of names) {
    const server = startServer(name as ServerName, true);
    try {
      const { port } = (await server.ready) as ServerInfo;
      // Warm up the handshake and close paths, so that lazily built state is in the baseline.
      await connectAll(generator, server, name, port, "warm", SETTINGS.warmConns);
      await storm(generator, server, "warm", "client");
      const memoryBefore = await server.call<MemoryUsage>("memory", {}, 30_000);
      await snapshot(server, name, "before");
      const cpuBefore = await server.call<CpuUsage>("cpu", {}, 5_000);
      const connected = await connectAll(generator, server, name, port, "idle", n);
      const cpuAfter = await server.call<CpuUsage>("cpu", {}, 5_000);
      await sleep(200);
      const memoryAfter = await server.call<MemoryUsage>("memory", {}, 30_000);
      await snapshot(server, name, "after");
      const opened = connected.opened;
      rows["rate"]![name] = (opened * 1000) / connected.ms;
      rows["cpu"]![name] = (cpuMs(cpuBefore, cpuAfter) * 1000) / opened;
      rows["rss"]![name] = (memoryAfter.rss - memoryBefore.rss) / opened;
      rows["heap"]![name] = (memoryAfter.heapUsed - memoryBefore.heapUsed) / opened;
      rows["external"]![name] = (memoryAfter.external - memoryBefore.external) / opened;
      if (withClose && wanted("close")) {
        const result = await storm(generator, server, "idle", "client");
        rows["stormMs"]![name] = result.ms;
        rows["stormClean"]![name] = result.clean;
        rows["stormCpu"]![name] = (result.serverCpuMs * 1000) / result.total;
        totals[name] = result.total;
      } else {
        await generator.call("destroy", { label: "idle" }, 30_000);
      }
    } catch (error) {
      fail(`idle ${name}`, error);
      await generator.call("destroy", { label: "idle" }, 30_000).catch(() => {});
      await generator.call("destroy", { label: "warm" }, 30_000).catch(() => {});
    } finally {
      await server.exit();
    }
    progress(`idle ${name}`);
  }
  if (wanted("idle")) {
    const row = `${n} connections`;
    metrics.push(
      {
        section: "idle",
        row: `connect rate, ${row}`,
        unit: "conn/s",
        better: "higher",
        values: rows["rate"]!,
      },
      {
        section: "idle",
        row: `server CPU per handshake, ${n}`,
        unit: "µs",
        better: "lower",
        values: rows["cpu"]!,
      },
      {
        section: "idle",
        row: `server RSS per connection, ${n}`,
        unit: "KiB",
        better: "lower",
        values: rows["rss"]!,
      },
      {
        section: "idle",
        row: `server heap per connection, ${n}`,
        unit: "KiB",
        better: "lower",
        values: rows["heap"]!,
      },
      {
        section: "idle",
        row: `server external per connection, ${n}`,
        unit: "KiB",
        better: "lower",
        values: rows["external"]!,
      },
    );
  }
  if (withClose && wanted("close")) {
    metrics.push(
      {
        section: "close",
        row: `client-initiated, ${n} connections: time`,
        unit: "ms",
        better: "lower",
        values: rows["stormMs"]!,
      },
      {
        section: "close",
        row: "client-initiated: clean",
        unit: "clean",
        better: "higher",
        values: rows["stormClean"]!,
        totals,
      },
      {
        section: "close",
        row: "client-initiated: server CPU per close",
        unit: "µs",
        better: "lower",
        values: rows["stormCpu"]!,
      },
    );
  }
}

async function serverStorm(generator: Child, names: readonly string[]): Promise<void> {
  const n = SETTINGS.storm;
  const time: Values = {};
  const clean: Values = {};
  const cpu: Values = {};
  const totals: Record<string, number> = {};
  for (const name of names) {
    const server = startServer(name as ServerName);
    try {
      const { port } = (await server.ready) as ServerInfo;
      await connectAll(generator, server, name, port, "storm", n);
      const result = await storm(generator, server, "storm", "server");
      time[name] = result.ms;
      clean[name] = result.clean;
      cpu[name] = (result.serverCpuMs * 1000) / result.total;
      totals[name] = result.total;
      if (result.report !== undefined && name === "sockwise") {
        details["sockwise server.close() result"] = JSON.stringify(result.report);
      }
    } catch (error) {
      fail(`server storm ${name}`, error);
      await generator.call("destroy", { label: "storm" }, 30_000).catch(() => {});
    } finally {
      await server.exit();
    }
    progress(`server storm ${name}`);
  }
  metrics.push(
    {
      section: "close",
      row: `server-initiated, ${n} connections: time`,
      unit: "ms",
      better: "lower",
      values: time,
    },
    {
      section: "close",
      row: "server-initiated: clean",
      unit: "clean",
      better: "higher",
      values: clean,
      totals,
    },
    {
      section: "close",
      row: "server-initiated: server CPU per close",
      unit: "µs",
      better: "lower",
      values: cpu,
    },
  );
}

async function broadcast(generator: Child, names: readonly string[]): Promise<void> {
  const n = SETTINGS.broadcastClients;
  const round: Values = {};
  const roundRate: Values = {};
  const burstRate: Values = {};
  const callMs: Values = {};
  for (const name of names) {
    const server = startServer(name as ServerName);
    try {
      const { port } = (await server.ready) as ServerInfo;
      const connected = await connectAll(generator, server, name, port, "broadcast", n);
      const times: number[] = [];
      const calls: number[] = [];
      for (let r = 0; r < SETTINGS.broadcastRounds; r++) {
        await generator.call("expect", { label: "broadcast", count: 1 }, 5_000);
        const sent = await server.call<{ startedAt: number; returnedAt: number }>(
          "broadcast",
          { size: BROADCAST_BYTES, count: 1 },
          30_000,
        );
        const { lastAt } = await generator.call<{ lastAt: number }>("waitExpect", {}, 30_000);
        times.push(lastAt - sent.startedAt);
        calls.push(sent.returnedAt - sent.startedAt);
      }
      await generator.call("expect", { label: "broadcast", count: SETTINGS.burst }, 5_000);
      const sent = await server.call<{ startedAt: number }>(
        "broadcast",
        { size: BROADCAST_BYTES, count: SETTINGS.burst },
        60_000,
      );
      const { lastAt } = await generator.call<{ lastAt: number }>("waitExpect", {}, 60_000);
      round[name] = median(times);
      roundRate[name] = (connected.opened * 1000) / median(times);
      burstRate[name] = (connected.opened * SETTINGS.burst * 1000) / (lastAt - sent.startedAt);
      callMs[name] = median(calls);
    } catch (error) {
      fail(`broadcast ${name}`, error);
    } finally {
      await generator.call("destroy", { label: "broadcast" }, 30_000).catch(() => {});
      await server.exit();
    }
    progress(`broadcast ${name}`);
  }
  metrics.push(
    {
      section: "broadcast",
      row: `one broadcast to ${n} clients: time until all have it (median of ${SETTINGS.broadcastRounds})`,
      unit: "ms",
      better: "lower",
      values: round,
    },
    {
      section: "broadcast",
      row: "one broadcast: deliveries per second",
      unit: "msg/s",
      better: "higher",
      values: roundRate,
    },
    {
      section: "broadcast",
      row: "one broadcast: server call returns after",
      unit: "ms",
      better: "lower",
      values: callMs,
    },
    {
      section: "broadcast",
      row: `burst of ${SETTINGS.burst} broadcasts: deliveries per second`,
      unit: "msg/s",
      better: "higher",
      values: burstRate,
    },
  );
}

async function manyConnections(): Promise<void> {
  if (!wanted("idle") && !wanted("broadcast") && !wanted("close")) return;
  const generator = startClient("raw");
  const names = SERVER_IMPLS.filter(implWanted);
  try {
    await generator.ready;
    if (wanted("idle") || wanted("close"))
      await idleAndClientStorm(generator, names, SETTINGS.idle, true);
    if (wanted("idle") && SETTINGS.idleLarge > 0) {
      // Each end of n connections needs n descriptors in one process: as many as the open-files
      // limit allows, said in the report (the bench machine's hard limit is 20,000).
      const large = Math.min(SETTINGS.idleLarge, openFilesLimit() - 200);
      if (large < SETTINGS.idleLarge)
        details["idle connections"] =
          `${large} instead of ${SETTINGS.idleLarge}: the open-files limit is ${openFilesLimit()}`;
      await idleAndClientStorm(generator, names, large, false);
    }
    if (wanted("broadcast")) await broadcast(generator, names);
    if (wanted("close")) await serverStorm(generator, names);
  } finally {
    await generator.exit();
  }
}

// ---- report ------------------------------------------------------------------------------------

const startedAt = performance.now();
const loadAtStart = loadavg();

function progress(what: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(0);
  process.stderr.write(`bench: ${seconds} s: ${what}\n`);
}

function header(): string[] {
  const cpu = cpus();
  const limit = openFilesLimit();
  return [
    `# sockwise end-to-end bench${isQuick ? " (--quick: short rounds and fewer connections, indicative only)" : ""}`,
    "",
    `- date: ${new Date().toISOString()}; sockwise ${gitDescription()}`,
    `- node ${process.version} ${process.platform}/${process.arch}, ${cpu.length} CPUs (${cpu[0]?.model ?? "unknown"}); load average at start ${loadAtStart
      .map((value) => value.toFixed(2))
      .join(" ")}`,
    hasTaskset
      ? `- pinning: servers on core ${SERVER_CORE}, load generator and clients on core ${CLIENT_CORE} (taskset -c)`
      : "- pinning: **none** (taskset is missing or there is only one CPU): both ends share the cores",
    `- open files limit ${limit === Infinity ? "unlimited" : limit} per process (${SETTINGS.idle} and ${SETTINGS.idleLarge} idle / ${SETTINGS.storm} storm connections, ${CONNECT_CONCURRENCY} handshakes in flight, need as many descriptors on each side); 127.0.0.1 only`,
    `- ws ${versionOf("ws")} (plain: WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1; +bufferutil: bufferutil ${versionOf("bufferutil")}), undici ${versionOf("undici")}; no permessage-deflate anywhere`,
    `- rounds: ${SETTINGS.rounds} × ${SETTINGS.durationMs} ms per implementation and row (after ${SETTINGS.rampMs} ms ramp-up), alternating implementations; median shown`,
    "- load generator (every server): the bench's raw node:net WebSocket client, frames masked once up front, one write per batch; fixed server (every client): the bench's node:net WebSocket echo",
    ...Object.entries(details).map(([key, value]) => `- ${key}: ${value}`),
  ];
}

function render(): string {
  const lines = header();
  for (const spec of SECTIONS) {
    const table = renderSection(spec, [metrics]);
    if (table !== "") lines.push("", table);
  }
  if (errors.length > 0) {
    lines.push("", "### Errors", "", ...errors.map((error) => `- ${error}`));
  }
  const seconds = (performance.now() - startedAt) / 1000;
  lines.push(
    "",
    `Run time ${seconds.toFixed(0)} s; load average at end ${loadavg()
      .map((value) => value.toFixed(2))
      .join(" ")}.`,
  );
  return lines.join("\n");
}

function save(markdown: string): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const json = JSON.stringify(
    {
      date: new Date().toISOString(),
      quick: isQuick,
      argv,
      node: process.version,
      cpus: cpus().length,
      pinned: hasTaskset,
      settings: SETTINGS,
      details,
      errors,
      metrics,
    },
    null,
    2,
  );
  writeFileSync(`${ARTIFACTS}e2e-${stamp}.json`, json);
  writeFileSync(`${ARTIFACTS}e2e-${stamp}.md`, `${markdown}\n`);
  writeFileSync(`${ARTIFACTS}e2e-latest.json`, json);
  process.stderr.write(`bench: results in test-artifacts/bench/e2e-${stamp}.{json,md}\n`);
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    fail("run", new Error(`hard deadline of ${SETTINGS.deadlineMs / 1000} s reached`));
    const markdown = render();
    console.log(markdown);
    save(markdown);
    process.exit(1);
  }, SETTINGS.deadlineMs);
  deadline.unref();
  if (wanted("pingpong") || wanted("pipelined")) await serverThroughput();
  if (wanted("clients")) await clientThroughput();
  await manyConnections();
  clearTimeout(deadline);
  const markdown = render();
  console.log(markdown);
  save(markdown);
  // permessage-deflate, side by side with ws configured the same way (bench/deflate/run.ts).
  if (wanted("deflate")) {
    const script = fileURLToPath(new URL("./deflate/run.js", import.meta.url));
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [script, ...(isQuick ? ["--quick"] : [])], {
        stdio: "inherit",
      });
      child.on("exit", (exitCode) => resolve(exitCode));
    });
    if (code !== 0) fail("deflate", new Error(`bench/deflate/run.js exited with ${String(code)}`));
  }
  if (errors.length > 0) process.exitCode = 1;
}

await main();
