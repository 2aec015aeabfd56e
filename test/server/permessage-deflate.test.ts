/**
 * permessage-deflate at the server (RFC 7692; SPEC.md N1–N22, P7, P8), over real sockets with a
 * raw client that compresses and inflates with `node:zlib` itself: negotiation and the
 * `extensions` attribute in every server mode, options and their validation, compressed
 * messages in both directions, the threshold, context takeover on and off (the default keeps
 * no compression state), broadcast, and every failure (1002, 1007, 1009).
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import {
  WebSocketServer,
  type ServerWebSocket,
  type WebSocketServerOptions,
} from "../../src/index.js";
import {
  RSV1,
  StreamingDeflater,
  StreamingInflater,
  jsonLikeText,
  randomBytesSeeded,
  referenceDeflate,
  referenceInflate,
} from "../helpers/deflate-harness.js";
import { OP, hex, utf8 } from "../helpers/frames.js";
import { RawClient, type RawFrame } from "../helpers/raw-client.js";
import {
  SERVER_MODES,
  nextConnection,
  startServerIn,
  type TestServerOptions,
} from "../helpers/server-harness.js";

const BROWSER_OFFER = "permessage-deflate; client_max_window_bits";
const DEFAULT_ANSWER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/**
 * Starts a server on 127.0.0.1 whose raw clients are dropped before it shuts down (so the
 * shutdown does not wait for their Close), both after the test.
 */
async function startQuickServer(
  t: TestContext,
  options: TestServerOptions = {},
): Promise<{ server: WebSocketServer; port: number; open(offer?: string): Promise<RawClient> }> {
  const server = new WebSocketServer({ heartbeat: false, ...options, port: 0, host: "127.0.0.1" });
  const clients: RawClient[] = [];
  t.after(async () => {
    for (const client of clients) client.destroy();
    await server.close({ timeoutMs: 200 });
  });
  const { port } = await server.ready();
  return {
    server,
    port,
    async open() {
      const client = await RawClient.open(port);
      clients.push(client);
      return client;
    },
  };
}

/** Starts an echo server (text as text, binary as binary) and connects a raw client with `offer`. */
async function echoPair(
  t: TestContext,
  options: TestServerOptions = {},
  offer: string | undefined = BROWSER_OFFER,
): Promise<{ client: RawClient; socket: ServerWebSocket; answer: string | undefined }> {
  const { server, open } = await startQuickServer(t, { binaryType: "nodebuffer", ...options });
  const accepted = nextConnection(server);
  const client = await open();
  const response = await client.upgrade(
    "/",
    offer === undefined ? [] : [["Sec-WebSocket-Extensions", offer]],
  );
  assert.equal(response.status, 101, response.raw);
  const { socket } = await accepted;
  socket.onmessage = (event) => socket.send(event.data as string | Buffer);
  return { client, socket, answer: response.header("Sec-WebSocket-Extensions") };
}

/** The message a frame from the server carries: inflated when RSV1 is set. */
function messageOf(frame: RawFrame, windowBits = 15): Buffer {
  return frame.rsv === RSV1
    ? Buffer.from(referenceInflate(frame.payload, windowBits))
    : frame.payload;
}

describe("N1/N2/N22 negotiation at the server", () => {
  for (const mode of SERVER_MODES) {
    test(`N2/N22/${mode}: the browser offer is accepted with sockwise's defaults; extensions shows the answer`, async (t) => {
      const { server, port } = await startServerIn(mode, t);
      const accepted = nextConnection(server);
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      const response = await client.upgrade("/", [["Sec-WebSocket-Extensions", BROWSER_OFFER]]);
      assert.equal(response.header("Sec-WebSocket-Extensions"), DEFAULT_ANSWER);
      const { socket } = await accepted;
      assert.equal(socket.extensions, DEFAULT_ANSWER);
    });

    test(`N1/${mode}: no offer → no answer, extensions ""`, async (t) => {
      const { server, port } = await startServerIn(mode, t);
      const accepted = nextConnection(server);
      const client = await RawClient.connect(port);
      t.after(() => client.destroy());
      const { socket } = await accepted;
      assert.equal(socket.extensions, "");
    });
  }

  const rows: readonly [
    string,
    WebSocketServerOptions["perMessageDeflate"],
    string,
    string | undefined,
  ][] = [
    ["perMessageDeflate: true is the default", true, BROWSER_OFFER, DEFAULT_ANSWER],
    ["perMessageDeflate: false declines", false, BROWSER_OFFER, undefined],
    [
      "N19: context takeover allowed both ways",
      { serverNoContextTakeover: false, clientNoContextTakeover: false },
      BROWSER_OFFER,
      "permessage-deflate",
    ],
    [
      "N7: only the server resets",
      { clientNoContextTakeover: false },
      BROWSER_OFFER,
      "permessage-deflate; server_no_context_takeover",
    ],
    [
      "N8: only the client is asked to reset",
      { serverNoContextTakeover: false },
      BROWSER_OFFER,
      "permessage-deflate; client_no_context_takeover",
    ],
    [
      "N9/N10: window options",
      { serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
      BROWSER_OFFER,
      `${DEFAULT_ANSWER}; server_max_window_bits=10; client_max_window_bits=11`,
    ],
    [
      "N10: no client_max_window_bits offered → none answered",
      { clientMaxWindowBits: 11 },
      "permessage-deflate",
      DEFAULT_ANSWER,
    ],
    [
      "N7: the client's server_no_context_takeover is honoured",
      { serverNoContextTakeover: false, clientNoContextTakeover: false },
      "permessage-deflate; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover",
    ],
    [
      "N5: an invalid first offer is declined, the second accepted",
      { serverNoContextTakeover: false, clientNoContextTakeover: false },
      "permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=12",
      "permessage-deflate; server_max_window_bits=12",
    ],
    [
      "N5: every offer invalid → no extension, the connection is still accepted",
      true,
      "permessage-deflate; foo, permessage-deflate; client_max_window_bits=08",
      undefined,
    ],
    ["N1: only unknown extensions → none", true, "x-webkit-deflate-frame, x-foo", undefined],
    [
      "N21: the client caps the server at 8 bits: accepted (sockwise then sends uncompressed)",
      true,
      "permessage-deflate; server_max_window_bits=8",
      `${DEFAULT_ANSWER}; server_max_window_bits=8`,
    ],
  ];
  for (const [name, perMessageDeflate, offer, answer] of rows) {
    test(`${name}: "${offer}" → ${answer ?? "no Sec-WebSocket-Extensions"}`, async (t) => {
      const { socket, answer: actual } = await echoPair(
        t,
        { perMessageDeflate: perMessageDeflate! },
        offer,
      );
      assert.equal(actual, answer);
      assert.equal(socket.extensions, answer ?? "");
    });
  }

  for (const [name, perMessageDeflate] of [
    ["N21: serverMaxWindowBits 8", { serverMaxWindowBits: 8 }],
    ["N21: clientMaxWindowBits 8", { clientMaxWindowBits: 8 }],
    ["serverMaxWindowBits 16", { serverMaxWindowBits: 16 }],
    ["thresholdBytes −1", { thresholdBytes: -1 }],
    ["thresholdBytes NaN", { thresholdBytes: Number.NaN }],
    ["level 10", { level: 10 }],
    ["memLevel 0", { memLevel: 0 }],
    ["a string", "yes"],
    ["null", null],
  ] as const) {
    test(`options: perMessageDeflate ${name} → RangeError ERR_WS_INVALID_OPTION at construction`, () => {
      assert.throws(
        () =>
          new WebSocketServer({
            noServer: true,
            perMessageDeflate: perMessageDeflate as unknown as boolean,
          }),
        (error: unknown) =>
          (error instanceof RangeError || error instanceof TypeError) &&
          (error as { code?: unknown }).code === "ERR_WS_INVALID_OPTION",
      );
    });
  }
});

describe("N12–N20 compressed messages at the server", () => {
  test('N17: the RFC 7692 §7.2.3.1 frame from a client is the text "Hello", echoed uncompressed (N18)', async (t) => {
    const { client } = await echoPair(t);
    client.sendFrame({ opcode: OP.text, rsv: RSV1, payload: hex("f2 48 cd c9 c9 07 00") });
    const echo = await client.nextFrame();
    assert.deepEqual([echo.opcode, echo.rsv, echo.payload.toString()], [OP.text, 0, "Hello"]);
  });

  test("N12/N14/N15: a 256 KiB JSON text and 64 KiB binary round-trip compressed both ways", async (t) => {
    const { client } = await echoPair(t);
    const text = jsonLikeText(256 * 1024);
    const binary = utf8(jsonLikeText(64 * 1024, 3));
    client.sendFrame({ opcode: OP.text, rsv: RSV1, payload: referenceDeflate(utf8(text)) });
    client.sendFrame({ opcode: OP.binary, rsv: RSV1, payload: referenceDeflate(binary) });
    const echoText = await client.nextFrame();
    const echoBinary = await client.nextFrame();
    assert.deepEqual([echoText.opcode, echoText.rsv, echoText.fin], [OP.text, RSV1, true]);
    assert.ok(echoText.payload.length < text.length / 3, `${echoText.payload.length} bytes`);
    assert.equal(messageOf(echoText).toString(), text);
    assert.deepEqual([echoBinary.opcode, echoBinary.rsv], [OP.binary, RSV1]);
    assert.deepEqual(messageOf(echoBinary), Buffer.from(binary));
  });

  test("N12/N15: a compressed message in 1-byte fragments, with a ping between them", async (t) => {
    const { client } = await echoPair(t);
    const data = utf8(jsonLikeText(3000));
    const compressed = referenceDeflate(data);
    compressed.forEach((byte, i) => {
      client.sendFrame({
        opcode: i === 0 ? OP.binary : OP.cont,
        rsv: i === 0 ? RSV1 : 0,
        fin: i === compressed.length - 1,
        payload: Uint8Array.of(byte),
      });
      if (i === 10) client.sendPing("in between");
    });
    const pong = await client.nextFrame();
    assert.deepEqual([pong.opcode, pong.payload.toString()], [OP.pong, "in between"]);
    assert.deepEqual(messageOf(await client.nextFrame()), Buffer.from(data));
  });

  test("N18: thresholdBytes (default 1024): 1 023 bytes go out uncompressed, 1 024 compressed", async (t) => {
    const { client, socket } = await echoPair(t);
    socket.onmessage = null;
    socket.send("a".repeat(1023));
    socket.send("a".repeat(1024));
    socket.send(randomBytesSeeded(4096)); // does not shrink: uncompressed
    const frames = [await client.nextFrame(), await client.nextFrame(), await client.nextFrame()];
    assert.deepEqual(
      frames.map((frame) => frame.rsv),
      [0, RSV1, 0],
    );
    assert.equal(messageOf(frames[1]!).toString(), "a".repeat(1024));
  });

  test("N18: thresholdBytes 0 compresses any message that shrinks; pings are never compressed", async (t) => {
    const { client, socket } = await echoPair(t, { perMessageDeflate: { thresholdBytes: 0 } });
    socket.onmessage = null;
    socket.send("a".repeat(20));
    socket.ping(utf8("p".repeat(125)));
    const message = await client.nextFrame();
    const ping = await client.nextFrame();
    assert.equal(message.rsv, RSV1);
    assert.equal(messageOf(message).toString(), "a".repeat(20));
    assert.deepEqual([ping.opcode, ping.rsv, ping.payload.length], [OP.ping, 0, 125]);
  });

  test("N18: a client may still send uncompressed messages after negotiation", async (t) => {
    const { client } = await echoPair(t);
    client.sendText("plain");
    client.sendFrame({
      opcode: OP.text,
      rsv: RSV1,
      payload: referenceDeflate(utf8("compressed, compressed, compressed")),
    });
    client.sendBinary(hex("00 01 02"));
    assert.equal((await client.nextFrame()).payload.toString(), "plain");
    assert.equal(
      messageOf(await client.nextFrame()).toString(),
      "compressed, compressed, compressed",
    );
    assert.deepEqual((await client.nextFrame()).payload, Buffer.from([0, 1, 2]));
  });

  test("N19/P8: by default each message the server sends inflates on its own (server_no_context_takeover)", async (t) => {
    const { client, socket } = await echoPair(t);
    socket.onmessage = null;
    const message = jsonLikeText(8000);
    for (let i = 0; i < 3; i++) socket.send(message);
    const frames = [await client.nextFrame(), await client.nextFrame(), await client.nextFrame()];
    for (const frame of frames) {
      assert.equal(frame.rsv, RSV1);
      assert.equal(Buffer.from(referenceInflate(frame.payload)).toString(), message);
    }
    assert.equal(frames[2]!.payload.length, frames[0]!.payload.length);
  });

  test("N19: with takeover allowed, repeated messages shrink to a few bytes and a zlib stream inflates them", async (t) => {
    const { client, socket, answer } = await echoPair(t, {
      perMessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false },
    });
    assert.equal(answer, "permessage-deflate");
    socket.onmessage = null;
    const message = jsonLikeText(8000);
    for (let i = 0; i < 3; i++) socket.send(message);
    const frames = [await client.nextFrame(), await client.nextFrame(), await client.nextFrame()];
    // 8 000 bytes become about 31 maximal (258-byte) back-references.
    assert.ok(frames[1]!.payload.length < 100, `${frames[1]!.payload.length} bytes`);
    assert.ok(frames[0]!.payload.length > 1000, `${frames[0]!.payload.length} bytes`);
    const inflater = new StreamingInflater();
    try {
      for (const frame of frames) {
        assert.equal(Buffer.from(await inflater.decompress(frame.payload)).toString(), message);
      }
    } finally {
      inflater.close();
    }
  });

  test("N19: with client takeover allowed, a client's zlib stream (back-references) is inflated", async (t) => {
    const { client } = await echoPair(t, { perMessageDeflate: { clientNoContextTakeover: false } });
    const deflater = new StreamingDeflater();
    const messages = Array.from({ length: 5 }, (_, i) => jsonLikeText(5000, 20 + (i % 2)));
    try {
      for (const message of messages) {
        client.sendFrame({
          opcode: OP.text,
          rsv: RSV1,
          payload: await deflater.compress(utf8(message)),
        });
      }
    } finally {
      deflater.close();
    }
    for (const message of messages)
      assert.equal(messageOf(await client.nextFrame()).toString(), message);
  });

  test("N19/N20: with client_no_context_takeover (default), a client that keeps its context → 1007", async (t) => {
    const { client, socket } = await echoPair(t);
    const deflater = new StreamingDeflater();
    const message = utf8(jsonLikeText(5000));
    try {
      client.sendFrame({ opcode: OP.text, rsv: RSV1, payload: await deflater.compress(message) });
      client.sendFrame({ opcode: OP.text, rsv: RSV1, payload: await deflater.compress(message) });
    } finally {
      deflater.close();
    }
    assert.equal(messageOf(await client.nextFrame()).toString(), Buffer.from(message).toString());
    assert.equal((await client.nextClose()).code, 1007);
    assert.equal((await socket.closed).cause?.code, "ERR_WS_INVALID_COMPRESSED_DATA");
  });

  test("N9/N10: with 9-bit windows the server's output inflates with a 9-bit zlib inflater", async (t) => {
    const { client, socket, answer } = await echoPair(t, {
      perMessageDeflate: { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    });
    assert.equal(answer, `${DEFAULT_ANSWER}; server_max_window_bits=9; client_max_window_bits=9`);
    socket.onmessage = null;
    const message = jsonLikeText(20_000);
    socket.send(message);
    const frame = await client.nextFrame();
    assert.equal(frame.rsv, RSV1);
    const inflater = new StreamingInflater(9);
    try {
      assert.equal(Buffer.from(await inflater.decompress(frame.payload)).toString(), message);
    } finally {
      inflater.close();
    }
  });

  test("N21: after accepting server_max_window_bits=8 the server sends everything uncompressed", async (t) => {
    const { client, socket } = await echoPair(
      t,
      {},
      "permessage-deflate; server_max_window_bits=8",
    );
    socket.onmessage = null;
    socket.send(jsonLikeText(20_000));
    const frame = await client.nextFrame();
    assert.equal(frame.rsv, 0);
    assert.equal(frame.payload.toString(), jsonLikeText(20_000));
  });

  test("C8: bufferedAmount counts the application's bytes of compressed messages and drains to 0", async (t) => {
    const { client, socket } = await echoPair(t);
    socket.onmessage = null;
    const message = jsonLikeText(100_000);
    socket.send(message);
    socket.send(message);
    assert.equal(socket.bufferedAmount, 2 * 100_000);
    await socket.drained();
    assert.equal(socket.bufferedAmount, 0);
    for (let i = 0; i < 2; i++)
      assert.equal(messageOf(await client.nextFrame()).toString(), message);
  });

  test("N12: broadcast compresses for each connection that negotiated it, and not for the others", async (t) => {
    const { server, open } = await startQuickServer(t);
    const clients: RawClient[] = [];
    for (const offer of [BROWSER_OFFER, undefined, BROWSER_OFFER]) {
      const accepted = nextConnection(server);
      const client = await open();
      const response = await client.upgrade(
        "/",
        offer === undefined ? [] : [["Sec-WebSocket-Extensions", offer]],
      );
      assert.equal(response.status, 101);
      clients.push(client);
      await accepted;
    }
    const message = jsonLikeText(10_000);
    assert.deepEqual(server.broadcast(message), { sent: 3, skipped: 0 });
    const frames = await Promise.all(clients.map((client) => client.nextFrame()));
    assert.deepEqual(
      frames.map((frame) => frame.rsv),
      [RSV1, 0, RSV1],
    );
    for (const frame of frames) assert.equal(messageOf(frame).toString(), message);
  });
});

describe("N12/N13/N20 failures at the server", () => {
  const cases: readonly [string, TestServerOptions, (client: RawClient) => void, number, string][] =
    [
      [
        "N13: RSV1 when permessage-deflate was declined",
        { perMessageDeflate: false },
        (c) => c.sendFrame({ opcode: OP.text, rsv: RSV1, payload: hex("f2 48 cd c9 c9 07 00") }),
        1002,
        "ERR_WS_UNEXPECTED_RSV",
      ],
      [
        "N12: RSV1 on a continuation frame",
        {},
        (c) => {
          const compressed = referenceDeflate(utf8(jsonLikeText(500)));
          c.sendFrame({
            opcode: OP.text,
            rsv: RSV1,
            fin: false,
            payload: compressed.subarray(0, 10),
          });
          c.sendFrame({ opcode: OP.cont, rsv: RSV1, payload: compressed.subarray(10) });
        },
        1002,
        "ERR_WS_UNEXPECTED_RSV",
      ],
      [
        "N12: RSV1 on a ping",
        {},
        (c) => c.sendFrame({ opcode: OP.ping, rsv: RSV1, payload: "p" }),
        1002,
        "ERR_WS_UNEXPECTED_RSV",
      ],
      [
        "N12: RSV2 with permessage-deflate",
        {},
        (c) => c.sendFrame({ opcode: OP.text, rsv: 2, payload: "x" }),
        1002,
        "ERR_WS_UNEXPECTED_RSV",
      ],
      [
        "N20★: corrupt DEFLATE data",
        {},
        (c) => c.sendFrame({ opcode: OP.binary, rsv: RSV1, payload: hex("07 00 ff") }),
        1007,
        "ERR_WS_INVALID_COMPRESSED_DATA",
      ],
      [
        "N20/K: compressed text that inflates to invalid UTF-8",
        {},
        (c) =>
          c.sendFrame({
            opcode: OP.text,
            rsv: RSV1,
            payload: referenceDeflate(hex("48 65 6c 6c 6f c0 af")),
          }),
        1007,
        "ERR_WS_INVALID_UTF8",
      ],
      [
        "N20/P7: inflating beyond maxMessageBytes",
        { maxMessageBytes: 64 * 1024 },
        (c) =>
          c.sendFrame({
            opcode: OP.binary,
            rsv: RSV1,
            payload: referenceDeflate(new Uint8Array(64 * 1024 + 1)),
          }),
        1009,
        "ERR_WS_MESSAGE_TOO_BIG",
      ],
    ];
  for (const [name, options, send, code, cause] of cases) {
    test(`${name} → Close ${code} (${cause})`, async (t) => {
      const { client, socket } = await echoPair(t, options);
      send(client);
      assert.equal((await client.nextClose()).code, code);
      const closed = await socket.closed;
      assert.equal(closed.cause?.code, cause);
      assert.equal(closed.sentCode, code);
    });
  }

  test("N20/P7: exactly maxMessageBytes once inflated is accepted", async (t) => {
    const { client } = await echoPair(t, { maxMessageBytes: 64 * 1024 });
    const data = new Uint8Array(64 * 1024);
    client.sendFrame({ opcode: OP.binary, rsv: RSV1, payload: referenceDeflate(data) });
    assert.deepEqual(messageOf(await client.nextFrame()), Buffer.from(data));
  });
});
