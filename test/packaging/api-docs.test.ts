/**
 * Issue #17: the API reference builds from the types with TypeDoc (typedoc.config.mjs: one entry
 * point per package export), every warning an error: a public export without its doc comment,
 * a broken `{@link}`, or a public signature that mentions a type users cannot reach fails here.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";

const root = resolve(dirname(new URL(import.meta.url).pathname), "../../..");

test("#17: TypeDoc builds the API reference with no warning (treatWarningsAsErrors)", (t) => {
  const out = mkdtempSync(join(tmpdir(), "sockwise-api-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const result = spawnSync(
    process.execPath,
    [join(root, "node_modules/typedoc/bin/typedoc"), "--out", out],
    { cwd: root, encoding: "utf8", timeout: 180_000 },
  );
  const output = `${result.stdout}\n${result.stderr}`;
  assert.equal(result.status, 0, output);
  assert.doesNotMatch(output, /\[warning\]|\[error\]/);
  for (const page of ["index.html", "modules/index.html", "modules/protocol.html"])
    assert.ok(existsSync(join(out, page)), `${page} was generated`);
});
