/**
 * `sockwise connect wss://…` against an in-process sockwise server attached to a node:https
 * server whose self-signed certificate is generated at test time with `openssl`: `--ca` trusts
 * it, no option refuses it (exit 1 with the TLS cause), `--insecure` skips verification, and
 * `--cert`/`--key` present a client certificate. Skipped, with the reason, without openssl.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import { test, type TestContext } from "node:test";
import { WebSocketServer } from "../../src/index.js";
import { runCli } from "../helpers/cli-process.js";
import {
  generateSelfSignedCert,
  opensslMissingReason,
  type SelfSignedCert,
} from "../helpers/self-signed-cert.js";
import { withTimeout } from "../helpers/server-harness.js";

const skip = opensslMissingReason() ?? false;

/** An https server on 127.0.0.1:0 with a WebSocket echo server attached. */
async function startTlsEchoServer(
  t: TestContext,
  cert: SelfSignedCert,
  requestClientCert = false,
): Promise<{ wss: WebSocketServer; https: Server; url: string }> {
  const https = createServer({
    cert: cert.cert,
    key: cert.key,
    ...(requestClientCert ? { requestCert: true, rejectUnauthorized: true, ca: [cert.cert] } : {}),
  });
  const sockets = new Set<Socket>();
  https.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ server: https, heartbeat: false });
  wss.on("connection", (socket) => {
    socket.onmessage = (event: MessageEvent) => socket.send(event.data as string);
  });
  t.after(async () => {
    await wss.close({ timeoutMs: 200 });
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => https.close(() => resolve()));
  });
  await withTimeout(
    new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve)),
    "the https server to listen",
  );
  const { port } = https.address() as { port: number };
  return { wss, https, url: `wss://127.0.0.1:${port}/` };
}

test(
  "--ca trusts a self-signed certificate: echo over wss and a clean close",
  { skip },
  async (t) => {
    const cert = generateSelfSignedCert(t);
    const { url } = await startTlsEchoServer(t, cert);
    const result = await runCli(t, ["connect", "--ca", cert.certPath, url], { input: "secure\n" });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "< secure\n");
    assert.match(result.stderr, /^connected to wss:\/\/127\.0\.0\.1:\d+\/$/m);
    assert.match(result.stderr, /closed: code=1005 reason="" clean=true/);
  },
);

test(
  "without --ca a self-signed certificate is refused: exit 1 with the TLS cause",
  { skip },
  async (t) => {
    const cert = generateSelfSignedCert(t);
    const { url } = await startTlsEchoServer(t, cert);
    const result = await runCli(t, ["connect", url], { input: "secure\n" });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /closed: code=1006 reason="" clean=false cause="[^"]*self[- ]signed/,
    );
  },
);

test("--insecure connects to a self-signed server without --ca", { skip }, async (t) => {
  const cert = generateSelfSignedCert(t);
  const { url } = await startTlsEchoServer(t, cert);
  const result = await runCli(t, ["connect", "--insecure", url], { input: "anyway\n" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "< anyway\n");
});

test("--cert and --key present a client certificate the server verifies", { skip }, async (t) => {
  const cert = generateSelfSignedCert(t);
  const { wss, url } = await startTlsEchoServer(t, cert, true);
  const peer = withTimeout(
    new Promise<{ authorized: boolean; subject: string }>((resolve) => {
      wss.once("connection", (_socket, request) => {
        // Read now: once the connection is over the TLS socket has no peer certificate.
        const tls = request.socket as TLSSocket;
        resolve({
          authorized: tls.authorized,
          subject: String(tls.getPeerCertificate().subject.CN),
        });
      });
    }),
    "a connection at the server",
  );
  const args = ["connect", "--ca", cert.certPath, "--cert", cert.certPath, "--key", cert.keyPath];
  const result = await runCli(t, [...args, url], { input: "it's me\n" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "< it's me\n");
  assert.deepEqual(await peer, { authorized: true, subject: "localhost" });

  const refused = await runCli(t, ["connect", "--ca", cert.certPath, url], { input: "anon\n" });
  assert.equal(refused.code, 1, "without a client certificate the server refuses");
});

test("an unreadable --ca file is a usage error (exit 2)", async (t) => {
  const result = await runCli(t, ["connect", "--ca", "/nonexistent/ca.pem", "wss://127.0.0.1:1/"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /cannot read --ca \/nonexistent\/ca\.pem: .*ENOENT/);
});
