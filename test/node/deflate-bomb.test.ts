/**
 * Decompression bombs (SPEC.md N20, P7): 50 MB of zeros compressed into ~49 KB must fail the
 * connection with 1009 once the inflated size passes the limit (1 MiB here), without ever
 * allocating the inflated size. Each case runs in a fresh child process
 * (test/helpers/deflate-bomb-child.ts) that reports its peak RSS (`maxRSS`, a high-water mark)
 * before and after the bomb; a control case without a limit shows the measurement does see a
 * full inflation. Both roles, at the engine and over real sockets.
 */
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import type { BombReport } from "../helpers/deflate-bomb-child.js";
import { referenceDeflate } from "../helpers/deflate-harness.js";
import { OP, buildFrame } from "../helpers/frames.js";
import { RawClient } from "../helpers/raw-client.js";
import { RawPeer, accept, parseCloseFrame } from "../helpers/raw-peer.js";
import { WAIT_MS, withTimeout } from "../helpers/server-harness.js";

const CHILD = fileURLToPath(new URL("../helpers/deflate-bomb-child.js", import.meta.url));
const BOMB_BYTES = 50_000_000;
const LIMIT = 1 << 20;
/** Peak RSS may grow by at most this much (the limit is 1 MiB; the bomb is 50 MB). */
const MAX_GROWTH_KIB = 16 * 1024;

let dir: string;
let bombFile: string;
let bomb: Uint8Array;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "sockwise-bomb-"));
  bombFile = join(dir, "bomb.deflate");
  bomb = referenceDeflate(new Uint8Array(BOMB_BYTES));
  writeFileSync(bombFile, bomb);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Forks the child; `messages` yields what it sends, in order. */
function start(args: readonly string[]): {
  child: ChildProcess;
  next<T>(what: string): Promise<T>;
} {
  const child = fork(CHILD, [...args], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const queue: unknown[] = [];
  const waiters: ((message: unknown) => void)[] = [];
  child.on("message", (message) => {
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(message);
    else queue.push(message);
  });
  return {
    child,
    next: <T>(what: string) =>
      withTimeout(
        new Promise<T>((resolve) => {
          if (queue.length > 0) resolve(queue.shift() as T);
          else waiters.push((message) => resolve(message as T));
        }),
        `the child process: ${what}`,
        WAIT_MS * 3,
      ),
  };
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null) child.kill();
}

function assertContained(t: TestContext, report: BombReport): void {
  const growth = report.maxRssKiB - report.baselineMaxRssKiB;
  const detail = `${JSON.stringify(report)}; peak RSS grew ${growth} KiB`;
  t.diagnostic(
    `peak RSS +${growth} KiB, arrayBuffers +${report.arrayBuffersAfter - report.arrayBuffersBefore} B, ${report.elapsedMs.toFixed(1)} ms`,
  );
  assert.equal(report.messages, 0, detail);
  assert.equal(report.sentCode, 1009, detail);
  assert.equal(report.cause, "ERR_WS_MESSAGE_TOO_BIG", detail);
  assert.ok(growth < MAX_GROWTH_KIB, detail);
  assert.ok(report.arrayBuffersAfter - report.arrayBuffersBefore < 8 * LIMIT, detail);
}

describe("P7/N20 a 50 MB decompression bomb", () => {
  test("P7: the bomb is ~50 KB on the wire (a 1 000:1 ratio)", () => {
    assert.ok(bomb.length < 60_000, `${bomb.length} bytes`);
  });

  for (const role of ["client", "server"] as const) {
    test(`N20/P7/${role} engine: fails with 1009 and peak memory grows < 16 MiB`, async (t) => {
      const { child, next } = start(["engine", role, bombFile, String(LIMIT)]);
      try {
        assertContained(t, await next<BombReport>("the engine's report"));
      } finally {
        stop(child);
      }
    });
  }

  test("control: without a limit below 50 MB the same measurement sees the whole inflation", async (t) => {
    const { child, next } = start(["engine", "client", bombFile, String(64 * 1024 * 1024)]);
    try {
      const report = await next<BombReport>("the engine's report");
      assert.equal(report.messages, 1, JSON.stringify(report));
      t.diagnostic(`peak RSS +${report.maxRssKiB - report.baselineMaxRssKiB} KiB`);
      assert.ok(
        report.maxRssKiB - report.baselineMaxRssKiB > 40 * 1024,
        `peak RSS grew only ${report.maxRssKiB - report.baselineMaxRssKiB} KiB`,
      );
    } finally {
      stop(child);
    }
  });

  test("N20/P7/server over TCP: a raw client's bomb gets a Close 1009; server memory stays bounded", async (t) => {
    const { child, next } = start(["server"]);
    try {
      const { port } = await next<{ port: number }>("listening");
      const client = await RawClient.connect(port, "/", [
        ["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"],
      ]);
      try {
        client.sendFrame({ opcode: OP.binary, rsv: 4, payload: bomb });
        const close = await client.nextClose();
        assert.equal(close.code, 1009);
        client.sendClose(1009);
        await client.waitForEnd();
      } finally {
        client.destroy();
      }
      child.send("measure");
      assertContained(t, await next<BombReport>("the server's report"));
    } finally {
      stop(child);
    }
  });

  test("N20/P7/client over TCP: a raw server's bomb gets a Close 1009; client memory stays bounded", async (t) => {
    const peer = await RawPeer.start({
      respond: () => accept({ extensions: "permessage-deflate" }),
      replyToClose: true,
    });
    t.after(() => peer.stop());
    const { child, next } = start(["client", peer.url]);
    try {
      const opened = await next<{ open?: true; error?: string }>("open");
      assert.deepEqual(opened, { open: true });
      const connection = await peer.connection();
      assert.match(
        connection.request!.header("Sec-WebSocket-Extensions") ?? "",
        /permessage-deflate/,
      );
      connection.sendRaw(buildFrame({ opcode: OP.binary, rsv: 4, payload: bomb }));
      const close = await connection.nextFrame();
      assert.equal(parseCloseFrame(close).code, 1009);
      assertContained(t, await next<BombReport>("the client's report"));
    } finally {
      stop(child);
    }
  });
});
