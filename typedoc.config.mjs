// @ts-check
// The API reference: `npm run docs` writes docs/api/ (not committed; `npm test` builds it with
// every warning an error, so each public export must carry its doc comment). The entry points
// are the package's, read from package.json "exports": "." is src/index.ts, "./<name>" is
// src/<name>/index.ts.
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
const entryPoints = Object.keys(pkg.exports)
  .filter((subpath) => subpath !== "./package.json")
  .map((subpath) => (subpath === "." ? "src/index.ts" : `src/${subpath.slice(2)}/index.ts`));

/** @type {Partial<import("typedoc").TypeDocOptions>} */
const config = {
  entryPoints,
  out: "docs/api",
  tsconfig: "tsconfig.build.json",
  name: "sockwise",
  readme: "none",
  excludePrivate: true,
  excludeInternal: true,
  excludeExternals: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  // Every export (and every method) says what it is; plain data fields may be self-explaining.
  requiredToBeDocumented: [
    "Class",
    "Interface",
    "Function",
    "Variable",
    "TypeAlias",
    "Enum",
    "Method",
  ],
  // Internal plumbing that public signatures mention: documented where it lives, not exported.
  intentionallyNotExported: [
    "TransportHandlers",
    "FrameSink",
    "PerMessageDeflate",
    "Handler",
    "ServerWebSocketListener",
    "AnyListener",
    "Subscriber",
    "UrlSource",
  ],
  disableSources: true,
  hideGenerator: true,
};
export default config;
