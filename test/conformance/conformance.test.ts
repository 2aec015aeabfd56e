/**
 * Protocol conformance in CI: runs the Autobahn-style harness (../shared/conformance, beside the
 * repository) in server mode against echo-server.js and in client mode against echo-client.js,
 * writes every verdict to test-artifacts/conformance/, and compares them with the checked-in
 * test/conformance/expectations.json. A case that passed there (OK, NON-STRICT, INFORMATIONAL)
 * and does not pass now fails the test; improvements and other changes are reported as
 * diagnostics.
 *
 * The harness runs a private copy of the compiled adapters (build/src and build/test/conformance
 * copied to a temp directory), so a concurrent `tsc` rewriting build/ cannot disturb a run.
 *
 * Which cases run, and how to refresh the expectations: see the "about" fields of
 * expectations.json (`SOCKWISE_UPDATE_CONFORMANCE=1 node scripts/run-tests.mjs conformance`).
 * When the harness directory is missing the test fails under CI and is skipped otherwise.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const HARNESS = join(ROOT, "..", "shared", "conformance", "run");
const EXPECTATIONS = join(ROOT, "test", "conformance", "expectations.json");
const ARTIFACTS = join(ROOT, "test-artifacts", "conformance");
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const PASSING = new Set(["OK", "NON-STRICT", "INFORMATIONAL"]);
/** Verdicts from worst to best, to tell an improvement from a downgrade. */
const RANK: Readonly<Record<string, number>> = {
  FAILED: 0,
  UNIMPLEMENTED: 1,
  INFORMATIONAL: 2,
  "NON-STRICT": 3,
  OK: 4,
};

type Mode = "server" | "client";
type Verdicts = Record<string, string>;

/** The checked-in file: prose fields, the case selection, and case → verdict per mode. */
interface Expectations {
  readonly about: string;
  readonly selection: string;
  readonly update: string;
  readonly cases: string;
  readonly exclude: string;
  readonly perfScale: number;
  readonly server: Verdicts;
  readonly client: Verdicts;
}

interface HarnessReport {
  readonly results: readonly { id: string; verdict: string; reason: string }[];
}

/** Copies the compiled adapters and the library they import into a fresh temp directory. */
function privateBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), "sockwise-conformance-"));
  cpSync(join(ROOT, "build", "src"), join(dir, "src"), { recursive: true });
  cpSync(join(ROOT, "build", "test", "conformance"), join(dir, "test", "conformance"), {
    recursive: true,
  });
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  return dir;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** Runs a process to completion; resolves with its exit status and output. */
function run(
  command: string,
  args: readonly string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Starts echo-server.js on an ephemeral port; resolves with the port and a stop function. */
async function startEchoServer(
  build: string,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [join(build, "test", "conformance", "echo-server.js"), "0"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("echo-server.js did not start in 15 s")),
      15_000,
    );
    child.once("exit", (code) => reject(new Error(`echo-server.js exited with ${code}`)));
    createInterface({ input: child.stderr }).on("line", (line) => {
      const match = /listening on [\d.]+:(\d+)/.exec(line);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  return {
    port,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Runs one mode of the harness; returns case → verdict, and saves the outputs. */
async function runHarness(
  mode: Mode,
  build: string,
  expectations: Expectations,
): Promise<Verdicts> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const json = join(ARTIFACTS, `${mode}.json`);
  rmSync(json, { force: true });
  const selection = [
    ...(expectations.cases === "" ? [] : ["--cases", expectations.cases]),
    ...(expectations.exclude === "" ? [] : ["--exclude", expectations.exclude]),
    "--perf-scale",
    String(expectations.perfScale),
    "--json",
    json,
    "--agent",
    `sockwise ${mode}`,
  ];
  let result: Awaited<ReturnType<typeof run>>;
  if (mode === "server") {
    const server = await startEchoServer(build);
    try {
      result = await run(PYTHON, [
        HARNESS,
        "server",
        "--url",
        `ws://127.0.0.1:${server.port}/`,
        ...selection,
      ]);
    } finally {
      await server.stop();
    }
  } else {
    const client = join(build, "test", "conformance", "echo-client.js");
    result = await run(PYTHON, [
      HARNESS,
      "client",
      "--cmd",
      `${quote(process.execPath)} ${quote(client)} {url}`,
      "--client-logs",
      join(ARTIFACTS, "client-logs"),
      ...selection,
    ]);
  }
  writeFileSync(join(ARTIFACTS, `${mode}.txt`), result.stdout + result.stderr);
  assert.equal(
    result.status,
    0,
    `the harness could not run (exit ${result.status}):\n${result.stderr.slice(-2000)}`,
  );
  const report = JSON.parse(readFileSync(json, "utf8")) as HarnessReport;
  return Object.fromEntries(report.results.map((r) => [r.id, r.verdict]));
}

/**
 * Compares a run with the expectations. Only a passing case that no longer passes is a
 * regression; a passing case that passes less strictly (OK → NON-STRICT) is a downgrade, reported
 * but allowed (the harness counts NON-STRICT as passed, and some are timing-dependent, see
 * docs/interop.md).
 */
function compareVerdicts(
  expected: Verdicts,
  actual: Verdicts,
): { regressions: string[]; improvements: string[]; downgrades: string[]; changes: string[] } {
  const regressions: string[] = [];
  const improvements: string[] = [];
  const downgrades: string[] = [];
  const changes: string[] = [];
  for (const [id, before] of Object.entries(expected)) {
    const now = actual[id] ?? "missing";
    if (now === before) continue;
    const line = `${id}: ${before} → ${now}`;
    if (PASSING.has(before) && !PASSING.has(now)) regressions.push(line);
    else if ((RANK[now] ?? -1) > (RANK[before] ?? -1)) improvements.push(line);
    else if (PASSING.has(now)) downgrades.push(line);
    else changes.push(line);
  }
  for (const [id, now] of Object.entries(actual)) {
    if (!(id in expected)) changes.push(`${id}: new case → ${now}`);
  }
  return { regressions, improvements, downgrades, changes };
}

function summary(verdicts: Verdicts): string {
  const counts: Record<string, number> = {};
  for (const verdict of Object.values(verdicts)) counts[verdict] = (counts[verdict] ?? 0) + 1;
  return Object.entries(counts)
    .map(([verdict, count]) => `${count} ${verdict}`)
    .join(", ");
}

const harnessMissing = existsSync(HARNESS) ? undefined : `the harness is missing: ${HARNESS}`;
const expectations = JSON.parse(readFileSync(EXPECTATIONS, "utf8")) as Expectations;
const update = process.env["SOCKWISE_UPDATE_CONFORMANCE"] === "1";
/** CI=true (or any value but "", "0" and "false"), as CI services and .ci/run set it. */
const isCI = !["", "0", "false"].includes(process.env["CI"] ?? "");
let build: string | undefined;

for (const mode of ["server", "client"] as const) {
  const skip = harnessMissing !== undefined && !isCI ? harnessMissing : false;
  test(
    `conformance (${mode} mode) matches test/conformance/expectations.json`,
    { skip, timeout: 15 * 60_000 },
    async (t: TestContext) => {
      assert.equal(harnessMissing, undefined, `${harnessMissing} — required when CI is set`);
      build ??= privateBuild();
      const actual = await runHarness(mode, build, expectations);
      const { regressions, improvements, changes } = compareVerdicts(expectations[mode], actual);
      t.diagnostic(`${mode} mode: ${summary(actual)}`);
      for (const line of improvements) t.diagnostic(`improved: ${line} (update expectations.json)`);
      for (const line of changes) t.diagnostic(`changed: ${line}`);
      writeFileSync(
        join(ARTIFACTS, `${mode}-diff.json`),
        `${JSON.stringify({ regressions, improvements, changes }, null, 2)}\n`,
      );
      if (update) {
        const current = JSON.parse(readFileSync(EXPECTATIONS, "utf8")) as Expectations;
        writeFileSync(EXPECTATIONS, `${JSON.stringify({ ...current, [mode]: actual }, null, 2)}\n`);
        t.diagnostic(`rewrote the ${mode} verdicts of ${EXPECTATIONS}`);
        return;
      }
      assert.deepEqual(regressions, [], `cases that passed now fail:\n${regressions.join("\n")}`);
    },
  );
}

after(() => {
  if (build !== undefined) rmSync(build, { recursive: true, force: true });
});
