/**
 * `sockwise connect` as a child process in pipe mode (stdin is not a terminal) against an
 * in-process sockwise server: lines sent, replies printed, `--json`, `--quiet`, the options the
 * server sees (`-p`, `-H`, `--close-code`, `--close-reason`), exit codes with their causes, and
 * peer data printed escaped, never raw.
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { describe, test } from "node:test";
import { RAW_CONTROL, runCli, startCli } from "../helpers/cli-process.js";
import {
  nextConnection,
  startServer,
  withTimeout,
  type TestServer,
} from "../helpers/server-harness.js";

/** Starts an echo server (text and binary). */
async function startEchoServer(t: import("node:test").TestContext): Promise<TestServer> {
  const running = await startServer(t, { protocols: ["chat"] });
  running.server.on("connection", (socket) => {
    socket.onmessage = (event: MessageEvent) => socket.send(event.data as string | ArrayBuffer);
  });
  return running;
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Parses `--json` output: every line must be one JSON object. */
function parseJsonLines(stdout: string): Record<string, unknown>[] {
  const lines = stdout.split("\n").filter((line) => line !== "");
  return lines.map((line) => {
    const value: unknown = JSON.parse(line);
    assert.equal(typeof value, "object", `not an object: ${line}`);
    return value as Record<string, unknown>;
  });
}

describe("pipe mode", () => {
  test("sends each line, prints each reply, closes cleanly and exits 0", async (t) => {
    const { server, url } = await startEchoServer(t);
    const connection = nextConnection(server);
    const result = await runCli(t, ["connect", url()], { input: "hello\nwörld ✓\n\nlast" });
    assert.equal(result.code, 0, result.stderr);
    // An empty line is a message too (an empty text frame), so four replies.
    assert.equal(result.stdout, "< hello\n< wörld ✓\n< \n< last\n");
    assert.match(result.stderr, /^connected to ws:\/\/127\.0\.0\.1:\d+\/\n/);
    assert.match(result.stderr, /^> hello$/m);
    assert.match(result.stderr, /^closed: code=1005 reason="" clean=true\n$/m);
    const { socket } = await connection;
    const info = await withTimeout(socket.closed, "the server-side close");
    assert.equal(info.code, 1005);
    assert.equal(info.wasClean, true);
    assert.equal(info.initiator, "remote");
  });

  test("with empty input it connects, closes at once and exits 0", async (t) => {
    const { url } = await startEchoServer(t);
    const started = performance.now();
    const result = await runCli(t, ["connect", url()]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /closed: code=1005 reason="" clean=true/);
    assert.ok(performance.now() - started < 1900, "it must not wait --wait's 2 s for no replies");
  });

  test("--wait bounds the wait for replies that never come", async (t) => {
    const { url } = await startServer(t); // accepts, never answers
    const started = performance.now();
    const result = await runCli(t, ["connect", "--wait", "0.3", url()], { input: "anyone?\n" });
    const elapsed = performance.now() - started;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.ok(elapsed >= 300, `closed after ${elapsed.toFixed(0)} ms, before --wait`);
    assert.ok(elapsed < 1900, `closed after ${elapsed.toFixed(0)} ms, not after --wait 0.3`);
  });

  test("--wait starts once the connection is open, so a slow handshake is not cut short", async (t) => {
    const { server, url } = await startServer(t, {
      authenticate: () => new Promise((resolve) => setTimeout(() => resolve(true), 600)),
    });
    server.on("connection", (socket) => {
      socket.onmessage = (event: MessageEvent) => socket.send(event.data as string);
    });
    const result = await runCli(t, ["connect", "--wait", "0.2", url()], { input: "late\n" });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "< late\n");
  });

  test("--quiet prints only the replies (no '< ' mark) and the close line", async (t) => {
    const { url } = await startEchoServer(t);
    const result = await runCli(t, ["connect", "--quiet", url()], { input: "a\nb\n" });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "a\nb\n");
    assert.equal(result.stderr, 'closed: code=1005 reason="" clean=true\n');
  });

  test("binary replies are printed as hex", async (t) => {
    const { server, url } = await startServer(t);
    server.on("connection", (socket) => {
      socket.onmessage = () => socket.send(Uint8Array.of(0x01, 0x02, 0xff));
    });
    const result = await runCli(t, ["connect", url()], { input: "give me bytes\n" });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "< [binary 3 B] 01 02 ff\n");
  });
});

describe("--json", () => {
  test("prints one parseable JSON object per event, in order", async (t) => {
    const { server, url } = await startEchoServer(t);
    server.on("connection", (socket) => socket.send(Uint8Array.of(0xca, 0xfe)));
    const result = await runCli(t, ["connect", "--json", "-p", "chat", url()], {
      input: "one\ntwo\n",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "", "--json writes nothing else");
    const events = parseJsonLines(result.stdout);
    assert.deepEqual(events[0], {
      event: "open",
      url: url(),
      protocol: "chat",
      extensions: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    });
    assert.deepEqual(
      events.slice(1, -1).filter((event) => event["event"] === "message"),
      [
        { event: "message", type: "binary", data: "cafe" },
        { event: "message", type: "text", data: "one" },
        { event: "message", type: "text", data: "two" },
      ],
    );
    assert.deepEqual(
      events.filter((event) => event["event"] === "sent"),
      [
        { event: "sent", type: "text", data: "one" },
        { event: "sent", type: "text", data: "two" },
      ],
    );
    assert.deepEqual(events.at(-1), { event: "close", code: 1005, reason: "", wasClean: true });
  });

  test("a refused connection is an error event then a close event with the cause", async (t) => {
    const port = await closedPort();
    const result = await runCli(t, ["connect", "--json", `ws://127.0.0.1:${port}/`]);
    assert.equal(result.code, 1);
    const events = parseJsonLines(result.stdout);
    assert.deepEqual(
      events.map((event) => event["event"]),
      ["error", "close"],
    );
    const close = events[1]!;
    assert.equal(close["code"], 1006);
    assert.equal(close["wasClean"], false);
    assert.match(String(close["cause"]), /^connection refused/);
  });
});

describe("what the server sees", () => {
  test("--close-code and --close-reason arrive exactly", async (t) => {
    const { server, url } = await startEchoServer(t);
    const connection = nextConnection(server);
    const reason = "fini ✓ — au revoir";
    const result = await runCli(
      t,
      ["connect", "--close-code", "4321", "--close-reason", reason, url()],
      { input: "x\n" },
    );
    assert.equal(result.code, 0, result.stderr);
    const info = await withTimeout((await connection).socket.closed, "the server-side close");
    assert.equal(info.code, 4321);
    assert.equal(info.reason, reason);
    assert.equal(info.wasClean, true);
    assert.equal(info.initiator, "remote");
    // The server echoes the Close, so the client reports the same code and reason.
    assert.match(result.stderr, new RegExp(`closed: code=4321 reason="${reason}" clean=true`));
  });

  test("--close-reason without a code sends 1000 and the reason", async (t) => {
    const { server, url } = await startEchoServer(t);
    const connection = nextConnection(server);
    const result = await runCli(t, ["connect", "--close-reason", "done", url()]);
    assert.equal(result.code, 0, result.stderr);
    const info = await withTimeout((await connection).socket.closed, "the server-side close");
    assert.deepEqual([info.code, info.reason], [1000, "done"]);
  });

  test("-p offers subprotocols in order and -H adds request headers", async (t) => {
    const offers: string[][] = [];
    const { server, url } = await startServer(t, {
      handleProtocols: (protocols) => {
        offers.push([...protocols]);
        return protocols[1];
      },
    });
    const connection = nextConnection(server);
    const result = await runCli(
      t,
      [
        ...["connect", "-p", "v1.chat", "--protocol", "v2.chat"],
        ...["-H", "X-Token: s3cret value", "--header", "X-Trace:abc", url("/room?x=1")],
      ],
      { input: "" },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(offers, [["v1.chat", "v2.chat"]]);
    const { socket, request } = await connection;
    assert.equal(socket.protocol, "v2.chat");
    assert.equal(request.url, "/room?x=1");
    assert.equal(request.headers["x-token"], "s3cret value");
    assert.equal(request.headers["x-trace"], "abc");
    assert.match(
      result.stderr,
      /connected to ws:\/\/127\.0\.0\.1:\d+\/room\?x=1 \(protocol v2\.chat\)/,
    );
  });
});

describe("exit codes", () => {
  test("a refused connection exits 1 with the cause 'connection refused'", async (t) => {
    const port = await closedPort();
    const result = await runCli(t, ["connect", `ws://127.0.0.1:${port}/`]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^closed: code=1006 reason="" clean=false cause="connection refused \(ERR_WS_[A-Z_]+\)"\n$/m,
    );
  });

  test("a 403 handshake refusal exits 1 with the cause 'HTTP 403'", async (t) => {
    const { url } = await startServer(t, { authenticate: () => ({ status: 403 }) });
    const result = await runCli(t, ["connect", url()]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /closed: code=1006 reason="" clean=false cause="HTTP 403[^"]*"/);
    assert.doesNotMatch(result.stderr, /connected to/);
  });

  test("a server dropping TCP after open exits 1 (1006, unclean)", async (t) => {
    const { server, url } = await startServer(t);
    server.on("connection", (socket) => {
      socket.onmessage = () => socket.destroy();
    });
    const result = await runCli(t, ["connect", url()], { input: "bye?\n" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /closed: code=1006 reason="" clean=false( cause="[^"]+")?\n$/);
  });

  test("a plain TCP server that hangs up during the handshake exits 1", async (t) => {
    const sockets = new Set<Socket>();
    const tcp = createServer((socket) => {
      sockets.add(socket);
      socket.once("data", () => socket.destroy());
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      tcp.close();
    });
    const { port } = tcp.address() as { port: number };
    const result = await runCli(t, ["connect", `ws://127.0.0.1:${port}/`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /closed: code=1006 reason="" clean=false cause="[^"]+"/);
  });

  const usageErrors: [string, string[], RegExp][] = [
    ["no URL", ["connect"], /connect takes exactly one URL/],
    ["two URLs", ["connect", "ws://a/", "ws://b/"], /connect takes exactly one URL/],
    ["an unknown option", ["connect", "--bogus", "ws://127.0.0.1:1/"], /bogus/],
    ["an unknown command", ["frobnicate"], /unknown command "frobnicate"/],
    ["a non-numeric --close-code", ["connect", "--close-code", "x", "ws://h/"], /--close-code/],
    ["a malformed -H", ["connect", "-H", "no-colon", "ws://h/"], /Name: value/],
    ["a -H the handshake owns", ["connect", "-H", "Upgrade: h2c", "ws://h/"], /Upgrade/i],
    ["an invalid URL", ["connect", "not a url"], /SyntaxError|Invalid URL|invalid/i],
    ["an http-less scheme", ["connect", "ftp://127.0.0.1/"], /scheme|ftp/i],
    [
      "--close-code 1001 (not sendable by a client)",
      ["connect", "--close-code", "1001", "ws://h/"],
      /1001/,
    ],
    ["--close-code 5000", ["connect", "--close-code", "5000", "ws://h/"], /5000/],
    [
      "a --close-reason over 123 bytes",
      ["connect", "--close-reason", "é".repeat(62), "ws://h/"],
      /123/,
    ],
    ["a negative --wait", ["connect", "--wait=-1", "ws://h/"], /--wait must be/],
    [
      "a --wait beyond setTimeout's range",
      ["connect", "--wait", "1e7", "ws://h/"],
      /--wait must be/,
    ],
    ["an empty --close-code", ["connect", "--close-code=", "ws://h/"], /--close-code must be/],
    ["a fractional --close-code", ["connect", "--close-code", "4000.5", "ws://h/"], /integer/],
    ["serve with a bad --port", ["serve", "--port", "http"], /--port/],
    ["serve with --port 70000", ["serve", "--port", "70000"], /--port must be/],
    ["serve --path without a slash", ["serve", "--path", "ws"], /--path/],
  ];
  for (const [name, args, message] of usageErrors) {
    test(`bad usage exits 2: ${name}`, async (t) => {
      const result = await runCli(t, args);
      assert.equal(result.code, 2, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, "");
    });
  }

  test("--help exits 0 with the usage on stdout; no arguments exits 2", async (t) => {
    const help = await runCli(t, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage:\n {2}sockwise connect <url>/);
    const none = await runCli(t, []);
    assert.equal(none.code, 2);
    assert.match(none.stdout, /^usage:/);
  });

  test("--version prints the package version", async (t) => {
    const result = await runCli(t, ["--version"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\S*\n$/);
  });
});

describe("peer data is escaped, never printed raw", () => {
  const NASTY = "\x1b[31mred\x07 \x9b2J \u202egnp.exe \\ end";
  const NASTY_REASON = "bye\x1b]0;pwned\x07\r\n";

  async function startNastyServer(t: import("node:test").TestContext): Promise<TestServer> {
    const running = await startServer(t);
    running.server.on("connection", (socket) => {
      socket.onmessage = () => {
        socket.send(NASTY);
        socket.close(4001, NASTY_REASON);
      };
    });
    return running;
  }

  test("in text output", async (t) => {
    const { url } = await startNastyServer(t);
    const result = await runCli(t, ["connect", url()], { input: "go\n" });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, RAW_CONTROL);
    assert.doesNotMatch(result.stderr, RAW_CONTROL);
    assert.equal(result.stdout, "< \\u001b[31mred\\u0007 \\u009b2J \\u202egnp.exe \\\\ end\n");
    assert.match(
      result.stderr,
      /closed: code=4001 reason="bye\\u001b\]0;pwned\\u0007\\r\\n" clean=true\n$/,
    );
  });

  test("in --quiet output", async (t) => {
    const { url } = await startNastyServer(t);
    const result = await runCli(t, ["connect", "--quiet", url()], { input: "go\n" });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, RAW_CONTROL);
  });

  test("in --json output, which still round-trips exactly", async (t) => {
    const { url } = await startNastyServer(t);
    const result = await runCli(t, ["connect", "--json", url()], { input: "go\n" });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, RAW_CONTROL);
    const events = parseJsonLines(result.stdout);
    assert.deepEqual(
      events.find((event) => event["event"] === "message"),
      { event: "message", type: "text", data: NASTY },
    );
    assert.deepEqual(events.at(-1), {
      event: "close",
      code: 4001,
      reason: NASTY_REASON,
      wasClean: true,
    });
  });

  test("a line the user sends is echoed escaped on stderr", async (t) => {
    const { url } = await startServer(t);
    const cli = startCli(t, ["connect", "--wait", "0.2", url()], { input: "a\x1b[2Jb\n" });
    const result = await cli.finish();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^> a\\u001b\[2Jb$/m);
    assert.doesNotMatch(result.stderr, RAW_CONTROL);
  });
});
