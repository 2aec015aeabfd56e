/**
 * Headless Chromium's native `WebSocket` as an interop client, driven by playwright-core with the
 * system browser (Debian's /usr/bin/chromium). The page is served over http://127.0.0.1 by the
 * sockwise test server's own HTTP server, so the page and the WebSocket are both loopback
 * (Chromium's local-network checks and mixed-content rules do not apply), and the connection
 * goes to the relay's port (an ephemeral port, never on Chromium's blocked-port list).
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/chromium.js";
import { TIME_SCALE, withTimeout, type Observed, type PeerClient } from "./ends.js";

export { CHROMIUM, probeChromium } from "../helpers/chromium.js";

/**
 * The page: each connection echoes every message, and reports its close event through the
 * exposed `__report` binding. Close reasons arrive as UTF-16 code units so that a lone
 * surrogate survives the trip through the DevTools protocol unchanged.
 */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>sockwise interop</title>
<script>
const conns = new Map();
window.interop = {
  open(id, url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      conns.set(id, ws);
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("WebSocket error before open"));
      ws.onmessage = (event) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(event.data);
      };
      ws.onclose = (event) =>
        window.__report(id, { code: event.code, reason: event.reason, wasClean: event.wasClean });
    });
  },
  close(id, args) {
    const ws = conns.get(id);
    try {
      if (args.length === 0) ws.close();
      else if (args.length === 1) ws.close(args[0]);
      else ws.close(args[0], String.fromCharCode(...args[1]));
      return null;
    } catch (error) {
      return error.name + ": " + error.message;
    }
  },
  send(id, kind, size) {
    conns.get(id).send(kind === "text" ? "x".repeat(size) : new Uint8Array(size));
  },
};
</script>
`;

/** A running headless Chromium with one page, and the HTTP server that serves the page. */
export class ChromiumPeer {
  readonly #browser: Browser;
  readonly #page: Page;
  readonly #closed = new Map<number, (observed: Observed) => void>();
  #nextId = 0;

  private constructor(browser: Browser, page: Page) {
    this.#browser = browser;
    this.#page = page;
  }

  /** An HTTP server that serves the page at every path; the sockwise server attaches to it. */
  static pageServer(): Server {
    return createServer((_request, response) => {
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      response.end(PAGE);
    });
  }

  /** Launches Chromium and opens the page at `pageUrl`. */
  static async launch(pageUrl: string): Promise<ChromiumPeer> {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS],
      timeout: 60_000 * TIME_SCALE,
    });
    try {
      const page = await browser.newPage();
      const peer = new ChromiumPeer(browser, page);
      await page.exposeFunction("__report", (id: number, observed: Observed) => {
        peer.#closed.get(id)?.(observed);
      });
      await page.goto(pageUrl);
      return peer;
    } catch (error) {
      await browser.close();
      throw error;
    }
  }

  /** The browser's version, e.g. "156.0.8078.79". */
  get version(): string {
    return this.#browser.version();
  }

  /** Chromium as a client. */
  get client(): PeerClient {
    return {
      connect: async (url) => {
        const id = ++this.#nextId;
        const closed = new Promise<Observed>((resolve) => this.#closed.set(id, resolve));
        const page = this.#page;
        await withTimeout(
          page.evaluate(([i, u]) => (globalThis as unknown as PageGlobal).interop.open(i, u), [
            id,
            url,
          ] as const),
          "Chromium's WebSocket to open",
        );
        return {
          close: async (args) => {
            // UTF-16 code units, not code points: a lone surrogate must survive as it is.
            const units: unknown[] = [...args];
            if (args.length === 2) {
              const codeUnits: number[] = [];
              for (let k = 0; k < args[1].length; k++) codeUnits.push(args[1].charCodeAt(k));
              units[1] = codeUnits;
            }
            const error = await page.evaluate(
              ([i, a]) => (globalThis as unknown as PageGlobal).interop.close(i, a),
              [id, units] as const,
            );
            return error ?? undefined;
          },
          // The page has no way to drop a WebSocket's TCP connection.
          abort: undefined,
          sendSized: (kind, size) => {
            void page.evaluate(
              ([i, k, s]) => (globalThis as unknown as PageGlobal).interop.send(i, k, s),
              [id, kind, size] as const,
            );
          },
          closed,
        };
      },
      stop: () => this.#browser.close(),
    };
  }
}

/** The page's API, as seen from `page.evaluate`. */
interface PageApi {
  open(id: number, url: string): Promise<void>;
  close(id: number, args: readonly unknown[]): string | null;
  send(id: number, kind: "text" | "binary", size: number): void;
}

/**
 * The page's global object. `page.evaluate` callbacks run in the page (their source is sent
 * there), so they reach `window.interop` through `globalThis` and may not call module functions.
 */
interface PageGlobal {
  readonly interop: PageApi;
}
