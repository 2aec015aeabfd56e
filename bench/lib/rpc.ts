/**
 * A tiny request/reply protocol over Node's child-process IPC channel, for the end-to-end bench
 * (`bench/run.ts`): the parent calls named commands in a child with a hard timeout; the child
 * answers each with a value or an error. Children exit when the parent goes away.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}

type Reply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

interface ReadyMessage {
  readonly ready: unknown;
}

/** A command handler in a child; its argument type is the command's own. */
export type Handler = (args: never) => unknown;

/**
 * Child side: answers the parent's commands with `handlers`, and exits when the IPC channel
 * closes (the parent exited or was killed), so no child outlives a run.
 */
export function serveCommands(handlers: Readonly<Record<string, Handler>>): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error("this module runs as a child of bench/run.js");
  process.on("message", (message: Request) => {
    const handler = handlers[message.cmd];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${message.cmd}`);
        return handler(message.args as never);
      })
      .then(
        (result) => send({ id: message.id, ok: true, result } satisfies Reply),
        (error: unknown) =>
          send({
            id: message.id,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          } satisfies Reply),
      );
  });
  process.on("disconnect", () => process.exit(0));
}

/** Child side: tells the parent that the child is ready, with whatever it needs to know. */
export function announceReady(info: unknown): void {
  process.send?.({ ready: info } satisfies ReadyMessage);
}

/** How to start a child. */
export interface ChildOptions {
  /** A name for messages. */
  readonly name: string;
  /** The compiled script to run. */
  readonly script: string;
  readonly args?: readonly string[];
  /** Flags for node itself (e.g. --expose-gc, --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** The core to pin the child to with `taskset -c`, when taskset exists. */
  readonly core?: number | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** How long the child may take to announce itself. */
  readonly readyTimeoutMs?: number;
}

/** Every child started by this process, killed when it exits. */
const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** Parent side: one child process and the commands it answers. */
export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** What the child announced when it became ready. */
  readonly ready: Promise<unknown>;
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  #nextId = 1;
  #exited: string | undefined;

  constructor(options: ChildOptions, useTaskset: boolean) {
    this.name = options.name;
    const nodeArgs = [...(options.nodeFlags ?? []), options.script, ...(options.args ?? [])];
    const [command, args] =
      useTaskset && options.core !== undefined
        ? ["taskset", ["-c", String(options.core), process.execPath, ...nodeArgs]]
        : [process.execPath, nodeArgs];
    const child = spawn(command, args, {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: options.env ?? process.env,
    });
    this.process = child;
    children.add(child);
    let readyResolve!: (value: unknown) => void;
    let readyReject!: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    const readyTimer = setTimeout(() => {
      readyReject(
        new Error(`${this.name}: not ready within ${options.readyTimeoutMs ?? 15000} ms`),
      );
      this.kill();
    }, options.readyTimeoutMs ?? 15_000);
    child.on("message", (message: Reply | ReadyMessage) => {
      if ("ready" in message) {
        clearTimeout(readyTimer);
        readyResolve(message.ready);
        return;
      }
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`${this.name}: ${message.error}`));
    });
    child.on("exit", (code, signal) => {
      children.delete(child);
      this.#exited = `${this.name} exited (${signal ?? `code ${String(code)}`})`;
      clearTimeout(readyTimer);
      readyReject(new Error(this.#exited));
      for (const pending of this.#pending.values()) {
        clearTimeout(pending.timer);
        pending.reject(new Error(this.#exited));
      }
      this.#pending.clear();
    });
    // A rejected `ready` that nobody awaits is not an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** Calls `cmd` in the child; rejects after `timeoutMs` or if the child exits. */
  call<T>(cmd: string, args: unknown, timeoutMs: number): Promise<T> {
    if (this.#exited !== undefined) return Promise.reject(new Error(this.#exited));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.process.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Asks the child to exit (so a CPU profile gets written), then kills it if it lingers. */
  async exit(timeoutMs = 5_000): Promise<void> {
    if (this.#exited !== undefined) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.call("exit", {}, timeoutMs).catch(() => {});
    const timer = setTimeout(() => this.kill(), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.#exited === undefined) this.process.kill("SIGKILL");
  }
}

/** A machine-wide monotonic clock in milliseconds (CLOCK_MONOTONIC), comparable across processes. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
