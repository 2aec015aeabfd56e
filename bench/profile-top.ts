/**
 * `node build/bench/profile-top.js <file.cpuprofile> [--top N] [--match text]`: the functions
 * that took the most CPU time in a V8 CPU profile (as written by `node --cpu-prof`, e.g. by
 * `npm run bench -- --profile`), by self time and by inclusive time, plus self time grouped by
 * where the code lives (sockwise src/, node internals, V8/GC). Markdown output.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based, in the compiled file. */
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const argv = process.argv.slice(2);
const file = argv.find((arg) => !arg.startsWith("--") && !/^\d+$/.test(arg));
const topIndex = argv.indexOf("--top");
const top = topIndex >= 0 ? Number(argv[topIndex + 1]) : 25;
if (file === undefined) {
  console.error("usage: node build/bench/profile-top.js <file.cpuprofile> [--top N]");
  process.exit(2);
}

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parentOf.set(child, node.id);

/** Self time per node in microseconds: each sample's time delta goes to the sampled node. */
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  // The delta after a sample is the time it stands for.
  const delta = profile.timeDeltas[i + 1] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
}

function shortUrl(url: string): string {
  if (url === "") return "";
  const src = url.indexOf("/build/src/");
  if (src >= 0) return `src/${url.slice(src + "/build/src/".length).replace(/\.js$/, ".ts")}`;
  const bench = url.indexOf("/build/bench/");
  if (bench >= 0)
    return `bench/${url.slice(bench + "/build/bench/".length).replace(/\.js$/, ".ts")}`;
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) return url.slice(modules + "/node_modules/".length);
  return url.replace(/^file:\/\//, "");
}

const sourceMaps = new Map<string, SourceMap | undefined>();

/** The 1-based line in the TypeScript source, through the compiled file's source map. */
function sourceLine(frame: CallFrame): number {
  if (!frame.url.startsWith("file://") || !frame.url.includes("/build/"))
    return frame.lineNumber + 1;
  if (!sourceMaps.has(frame.url)) {
    const mapFile = `${fileURLToPath(frame.url)}.map`;
    sourceMaps.set(
      frame.url,
      existsSync(mapFile)
        ? new SourceMap(JSON.parse(readFileSync(mapFile, "utf8")) as never)
        : undefined,
    );
  }
  const entry = sourceMaps.get(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber) as
    { originalLine?: number } | undefined;
  return entry?.originalLine === undefined ? frame.lineNumber + 1 : entry.originalLine + 1;
}

function keyOf(frame: CallFrame): string {
  const url = shortUrl(frame.url);
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  return url === "" ? name : `${name} ${url}:${sourceLine(frame)}`;
}

function groupOf(frame: CallFrame): string {
  const url = shortUrl(frame.url);
  if (url.startsWith("src/")) return `sockwise ${url.split("/").slice(0, 2).join("/")}`;
  if (url.startsWith("bench/")) return "bench harness";
  if (url.startsWith("node:")) return "node internals (JS)";
  if (url === "")
    return frame.functionName.startsWith("(") ? frame.functionName : "native / V8 builtins";
  return url.split("/")[0] ?? url;
}

const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs.entries()]
  .filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)")
  .reduce((sum, [, us]) => sum + us, 0);
const busy = total - idle;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const groups = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  if (node.callFrame.functionName === "(idle)") continue;
  const key = keyOf(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + us);
  const group = groupOf(node.callFrame);
  groups.set(group, (groups.get(group) ?? 0) + us);
  // Inclusive: once per function on the stack, however often it recurses.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const frameKey = keyOf(byId.get(at)!.callFrame);
    if (seen.has(frameKey)) continue;
    seen.add(frameKey);
    inclusive.set(frameKey, (inclusive.get(frameKey) ?? 0) + us);
  }
}

const pct = (us: number): string => `${((us / busy) * 100).toFixed(1)}%`;
const table = (title: string, entries: Map<string, number>, limit: number): string[] => [
  "",
  `| ${title} | ms | % of busy |`,
  "| --- | ---: | ---: |",
  ...[...entries.entries()]
    .filter(([key]) => key !== "(root)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, us]) => `| \`${key}\` | ${(us / 1000).toFixed(0)} | ${pct(us)} |`),
];

console.log(
  [
    `Profile ${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (not idle).`,
    ...table("where (self time)", groups, 20),
    ...table("function (self time)", self, top),
    ...table("function (inclusive time)", inclusive, top),
  ].join("\n"),
);
