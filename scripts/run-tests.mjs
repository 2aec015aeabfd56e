#!/usr/bin/env node
// Runs every compiled test file (build/test/**/*.test.js) with Node's built-in test runner.
// Node 20's `--test <dir>` would also run helper modules that live under a `test/` folder, so
// the files are listed explicitly. Arguments narrow the run: `npm run test:only -- protocol`.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
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
const filters = process.argv.slice(2);
const files = collect(root).filter(
  (file) => filters.length === 0 || filters.some((f) => relative(root, file).includes(f)),
);
if (files.length === 0) {
  console.error(`no test files matched under ${root} (did the build run?)`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--test", "--test-reporter=tap", ...files], {
  stdio: "inherit",
  env: process.env,
});
process.exit(result.status ?? 1);
