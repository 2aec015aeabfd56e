/**
 * The `sockwise connect` flags of issue #18 in pipe mode and with `-x`, against an in-process
 * sockwise server that records what it receives: `-x/--execute`, `--auth`, `--origin`,
 * `--input hex|base64`, `--binary-output`, `--max-message`, `--show-ping-pong`,
 * `--ping-interval`, `--timestamps`, and colours (`FORCE_COLOR`, `NO_COLOR`, `--no-color`).
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import type { ServerWebSocket } from "../../src/index.js";
import { runCli, startCli } from "../helpers/cli-process.js";
import {
  nextConnection,
  startServer,
  withTimeout,
  type TestServer,
} from "../helpers/server-harness.js";

/** An echo server that also records every message it receives, as bytes or text. */
async function startRecordingEcho(
  t: TestContext,
): Promise<TestServer & { received: (string | Uint8Array)[] }> {
  const running = await startServer(t);
  const received: (string | Uint8Array)[] = [];
  running.server.on("connection", (socket) => {
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event: MessageEvent) => {
      const data = event.data as string | ArrayBuffer;
      received.push(typeof data === "string" ? data : new Uint8Array(data));
      socket.send(data);
    };
  });
  return { ...running, received };
}

describe("-x/--execute", () => {
  test("sends each message once open, waits for the replies, closes and exits 0 without reading stdin", async (t) => {
    const { server, url, received } = await startRecordingEcho(t);
    const connection = nextConnection(server);
    // stdin stays open: -x must not wait for it.
    const cli = startCli(t, ["connect", url(), "-x", "one", "--execute", "two ✓", "-x", ""]);
    const result = await cli.finish();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(received, ["one", "two ✓", ""]);
    assert.equal(result.stdout, "< one\n< two ✓\n< \n");
    assert.match(result.stderr, /^> one\n> two ✓\n> \nclosed: code=1005 reason="" clean=true\n$/m);
    const info = await withTimeout((await connection).socket.closed, "the server-side close");
    assert.deepEqual([info.code, info.wasClean, info.initiator], [1005, true, "remote"]);
  });

  test("--auth sends Basic credentials and --origin the Origin header; so do URL credentials", async (t) => {
    const { server, url } = await startRecordingEcho(t);
    const connection = nextConnection(server);
    const result = await runCli(t, [
      "connect",
      url(),
      "--auth",
      "zoë:s3cr:et",
      "--origin",
      "https://app.example.test",
      "-x",
      "hi",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const { request } = await connection;
    assert.equal(
      request.headers.authorization,
      `Basic ${Buffer.from("zoë:s3cr:et").toString("base64")}`,
    );
    assert.equal(request.headers.origin, "https://app.example.test");
    // Credentials in the URL become the same header (the client's own rule; --auth wins).
    const second = nextConnection(server);
    const inUrl = url().replace("ws://", "ws://ann:pw@");
    const result2 = await runCli(t, ["connect", inUrl, "-x", "hi"]);
    assert.equal(result2.code, 0, result2.stderr);
    assert.equal(
      (await second).request.headers.authorization,
      `Basic ${Buffer.from("ann:pw").toString("base64")}`,
    );
  });

  test("bad values are usage errors (exit 2) before any connection", async (t) => {
    const cases = [
      ["--auth", "nopassword"],
      ["--input", "hex", "-x", "0g"],
      ["--input", "base64", "-x", "!!"],
      ["--input", "octal"],
      ["--binary-output", "utf8"],
      ["--max-message", "0"],
      ["--ping-interval", "0"],
      ["--ping-interval", "-1"],
    ];
    const results = await Promise.all(
      cases.map((args) => runCli(t, ["connect", "ws://127.0.0.1:9/", ...args])),
    );
    results.forEach((result, i) => {
      const args = cases[i]!.join(" ");
      assert.equal(result.code, 2, `${args}: ${result.stderr}`);
      assert.match(result.stderr, /^sockwise: /, args);
    });
  });
});

describe("binary input and output", () => {
  test("--input hex sends binary messages; --binary-output base64 prints them whole", async (t) => {
    const { url, received } = await startRecordingEcho(t);
    const big = Buffer.alloc(100, 0xab);
    const result = await runCli(
      t,
      ["connect", url(), "--input", "hex", "--binary-output", "base64"],
      {
        input: `01 02 ff\nzz\n${big.toString("hex")}\n`,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(received, [Uint8Array.of(1, 2, 255), new Uint8Array(big)]);
    assert.equal(
      result.stdout,
      `< [binary 3 B] AQL/\n< [binary 100 B] ${big.toString("base64")}\n`,
    );
    assert.match(result.stderr, /^error: not hex: "zz" \(not sent\)$/m);
  });

  test("--input base64 with -x; --binary-output hex --quiet prints packed hex only", async (t) => {
    const { url, received } = await startRecordingEcho(t);
    const result = await runCli(t, [
      "connect",
      url(),
      "--input",
      "base64",
      "-x",
      "AQL/",
      "-x",
      "3q2-7w", // URL-safe alphabet
      "--binary-output",
      "hex",
      "--quiet",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(received, [Uint8Array.of(1, 2, 255), Uint8Array.of(0xde, 0xad, 0xbe, 0xef)]);
    assert.equal(result.stdout, "0102ff\ndeadbeef\n");
  });

  test("--json carries binary data in the --binary-output encoding", async (t) => {
    const { url } = await startRecordingEcho(t);
    const result = await runCli(t, [
      "connect",
      url(),
      "--json",
      "--input",
      "hex",
      "--binary-output",
      "base64",
      "-x",
      "cafe",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      events.filter((e) => e["event"] === "sent" || e["event"] === "message"),
      [
        { event: "sent", type: "binary", data: "yv4=" },
        { event: "message", type: "binary", data: "yv4=" },
      ],
    );
  });
});

test("--max-message: a larger message fails the connection with 1009 at the server, exit 1", async (t) => {
  const { server, url } = await startServer(t);
  const connection = nextConnection(server);
  server.on("connection", (socket) => socket.send("0123456789"));
  const cli = startCli(t, ["connect", url(), "--max-message", "4"]);
  const result = await cli.finish();
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /closed: code=1006 reason="" clean=false cause=".*ERR_WS_MESSAGE_TOO_BIG/,
  );
  const info = await withTimeout((await connection).socket.closed, "the server-side close");
  assert.equal(info.code, 1009);
});

test("--show-ping-pong prints the server's Pings; --ping-interval pings and prints each RTT", async (t) => {
  const { server, url } = await startServer(t);
  const pings: string[] = [];
  let socket: ServerWebSocket | undefined;
  server.on("connection", (s) => {
    socket = s;
    s.addEventListener("ping", (event: MessageEvent) =>
      pings.push(new TextDecoder().decode(event.data as Uint8Array)),
    );
    s.ping("heartbeat \x1b");
    s.onmessage = (event: MessageEvent) => s.send(event.data as string);
  });
  const other = await startRecordingEcho(t);
  const [result, quiet] = await Promise.all([
    runCli(t, [
      "connect",
      url(),
      "--show-ping-pong",
      "--ping-interval",
      "0.03",
      "--wait",
      "5",
      "-x",
      "x",
    ]),
    // Without --show-ping-pong, the same run prints nothing about them.
    runCli(t, ["connect", other.url(), "--ping-interval", "0.03", "-x", "x"]),
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(socket !== undefined);
  assert.match(result.stderr, /^< ping "heartbeat \\u001b"$/m);
  // The settle time (200 ms) leaves room for several 30 ms pings, each answered.
  assert.ok(pings.length >= 2, `the server saw ${pings.length} pings`);
  assert.deepEqual(pings.slice(0, 2), ["1", "2"]);
  assert.match(result.stderr, /^> ping "1"\n(?:.*\n)*?< pong "1" after \d+\.\d ms$/m);
  assert.doesNotMatch(result.stderr, /no pong/);

  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /ping|pong/);
});

test("--timestamps prefixes every line; with --json, a time field", async (t) => {
  const { url } = await startRecordingEcho(t);
  const result = await runCli(t, ["connect", url(), "--timestamps", "-x", "t"]);
  assert.equal(result.code, 0, result.stderr);
  const time = /^\d\d:\d\d:\d\d\.\d{3} /;
  for (const line of [...result.stdout.trim().split("\n"), ...result.stderr.trim().split("\n")])
    assert.match(line, time);
  assert.match(result.stdout, /^\d\d:\d\d:\d\d\.\d{3} < t\n$/);
  const json = await runCli(t, ["connect", url(), "--timestamps", "--json", "-x", "t"]);
  for (const line of json.stdout.trim().split("\n")) {
    const event = JSON.parse(line) as { time: string };
    assert.ok(!Number.isNaN(Date.parse(event.time)), line);
  }
});

test("colours: none on a pipe or with NO_COLOR; FORCE_COLOR or --color forces them; --no-color wins", async (t) => {
  const { url } = await startRecordingEcho(t);
  const args = ["connect", url(), "-x", "c"];
  const [plain, forced, flag, off] = await Promise.all([
    runCli(t, args, { env: { NO_COLOR: "" } }),
    runCli(t, args, { env: { NO_COLOR: "", FORCE_COLOR: "1" } }),
    runCli(t, [...args, "--color"]),
    runCli(t, [...args, "--no-color"], { env: { FORCE_COLOR: "1" } }),
  ]);
  assert.doesNotMatch(plain.stdout + plain.stderr, /\x1b/, "a pipe gets no colours");
  assert.equal(forced.stdout, "\x1b[32m<\x1b[0m c\n");
  assert.match(forced.stderr, /\x1b\[32mclosed: code=1005 reason="" clean=true\x1b\[0m/);
  assert.match(flag.stdout, /\x1b\[32m/);
  assert.doesNotMatch(off.stdout + off.stderr, /\x1b/);
});
