/**
 * Runs the compiled `sockwise` CLI (`build/src/cli/main.js`) as a child process with bounded
 * waits: collect its output, wait for a line to appear, write to its stdin, signal it, and
 * always kill it after the test.
 *
 * ```ts
 * const result = await runCli(t, ["connect", url], { input: "hello\n" });
 * assert.equal(result.code, 0);
 * ```
 *
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { WAIT_MS, withTimeout } from "./server-harness.js";

/** The compiled CLI entry point: this file is build/test/helpers/, the CLI build/src/cli/. */
export const CLI_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** How a CLI run ended, with everything it printed. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link startCli} and {@link runCli}. */
export interface CliOptions {
  /** Written to stdin, which is then ended (runCli); omitted: stdin stays open (startCli). */
  readonly input?: string;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the process and fail if it has not exited by then (default 5 × WAIT_MS). */
  readonly timeoutMs?: number;
}

/** A running CLI child process. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Settles when the process exits; it never rejects. */
  readonly exited: Promise<CliResult>;
  #stdout = "";
  #stderr = "";
  #waiters: (() => void)[] = [];
  #hasExited = false;

  constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      this.#stdout += chunk;
      this.#wake();
    });
    child.stderr.on("data", (chunk: string) => {
      this.#stderr += chunk;
      this.#wake();
    });
    // A child that exits before reading all its input must not crash the test with EPIPE.
    child.stdin.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        this.#hasExited = true;
        this.#wake();
        resolve({ code, signal, stdout: this.#stdout, stderr: this.#stderr });
      });
    });
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves once `pattern` matches stdout or stderr (as chosen); fails after `ms`. */
  async waitFor(
    pattern: RegExp,
    stream: "stdout" | "stderr" = "stdout",
    ms = WAIT_MS,
  ): Promise<RegExpMatchArray> {
    const find = (): RegExpMatchArray | null =>
      (stream === "stdout" ? this.#stdout : this.#stderr).match(pattern);
    try {
      return await withTimeout(
        new Promise<RegExpMatchArray>((resolve, reject) => {
          const check = (): void => {
            const match = find();
            if (match !== null) resolve(match);
            else if (this.#hasExited)
              reject(new Error(`the CLI exited before printing ${pattern}`));
            else this.#waiters.push(check);
          };
          check();
        }),
        `${pattern} on the CLI's ${stream}`,
        ms,
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- stdout ---\n${this.#stdout}\n--- stderr ---\n${this.#stderr}`,
      );
    }
  }

  /** Writes to stdin. */
  write(text: string): void {
    this.child.stdin.write(text);
  }

  /** Ends stdin. */
  endInput(): void {
    this.child.stdin.end();
  }

  /** Waits for the exit, killing the process and failing after `ms`. */
  async finish(ms = 5 * WAIT_MS): Promise<CliResult> {
    try {
      return await withTimeout(this.exited, "the CLI to exit", ms);
    } catch (error) {
      this.child.kill("SIGKILL");
      throw new Error(
        `${(error as Error).message}\n--- stdout ---\n${this.#stdout}\n--- stderr ---\n${this.#stderr}`,
      );
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** Spawns `node <CLI_MAIN> ...args` (killed after the test if still running). */
export function startCli(
  t: TestContext,
  args: readonly string[],
  options: CliOptions = {},
): CliProcess {
  return startCommand(t, process.execPath, [CLI_MAIN, ...args], options);
}

/** Spawns any command the same way as {@link startCli} (e.g. the CLI inside a pseudo-terminal). */
export function startCommand(
  t: TestContext,
  command: string,
  args: readonly string[],
  options: CliOptions = {},
): CliProcess {
  const child = spawn(command, args, {
    stdio: "pipe",
    env: { ...process.env, NO_COLOR: "1", ...options.env },
  });
  const cli = new CliProcess(child);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  if (options.input !== undefined) {
    child.stdin.write(options.input);
    child.stdin.end();
  }
  return cli;
}

/** Runs the CLI to completion with `input` on stdin (default: empty) and bounded time. */
export function runCli(
  t: TestContext,
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  const cli = startCli(t, args, { ...options, input: options.input ?? "" });
  return cli.finish(options.timeoutMs);
}

/** Characters that must never reach a terminal raw from peer data: C0 (but \n), DEL, C1, ESC. */
export const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
