/**
 * `node build/bench/heap-diff.js <before.heapsnapshot> <after.heapsnapshot> [--per N] [--top N]`:
 * what a server's heap gained between two snapshots (written by
 * `npm run bench -- --only idle --heap-snapshot`), grouped by V8 node type and constructor or
 * function name, divided by the number of connections opened in between. Markdown output.
 *
 * @module
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

const argv = process.argv.slice(2);
const files = argv.filter((arg, i) => !arg.startsWith("--") && !argv[i - 1]?.startsWith("--"));
const option = (name: string, fallback: number): number => {
  const index = argv.indexOf(name);
  return index >= 0 ? Number(argv[index + 1]) : fallback;
};
const per = option("--per", 1);
const ownersIndex = argv.indexOf("--owners");
/** With `--owners "<type name>"`: who holds those nodes in the second snapshot, by edge. */
const ownersOf = ownersIndex >= 0 ? argv[ownersIndex + 1] : undefined;
const top = option("--top", 30);
if (files.length !== 2) {
  console.error("usage: node build/bench/heap-diff.js <before> <after> [--per N] [--top N]");
  process.exit(2);
}

/** The grouping key of node `i` (an index into the nodes array, a multiple of the width). */
function keyAt(data: Snapshot, i: number): string {
  const fields = data.snapshot.meta.node_fields;
  const type = data.snapshot.meta.node_types[0][data.nodes[i + fields.indexOf("type")]!] ?? "?";
  let name = data.strings[data.nodes[i + fields.indexOf("name")]!] ?? "?";
  // Strings and numbers are grouped by type only; their names are their values.
  if (type === "string" || type === "concatenated string" || type === "sliced string") name = "";
  if (type === "number" || type === "bigint") name = "";
  if (name.length > 60) name = `${name.slice(0, 57)}...`;
  return name === "" ? type : `${type} ${name}`;
}

/** Who holds the nodes whose key is `key`: "owner key . edge name" with counts and bytes. */
function owners(file: string, key: string): Map<string, { count: number; bytes: number }> {
  const data = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const meta = data.snapshot.meta;
  const width = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const edgeCountAt = meta.node_fields.indexOf("edge_count");
  const sizeAt = meta.node_fields.indexOf("self_size");
  const edgeTypeAt = meta.edge_fields.indexOf("type");
  const edgeNameAt = meta.edge_fields.indexOf("name_or_index");
  const toAt = meta.edge_fields.indexOf("to_node");
  const result = new Map<string, { count: number; bytes: number }>();
  let edge = 0;
  for (let i = 0; i < data.nodes.length; i += width) {
    const count = data.nodes[i + edgeCountAt]!;
    for (let e = 0; e < count; e++, edge += edgeWidth) {
      const to = data.edges[edge + toAt]!;
      if (keyAt(data, to) !== key) continue;
      const edgeType = meta.edge_types[0][data.edges[edge + edgeTypeAt]!] ?? "?";
      if (edgeType === "weak") continue;
      const nameOrIndex = data.edges[edge + edgeNameAt]!;
      const edgeName =
        edgeType === "element" || edgeType === "hidden"
          ? `[${nameOrIndex}]`
          : (data.strings[nameOrIndex] ?? "?");
      const owner = `${keyAt(data, i)} . ${edgeName}`;
      const group = result.get(owner) ?? { count: 0, bytes: 0 };
      group.count++;
      group.bytes += data.nodes[to + sizeAt]!;
      result.set(owner, group);
    }
  }
  return result;
}

/** Count and self size per "type name", e.g. "object ServerWebSocket" or "closure #onData". */
function aggregate(file: string): Map<string, { count: number; bytes: number }> {
  const data = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = data.snapshot.meta.node_fields;
  const width = fields.length;
  const sizeAt = fields.indexOf("self_size");
  const groups = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < data.nodes.length; i += width) {
    const key = keyAt(data, i);
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += data.nodes[i + sizeAt]!;
    groups.set(key, group);
  }
  return groups;
}

if (ownersOf !== undefined) {
  const rows = [...owners(files[1]!, ownersOf).entries()].sort((a, b) => b[1].bytes - a[1].bytes);
  console.log(
    [
      `Holders of \`${ownersOf}\` in ${files[1]}:`,
      "",
      "| holder . edge | count | bytes |",
      "| --- | ---: | ---: |",
      ...rows
        .slice(0, top)
        .map(
          ([key, value]) =>
            `| \`${key.replace(/\|/g, "\\|")}\` | ${value.count} | ${value.bytes} |`,
        ),
    ].join("\n"),
  );
  process.exit(0);
}

const before = aggregate(files[0]!);
const after = aggregate(files[1]!);
const rows: { key: string; count: number; bytes: number }[] = [];
for (const [key, value] of after) {
  const base = before.get(key) ?? { count: 0, bytes: 0 };
  rows.push({ key, count: value.count - base.count, bytes: value.bytes - base.bytes });
}
const totalBytes = rows.reduce((sum, row) => sum + row.bytes, 0);
rows.sort((a, b) => b.bytes - a.bytes);
console.log(
  [
    `Heap growth ${files[0]} → ${files[1]}: ${(totalBytes / 1024).toFixed(0)} KiB in all, ${(totalBytes / per).toFixed(0)} B per connection (${per} connections).`,
    "",
    "| V8 node (type, constructor or function name) | objects per connection | bytes per connection |",
    "| --- | ---: | ---: |",
    ...rows
      .slice(0, top)
      .map(
        (row) =>
          `| \`${row.key.replace(/\|/g, "\\|")}\` | ${(row.count / per).toFixed(2)} | ${(row.bytes / per).toFixed(0)} |`,
      ),
  ].join("\n"),
);
