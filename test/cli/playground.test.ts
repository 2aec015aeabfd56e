/**
 * The playground page (`playground/index.html`, served by `sockwise serve`) in real headless
 * Chromium: the browser's own WebSocket against the sockwise server, the browser's own
 * exceptions for an invalid close code or reason, and the close code, reason and wasClean seen
 * on both ends. A screenshot goes to test-artifacts/playground.png.
 *
 * Without Chromium the test is skipped with the reason, except on CI (`CI` set), where a missing
 * browser fails the test instead of passing silently.
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
import { WAIT_MS, sleep, waitUntil, withTimeout } from "../helpers/server-harness.js";

/** build/test/cli/ → the repository's test-artifacts/. */
const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/", import.meta.url));

/**
 * Waits for a line in the page's event log matching `pattern`; returns its text. (Polled from
 * here: Playwright's `hasText` cannot carry a RegExp that contains a double quote.)
 */
async function logLine(page: Page, pattern: RegExp): Promise<string> {
  const started = performance.now();
  for (;;) {
    const lines = await page.locator("#log > div").allTextContents();
    const line = lines.findLast((text) => pattern.test(text));
    if (line !== undefined) return line;
    if (performance.now() - started > WAIT_MS) {
      assert.fail(`the page's log has no line matching ${pattern}; it shows:\n${lines.join("\n")}`);
    }
    await sleep(20);
  }
}

test("the playground in headless Chromium: echo, close codes, browser exceptions, server close", async (t) => {
  if (!existsSync(CHROMIUM)) {
    const reason = `Chromium not found at ${CHROMIUM} (set SOCKWISE_CHROMIUM to its path)`;
    if (process.env["CI"] !== undefined) assert.fail(`${reason}; CI must run the playground test`);
    t.skip(reason);
    return;
  }

  const serverLog: string[] = [];
  const running = await runServe(
    { port: 0, host: "127.0.0.1", path: "/", echo: true, quiet: false },
    (line) => serverLog.push(line),
  );

  const userDataDir = mkdtempSync(join(tmpdir(), "sockwise-chromium-"));
  const launched: { context?: BrowserContext } = {};
  // One hook, in this order: the test runner runs `after` hooks first-registered first and skips
  // the rest once one throws, so a profile removal racing a live Chromium (which still writes
  // into it) once failed the hook, skipped `context.close()`, and left Chromium holding the test
  // process open until CI's time limit. Close the browser first, whatever else fails; a profile
  // that cannot be removed is reported, not a test failure.
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
    viewport: { width: 1100, height: 1000 },
  });
  launched.context = context;
  context.setDefaultTimeout(WAIT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  await page.goto(running.playgroundUrl);
  assert.equal(await page.title(), "sockwise playground");
  assert.equal(await page.inputValue("#url"), running.url);
  assert.equal(await page.isDisabled("#send"), true);

  // Connect and echo.
  await page.click("#connect");
  await logLine(page, /\[OPEN\] open protocol="" extensions=".*"/);
  assert.equal(await page.textContent("#state"), "1 (OPEN)");
  await page.fill("#message", "Hello from Chromium ✓");
  await page.click("#send");
  await logLine(page, /\[OPEN\] sent "Hello from Chromium ✓"/);
  await logLine(page, /\[OPEN\] message "Hello from Chromium ✓"/);

  // The browser's own exceptions, before any state check: the socket stays open.
  await page.fill("#code", "1001");
  await page.fill("#reason", "");
  await page.click("#close");
  const invalidAccess = await logLine(page, /close\(\) threw/);
  assert.match(invalidAccess, /\[OPEN\] close\(\) threw InvalidAccessError/);
  await page.fill("#code", "4000");
  await page.fill("#reason", "é".repeat(62)); // 124 UTF-8 bytes
  await page.click("#close");
  const syntax = await logLine(page, /close\(\) threw SyntaxError/);
  assert.match(syntax, /\[OPEN\]/);
  assert.equal(await page.textContent("#state"), "1 (OPEN)");

  // A clean close with 4000 "bye", seen identically by the browser and the server.
  await page.fill("#reason", "bye");
  await page.click("#close");
  await logLine(page, /\[CLOSING\] close\(4000, "bye"\) returned/);
  await logLine(page, /\[CLOSED\] close code=4000 reason="bye" wasClean=true/);
  await waitUntil(
    () => serverLog.some((line) => /\[#1\] close /.test(line)),
    "the server to log the close",
  );
  assert.match(
    serverLog.find((line) => /\[#1\] close /.test(line)) ?? "",
    /\[#1\] close code=4000 reason="bye" clean=true initiator=remote duration=\d+\.\d\ds in=1 out=1$/,
  );
  assert.equal(await page.isDisabled("#send"), true);
  assert.equal(await page.isDisabled("#connect"), false);

  // Reconnect; the server closes with the code and reason typed on the page.
  await page.click("#connect");
  await logLine(page, /\[OPEN\] open protocol=/);
  await page.fill("#server-code", "4001");
  await page.fill("#server-reason", "server says bye");
  await page.click("#server-close");
  await logLine(page, /\[CLOSED\] close code=4001 reason="server says bye" wasClean=true/);
  await waitUntil(
    () => serverLog.some((line) => /\[#2\] close /.test(line)),
    "the server to log the second close",
  );
  assert.match(
    serverLog.find((line) => /\[#2\] close /.test(line)) ?? "",
    /\[#2\] close code=4001 reason="server says bye" clean=true initiator=local /,
  );

  mkdirSync(ARTIFACTS, { recursive: true });
  const screenshot = join(ARTIFACTS, "playground.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  t.diagnostic(`screenshot: ${screenshot}`);

  // On a phone-sized screen the controls wrap instead of overflowing sideways.
  await page.setViewportSize({ width: 400, height: 900 });
  const overflow = await page.evaluate(
    "document.documentElement.scrollWidth - document.documentElement.clientWidth",
  );
  assert.equal(overflow, 0, "the page scrolls sideways at 400 px");
  await page.screenshot({ path: join(ARTIFACTS, "playground-narrow.png"), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
