/**
 * `npm run bench:deflate`: permessage-deflate side by side with `ws` configured the same way
 * (threshold 1 KiB, zlib defaults), each server in its own process:
 * - memory per connection with compression on: N connections each send a few compressible
 *   messages, then the server's RSS and heap (after a GC) are compared with its baseline;
 * - compressed throughput: one connection, a bounded window of 16 KiB JSON-like messages.
 * Both context-takeover modes are measured. Load comes from one fixed client (`ws`), over
 * 127.0.0.1 only; every loop is bounded. `--quick` uses 200 connections and fewer messages.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const quick = process.argv.includes("--quick");
const COUNTS = quick ? [200] : [1000, 5000];
const THROUGHPUT_MESSAGES = quick ? 300 : 2000;
const WINDOW = 16;
const SERVER = fileURLToPath(new URL("./server.js", import.meta.url));

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** A JSON-like text that compresses about 5:1, different for each seed. */
function message(seed: number, bytes: number): string {
  const parts: string[] = [];
  let i = 0;
  while (parts.join(",").length < bytes) {
    parts.push(
      JSON.stringify({
        id: seed * 1000 + i,
        user: `user-${(seed + i) % 97}`,
        x: (i * 7.25) % 100,
        tags: ["alpha", "beta", i % 5],
      }),
    );
    i++;
  }
  return `[${parts.join(",")}]`.slice(0, bytes);
}

class ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string) => void)[] = [];
  constructor(impl: string, mode: string) {
    const taskset = process.platform === "linux" ? ["-c", "0", process.execPath] : [];
    const args = ["--expose-gc", SERVER, impl, mode];
    this.child =
      taskset.length > 0 ? spawn("taskset", [...taskset, ...args]) : spawn(process.execPath, args);
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(line);
      else this.#lines.push(line);
    });
  }
  next(timeoutMs = 20_000): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the server did not answer")), timeoutMs);
      this.#waiters.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
  async memory(): Promise<Memory> {
    this.child.stdin.write("mem\n");
    return JSON.parse(await this.next()) as Memory;
  }
  stop(): void {
    this.child.kill("SIGKILL");
  }
}

function open(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`, {
      perMessageDeflate: { threshold: 1024 },
    });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
  });
}

function roundTrip(socket: WebSocket, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no echo within 20 s")), 20_000);
    socket.once("message", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.send(text);
  });
}

async function memoryPerConnection(
  impl: string,
  mode: string,
  count: number,
): Promise<{ rss: number; heap: number; negotiated: boolean }> {
  const server = new ServerProcess(impl, mode);
  try {
    const { port } = JSON.parse(await server.next()) as { port: number };
    const base = await server.memory();
    const sockets: WebSocket[] = [];
    for (let i = 0; i < count; i += 50) {
      sockets.push(
        ...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => open(port)))),
      );
    }
    const negotiated = sockets[0]!.extensions.includes("permessage-deflate");
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < sockets.length; i += 100) {
        await Promise.all(
          sockets
            .slice(i, i + 100)
            .map((socket, j) => roundTrip(socket, message(i + j + round, 2048))),
        );
      }
    }
    const after = await server.memory();
    for (const socket of sockets) socket.terminate();
    return {
      rss: (after.rss - base.rss) / count,
      heap: (after.heapUsed + after.external - base.heapUsed - base.external) / count,
      negotiated,
    };
  } finally {
    server.stop();
  }
}

async function throughput(impl: string, mode: string): Promise<number> {
  const server = new ServerProcess(impl, mode);
  try {
    const { port } = JSON.parse(await server.next()) as { port: number };
    const socket = await open(port);
    const payloads = Array.from({ length: 32 }, (_, i) => message(i, 16 * 1024));
    let sent = 0;
    let received = 0;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("throughput run exceeded 60 s")), 60_000);
      const pump = (): void => {
        while (sent < THROUGHPUT_MESSAGES && sent - received < WINDOW)
          socket.send(payloads[sent++ % payloads.length]!);
      };
      socket.on("message", () => {
        received++;
        if (received === THROUGHPUT_MESSAGES) {
          clearTimeout(timer);
          resolve();
        } else pump();
      });
      pump();
    });
    const seconds = (performance.now() - started) / 1000;
    socket.terminate();
    return THROUGHPUT_MESSAGES / seconds;
  } finally {
    server.stop();
  }
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(
  `# permessage-deflate: sockwise vs ws, configured the same way (${new Date().toISOString().slice(0, 10)}, Node ${process.version}${quick ? ", --quick" : ""})\n`,
);
console.log(
  "| mode | connections | sockwise RSS/conn | ws RSS/conn | ratio | sockwise heap+external/conn | ws heap+external/conn | ratio |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const mode of ["no-takeover", "takeover"]) {
  for (const count of COUNTS) {
    const s = await memoryPerConnection("sockwise", mode, count);
    const w = await memoryPerConnection("ws", mode, count);
    if (!s.negotiated || !w.negotiated) throw new Error("permessage-deflate was not negotiated");
    console.log(
      `| ${mode} | ${count} | ${kib(s.rss)} | ${kib(w.rss)} | ${(s.rss / w.rss).toFixed(2)} | ${kib(s.heap)} | ${kib(w.heap)} | ${(s.heap / w.heap).toFixed(2)} |`,
    );
  }
}
console.log("\n| mode | sockwise msg/s (16 KiB JSON, window 16) | ws msg/s | ratio |");
console.log("| --- | ---: | ---: | ---: |");
for (const mode of ["no-takeover", "takeover"]) {
  const s = await throughput("sockwise", mode);
  const w = await throughput("ws", mode);
  console.log(`| ${mode} | ${s.toFixed(0)} | ${w.toFixed(0)} | ${(s / w).toFixed(2)} |`);
}
