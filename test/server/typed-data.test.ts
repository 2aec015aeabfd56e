/**
 * Issue #17: per-connection data, typed through the server's generic parameter as in Bun
 * (`new WebSocketServer<{ userId: string }>(…)`): `authenticate` answers `{ data }` and every
 * handler reads `socket.data` with its type, no side `WeakMap`. The type assertions below are
 * checked when the tests compile (`npm run build:test`); the runtime tests check the values.
 */
import { strict as assert } from "node:assert";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";
import {
  WebSocket,
  WebSocketServer,
  closeDetails,
  type AuthenticationResult,
  type ServerWebSocket,
} from "../../src/index.js";
import { startHttpServer, withTimeout } from "../helpers/server-harness.js";

/** True when A and B are the same type (not merely assignable). */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

interface User {
  userId: string;
}

// ---- the types (compile-time) ---------------------------------------------------------------

function typeAssertions(): void {
  const typed = new WebSocketServer<User>({
    noServer: true,
    authenticate: (request) => ({ data: { userId: String(request.headers["x-user"]) } }),
  });
  typed.on("connection", (socket) => {
    expectType<Equal<typeof socket, ServerWebSocket<User>>>();
    expectType<Equal<typeof socket.data, User>>();
    const id: string = socket.data.userId;
    void id;
  });
  for (const socket of typed.clients) {
    expectType<Equal<typeof socket.data, User>>();
    socket.data.userId = "renamed";
  }
  void typed
    .handleUpgrade({} as IncomingMessage, {} as never, Buffer.alloc(0), { userId: "u" })
    .then((socket) => socket !== undefined && expectType<Equal<typeof socket.data, User>>());
  new WebSocketServer<User>({
    noServer: true,
    // @ts-expect-error: the data must have the server's Data type
    authenticate: () => ({ data: { userId: 42 } }),
  });
  // @ts-expect-error: handleUpgrade's data too
  void typed.handleUpgrade({} as IncomingMessage, {} as never, Buffer.alloc(0), { id: 1 });
  const refusals: AuthenticationResult<User>[] = [true, false, undefined, { status: 401 }];
  void refusals;
  // Without a type argument, data is unknown: it must be narrowed before use.
  const untyped = new WebSocketServer({ noServer: true });
  untyped.on("connection", (socket) => {
    expectType<Equal<typeof socket.data, unknown>>();
    socket.data = { anything: true };
  });
}
void typeAssertions;

// ---- the values (run time) ------------------------------------------------------------------

async function openClient(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const client = new WebSocket(url, { headers });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      client.onopen = () => resolve();
      client.onerror = () => reject(new Error("the client failed to connect"));
    }),
    "the client to open",
  );
  return client;
}

test("#17: authenticate's { data } becomes socket.data; a status still refuses", async (t) => {
  const server = new WebSocketServer<User>({
    port: 0,
    host: "127.0.0.1",
    heartbeat: false,
    authenticate: async (request) => {
      const user = request.headers["x-user"];
      if (typeof user !== "string") return { status: 401, headers: { "WWW-Authenticate": "x" } };
      return { data: { userId: user } };
    },
  });
  t.after(() => server.close({ timeoutMs: 200 }));
  const { port } = await server.ready();
  const seen = new Promise<ServerWebSocket<User>>((resolve) => server.once("connection", resolve));
  const client = await openClient(`ws://127.0.0.1:${port}/`, { "x-user": "ada" });
  const socket = await seen;
  assert.deepEqual(socket.data, { userId: "ada" });
  assert.deepEqual(
    [...server.clients].map((s) => s.data.userId),
    ["ada"],
  );
  client.close(1000);

  const refused = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise<Event>((resolve) => (refused.onclose = resolve));
  assert.equal(closeDetails(refused)?.cause?.response?.status, 401);
});

test("#17: handleUpgrade(request, socket, head, data) sets socket.data; without it, undefined", async (t) => {
  const server = new WebSocketServer<User | undefined>({ noServer: true, heartbeat: false });
  t.after(() => server.close({ timeoutMs: 200 }));
  const { http, port } = await startHttpServer(t);
  http.on("upgrade", (request: IncomingMessage, socket, head: Buffer) => {
    const data = request.url === "/named" ? { userId: "grace" } : undefined;
    void server.handleUpgrade(request, socket, head, data);
  });
  const sockets: ServerWebSocket<User | undefined>[] = [];
  server.on("connection", (socket) => sockets.push(socket));
  const named = await openClient(`ws://127.0.0.1:${port}/named`);
  const anonymous = await openClient(`ws://127.0.0.1:${port}/`);
  assert.deepEqual(
    sockets.map((socket) => socket.data),
    [{ userId: "grace" }, undefined],
  );
  sockets[1]!.data = { userId: "later" };
  assert.equal(sockets[1]!.data.userId, "later");
  named.close(1000);
  anonymous.close(1000);
});
