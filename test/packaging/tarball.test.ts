/**
 * Issue #17: the package as a user gets it. Packs the real tarball (`npm pack`, which builds
 * dist/ through `prepack`), checks what is in it, lints it with publint and
 * `@arethetypeswrong/cli`, installs it into a temporary project outside the repository, and
 * there: imports and requires every entry point (one and the same set of classes), requires it
 * with require(esm) turned off (Node 20.0–20.18 have none), type-checks a TypeScript file
 * against it under node16, nodenext, bundler and CommonJS settings, and runs the installed
 * `sockwise` CLI. One temporary project for everything: this is the slow test of the suite.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { WebSocket } from "../../src/index.js";
import { WAIT_MS, withTimeout } from "../helpers/server-harness.js";

const root = resolve(dirname(new URL(import.meta.url).pathname), "../../..");
const fixtures = join(root, "test/packaging/consumer");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  exports: Record<string, unknown>;
  peerDependencies?: Record<string, string>;
};
/** Every entry point, as a user names it: "sockwise", "sockwise/protocol", … */
const SUBPATHS = Object.keys(pkg.exports)
  .filter((key) => key !== "./package.json")
  .map((key) => (key === "." ? "sockwise" : `sockwise/${key.slice(2)}`));
const TSC = join(root, "node_modules/typescript/bin/tsc");

function run(command: string, args: string[], cwd: string, what: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
  assert.equal(
    result.status,
    0,
    `${what} failed (${String(result.status ?? result.signal)}):\n${result.stdout}\n${result.stderr}`,
  );
  return result;
}

/** The source type-checked in the temporary project, under every module setting. */
const TYPED_SOURCE = `
import { WebSocket, WebSocketServer, ServerWebSocket, CloseCode, type ServerCloseInfo } from "sockwise";
import { Engine, type Output } from "sockwise/protocol";

const server = new WebSocketServer({ noServer: true });
server.on("connection", (socket: ServerWebSocket) => {
  socket.addEventListener("message", (event) => {
    const data: string | ArrayBuffer | Blob | Buffer = event.data;
    socket.send(typeof data === "string" ? data : "binary");
  });
  socket.closed.then((info: ServerCloseInfo) => info.code);
});
const client = new WebSocket("ws://127.0.0.1:1/");
client.close(CloseCode.NormalClosure);
const engine = new Engine({ role: "client" } as ConstructorParameters<typeof Engine>[0]);
const outputs: readonly Output[] = engine.takeOutputs();
void outputs;
// The check can fail: were the types missing (any), this directive would be unused, an error.
// @ts-expect-error: send() needs its data
client.send();
export {};
`;

/** [name, compilerOptions, files]: the settings users have. */
const TYPE_SETTINGS: [string, Record<string, unknown>, string[]][] = [
  ["node16", { module: "node16", moduleResolution: "node16" }, ["check.mts", "check.cts"]],
  ["nodenext", { module: "nodenext", moduleResolution: "nodenext" }, ["check.mts", "check.cts"]],
  ["bundler", { module: "esnext", moduleResolution: "bundler" }, ["check.ts"]],
  ["commonjs (node10 resolution)", { module: "commonjs" }, ["check.ts"]],
];

test("#17: the packed tarball installs, imports, requires, type-checks and runs its CLI", async (t) => {
  const work = mkdtempSync(join(tmpdir(), "sockwise-tarball-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // 1. Pack the real tarball (prepack builds dist/).
  const packed = run("npm", ["pack", "--json", "--pack-destination", work], root, "npm pack");
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as [
    { filename: string; files: { path: string }[] },
  ];
  const tarball = join(work, info.filename);
  const files = info.files.map((file) => file.path);

  await t.test("the tarball holds what a user needs and nothing else", () => {
    for (const file of files) {
      assert.match(
        file,
        /^(dist\/(cjs|esm)\/.*\.(js|d\.ts)|dist\/cjs\/package\.json|playground\/index\.html|README\.md|LICENSE|package\.json)$/,
        `unexpected file in the tarball: ${file}`,
      );
    }
    const needed = [
      "package.json",
      "README.md",
      "LICENSE",
      "playground/index.html",
      "dist/cjs/package.json",
      "dist/cjs/cli/main.js",
    ];
    for (const target of JSON.stringify(pkg.exports).match(/\.\/dist\/[^"]+/g) ?? [])
      needed.push(target.slice(2));
    for (const file of needed) assert.ok(files.includes(file), `${file} is in the tarball`);
  });

  await t.test("publint and @arethetypeswrong/cli find no problem", () => {
    run(
      process.execPath,
      [join(root, "node_modules/publint/src/cli.js"), "run", tarball, "--strict"],
      root,
      "publint",
    );
    run(
      process.execPath,
      [
        join(root, "node_modules/@arethetypeswrong/cli/dist/index.js"),
        tarball,
        "--format",
        "table-flipped",
      ],
      root,
      "attw",
    );
  });

  // 2. Install it into an empty project outside the repository (no runtime dependencies: works
  //    offline). The optional peer dependencies come from the repository, as symlinks.
  const project = join(work, "consumer");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), '{ "name": "consumer", "private": true }\n');
  run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--offline", "--ignore-scripts", tarball],
    project,
    "npm install",
  );
  for (const peer of Object.keys(pkg.peerDependencies ?? {})) {
    const link = join(project, "node_modules", peer);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(root, "node_modules", peer), link, "dir");
  }
  copyFileSync(join(fixtures, "esm.mjs"), join(project, "esm.mjs"));
  copyFileSync(join(fixtures, "cjs.cjs"), join(project, "cjs.cjs"));

  await t.test("import and require give one and the same set of classes", () => {
    const esm = run(process.execPath, ["esm.mjs", JSON.stringify(SUBPATHS)], project, "esm.mjs");
    assert.match(esm.stdout, /esm ok/);
  });

  await t.test("require works without require(esm) (as on Node 20.0–20.18)", (tt) => {
    const flag = "--no-experimental-require-module";
    const flags = process.allowedNodeEnvironmentFlags.has(flag) ? [flag] : [];
    if (flags.length === 0) tt.diagnostic(`this Node has no ${flag}: plain require checked`);
    const cjs = run(
      process.execPath,
      [...flags, "cjs.cjs", JSON.stringify(SUBPATHS)],
      project,
      "cjs.cjs",
    );
    assert.match(cjs.stdout, /cjs ok/);
  });

  await t.test("TypeScript checks a consumer under node16, nodenext, bundler and commonjs", () => {
    for (const name of ["check.ts", "check.mts", "check.cts"])
      writeFileSync(join(project, name), TYPED_SOURCE);
    for (const [label, options, included] of TYPE_SETTINGS) {
      const config = join(project, `tsconfig.${label.split(" ")[0]}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          compilerOptions: {
            ...options,
            target: "ES2022",
            lib: ["ES2023"],
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ["node"],
            typeRoots: [join(root, "node_modules/@types")],
          },
          files: included,
        }),
      );
      run(process.execPath, [TSC, "-p", config], project, `tsc (${label})`);
    }
  });

  await t.test("the installed bin runs: --version and serve (with its playground)", async (tt) => {
    const bin = join(project, "node_modules/.bin/sockwise");
    const version = run(bin, ["--version"], project, "sockwise --version");
    assert.equal(version.stdout.trim(), pkg.version);
    const child = spawn(bin, ["serve", "--port", "0"], {
      cwd: project,
      stdio: ["ignore", "pipe", "pipe"],
    });
    tt.after(() => child.kill("SIGKILL"));
    let stdout = "";
    child.stdout.setEncoding("utf8");
    const url = await withTimeout(
      new Promise<string>((resolveUrl) => {
        child.stdout.on("data", (chunk: string) => {
          stdout += chunk;
          const match = /playground: (http:\/\/\S+)/.exec(stdout);
          if (match !== null) resolveUrl(match[1]!);
        });
      }),
      "the CLI to listen",
      5 * WAIT_MS,
    );
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const wsUrl = /on (ws:\/\/\S+)/.exec(stdout)![1]!;
    const client = new WebSocket(wsUrl);
    const echoed = await withTimeout(
      new Promise<unknown>((resolveEcho, reject) => {
        client.onerror = () => reject(new Error("could not connect to the CLI"));
        client.onopen = () => client.send("echo me");
        client.onmessage = (event) => resolveEcho((event as MessageEvent).data);
      }),
      "the echo",
    );
    assert.equal(echoed, "echo me");
    client.close(1000);
    const exited = new Promise<number | null>((resolveExit) => child.once("exit", resolveExit));
    child.kill("SIGTERM");
    assert.equal(await withTimeout(exited, "the CLI to exit"), 0);
  });
});
