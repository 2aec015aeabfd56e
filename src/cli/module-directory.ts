/**
 * Where the CLI's compiled modules are, to find files shipped beside them (the playground page,
 * package.json). The published package is CommonJS (scripts/build.mjs), where `__dirname` is
 * exact; `import.meta` cannot appear in a module compiled to CommonJS, so the ES module build
 * used in development (build/), which has no `__dirname`, starts from the entry script instead:
 * the CLI's own main.js when it runs, or a test file under build/ that calls it in process.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { dirname } from "node:path";

/** The directory to start looking from for files shipped with the package. */
export function moduleDirectory(): string {
  if (typeof __dirname === "string") return __dirname;
  const entry = process.argv[1];
  return entry === undefined ? process.cwd() : dirname(realpathSync(entry));
}
