/**
 * `sockwise connect --proxy`, the proxy environment, `--no-proxy` (real tinyproxy and
 * microsocks processes, as in test/node/proxy.test.ts) and `--reconnect` (an in-process server
 * that drops the first connection), all through the CLI as a child process.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli, startCli } from "../helpers/cli-process.js";
import {
  requireProxyBinary,
  startMicrosocks,
  startTinyproxy,
  type RealProxy,
} from "../helpers/real-proxies.js";
import { startServer, waitUntil, withTimeout } from "../helpers/server-harness.js";

describe(
  "--proxy and the environment (tinyproxy: HTTP CONNECT)",
  requireProxyBinary("tinyproxy"),
  () => {
    let proxy: RealProxy;
    before(async () => {
      proxy = await startTinyproxy();
    });
    after(() => proxy?.stop());

    test("--proxy http:// tunnels the connection; HTTP_PROXY with NO_PROXY set does too; --no-proxy does not", async (t) => {
      const { server, port, url } = await startServer(t);
      server.on("connection", (socket) => {
        socket.onmessage = (event: MessageEvent) => socket.send(event.data as string);
      });
      const connectLine = `CONNECT 127.0.0.1:${port} HTTP/1.1`;
      const count = (): number => proxy.output().split(connectLine).length - 1;

      const explicit = await runCli(t, ["connect", url(), "--proxy", proxy.url, "-x", "via proxy"]);
      assert.equal(explicit.code, 0, explicit.stderr);
      assert.equal(explicit.stdout, "< via proxy\n");
      await waitUntil(() => count() === 1, "tinyproxy to log the CONNECT");

      // Loopback bypasses the environment's proxy unless NO_PROXY is set (then it alone decides).
      const env = { HTTP_PROXY: proxy.url, NO_PROXY: "example.invalid" };
      const fromEnv = await runCli(t, ["connect", url(), "-x", "env"], { env });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      await waitUntil(() => count() === 2, "tinyproxy to log the second CONNECT");

      const direct = await runCli(t, ["connect", url(), "--no-proxy", "-x", "direct"], { env });
      assert.equal(direct.code, 0, direct.stderr);
      assert.equal(direct.stdout, "< direct\n");
      assert.equal(count(), 2, "--no-proxy went around the proxy");
    });

    test("a refused proxy is a failed connection with the cause (exit 1); --proxy with --no-proxy is a usage error", async (t) => {
      const { url } = await startServer(t);
      const refused = await runCli(t, [
        "connect",
        url(),
        "--proxy",
        "http://127.0.0.1:9/",
        "-x",
        "x",
      ]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /closed: code=1006 .*cause=".*ERR_WS_PROXY/);
      const both = await runCli(t, ["connect", url(), "--proxy", proxy.url, "--no-proxy"]);
      assert.equal(both.code, 2);
    });
  },
);

describe("--proxy socks5:// (microsocks)", requireProxyBinary("microsocks"), () => {
  let proxy: RealProxy;
  before(async () => {
    proxy = await startMicrosocks({ user: "cli", password: "s3cret" });
  });
  after(() => proxy?.stop());

  test("tunnels through SOCKS5 with credentials; without them the proxy refuses", async (t) => {
    const { server, url } = await startServer(t);
    server.on("connection", (socket) => {
      socket.onmessage = (event: MessageEvent) => socket.send(event.data as string);
    });
    assert.match(proxy.url, /^socks5h?:\/\/cli:s3cret@/);
    const ok = await runCli(t, ["connect", url(), "--proxy", proxy.url, "-x", "socks"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "< socks\n");
    const anonymous = proxy.url.replace("cli:s3cret@", "");
    const refused = await runCli(t, ["connect", url(), "--proxy", anonymous, "-x", "socks"]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /cause=".*ERR_WS_PROXY/);
  });
});

test("--reconnect: an unclean close is followed by a printed retry, and the session goes on", async (t) => {
  const { server, url } = await startServer(t);
  let connections = 0;
  server.on("connection", (socket) => {
    connections++;
    if (connections === 1) {
      socket.destroy(); // dropped: 1006
      return;
    }
    socket.onmessage = (event: MessageEvent) => socket.send(event.data as string);
  });
  const cli = startCli(t, ["connect", url(), "--reconnect"]);
  await cli.waitFor(/^reconnecting in \d+ ms \(attempt \d+\)$/m, "stderr");
  await cli.waitFor(/connected to .*\n(?:.*\n)*connected to /, "stderr");
  cli.write("after the retry\n");
  await cli.waitFor(/^< after the retry$/m);
  cli.endInput();
  const result = await withTimeout(cli.finish(), "the CLI to exit");
  assert.equal(result.code, 0, result.stderr);
  assert.equal(connections, 2);
  assert.match(result.stderr, /^closed: code=1006 reason="" clean=false/m);
  assert.match(result.stderr, /^closed: code=1005 reason="" clean=true\n$/m);
  const usage = await runCli(t, ["connect", url(), "--reconnect", "--ping-interval", "1"]);
  assert.equal(usage.code, 2);
});
