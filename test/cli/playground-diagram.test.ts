/**
 * The playground's sequence diagram (issue #18) in real headless Chromium against
 * `sockwise serve`: for a browser-initiated close, a server-initiated close and a dropped
 * connection, the rows (drawn from what the server's TCP socket really carried, streamed to the
 * page, and from the page's own calls and events) show the right frames in the right order.
 * Also the README's close() cases run from the page (with the browser's own exceptions), and the
 * topic chat between two tabs. Screenshots go to test-artifacts/playground-*.png.
 *
 * Without Chromium the test is skipped with the reason, except on CI, where it fails.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { runServe } from "../../src/cli/serve.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/chromium.js";
import { WAIT_MS, sleep, withTimeout } from "../helpers/server-harness.js";

const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/", import.meta.url));

/** One row of the diagram: its data attributes and its text. */
interface Row {
  readonly side?: string;
  readonly kind?: string;
  readonly dir?: string;
  readonly what?: string;
  readonly name?: string;
  readonly code?: string;
  readonly wasClean?: string;
  readonly text: string;
}

function rowsOf(page: Page): Promise<Row[]> {
  return page.$$eval("#diagram .row", (nodes) =>
    nodes.map((node) => ({
      ...(node as unknown as { dataset: Record<string, string> }).dataset,
      text: node.textContent ?? "",
    })),
  );
}

/** Waits until every predicate matches some row; returns the rows. */
async function waitForRows(page: Page, ...wanted: ((row: Row) => boolean)[]): Promise<Row[]> {
  const started = performance.now();
  for (;;) {
    const rows = await rowsOf(page);
    if (wanted.every((predicate) => rows.some(predicate))) return rows;
    if (performance.now() - started > WAIT_MS) {
      assert.fail(
        `the diagram lacks rows; it shows:\n${rows.map((row) => JSON.stringify(row)).join("\n")}`,
      );
    }
    await sleep(25);
  }
}

const is =
  (fields: Partial<Row>) =>
  (row: Row): boolean =>
    Object.entries(fields).every(([key, value]) => row[key as keyof Row] === value);

/** Asserts that one row matching each step exists, in this order. */
function assertOrder(
  rows: readonly Row[],
  steps: readonly [string, (row: Row) => boolean][],
): void {
  let last = -1;
  let lastName = "start";
  const dump = rows.map((row, i) => `${i}: ${row.text}`).join("\n");
  for (const [name, predicate] of steps) {
    const index = rows.findIndex((row, i) => i > last && predicate(row));
    assert.ok(index > last, `"${name}" must come after "${lastName}":\n${dump}`);
    last = index;
    lastName = name;
  }
}

const frame = (dir: string, name: string, code?: string) =>
  is({ side: "server", kind: "frame", dir, name, ...(code === undefined ? {} : { code }) });
const tcp = (dir: string, what: string) => is({ side: "server", kind: "tcp", dir, what });

test("the playground diagram: browser close, server close, dropped connection; close() cases; chat", async (t) => {
  if (!existsSync(CHROMIUM)) {
    const reason = `Chromium not found at ${CHROMIUM} (set SOCKWISE_CHROMIUM to its path)`;
    if (process.env["CI"] !== undefined) assert.fail(`${reason}; CI must run the playground test`);
    t.skip(reason);
    return;
  }
  const running = await runServe({ port: 0, host: "127.0.0.1", path: "/", quiet: true }, () => {});
  const userDataDir = mkdtempSync(join(tmpdir(), "sockwise-chromium-"));
  const launched: { context?: BrowserContext } = {};
  t.after(async () => {
    try {
      if (launched.context) await withTimeout(launched.context.close(), "Chromium to close");
    } finally {
      try {
        rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      } catch (error) {
        t.diagnostic(`left the Chromium profile ${userDataDir}: ${String(error)}`);
      }
      await withTimeout(running.stop(), "the serve shutdown");
    }
  });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 5 * WAIT_MS,
    viewport: { width: 1000, height: 900 },
  });
  launched.context = context;
  context.setDefaultTimeout(WAIT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(running.playgroundUrl);
  mkdirSync(ARTIFACTS, { recursive: true });
  const shoot = async (name: string): Promise<void> => {
    const path = join(ARTIFACTS, `playground-${name}.png`);
    await page.locator("#diagram-box").screenshot({ path });
    t.diagnostic(`screenshot: ${path}`);
  };
  const connect = async (): Promise<void> => {
    await page.click("#connect");
    await waitForRows(page, is({ side: "browser", what: "open" }));
    await page.waitForSelector("#send:not([disabled])");
  };

  await t.test("browser-initiated close: Close in, Close out, FIN out, FIN in", async () => {
    await connect();
    await page.fill("#code", "4000");
    await page.fill("#reason", "bye");
    await page.click("#close");
    const rows = await waitForRows(
      page,
      tcp("in", "FIN"),
      is({ side: "browser", kind: "event", what: "close" }),
      is({ side: "server", kind: "closed" }),
    );
    assertOrder(rows, [
      ["new WebSocket()", is({ side: "browser", kind: "api", what: "new WebSocket()" })],
      ["GET upgrade", is({ side: "server", kind: "http", dir: "in" })],
      ["101", is({ side: "server", kind: "http", dir: "out" })],
      ["the page calls close(4000, bye)", is({ side: "browser", kind: "api", what: "close" })],
      ["the server receives Close 4000", frame("in", "close", "4000")],
      ["the server answers Close 4000", frame("out", "close", "4000")],
      ["the server ends TCP first", tcp("out", "FIN")],
      ["the browser's FIN", tcp("in", "FIN")],
    ]);
    assertOrder(rows, [
      ["Close out", frame("out", "close", "4000")],
      ["close event", is({ side: "browser", what: "close", code: "4000", wasClean: "true" })],
    ]);
    assert.equal(rows.filter((row) => row.name === "close").length, 2);
    assert.ok(!rows.some((row) => row.what === "RST"));
    assert.match(rows.find(frame("in", "close"))!.text, /^[+\d.]*Close 4000 "bye" · 5 B/);
    await shoot("browser-close");
  });

  await t.test("server-initiated close: Close out, Close in, FIN out, FIN in", async () => {
    await connect();
    await page.fill("#server-code", "4001");
    await page.fill("#server-reason", "server says bye");
    await page.click("#server-close");
    const rows = await waitForRows(
      page,
      tcp("in", "FIN"),
      is({ side: "browser", what: "close" }),
      is({ side: "server", kind: "closed" }),
    );
    assertOrder(rows, [
      ["the page sends /server-close", is({ side: "browser", kind: "api", what: "send" })],
      ["the server receives it", frame("in", "text")],
      ["the server calls close()", is({ side: "server", kind: "api", what: "close" })],
      ["the server's Close 4001", frame("out", "close", "4001")],
      ["the browser's Close 4001", frame("in", "close", "4001")],
      ["the server ends TCP", tcp("out", "FIN")],
      ["the browser's FIN", tcp("in", "FIN")],
    ]);
    assertOrder(rows, [
      ["Close out", frame("out", "close", "4001")],
      ["close event", is({ side: "browser", what: "close", code: "4001", wasClean: "true" })],
    ]);
    assert.ok(!rows.some(is({ side: "browser", kind: "api", what: "close" })));
    assert.match(
      rows.find(is({ side: "server", kind: "closed" }))!.text,
      /code=4001 reason="server says bye" wasClean=true initiator=local/,
    );
    await shoot("server-close");
  });

  await t.test("dropped connection: a TCP reset, no Close frame, 1006 in the browser", async () => {
    await connect();
    await page.click("#server-drop");
    const rows = await waitForRows(
      page,
      tcp("out", "RST"),
      is({ side: "browser", what: "close" }),
      is({ side: "server", kind: "closed" }),
    );
    assertOrder(rows, [
      ["the page sends /server-drop", is({ side: "browser", kind: "api", what: "send" })],
      ["the server receives it", frame("in", "text")],
      ["the server drops", is({ side: "server", kind: "api", what: "drop" })],
      ["the reset", tcp("out", "RST")],
      ["the close event", is({ side: "browser", what: "close", code: "1006", wasClean: "false" })],
    ]);
    assert.ok(!rows.some((row) => row.name === "close"), "no Close frame either way");
    await shoot("dropped");
  });

  await t.test(
    "the README's close() cases from the page, with the browser's exceptions",
    async () => {
      const runCase = async (label: string): Promise<string> => {
        const row = page
          .locator("#cases tbody tr")
          .filter({ has: page.getByRole("button", { name: label, exact: true }) });
        await row.locator("button").click();
        const cell = row.locator("td.result");
        await page.waitForFunction(
          (element) =>
            (element as unknown as { dataset: Record<string, string> }).dataset["outcome"] !==
            undefined,
          await cell.elementHandle(),
        );
        const outcome = (await cell.getAttribute("data-outcome")) ?? "";
        // Reset for the next run of the same case.
        await cell.evaluate(
          (element) =>
            delete (element as unknown as { dataset: Record<string, string> }).dataset["outcome"],
        );
        return outcome;
      };
      assert.match(await runCase("close(1001)"), /^InvalidAccessError: /);
      assert.match(await runCase("close(4000, 124-byte reason)"), /^SyntaxError: /);
      assert.match(await runCase("close(); close(1001)"), /^InvalidAccessError: /);
      let rows = await waitForRows(
        page,
        is({ side: "browser", what: "exception" }),
        frame("in", "close"),
      );
      assert.ok(
        rows.some((row) => /close\(1001\) while CLOSING threw InvalidAccessError$/.test(row.text)),
        rows.map((row) => row.text).join("\n"),
      );
      assert.equal(
        await runCase('close(4000, "a\\uD800b")'),
        'closed: code=4000 reason="a\uFFFDb" wasClean=true',
      );
      rows = await waitForRows(page, frame("in", "close", "4000"));
      assert.match(rows.find(frame("in", "close"))!.text, /Close 4000 "a\uFFFDb" · 7 B/);
      // Web IDL [Clamp] rounds 999.5 to the even 1000; the Chromium this was written against
      // rounds it to 999 and throws. The page shows whichever this browser does.
      assert.match(
        await runCase("close(999.5)"),
        /^(?:closed: code=1000 reason="" wasClean=true|InvalidAccessError: .*999 is neither\.)$/,
      );
      assert.match(
        await runCase("close() while CONNECTING"),
        /^readyState CLOSING at once; close 1006 wasClean=false$/,
      );
      const cases = await page.locator("#cases tbody tr").count();
      assert.equal(cases, 16, "every row of the README's table that a page can try");
    },
  );

  await t.test("chat between two tabs on a topic", async () => {
    const other = await context.newPage();
    other.on("pageerror", (error) => pageErrors.push(error.message));
    await other.goto(running.playgroundUrl);
    for (const tab of [page, other]) {
      await tab.fill("#chat-topic", "room-18");
      await tab.click("#chat-join");
      await tab.waitForSelector("#chat-send:not([disabled])");
    }
    await page.fill("#chat-name", "alice");
    await page.fill("#chat-text", "hello from tab one");
    // The other tab's /subscribe must have reached the server: a round trip of our own first.
    await page.click("#chat-send");
    await page.waitForSelector("#chat-log li");
    await other.waitForSelector("#chat-log li");
    assert.equal(await other.textContent("#chat-log li"), "alice@room-18: hello from tab one");
    await other.close();
  });

  await page.setViewportSize({ width: 1000, height: 900 });
  await page.screenshot({ path: join(ARTIFACTS, "playground-full.png"), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
