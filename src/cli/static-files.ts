/**
 * `sockwise serve --static <dir>`: files under one directory, GET and HEAD only, with the
 * request path resolved so that nothing outside the directory can be reached: no `..`
 * segments (encoded or not), no NUL, no backslashes, no dot-files, and symbolic links followed
 * only when their target is still inside the directory.
 *
 * @module
 */
import { createReadStream, realpathSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, sep } from "node:path";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
};

/**
 * Maps a request path to a file under `root` (an absolute, real path), or `undefined` when the
 * path is malformed, tries to leave `root`, names a dot-file, or names nothing.
 */
export function resolveStaticPath(root: string, requestPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith("/") || decoded.includes("\0") || decoded.includes("\\"))
    return undefined;
  const segments = decoded.split("/").filter((segment) => segment !== "");
  if (segments.some((segment) => segment.startsWith("."))) return undefined;
  let target = join(root, ...segments);
  try {
    if (statSync(target).isDirectory()) target = join(target, "index.html");
    const real = realpathSync(target);
    if (real !== root && !real.startsWith(root + sep)) return undefined;
    return statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Answers a GET or HEAD for a file under `root`; returns false when there is no such file. */
export function serveStatic(
  root: string,
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const file = resolveStaticPath(root, path);
  if (file === undefined) return false;
  const size = statSync(file).size;
  response.writeHead(200, {
    "Content-Type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": size,
    "X-Content-Type-Options": "nosniff",
  });
  if (request.method === "HEAD") {
    response.end();
    return true;
  }
  const stream = createReadStream(file);
  stream.on("error", () => response.destroy());
  stream.pipe(response);
  return true;
}
