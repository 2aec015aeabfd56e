/**
 * Drives test/helpers/websockets_peer.py (Python `websockets`, here with permessage-deflate
 * parameters, run by the Debian interpreter /usr/bin/python3) over JSON lines. One process per
 * test file, as a server, a client or both; every connection echoes.
 *
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { withTimeout } from "./deflate-interop.js";
import { PYTHON, WEBSOCKETS_PEER_SCRIPT } from "./python-websockets.js";

/** permessage-deflate settings for the Python side (`null`: the library's defaults). */
export interface PythonDeflate {
  readonly server_no_context_takeover?: boolean;
  readonly client_no_context_takeover?: boolean;
  readonly server_max_window_bits?: number;
  readonly client_max_window_bits?: number | true;
}

interface Event {
  readonly event: string;
  readonly conn?: number;
  readonly port?: number;
  readonly extensions?: string | null;
  readonly error?: string;
  readonly code?: number;
}

/** One running peer process. */
export class PythonDeflatePeer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #events: Event[] = [];
  readonly #waiters: ((event: Event) => void)[] = [];
  readonly #stderr: string[] = [];

  constructor() {
    this.#child = spawn(PYTHON, [WEBSOCKETS_PEER_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stderr.setEncoding("utf8");
    this.#child.stderr.on("data", (text: string) => this.#stderr.push(text));
    createInterface({ input: this.#child.stdout }).on("line", (line) => {
      const event = JSON.parse(line) as Event;
      if (event.event === "closed") return;
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(event);
      else this.#events.push(event);
    });
  }

  /** What the process wrote to stderr (for failure messages). */
  get stderr(): string {
    return this.#stderr.join("");
  }

  async #next(expected: string): Promise<Event> {
    const event = await withTimeout(
      this.#events.length > 0
        ? Promise.resolve(this.#events.shift()!)
        : new Promise<Event>((resolve) => this.#waiters.push(resolve)),
      `websockets: ${expected}`,
    );
    if (event.event !== expected) {
      throw new Error(
        `websockets_peer.py: expected ${expected}, got ${JSON.stringify(event)}; stderr: ${this.stderr}`,
      );
    }
    return event;
  }

  /** Starts a server; returns its port. */
  async serve(pmd: PythonDeflate | null): Promise<number> {
    this.#send({ op: "serve", pmd });
    return (await this.#next("listening")).port!;
  }

  /** The next connection accepted by a server: the extensions header it answered. */
  async nextConnection(): Promise<{ extensions: string | null }> {
    const event = await this.#next("connection");
    return { extensions: event.extensions ?? null };
  }

  /** Connects to `url`; resolves with the response's extensions header once open. */
  async connect(url: string, pmd: PythonDeflate | null): Promise<{ extensions: string | null }> {
    this.#send({ op: "connect", url, pmd });
    const event = await this.#next("open");
    return { extensions: event.extensions ?? null };
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#send({ op: "quit" });
    this.#child.stdin.end();
    try {
      await withTimeout(exited, "websockets_peer.py to exit", 5000);
    } catch {
      this.#child.kill("SIGKILL");
    }
  }

  #send(command: object): void {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
  }
}
