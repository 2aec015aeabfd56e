/**
 * A self-signed certificate for `localhost` and `127.0.0.1`, generated at test time with the
 * `openssl` command (node:crypto cannot create X.509 certificates), written to a temporary
 * directory that is removed after the test.
 *
 * Test-only key material: it protects nothing.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

/** Paths and contents of a generated certificate and its private key. */
export interface SelfSignedCert {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Whether `openssl` can be run; the reason when it cannot. */
export function opensslMissingReason(): string | undefined {
  const result = spawnSync("openssl", ["version"], { encoding: "utf8" });
  if (result.error !== undefined) return `openssl is not available: ${result.error.message}`;
  return result.status === 0 ? undefined : `\`openssl version\` exited with ${result.status}`;
}

/**
 * Generates an ECDSA P-256 certificate (CA:TRUE, so it is its own trust anchor) valid from now
 * for two days, with `subjectAltName = DNS:localhost, IP:127.0.0.1`.
 * @throws {Error} when openssl fails (call {@link opensslMissingReason} first to skip instead)
 */
export function generateSelfSignedCert(t: TestContext): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), "sockwise-cert-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  const result = spawnSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  if (result.status !== 0) {
    throw new Error(`openssl req failed (${result.status}): ${result.stderr}`);
  }
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}
