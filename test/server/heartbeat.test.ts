/**
 * The heartbeat (SPEC.md J9): idle connections are pinged; a peer that stays silent after the
 * ping is dropped (1006, not clean, cause ERR_WS_HEARTBEAT_TIMEOUT); live peers survive.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SERVER_DEFAULTS } from "../../src/index.js";
import { OP } from "../helpers/frames.js";
import { CLIENT_KINDS } from "../helpers/peer-clients.js";
import { RawClient } from "../helpers/raw-client.js";
import {
  SocketEvents,
  nextConnection,
  sleep,
  startServer,
  withTimeout,
} from "../helpers/server-harness.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";

const HEARTBEAT = { intervalMs: 80, timeoutMs: 80 };

describe("heartbeat (J9)", () => {
  test("the defaults are a 30 s interval and a 10 s timeout", () => {
    assert.deepEqual(SERVER_DEFAULTS.heartbeat, { intervalMs: 30_000, timeoutMs: 10_000 });
  });

  test("J9: a client that completes the handshake but never answers pings is dropped: 1006, not clean, ERR_WS_HEARTBEAT_TIMEOUT", async (t) => {
    const { server, port } = await startServer(t, { heartbeat: HEARTBEAT });
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const started = performance.now();
    const { socket } = await accepted;
    const ping = await client.nextFrame();
    assert.equal(ping.opcode, OP.ping);
    const info = await withTimeout(socket.closed, "the heartbeat to drop the client", 2000);
    const elapsed = performance.now() - started;
    // At least one interval idle plus the timeout; at most both plus two sweeps and slack.
    assert.ok(elapsed >= 150 && elapsed < 1000, `dropped after ${Math.round(elapsed)} ms`);
    assert.equal(info.code, 1006);
    assert.equal(info.reason, "");
    assert.equal(info.wasClean, false);
    assert.equal(info.initiator, "local");
    assert.equal(info.cause?.code, "ERR_WS_HEARTBEAT_TIMEOUT");
    await client.waitForClose();
    // Dropped, not closed: no Close frame was sent (J9: the close is unclean for both sides).
    while (client.pendingFrames > 0) assert.notEqual((await client.nextFrame()).opcode, OP.close);
    assert.equal(server.clients.size, 0);
  });

  test("J9: a raw client that answers each ping survives, and the pongs are reported", async (t) => {
    const { server, port } = await startServer(t, { heartbeat: HEARTBEAT });
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    const events = new SocketEvents(socket);
    const until = performance.now() + 600;
    let pings = 0;
    while (performance.now() < until) {
      const frame = await client.nextFrame(1000);
      assert.equal(frame.opcode, OP.ping);
      pings++;
      client.sendPong(frame.payload);
    }
    assert.ok(pings >= 2, `${pings} pings`);
    await events.next("pong");
    assert.equal(socket.readyState, 1);
    assert.equal(server.clients.size, 1);
  });

  test("J9: traffic counts as a sign of life: a client that keeps sending is never pinged", async (t) => {
    const { server, port } = await startServer(t, { heartbeat: HEARTBEAT });
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    for (let i = 0; i < 20; i++) {
      client.sendText(`tick ${i}`);
      await sleep(HEARTBEAT.intervalMs / 4);
    }
    assert.equal(client.pendingFrames, 0, "no ping was sent");
    assert.equal(socket.readyState, 1);
  });

  for (const kind of CLIENT_KINDS) {
    test(`J9: an idle ${kind.name} client answers the pings and survives several timeouts`, async (t) => {
      const { server, url } = await startServer(t, { heartbeat: HEARTBEAT });
      const accepted = nextConnection(server);
      const client = await kind.open(url());
      const { socket } = await accepted;
      let pongs = 0;
      socket.onpong = () => pongs++;
      await sleep(8 * HEARTBEAT.intervalMs);
      assert.ok(pongs >= 2, `${pongs} pongs`);
      assert.equal(socket.readyState, 1);
      assert.equal(client.readyState, 1);
      socket.send("still here");
      assert.equal(await client.nextMessage(), "still here");
      client.close(1000);
      assert.equal((await withTimeout(client.closed, "close")).wasClean, true);
    });

    test(`J9: a ${kind.name} client behind a network that went silent is dropped`, async (t) => {
      const { server, port } = await startServer(t, { heartbeat: HEARTBEAT });
      const proxy = await TcpProxy.start(port);
      t.after(() => proxy.stop());
      const accepted = nextConnection(server);
      const client = await kind.open(`ws://127.0.0.1:${proxy.port}/`);
      const { socket } = await accepted;
      proxy.hold();
      const info = await withTimeout(socket.closed, "the heartbeat to drop the client", 2000);
      assert.equal(info.cause?.code, "ERR_WS_HEARTBEAT_TIMEOUT");
      assert.equal(info.wasClean, false);
      proxy.release();
      const seen = await withTimeout(client.closed, "the client to learn");
      assert.equal(seen.code, 1006);
      assert.equal(seen.wasClean, false);
    });
  }

  test("heartbeat: false sends no pings", async (t) => {
    const { server, port } = await startServer(t, { heartbeat: false });
    const accepted = nextConnection(server);
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    const { socket } = await accepted;
    await sleep(300);
    assert.equal(client.pendingFrames, 0);
    assert.equal(socket.readyState, 1);
  });
});
