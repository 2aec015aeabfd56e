/**
 * Headless Chromium's native `WebSocket` (which always offers permessage-deflate) as an echo
 * client for the permessage-deflate interop suite, driven by playwright-core with the system
 * browser (/usr/bin/chromium), launched as test/interop/chromium-peer.ts does. The page is served
 * over http://127.0.0.1 by a local HTTP server; each connection echoes every message and reports
 * `ws.extensions` once open.
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./chromium.js";
import { TIME_SCALE, withTimeout } from "./deflate-interop.js";

export { CHROMIUM, probeChromium } from "./chromium.js";

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>sockwise permessage-deflate interop</title>
<script>
const conns = new Map();
window.pmd = {
  open(id, url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      conns.set(id, ws);
      ws.onopen = () => resolve(ws.extensions);
      ws.onerror = () => reject(new Error("WebSocket error"));
      ws.onmessage = (event) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(event.data);
      };
      ws.onclose = (event) => window.__closed(id, event.code, event.wasClean);
    });
  },
  close(id) {
    conns.get(id).close(1000);
  },
};
</script>
`;

interface PageGlobal {
  readonly pmd: {
    open(id: number, url: string): Promise<string>;
    close(id: number): void;
  };
}

/** A running browser with the page open. */
export class ChromiumDeflatePeer {
  readonly #browser: Browser;
  readonly #page: Page;
  readonly #http: Server;
  readonly #closed = new Map<number, (info: { code: number; wasClean: boolean }) => void>();
  #nextId = 0;

  private constructor(browser: Browser, page: Page, http: Server) {
    this.#browser = browser;
    this.#page = page;
    this.#http = http;
  }

  static async launch(): Promise<ChromiumDeflatePeer> {
    const http = createServer((_request, response) => {
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      response.end(PAGE);
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [...CHROMIUM_ARGS],
        timeout: 60_000 * TIME_SCALE,
      });
      const page = await browser.newPage();
      const peer = new ChromiumDeflatePeer(browser, page, http);
      await page.exposeFunction("__closed", (id: number, code: number, wasClean: boolean) => {
        peer.#closed.get(id)?.({ code, wasClean });
      });
      await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
      return peer;
    } catch (error) {
      await browser?.close();
      http.close();
      throw error;
    }
  }

  get version(): string {
    return this.#browser.version();
  }

  /** Opens an echoing WebSocket to `url`; resolves with its `extensions` attribute. */
  async connect(url: string): Promise<{
    extensions: string;
    closed: Promise<{ code: number; wasClean: boolean }>;
  }> {
    const id = ++this.#nextId;
    const closed = new Promise<{ code: number; wasClean: boolean }>((resolve) =>
      this.#closed.set(id, resolve),
    );
    const extensions = await withTimeout(
      this.#page.evaluate(([i, u]) => (globalThis as unknown as PageGlobal).pmd.open(i, u), [
        id,
        url,
      ] as const),
      "Chromium's WebSocket to open",
    );
    return { extensions, closed };
  }

  async stop(): Promise<void> {
    await this.#browser.close();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}
