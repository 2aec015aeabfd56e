/**
 * `node build/bench/summarize.js <results.json>…`: renders several runs of `npm run bench`
 * (the JSON files it writes to test-artifacts/bench/) as one set of tables: each value is the
 * median over the runs, each sockwise ratio the median with the range over the runs in brackets.
 * docs/benchmarks.md is made from its output.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { SECTIONS, renderSection, type Metric } from "./lib/report.js";

interface Results {
  readonly date: string;
  readonly quick: boolean;
  readonly node: string;
  readonly details: Readonly<Record<string, string>>;
  readonly errors: readonly string[];
  readonly metrics: readonly Metric[];
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node build/bench/summarize.js <results.json>…");
  process.exit(2);
}
const runs = files.map((file) => JSON.parse(readFileSync(file, "utf8")) as Results);
const lines = [
  `Runs: ${runs.map((run) => `${run.date}${run.quick ? " (quick)" : ""}`).join(", ")}; node ${runs[0]!.node}.`,
  "Values are medians over the runs; ratios are sockwise ÷ the other, median (range over the runs).",
];
for (const spec of SECTIONS) {
  const table = renderSection(
    spec,
    runs.map((run) => run.metrics),
  );
  if (table !== "") lines.push("", table);
}
const errors = runs.flatMap((run) => run.errors.map((error) => `${run.date}: ${error}`));
if (errors.length > 0) lines.push("", "Errors:", "", ...errors.map((error) => `- ${error}`));
console.log(lines.join("\n"));
