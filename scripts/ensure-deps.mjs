#!/usr/bin/env node
// Installs the dev dependencies when a fresh clone has none yet, so `npm start` and `npm test`
// work as the first command a newcomer types. Uses the lockfile (`npm ci`) for repeatable builds.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
if (!existsSync(new URL("../node_modules/typescript/package.json", import.meta.url))) {
  console.error("sockwise: installing dev dependencies (npm ci)…");
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
