/**
 * The close matrix against three independent clients (sockwise, ws, undici): who closes, with
 * what, and what both ends report. Simultaneous closes and abrupt TCP loss are staged with a TCP
 * relay (hold both directions; reset both sides).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ServerCloseInfo, ServerWebSocket } from "../../src/index.js";
import { CLIENT_KINDS, WS, type ClientClose, type ClientKind } from "../helpers/peer-clients.js";
import {
  nextConnection,
  sleep,
  startServer,
  waitUntil,
  withTimeout,
  type TestServer,
} from "../helpers/server-harness.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import type { TestContext } from "node:test";

async function connect(
  t: TestContext,
  kind: ClientKind,
  viaProxy = false,
): Promise<{
  client: Awaited<ReturnType<ClientKind["open"]>>;
  socket: ServerWebSocket;
  proxy: TcpProxy | undefined;
  server: TestServer;
}> {
  const server = await startServer(t);
  let proxy: TcpProxy | undefined;
  let url = server.url();
  if (viaProxy) {
    proxy = await TcpProxy.start(server.port);
    t.after(() => proxy!.stop());
    url = `ws://127.0.0.1:${proxy.port}/`;
  }
  const accepted = nextConnection(server.server);
  const client = await kind.open(url);
  const { socket } = await accepted;
  return { client, socket, proxy, server };
}

async function bothEnds(
  client: { closed: Promise<ClientClose> },
  socket: ServerWebSocket,
): Promise<{ client: ClientClose; server: ServerCloseInfo }> {
  const [clientSide, serverSide] = await withTimeout(
    Promise.all([client.closed, socket.closed]),
    "both ends to report the close",
  );
  return { client: clientSide, server: serverSide };
}

/** The parts of the server's report a matrix row pins down. */
function summary(info: ServerCloseInfo): Record<string, unknown> {
  return {
    code: info.code,
    reason: info.reason,
    wasClean: info.wasClean,
    initiator: info.initiator,
    sentCode: info.sentCode,
    cause: info.cause?.code,
  };
}

for (const kind of CLIENT_KINDS) {
  describe(`close matrix with a ${kind.name} client`, () => {
    test("client-initiated, no code: both report 1005, clean", async (t) => {
      const { client, socket, server } = await connect(t, kind);
      client.close();
      const ends = await bothEnds(client, socket);
      assert.deepEqual(ends.client, { code: 1005, reason: "", wasClean: true });
      assert.deepEqual(summary(ends.server), {
        code: 1005,
        reason: "",
        wasClean: true,
        initiator: "remote",
        sentCode: 1005,
        cause: undefined,
      });
      await waitUntil(() => server.server.clients.size === 0, "no clients");
    });

    for (const [code, reason] of [
      [1000, "bye"],
      [4000, "custom reason ✓"],
    ] as const) {
      test(`client-initiated ${code} "${reason}": the server echoes it; both report it, clean`, async (t) => {
        const { client, socket } = await connect(t, kind);
        client.close(code, reason);
        const ends = await bothEnds(client, socket);
        assert.deepEqual(ends.client, { code, reason, wasClean: true });
        assert.deepEqual(summary(ends.server), {
          code,
          reason,
          wasClean: true,
          initiator: "remote",
          sentCode: code,
          cause: undefined,
        });
      });
    }

    for (const code of [1001, 1011, 4000]) {
      test(`server-initiated ${code} with a reason: the client reports it, the server reports the echo; clean`, async (t) => {
        const { client, socket } = await connect(t, kind);
        const reason = `server says ${code}`;
        socket.close(code, reason);
        const ends = await bothEnds(client, socket);
        assert.deepEqual(ends.client, { code, reason, wasClean: true });
        assert.deepEqual(summary(ends.server), {
          code,
          // undici echoes the code only, as RFC 6455 §5.5.1 allows ("typically echos the code").
          reason: kind.echoesCloseReason ? reason : "",
          wasClean: true,
          initiator: "local",
          sentCode: code,
          cause: undefined,
        });
      });
    }

    test("server-initiated without a code: the client reports 1005", async (t) => {
      const { client, socket } = await connect(t, kind);
      socket.close();
      const ends = await bothEnds(client, socket);
      assert.deepEqual(ends.client, { code: 1005, reason: "", wasClean: true });
      assert.equal(ends.server.code, 1005);
      assert.equal(ends.server.wasClean, true);
    });

    test("L10: simultaneous close: each end reports the other's code, both clean", async (t) => {
      const { client, socket, proxy } = await connect(t, kind, true);
      proxy!.hold();
      socket.close(4001, "from server");
      client.close(4002, "from client");
      await sleep(50); // both Close frames are now on their way, held by the relay
      proxy!.release();
      const ends = await bothEnds(client, socket);
      assert.deepEqual(ends.client, { code: 4001, reason: "from server", wasClean: true });
      assert.deepEqual(summary(ends.server), {
        code: 4002,
        reason: "from client",
        wasClean: true,
        initiator: "local",
        sentCode: 4001,
        cause: undefined,
      });
    });

    test("L21: abrupt TCP loss: both ends report 1006, not clean", async (t) => {
      const { client, socket, proxy, server } = await connect(t, kind, true);
      client.send("in flight");
      await sleep(20);
      proxy!.cut();
      const ends = await bothEnds(client, socket);
      assert.deepEqual(ends.client, { code: 1006, reason: "", wasClean: false });
      assert.deepEqual(summary(ends.server), {
        code: 1006,
        reason: "",
        wasClean: false,
        initiator: "remote",
        sentCode: undefined,
        cause: "ERR_WS_CONNECTION_LOST",
      });
      await waitUntil(() => server.server.clients.size === 0, "no clients");
    });

    test("L21: TCP lost after the server sent its Close: 1006 at both ends, the server's sent code kept", async (t) => {
      const { client, socket, proxy } = await connect(t, kind, true);
      proxy!.hold();
      socket.close(1001, "going");
      await sleep(20);
      proxy!.cut();
      const ends = await bothEnds(client, socket);
      assert.deepEqual(ends.client, { code: 1006, reason: "", wasClean: false });
      assert.deepEqual(summary(ends.server), {
        code: 1006,
        reason: "",
        wasClean: false,
        initiator: "local",
        sentCode: 1001,
        cause: "ERR_WS_CONNECTION_LOST",
      });
    });
  });
}

describe("close matrix: codes only ws may send", () => {
  for (const code of [1001, 1002, 1003, 1008, 1011, 1013]) {
    test(`a ws client closing with ${code}: the server reports it and echoes it`, async (t) => {
      const { client, socket } = await connect(t, WS);
      client.close(code, "ws");
      const ends = await bothEnds(client, socket);
      assert.deepEqual(ends.client, { code, reason: "ws", wasClean: true });
      assert.equal(ends.server.code, code);
      assert.equal(ends.server.sentCode, code);
      assert.equal(ends.server.wasClean, true);
    });
  }

  test("a ws client terminating without a Close: the server reports 1006, ERR_WS_CONNECTION_LOST", async (t) => {
    const { client, socket } = await connect(t, WS);
    client.terminate!();
    const ends = await bothEnds(client, socket);
    assert.equal(ends.client.code, 1006);
    assert.deepEqual(
      { code: ends.server.code, wasClean: ends.server.wasClean, cause: ends.server.cause?.code },
      { code: 1006, wasClean: false, cause: "ERR_WS_CONNECTION_LOST" },
    );
  });
});
