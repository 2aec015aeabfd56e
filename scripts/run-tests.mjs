#!/usr/bin/env node
// Runs every compiled test file (build/test/**/*.test.js) with Node's built-in test runner.
// Node 20's `--test <dir>` would also run helper modules that live under a `test/` folder, so
// the files are listed explicitly. Arguments narrow the run: `npm run test:only -- protocol`.
//
// No run may hang: a test (or suite) that takes longer than SOCKWISE_TEST_TIMEOUT_MS fails on
// its own (`--test-timeout`), and so does a test file whose leaked handle or child process keeps
// it alive (its run is cancelled, and the exit code is 1); the whole run is killed after
// SOCKWISE_TEST_RUN_TIMEOUT_MS with a message saying so. (A CI run once hung until the CI time
// limit because a failed `after` hook left a headless Chromium running.)
//
// `--test-force-exit` is deliberately not used: on Node 20 it let the runner exit before every
// file had reported, so the last tests of some files never ran, silently (`# tests` changed from
// run to run: 61 or 70 for one file). Every test must run, or the run fails.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("../build/test/", import.meta.url).pathname;
/** @param {string} dir @returns {string[]} */
function collect(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return collect(path);
      return name.endsWith(".test.js") ? [path] : [];
    });
}

/**
 * @template T
 * @param {T[]} items
 * @param {(item: T) => boolean} test
 * @returns {[T[], T[]]}
 */
function partition(items, test) {
  /** @type {[T[], T[]]} */
  const parts = [[], []];
  for (const item of items) parts[test(item) ? 0 : 1].push(item);
  return parts;
}

/** @param {string} name @param {number} fallback */
function millis(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    console.error(`${name} must be a positive whole number of milliseconds, not ${raw}`);
    process.exit(2);
  }
  return value;
}

const testTimeoutMs = millis("SOCKWISE_TEST_TIMEOUT_MS", 5 * 60_000);
const runTimeoutMs = millis("SOCKWISE_TEST_RUN_TIMEOUT_MS", 30 * 60_000);

const filters = process.argv.slice(2);
// A compiled test whose source was renamed or deleted stays in build/ (tsc never removes
// outputs): run only the files that still have a source, and say which were left out.
const sources = new URL("../test/", import.meta.url).pathname;
const [current, stale] = partition(collect(root), (file) =>
  existsSync(join(sources, relative(root, file).replace(/\.js$/, ".ts"))),
);
for (const file of stale) console.error(`run-tests: skipping ${file}: its source is gone`);
const files = current.filter(
  (file) => filters.length === 0 || filters.some((f) => relative(root, file).includes(f)),
);
if (files.length === 0) {
  console.error(`no test files matched under ${root} (did the build run?)`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ["--test", "--test-reporter=tap", `--test-timeout=${testTimeoutMs}`, ...files],
  // Its own process group, so that a timeout can end the runner and every test file under it.
  { stdio: "inherit", env: process.env, detached: true },
);

/** @param {NodeJS.Signals} signal */
function killGroup(signal) {
  try {
    process.kill(-(child.pid ?? 0), signal);
  } catch {
    // Already gone.
  }
}

const watchdog = setTimeout(() => {
  console.error(
    `\nrun-tests: the test run did not finish within ${runTimeoutMs} ms ` +
      "(SOCKWISE_TEST_RUN_TIMEOUT_MS); stopping it. The TAP above shows the last test that ran.",
  );
  killGroup("SIGTERM");
  setTimeout(() => killGroup("SIGKILL"), 10_000).unref();
  process.exitCode = 1;
}, runTimeoutMs);

for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
  process.on(signal, () => {
    killGroup(signal);
    process.exitCode = 1;
  });
}

child.on("exit", (code) => {
  clearTimeout(watchdog);
  if (process.exitCode === undefined || process.exitCode === 0) {
    process.exitCode = code ?? 1;
  }
});
