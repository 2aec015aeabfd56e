/**
 * Debian's nginx as a reverse proxy in front of a test server: a generated configuration on a
 * free loopback port, a temporary prefix directory, one process (`master_process off`) that is
 * stopped by its PID (also from an `after` hook). Under CI a missing nginx fails the test; without
 * CI the caller may skip with the reason {@link probeNginx} gives.
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NGINX = "/usr/sbin/nginx";

/** The nginx version, or why it cannot be used. */
export function probeNginx(): { version: string } | { missing: string } {
  const result = spawnSync(NGINX, ["-v"], { encoding: "utf8", timeout: 10_000 });
  if (result.error !== undefined)
    return { missing: `${NGINX} cannot run: ${result.error.message}` };
  return { version: (result.stderr || result.stdout).trim() };
}

/** A free loopback port (bound, then released: nginx binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A running nginx. */
export interface RunningNginx {
  readonly port: number;
  readonly pid: number;
  /** Stops it by PID and removes its directory; idempotent. */
  stop(): Promise<void>;
  /** nginx's error log so far (for failure messages). */
  errorLog(): string;
}

/**
 * Starts nginx proxying every path to `127.0.0.1:upstreamPort` with the WebSocket upgrade
 * headers and `X-Forwarded-For`, with enough connections for `maxClients` clients.
 */
export async function startNginx(upstreamPort: number, maxClients: number): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), "sockwise-nginx-"));
  const errorLogPath = join(dir, "error.log");
  const errorLog = (): string => {
    try {
      return readFileSync(errorLogPath, "utf8");
    } catch {
      return "";
    }
  };
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = `
worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log ${errorLogPath} warn;
worker_rlimit_nofile ${Math.max(4096, maxClients * 2 + 1024)};
events { worker_connections ${Math.max(1024, maxClients * 4)}; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 120s;
    }
  }
}
`;
    writeFileSync(join(dir, "nginx.conf"), config);
    // The open-files limit of this shell is raised for nginx alone (it needs two per client).
    const child: ChildProcess = spawn(
      "bash",
      [
        "-c",
        `ulimit -n 65536 2>/dev/null || true; exec ${NGINX} -p ${dir} -e ${errorLogPath} -c ${dir}/nginx.conf`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (!stopped) {
        stopped = true;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(timer);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    };
    // Ready once it accepts on its port (bounded).
    const ready = await waitForPort(port, () => child.exitCode !== null, 5000);
    if (ready) return { port, pid: child.pid!, stop, errorLog };
    await stop().catch(() => {});
    if (attempt >= 2)
      throw new Error(`nginx did not start on 127.0.0.1:${port}: ${stderr}${errorLog()}`);
  }
}

async function waitForPort(port: number, hasExited: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline && !hasExited()) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}
