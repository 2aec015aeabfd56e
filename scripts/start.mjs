#!/usr/bin/env node
// `npm start`: installs what is missing, builds, and runs `sockwise serve` (the echo server with
// the browser playground). Extra arguments go to `sockwise serve`: `npm start -- --port 9000`.
import { spawn, spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const run = (command, args) => {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run(process.execPath, ["scripts/ensure-deps.mjs"]);
run("npm", ["run", "build", "--silent"]);
const child = spawn(process.execPath, ["dist/cjs/cli/main.js", "serve", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
