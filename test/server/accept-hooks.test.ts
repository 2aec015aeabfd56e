/**
 * Deciding whether to accept: the `origins` allow-list (SPEC.md P4), the async `authenticate`
 * hook refusing with any status, headers and body (G8), and subprotocol choice through
 * `protocols` and `handleProtocols` (G9), against raw requests and the three client libraries.
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import { WebSocketServer, type ServerWebSocket, type UpgradeInfo } from "../../src/index.js";
import { CLIENT_KINDS, OpenError, SOCKWISE, WS } from "../helpers/peer-clients.js";
import { RawClient, rawRequest, requestHead, upgradeHeaders } from "../helpers/raw-client.js";
import {
  nextConnection,
  sleep,
  startHttpServer,
  startServer,
  waitUntil,
  withTimeout,
} from "../helpers/server-harness.js";

function upgradeWith(port: number, extra: [string, string][], path = "/"): string {
  return requestHead(`GET ${path} HTTP/1.1`, upgradeHeaders(port, extra));
}

describe("origins (P4, G6)", () => {
  test("G6: an Origin outside the allow-list gets 403; a listed one connects; none gets 403", async (t) => {
    const { server, port } = await startServer(t, { origins: ["https://app.test"] });
    let connections = 0;
    server.on("connection", () => connections++);
    const refused = await rawRequest(port, upgradeWith(port, [["Origin", "https://evil.test"]]));
    assert.equal(refused.status, 403);
    assert.equal(refused.connectionEnded, true);
    const missing = await rawRequest(port, upgradeWith(port, []));
    assert.equal(missing.status, 403);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write(upgradeWith(port, [["Origin", "https://app.test"]]));
    assert.equal((await client.readResponse()).status, 101);
    assert.equal(connections, 1);
  });

  test("G6: a function decides; one that throws refuses with 403", async (t) => {
    const seen: (string | undefined)[] = [];
    const { port } = await startServer(t, {
      origins: (origin, request) => {
        seen.push(origin);
        assert.ok(request.headers.host !== undefined);
        if (origin === "https://boom.test") throw new Error("bug in the hook");
        return origin === undefined || origin.endsWith(".app.test");
      },
    });
    assert.equal(
      (await rawRequest(port, upgradeWith(port, [["Origin", "https://boom.test"]]))).status,
      403,
    );
    assert.equal(
      (await rawRequest(port, upgradeWith(port, [["Origin", "https://x.test"]]))).status,
      403,
    );
    const ok = await RawClient.open(port);
    t.after(() => ok.destroy());
    ok.write(upgradeWith(port, [["Origin", "https://eu.app.test"]]));
    assert.equal((await ok.readResponse()).status, 101);
    assert.deepEqual(seen, ["https://boom.test", "https://x.test", "https://eu.app.test"]);
  });

  test("G6: the ws client sees 403 for a foreign origin and connects from an allowed one", async (t) => {
    const { url } = await startServer(t, { origins: ["https://app.test"] });
    await assert.rejects(WS.open(url(), { origin: "https://evil.test" }), { status: 403 });
    const client = await WS.open(url(), { origin: "https://app.test" });
    client.close();
    await withTimeout(client.closed, "close");
  });

  test("G6: the sockwise client reports the 403 through closeDetails", async (t) => {
    const { url } = await startServer(t, { origins: ["https://app.test"] });
    await assert.rejects(SOCKWISE.open(url(), { origin: "https://evil.test" }), { status: 403 });
  });
});

describe("authenticate (G8)", () => {
  test("G8: async refusals answer 401, 403 and 429 with the hook's headers and body; false is 403", async (t) => {
    const infos: UpgradeInfo[] = [];
    const { server, port } = await startServer(t, {
      authenticate: async (request, info) => {
        infos.push(info);
        await sleep(5);
        switch (request.headers.authorization) {
          case undefined:
            return false;
          case "Bearer expired":
            return { status: 401, headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' } };
          case "Bearer banned":
            return { status: 403, body: "banned\n" };
          case "Bearer greedy":
            return { status: 429, headers: { "Retry-After": "30" }, body: "slow down" };
          default:
            return true;
        }
      },
    });
    let connections = 0;
    server.on("connection", () => connections++);

    // `false` answers 403: a 401 needs a WWW-Authenticate challenge only the hook can write.
    const none = await rawRequest(port, upgradeWith(port, []));
    assert.equal(none.status, 403);
    assert.equal(none.connectionEnded, true);

    const expired = await rawRequest(
      port,
      upgradeWith(port, [["Authorization", "Bearer expired"]]),
    );
    assert.equal(expired.status, 401);
    assert.equal(expired.header("WWW-Authenticate"), 'Bearer error="invalid_token"');

    const banned = await rawRequest(port, upgradeWith(port, [["Authorization", "Bearer banned"]]));
    assert.equal(banned.status, 403);
    assert.equal(banned.body, "banned\n");

    const greedy = await rawRequest(
      port,
      upgradeWith(port, [
        ["Authorization", "Bearer greedy"],
        ["Sec-WebSocket-Protocol", "a, b"],
        ["Origin", "https://app.test"],
      ]),
    );
    assert.equal(greedy.status, 429);
    assert.equal(greedy.statusText, "Too Many Requests");
    assert.equal(greedy.header("Retry-After"), "30");
    assert.equal(greedy.body, "slow down");
    assert.deepEqual(infos[3], { protocols: ["a", "b"], origin: "https://app.test" });

    assert.equal(connections, 0);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write(upgradeWith(port, [["Authorization", "Bearer good"]]));
    assert.equal((await client.readResponse()).status, 101);
    await waitUntil(() => connections === 1, "the connection event");
  });

  for (const kind of CLIENT_KINDS) {
    test(`G8: a ${kind.name} client is refused or accepted by authenticate`, async (t) => {
      const { url } = await startServer(t, {
        authenticate: (request) =>
          request.headers["x-token"] === "secret" ? true : { status: 401, body: "who are you?" },
      });
      await assert.rejects(kind.open(url()), (error: unknown) => {
        assert.ok(error instanceof OpenError);
        if (kind.name !== "undici") assert.equal(error.status, 401);
        return true;
      });
      const client = await kind.open(url(), { headers: { "X-Token": "secret" } });
      client.send("in");
      client.close();
      assert.equal((await withTimeout(client.closed, "close")).wasClean, true);
    });
  }

  test("a hook that throws or rejects answers 500; a status it may not use answers 500", async (t) => {
    let mode = "throw";
    const { port } = await startServer(t, {
      authenticate: async () => {
        if (mode === "throw") throw new Error("database down");
        if (mode === "200") return { status: 200 };
        if (mode === "101") return { status: 101 };
        return { status: 403, headers: { "X-Evil": "a\r\nSet-Cookie: x=1" } };
      },
    });
    for (mode of ["throw", "200", "101", "header injection"]) {
      const response = await rawRequest(port, upgradeWith(port, []));
      assert.equal(response.status, 500, mode);
      assert.equal(response.header("Set-Cookie"), undefined);
      assert.equal(response.connectionEnded, true);
    }
  });

  test("a client that leaves while authenticate runs is never accepted", async (t) => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { server, port } = await startServer(t, {
      authenticate: async () => {
        calls++;
        await gate;
        return true;
      },
    });
    let connections = 0;
    server.on("connection", () => connections++);
    const client = await RawClient.open(port);
    client.write(upgradeWith(port, []));
    await waitUntil(() => calls === 1, "authenticate to be called");
    client.destroy(); // a FIN, not a reset: the server only sees it by reading
    await sleep(20);
    release();
    await sleep(50);
    assert.equal(connections, 0);
    assert.equal(server.clients.size, 0);
  });

  test("G15: an authenticate that never settles: the handshake times out, handleUpgrade resolves undefined, the slot is freed", async (t) => {
    const server = new WebSocketServer({
      noServer: true,
      heartbeat: false,
      maxConnections: 1,
      handshakeTimeoutMs: 100,
      authenticate: (request) =>
        request.headers["x-stall"] === "1" ? new Promise<boolean>(() => {}) : true,
    });
    t.after(() => server.close({ timeoutMs: 100 }));
    const results: Promise<ServerWebSocket | undefined>[] = [];
    const { http, port } = await startHttpServer(t);
    http.on("upgrade", (request: IncomingMessage, socket, head: Buffer) => {
      results.push(server.handleUpgrade(request, socket, head));
    });
    const stalled = await RawClient.open(port);
    t.after(() => stalled.destroy());
    const started = performance.now();
    stalled.write(upgradeWith(port, [["X-Stall", "1"]]));
    await stalled.waitForClose();
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 90 && elapsed < 1000, `dropped after ${elapsed} ms`);
    assert.equal(await withTimeout(results[0]!, "handleUpgrade to settle"), undefined);
    // The stalled handshake no longer counts against maxConnections: 1.
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write(upgradeWith(port, []));
    assert.equal((await client.readResponse()).status, 101);
  });
});

describe("subprotocols (G9)", () => {
  for (const kind of CLIENT_KINDS) {
    test(`G9: with protocols: ["v2", "v1"], a ${kind.name} client offering v1, v2 gets the first it offered that the server speaks`, async (t) => {
      const { server, url } = await startServer(t, { protocols: ["v2", "v1"] });
      const accepted = nextConnection(server);
      const client = await kind.open(url(), { protocols: ["v0", "v1", "v2"] });
      const { socket } = await accepted;
      assert.equal(client.protocol, "v1");
      assert.equal(socket.protocol, "v1");
      client.close();
      await withTimeout(client.closed, "close");
    });

    test(`G9: no common subprotocol: the 101 has none, and a ${kind.name} client (which must fail then) is cleaned up`, async (t) => {
      // undici fails the connection but leaves TCP open without reading: the heartbeat ends it.
      const { server, url } = await startServer(t, {
        protocols: ["mqtt"],
        heartbeat: { intervalMs: 100, timeoutMs: 100 },
      });
      const accepted = nextConnection(server);
      await assert.rejects(kind.open(url(), { protocols: ["chat"] }), OpenError);
      const { socket } = await accepted;
      assert.equal(socket.protocol, "");
      const info = await withTimeout(socket.closed, "the server side to close", 1000);
      assert.equal(info.wasClean, false);
      assert.equal(server.clients.size, 0);
    });
  }

  test("G9: the default without `protocols` chooses none: no Sec-WebSocket-Protocol in the 101", async (t) => {
    const { port } = await startServer(t);
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write(upgradeWith(port, [["Sec-WebSocket-Protocol", "Chat.V2, chat.v1"]]));
    const response = await client.readResponse();
    assert.equal(response.status, 101);
    assert.equal(response.header("Sec-WebSocket-Protocol"), undefined);
  });

  test("G9: handleProtocols choosing the client's first: the 101 echoes it byte for byte, once", async (t) => {
    const { port } = await startServer(t, { handleProtocols: (offered) => offered[0] });
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write(upgradeWith(port, [["Sec-WebSocket-Protocol", "Chat.V2, chat.v1"]]));
    const response = await client.readResponse();
    assert.equal(response.status, 101);
    const values = response.headers.filter(([n]) => n.toLowerCase() === "sec-websocket-protocol");
    assert.deepEqual(
      values.map(([, v]) => v),
      ["Chat.V2"],
    );
  });

  test("G9: no header is sent when the client offered none, even if handleProtocols would choose", async (t) => {
    let calls = 0;
    const { port } = await startServer(t, {
      handleProtocols: () => {
        calls++;
        return "x";
      },
    });
    const client = await RawClient.open(port);
    t.after(() => client.destroy());
    client.write(upgradeWith(port, []));
    const response = await client.readResponse();
    assert.equal(response.status, 101);
    assert.equal(response.header("Sec-WebSocket-Protocol"), undefined);
    assert.equal(calls, 0);
  });

  test("G9: handleProtocols receives the offer and the request; returning undefined chooses none", async (t) => {
    const offers: (readonly string[])[] = [];
    const { port } = await startServer(t, {
      handleProtocols: (protocols, request) => {
        offers.push(protocols);
        return request.url === "/pick" ? protocols[1] : undefined;
      },
    });
    const pick = await RawClient.open(port);
    t.after(() => pick.destroy());
    pick.write(upgradeWith(port, [["Sec-WebSocket-Protocol", "a, b, c"]], "/pick"));
    assert.equal((await pick.readResponse()).header("Sec-WebSocket-Protocol"), "b");
    const none = await RawClient.open(port);
    t.after(() => none.destroy());
    none.write(upgradeWith(port, [["Sec-WebSocket-Protocol", "a"]], "/none"));
    const response = await none.readResponse();
    assert.equal(response.status, 101);
    assert.equal(response.header("Sec-WebSocket-Protocol"), undefined);
    assert.deepEqual(offers, [["a", "b", "c"], ["a"]]);
  });

  test('G9: handleProtocols choosing something not offered (or "", or throwing) answers 500, never a bad 101', async (t) => {
    let choice: () => string | undefined = () => "zzz";
    const { port } = await startServer(t, { handleProtocols: () => choice() });
    for (const make of [
      () => "zzz",
      () => "",
      () => {
        throw new Error("bug");
      },
    ]) {
      choice = make;
      const response = await rawRequest(port, upgradeWith(port, [["Sec-WebSocket-Protocol", "a"]]));
      assert.equal(response.status, 500);
      assert.equal(response.connectionEnded, true);
    }
  });
});
