/**
 * `sockwise serve` as a child process: the startup lines, the playground page, echo and
 * `--no-echo`, the per-connection open/close log, the `/server-close` convention, and the
 * graceful 1001 shutdown on SIGTERM with the counts it reports.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test, type TestContext } from "node:test";
import { WebSocket, type CloseEvent } from "../../src/index.js";
import { RAW_CONTROL, startCli, type CliProcess } from "../helpers/cli-process.js";
import { withTimeout } from "../helpers/server-harness.js";

/** Starts `sockwise serve --port 0 ...args` and waits for its URLs. */
async function startServe(
  t: TestContext,
  args: readonly string[] = [],
): Promise<{ cli: CliProcess; url: string; playgroundUrl: string }> {
  const cli = startCli(t, ["serve", "--port", "0", ...args]);
  const [, url = ""] = await cli.waitFor(
    /^sockwise serve: WebSocket (?:echo|broadcast|log) server on (wss?:\/\/127\.0\.0\.1:\d+\/\S*)$/m,
  );
  const [, playgroundUrl = ""] = await cli.waitFor(/^playground: (http:\/\/127\.0\.0\.1:\d+\/)$/m);
  return { cli, url, playgroundUrl };
}

/** A connected client that records messages and its close event. */
interface Client {
  readonly socket: WebSocket;
  readonly messages: unknown[];
  readonly closed: Promise<CloseEvent>;
  nextMessage(): Promise<unknown>;
}

async function connect(t: TestContext, url: string): Promise<Client> {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const messages: unknown[] = [];
  let wake: (() => void) | undefined;
  socket.onmessage = (event: MessageEvent) => {
    messages.push(event.data);
    wake?.();
  };
  const closed = new Promise<CloseEvent>((resolve) => {
    socket.onclose = (event: CloseEvent) => resolve(event);
  });
  t.after(() => socket.close());
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    }),
    "the client to open",
  );
  let taken = 0;
  return {
    socket,
    messages,
    closed,
    nextMessage: () =>
      withTimeout(
        new Promise((resolve) => {
          const check = (): void => {
            if (messages.length > taken) resolve(messages[taken++]);
            else wake = check;
          };
          check();
        }),
        "a message from the server",
      ),
  };
}

const CLOSE_LINE =
  /\[#(\d+)\] close code=(\d+) reason="([^"]*)" clean=(true|false) initiator=(local|remote|failure) duration=(\d+\.\d\d)s in=(\d+) out=(\d+)/;

test("serve prints its URLs, serves the playground at / and 404 elsewhere", async (t) => {
  const { playgroundUrl } = await startServe(t);
  const page = await withTimeout(fetch(playgroundUrl), "GET /");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(await page.text(), /<title>sockwise playground<\/title>/);
  const missing = await withTimeout(fetch(new URL("/nope", playgroundUrl)), "GET /nope");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

test("serve echoes text and binary, and logs open and close with counts", async (t) => {
  const { cli, url } = await startServe(t);
  const client = await connect(t, url);
  const [, openId] = await cli.waitFor(/\[#(\d+)\] open 127\.0\.0\.1:\d+ path=\/ protocol=""/);
  client.socket.send("héllo");
  assert.equal(await client.nextMessage(), "héllo");
  client.socket.send(Uint8Array.of(0, 1, 255));
  assert.deepEqual(
    new Uint8Array((await client.nextMessage()) as ArrayBuffer),
    Uint8Array.of(0, 1, 255),
  );
  client.socket.close(4000, "bye");
  const event = await withTimeout(client.closed, "the client's close event");
  assert.deepEqual([event.code, event.reason, event.wasClean], [4000, "bye", true]);
  const match = await cli.waitFor(CLOSE_LINE);
  assert.deepEqual(match.slice(1, 6), [openId, "4000", "bye", "true", "remote"]);
  assert.deepEqual(match.slice(7, 9), ["2", "2"]);
});

test("serve --no-echo logs messages in but sends nothing back", async (t) => {
  const { cli, url } = await startServe(t, ["--no-echo"]);
  const client = await connect(t, url);
  client.socket.send("one");
  client.socket.send("two");
  // The /server-close round trip proves both messages were processed before we look.
  client.socket.send("/server-close 4002 done");
  const event = await withTimeout(client.closed, "the client's close event");
  assert.deepEqual([event.code, event.reason, event.wasClean], [4002, "done", true]);
  assert.deepEqual(client.messages, []);
  const match = await cli.waitFor(CLOSE_LINE);
  assert.deepEqual(match.slice(2, 6), ["4002", "done", "true", "local"]);
  assert.deepEqual(match.slice(7, 9), ["3", "0"]);
});

test("/server-close with an invalid code answers with the error instead of closing", async (t) => {
  const { url } = await startServe(t);
  const client = await connect(t, url);
  client.socket.send("/server-close 1005 nope");
  assert.match(String(await client.nextMessage()), /^error: .*1005/);
  client.socket.send("still open");
  assert.equal(await client.nextMessage(), "still open");
});

test("serve logs peer-controlled text escaped", async (t) => {
  const { cli, url } = await startServe(t);
  const client = await connect(t, url);
  client.socket.close(4000, "a\x1b[31mb\x07");
  await withTimeout(client.closed, "the client's close event");
  const match = await cli.waitFor(CLOSE_LINE);
  assert.equal(match[3], "a\\u001b[31mb\\u0007");
  assert.doesNotMatch(cli.stdout, RAW_CONTROL);
});

test("SIGTERM closes open connections with 1001, reports the counts and exits 0", async (t) => {
  const { cli, url } = await startServe(t);
  const clients = [await connect(t, url), await connect(t, url)];
  await cli.waitFor(/\[#2\] open/);
  cli.child.kill("SIGTERM");
  for (const client of clients) {
    const event = await withTimeout(client.closed, "a client's close event");
    assert.deepEqual(
      [event.code, event.reason, event.wasClean],
      [1001, "server shutting down", true],
    );
  }
  const result = await cli.finish();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^shutting down \(1001\)…$/m);
  assert.match(result.stdout, /^shutdown: 2 closed cleanly, 0 forced$/m);
  const closes = [...result.stdout.matchAll(new RegExp(CLOSE_LINE, "g"))];
  assert.equal(closes.length, 2);
  for (const close of closes) {
    assert.deepEqual(close.slice(2, 6), ["1001", "server shutting down", "true", "local"]);
  }
});

test("SIGINT with no connections exits 0 at once", async (t) => {
  const { cli } = await startServe(t);
  cli.child.kill("SIGINT");
  const result = await cli.finish();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^shutdown: 0 closed cleanly, 0 forced$/m);
});

test("serve --path serves WebSocket only on that path", async (t) => {
  const { url } = await startServe(t, ["--path", "/ws"]);
  assert.match(url, /\/ws$/);
  const client = await connect(t, url);
  client.socket.send("on /ws");
  assert.equal(await client.nextMessage(), "on /ws");
});

test("serve --quiet logs no connections", async (t) => {
  const { cli, url } = await startServe(t, ["--quiet"]);
  const client = await connect(t, url);
  client.socket.close();
  await withTimeout(client.closed, "the client's close event");
  cli.child.kill("SIGTERM");
  const result = await cli.finish();
  assert.equal(result.code, 0);
  assert.doesNotMatch(result.stdout, /\] (open|close) /);
});

test("serve on a port in use exits 1 with 'cannot listen'", async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  t.after(() => blocker.close());
  const { port } = blocker.address() as { port: number };
  const cli = startCli(t, ["serve", "--port", String(port)]);
  const result = await cli.finish();
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot listen: .*EADDRINUSE/);
});
