/**
 * `sockwise serve --workers <n>`: the primary process of a node:cluster group. It forks `n`
 * workers that run the same command line (and so listen on the one port, which the cluster
 * shares out), waits until each one listens, prints the URLs once, relays Ctrl-C / SIGTERM to
 * every worker as a graceful shutdown, and exits once they all have. With `--redis`, the
 * workers share topics (and `--mode broadcast`) through the Redis broker.
 *
 * @module
 */
import cluster, { type Worker } from "node:cluster";

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  readonly kind: "ready";
  readonly url: string;
  readonly playgroundUrl: string;
  readonly mode: string;
}

/** What the primary tells a worker. */
export interface WorkerCommand {
  readonly kind: "shutdown";
}

/** How long the workers may take to listen. */
const START_TIMEOUT_MS = 15_000;

/** Runs the primary; resolves with the exit code. */
export function runPrimary(count: number, out: NodeJS.WritableStream): Promise<number> {
  return new Promise((resolve) => {
    const workers: Worker[] = [];
    const ready: WorkerReady[] = [];
    let stopping = false;
    let started = false;
    const exited = new Set<Worker>();
    const timer = setTimeout(() => {
      out.write(`sockwise: only ${ready.length} of ${count} workers listened in time\n`);
      stop(1);
    }, START_TIMEOUT_MS);
    let exitCode = 0;
    const stop = (code: number): void => {
      exitCode = Math.max(exitCode, code);
      if (stopping) return;
      stopping = true;
      clearTimeout(timer);
      for (const worker of workers) {
        if (!exited.has(worker) && worker.isConnected())
          worker.send({ kind: "shutdown" } satisfies WorkerCommand);
      }
      if (exited.size === workers.length) resolve(exitCode);
    };
    for (let i = 0; i < count; i++) {
      const worker = cluster.fork();
      workers.push(worker);
      worker.on("message", (message: WorkerReady) => {
        if (message?.kind !== "ready") return;
        ready.push(message);
        if (ready.length === count && !stopping) {
          started = true;
          clearTimeout(timer);
          const first = ready[0]!;
          out.write(
            `sockwise serve: WebSocket ${first.mode} server on ${first.url} (${count} worker processes)\n`,
          );
          out.write(`playground: ${first.playgroundUrl}\n`);
        }
      });
      worker.on("exit", (code, signal) => {
        exited.add(worker);
        if (!stopping) {
          out.write(
            `sockwise: worker ${worker.id} exited (${signal ?? `code ${code}`})${started ? "" : " before listening"}\n`,
          );
          stop(1);
        }
        if (exited.size === workers.length) {
          out.write(`shutdown: all ${count} workers stopped\n`);
          resolve(exitCode);
        }
      });
    }
    const shutdown = (): void => {
      out.write("shutting down the workers (1001)…\n");
      stop(0);
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });
}

/** In a worker: the cluster id, or undefined in a lone process. */
export function workerId(): number | undefined {
  return cluster.isWorker ? cluster.worker?.id : undefined;
}

/** In a worker: tells the primary that this worker listens. */
export function announceWorkerReady(ready: WorkerReady): void {
  process.send?.(ready);
}

/** In a worker: calls `onShutdown` when the primary asks for a graceful shutdown. */
export function onWorkerShutdown(onShutdown: () => void): void {
  process.on("message", (message: WorkerCommand) => {
    if (message?.kind === "shutdown") onShutdown();
  });
}

/** Whether this process should act as the primary of `count` workers. */
export function isPrimaryOf(count: number): boolean {
  return count > 1 && cluster.isPrimary;
}
