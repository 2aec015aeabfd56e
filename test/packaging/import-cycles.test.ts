/**
 * Issue #17: the modules of `src/` import each other top-down, with no cycle (type-only imports
 * included: a type cycle still means two files cannot be read one after the other). The graph
 * is read from the TypeScript sources with the compiler's own pre-processor, so every form of
 * import and re-export counts.
 */
import { strict as assert } from "node:assert";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const root = resolve(dirname(new URL(import.meta.url).pathname), "../../..");
const src = join(root, "src");

function sources(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sources(path);
      return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
    });
}

/** The import graph of src/: file → the src/ files it imports (relative specifiers only). */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(src)) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = info.importedFiles
      .map((ref) => ref.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle, as the strongly connected components (Tarjan) with more than one file or a self-import. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node))
        cycles.push(component.map((file) => relative(root, file)).sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return cycles;
}

test("#17: src/ has no import cycle (type-only imports included)", () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, `read ${graph.size} source files`);
  assert.deepEqual(findCycles(graph), []);
});

test("#17: the cycle finder finds a cycle (it can fail)", () => {
  const graph = new Map([
    [join(src, "a.ts"), [join(src, "b.ts")]],
    [join(src, "b.ts"), [join(src, "c.ts")]],
    [join(src, "c.ts"), [join(src, "a.ts")]],
    [join(src, "d.ts"), [join(src, "a.ts")]],
  ]);
  assert.deepEqual(findCycles(graph), [["src/a.ts", "src/b.ts", "src/c.ts"]]);
});
