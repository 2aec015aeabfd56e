/**
 * The `sockwise serve` flags of issue #18: `--mode broadcast|log`, the topic commands the
 * playground's chat panel uses, `/server-drop`, `--static <dir>` (and every way out of it that
 * must fail), `--tls --cert --key`, and the usage errors. The modes and files run in-process
 * through `runServe`; one child process checks the argv parsing end to end over TLS.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { WebSocket, type CloseEvent } from "../../src/index.js";
import { runServe, type RunningServe, type ServeOptions } from "../../src/cli/serve.js";
import { resolveStaticPath } from "../../src/cli/static-files.js";
import { runCli, startCli } from "../helpers/cli-process.js";
import { startRedis } from "../helpers/redis-server.js";
import { generateSelfSignedCert, opensslMissingReason } from "../helpers/self-signed-cert.js";
import { waitUntil, withTimeout } from "../helpers/server-harness.js";

async function serve(
  t: TestContext,
  options: Partial<ServeOptions> = {},
): Promise<{ running: RunningServe; log: string[] }> {
  const log: string[] = [];
  const running = await runServe(
    { port: 0, host: "127.0.0.1", path: "/", quiet: false, ...options },
    (line) => log.push(line),
  );
  t.after(() => running.stop());
  return { running, log };
}

interface Client {
  readonly socket: WebSocket;
  readonly messages: unknown[];
  readonly closed: Promise<CloseEvent>;
  /** Resolves once `count` messages have arrived. */
  received(count: number): Promise<unknown[]>;
}

async function open(t: TestContext, url: string, options: { ca?: Buffer } = {}): Promise<Client> {
  const socket = new WebSocket(url, options);
  socket.binaryType = "arraybuffer";
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  socket.onmessage = (event: MessageEvent) => {
    messages.push(event.data);
    for (const wake of waiters.splice(0)) wake();
  };
  const closed = new Promise<CloseEvent>((resolve) => (socket.onclose = resolve));
  t.after(() => socket.close());
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    }),
    "the client to open",
  );
  return {
    socket,
    messages,
    closed,
    received: (count) =>
      withTimeout(
        new Promise((resolve) => {
          const check = (): void => {
            if (messages.length >= count) resolve(messages.slice(0, count));
            else waiters.push(check);
          };
          check();
        }),
        `${count} messages`,
      ),
  };
}

function get(url: string): Promise<{ status: number; body: string; type: string | undefined }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = httpRequest(url, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            body,
            type: response.headers["content-type"],
          }),
        );
      });
      req.on("error", reject);
      req.end();
    }),
    `GET ${url}`,
  );
}

describe("--mode", () => {
  test("broadcast: every message goes to every client, the sender included (a topic)", async (t) => {
    const { running } = await serve(t, { mode: "broadcast" });
    const [a, b] = await Promise.all([open(t, running.url), open(t, running.url)]);
    a.socket.send("from a");
    b.socket.send(Uint8Array.of(1, 2));
    const [ma, mb] = await Promise.all([a.received(2), b.received(2)]);
    for (const messages of [ma, mb]) {
      const texts = messages.map((m) =>
        typeof m === "string" ? m : Array.from(new Uint8Array(m as ArrayBuffer)).join(","),
      );
      assert.deepEqual(texts.sort(), ["1,2", "from a"]);
    }
  });

  test("log: nothing is sent back; each message is logged, escaped", async (t) => {
    const { running, log } = await serve(t, { mode: "log" });
    const client = await open(t, running.url);
    client.socket.send("hi \x1b[31m");
    client.socket.send(new Uint8Array(5));
    client.socket.send("/server-close 4000 done");
    const event = await withTimeout(client.closed, "the close");
    assert.equal(event.code, 4000);
    assert.deepEqual(client.messages, []);
    assert.ok(
      log.some((line) => /\[#1\] message "hi \\u001b\[31m"$/.test(line)),
      log.join("\n"),
    );
    assert.ok(
      log.some((line) => /\[#1\] message \[binary 5 B\]$/.test(line)),
      log.join("\n"),
    );
  });

  test("topics: /subscribe, /publish reach only subscribers; /unsubscribe and bad names", async (t) => {
    const { running } = await serve(t, { mode: "broadcast" });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => open(t, running.url)));
    a!.socket.send("/subscribe room");
    b!.socket.send("/subscribe room");
    c!.socket.send("/subscribe other");
    // Commands on one connection run in order; a's publish comes after b's subscribe once b
    // has seen its own echo-free round trip, so wait for a ping-like round trip via /publish.
    b!.socket.send("/publish room ready-b");
    await b!.received(1);
    a!.socket.send("/publish room hello room");
    await Promise.all([a!.received(2), b!.received(2)]);
    assert.deepEqual(b!.messages, ["ready-b", "hello room"]);
    assert.deepEqual(a!.messages, ["ready-b", "hello room"]);
    b!.socket.send("/unsubscribe room");
    b!.socket.send("/publish room after");
    a!.socket.send("/subscribe " + "x".repeat(257)); // over maxTopicLength (256)
    await a!.received(4);
    const [first, second] = a!.messages.slice(2) as string[];
    const [error, after] = first!.startsWith("error: ") ? [first, second] : [second, first];
    assert.equal(after, "after");
    assert.match(error!, /^error: .*topic/i);
    assert.deepEqual(b!.messages, ["ready-b", "hello room"]);
    assert.deepEqual(c!.messages, []);
  });

  test("/server-drop resets TCP: the client sees 1006, unclean", async (t) => {
    const { running, log } = await serve(t);
    const client = await open(t, running.url);
    client.socket.send("/server-drop");
    const event = await withTimeout(client.closed, "the close");
    assert.deepEqual([event.code, event.wasClean], [1006, false]);
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (log.some((line) => / close code=1006 .*clean=false/.test(line))) resolve();
          else setTimeout(check, 10);
        };
        check();
      }),
      "the server's close line",
    );
  });
});

describe("--static", () => {
  test("serves files under the directory, and nothing outside it", async (t) => {
    const base = mkdtempSync(join(tmpdir(), "sockwise-static-"));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    const root = join(base, "www");
    mkdirSync(join(root, "sub"), { recursive: true });
    writeFileSync(join(root, "app.js"), "console.log(1)");
    writeFileSync(join(root, "sub", "index.html"), "<p>sub</p>");
    writeFileSync(join(root, ".env"), "SECRET=1");
    writeFileSync(join(base, "secret.txt"), "outside");
    symlinkSync(join(base, "secret.txt"), join(root, "link-out.txt"));
    symlinkSync(join(root, "app.js"), join(root, "link-in.js"));
    const { running } = await serve(t, { staticDir: root });
    const origin = running.playgroundUrl.slice(0, -1);

    const app = await get(`${origin}/app.js`);
    assert.deepEqual(
      [app.status, app.body, app.type],
      [200, "console.log(1)", "text/javascript; charset=utf-8"],
    );
    assert.equal((await get(`${origin}/sub/`)).body, "<p>sub</p>");
    assert.equal((await get(`${origin}/link-in.js`)).status, 200);
    const page = await get(`${origin}/`);
    assert.match(page.body, /sockwise playground/, "the playground stays at /");
    for (const path of [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/sub/..%2f..%2fsecret.txt",
      "/..%5csecret.txt",
      "/link-out.txt",
      "/.env",
      "/%2eenv",
      "/app.js%00.png",
      "/%E0%A4%A",
      "/missing.js",
    ]) {
      const answer = await get(`${origin}${path}`);
      assert.equal(answer.status, 404, path);
      assert.doesNotMatch(answer.body, /outside|SECRET/, path);
    }
    // The resolver on its own, for paths an HTTP client would normalise before sending.
    for (const path of ["/../secret.txt", "/sub/../../secret.txt", "../secret.txt"])
      assert.equal(resolveStaticPath(root, path), undefined, path);
  });
});

const opensslMissing = opensslMissingReason();

test(
  "the CLI end to end: --tls --cert --key --mode broadcast --static (wss:// and https://)",
  { skip: opensslMissing ?? false },
  async (t) => {
    const { certPath, keyPath, cert } = generateSelfSignedCert(t);
    const dir = mkdtempSync(join(tmpdir(), "sockwise-static-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "hello.txt"), "hello over TLS");
    const cli = startCli(t, [
      "serve",
      "--port",
      "0",
      "--mode",
      "broadcast",
      "--tls",
      "--cert",
      certPath,
      "--key",
      keyPath,
      "--static",
      dir,
    ]);
    const [, url = ""] = await cli.waitFor(
      /^sockwise serve: WebSocket broadcast server on (wss:\/\/127\.0\.0\.1:\d+\/)$/m,
    );
    const [, pageUrl = ""] = await cli.waitFor(/^playground: (https:\/\/127\.0\.0\.1:\d+\/)$/m);
    const [a, b] = await Promise.all([open(t, url, { ca: cert }), open(t, url, { ca: cert })]);
    a.socket.send("over tls");
    assert.deepEqual(await b.received(1), ["over tls"]);
    const { request } = await import("node:https");
    const body = await withTimeout(
      new Promise<string>((resolve, reject) => {
        request(`${pageUrl}hello.txt`, { ca: cert }, (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => (text += chunk.toString()));
          response.on("end", () => resolve(text));
        })
          .on("error", reject)
          .end();
      }),
      "the static file over https",
    );
    assert.equal(body, "hello over TLS");
    a.socket.close();
    b.socket.close();
    await Promise.all([a.closed, b.closed]);
    cli.child.kill("SIGTERM");
    assert.equal((await cli.finish()).code, 0);
  },
);

test("serve usage errors exit 2", async (t) => {
  const cases = [
    ["--mode", "chat"],
    ["--tls"],
    ["--tls", "--cert", "x.pem"],
    ["--cert", "x.pem", "--key", "y.pem"],
    ["--no-echo", "--mode", "echo"],
  ];
  const results = await Promise.all(
    cases.map((args) => runCli(t, ["serve", "--port", "0", ...args])),
  );
  results.forEach((result, i) =>
    assert.equal(result.code, 2, `${cases[i]!.join(" ")}: ${result.stderr}`),
  );
  const missing = await runCli(t, ["serve", "--port", "0", "--static", "/nonexistent/dir"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nonexistent/);
});

test("--workers 2 --redis --mode broadcast: one port, clients on both processes, a message reaches all (real redis-server), one graceful shutdown", async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const cli = startCli(t, [
    "serve",
    "--port",
    "0",
    "--workers",
    "2",
    "--redis",
    redis.url,
    "--mode",
    "broadcast",
  ]);
  const [, url = ""] = await cli.waitFor(
    /^sockwise serve: WebSocket broadcast server on (ws:\/\/127\.0\.0\.1:\d+\/) \(2 worker processes\)$/m,
    "stdout",
    5 * 3000,
  );
  await cli.waitFor(/ w1 redis up/);
  await cli.waitFor(/ w2 redis up/);
  // Open in turn until both workers have a client (the cluster hands them out round-robin).
  const clients: Awaited<ReturnType<typeof open>>[] = [];
  for (let i = 0; i < 4; i++) {
    clients.push(await open(t, url));
    await waitUntil(
      () => (cli.stdout.match(/ w\d \[#\d+\] open /g) ?? []).length >= i + 1,
      "the worker to log the open",
    );
  }
  assert.match(cli.stdout, / w1 \[#\d+\] open /);
  assert.match(cli.stdout, / w2 \[#\d+\] open /);
  clients[0]!.socket.send("to everyone");
  for (const client of clients) assert.deepEqual(await client.received(1), ["to everyone"]);
  for (const client of clients) client.socket.close();
  await Promise.all(clients.map((client) => client.closed));
  cli.child.kill("SIGTERM");
  const result = await cli.finish();
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^shutdown: all 2 workers stopped$/m);
});
