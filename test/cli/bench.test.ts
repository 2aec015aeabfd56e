/**
 * `sockwise bench` as a child process against real echo servers in this process: a sockwise
 * `WebSocketServer` and a `ws` one. It must connect every connection, print sane figures (the
 * percentiles in order, every connection closed with the server's 1000, no errors) and exit 0;
 * an open-loop rate is kept; a server that does not echo is reported and exits 1. The latency
 * histogram's percentiles are checked on their own.
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { WebSocketServer as WsServer } from "ws";
import type { BenchResult } from "../../src/cli/bench.js";
import { LatencyHistogram } from "../../src/cli/loadgen/histogram.js";
import { runCli } from "../helpers/cli-process.js";
import { startServer, withTimeout } from "../helpers/server-harness.js";

async function sockwiseEcho(t: TestContext): Promise<string> {
  const { server, url } = await startServer(t, { perMessageDeflate: false });
  server.on("connection", (socket) => {
    socket.binaryType = "nodebuffer";
    socket.onmessage = (event: MessageEvent) => socket.send(event.data as string | Buffer);
  });
  return url();
}

async function wsEcho(t: TestContext): Promise<string> {
  const server = new WsServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  server.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await withTimeout(
    new Promise<void>((resolve) => server.once("listening", () => resolve())),
    "ws to listen",
  );
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  );
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

function assertSane(result: BenchResult, connections: number): void {
  assert.equal(result.connect.opened, connections);
  assert.equal(result.connect.failed, 0);
  assert.ok(result.connect.perSecond > 0);
  assert.ok(result.messages.received > 100, `only ${result.messages.received} echoes`);
  assert.ok(result.messages.sent >= result.messages.received);
  assert.ok(result.messages.perSecond > 0);
  const { p50, p90, p99, max, samples } = result.latencyMs;
  assert.ok(samples >= result.messages.received, `${samples} samples`);
  assert.ok(0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max, JSON.stringify(result.latencyMs));
  assert.ok(max < 10_000, `max ${max} ms`);
  assert.deepEqual(result.closeCodes, { "1000": connections });
  assert.deepEqual(result.errors, {});
  assert.ok(result.generatorCpu > 0 && result.generatorCpu < 1.5, `${result.generatorCpu}`);
}

describe("sockwise bench", () => {
  test("closed loop against a sockwise server and a ws server: sane figures, exit 0", async (t) => {
    const [sockwiseUrl, wsUrl] = await Promise.all([sockwiseEcho(t), wsEcho(t)]);
    const args = ["-c", "8", "-d", "1", "--window", "4", "--json"];
    const [a, b] = await Promise.all([
      runCli(t, ["bench", sockwiseUrl, ...args]),
      runCli(t, ["bench", wsUrl, ...args, "--type", "binary", "--size", "1024"]),
    ]);
    for (const [name, run] of [
      ["sockwise", a],
      ["ws", b],
    ] as const) {
      assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      const result = JSON.parse(run.stdout) as BenchResult;
      assertSane(result, 8);
      assert.equal(result.mode, "closed loop, window 4");
      // The progress line, once a second, on stderr.
      assert.match(
        run.stderr,
        /^\s+1 s {2}8\/8 open {2}[\d,]+ msg\/s {2}p50 [\d.]+ ms {2}p99 [\d.]+ ms {2}errors 0$/m,
        name,
      );
    }
  });

  test("open loop (--rate) keeps the rate; the table has every row", async (t) => {
    const url = await sockwiseEcho(t);
    const run = await runCli(t, ["bench", url, "-c", "4", "-d", "1", "--rate", "2000"]);
    assert.equal(run.code, 0, run.stderr);
    for (const row of [
      /^target {9}ws:\/\/127\.0\.0\.1:\d+\/$/m,
      /^load {11}4 connections, open loop, 2000 msg\/s, text 64 B messages, 1\.\d s$/m,
      /^connect {8}4 opened, 0 failed in [\d.]+ s \([\d,]+ \/s\)$/m,
      /^messages\/s {5}[\d,]+ echoed/m,
      /^latency p50 {4}[\d.]+ ms$/m,
      /^latency p90 {4}[\d.]+ ms$/m,
      /^latency p99 {4}[\d.]+ ms$/m,
      /^latency max {4}[\d.]+ ms$/m,
      /^close codes {4}1000 ×4$/m,
      /^errors {9}none$/m,
      /^generator CPU {2}\d+% of one core/m,
    ])
      assert.match(run.stdout, row);
    const echoed = Number(/(\S+) in all/.exec(run.stdout)![1]!.replaceAll(",", ""));
    // 2000/s for about a second: allow a busy machine its delays, not a tenfold error.
    assert.ok(echoed > 1000 && echoed <= 2200, `${echoed} echoes at 2000/s over ~1 s`);
  });

  test("a server that does not echo is reported and exits 1; usage errors exit 2", async (t) => {
    const { url } = await startServer(t); // accepts, never answers
    const [silent, ...usage] = await Promise.all([
      runCli(t, ["bench", url(), "-c", "2", "-d", "1", "--json"]),
      runCli(t, ["bench"]),
      runCli(t, ["bench", url(), "--rate", "10", "--window", "2"]),
      runCli(t, ["bench", url(), "--type", "utf8"]),
      runCli(t, ["bench", url(), "-c", "0"]),
      runCli(t, ["bench", "ftp://127.0.0.1/"]),
    ]);
    assert.equal(silent.code, 1, silent.stderr);
    const result = JSON.parse(silent.stdout) as BenchResult;
    assert.match(Object.keys(result.errors).join(), /no echo of the first message/);
    for (const run of usage) assert.equal(run.code, 2, run.stderr);
  });
});

test("LatencyHistogram: percentiles within 0.3 %, max exact", () => {
  const histogram = new LatencyHistogram();
  assert.ok(Number.isNaN(histogram.percentile(0.5)));
  for (let i = 1; i <= 10_000; i++) histogram.record(i / 100); // 0.01 … 100 ms
  assert.equal(histogram.count, 10_000);
  assert.equal(histogram.max, 100);
  for (const [q, expected] of [
    [0.5, 50],
    [0.9, 90],
    [0.99, 99],
    [1, 100],
  ] as const) {
    const got = histogram.percentile(q);
    assert.ok(Math.abs(got - expected) / expected < 0.003, `p${q * 100}: ${got}`);
  }
  histogram.record(0.0004, 5);
  assert.equal(histogram.count, 10_005);
});
