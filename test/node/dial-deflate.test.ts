/**
 * permessage-deflate on the client side of the transport (`dial` with `deflate`; RFC 7692;
 * SPEC.md F12, F23, N6–N22), against a raw server on 127.0.0.1 that answers the handshake as
 * each test chooses and compresses/inflates with `node:zlib` itself: the offer, every answer a
 * client must refuse, `extensions` as received, compressed messages both ways, context takeover
 * and window sizes as the server's answer sets them.
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { createDeflateCodec } from "../../src/node/deflate-codec.js";
import { dial, type DialFailure, type OpenInfo } from "../../src/node/dial.js";
import type { Transport } from "../../src/node/transport.js";
import type { CloseOutcome } from "../../src/protocol/close-state.js";
import type { DeflateOfferOptions } from "../../src/protocol/extensions/permessage-deflate.js";
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
import {
  RawPeer,
  WAIT_MS,
  accept,
  parseCloseFrame,
  withTimeout,
  type PeerConnection,
  type ReceivedFrame,
} from "../helpers/raw-peer.js";

/** A queue with bounded waits. */
class Queue<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];
  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(item);
    else this.#items.push(item);
  }
  take(what: string): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return withTimeout(new Promise<T>((resolve) => this.#waiters.push(resolve)), what);
  }
}

interface Client {
  readonly transport: Transport;
  readonly info: OpenInfo;
  readonly messages: Queue<{ binary: boolean; data: Buffer }>;
  readonly closed: Promise<CloseOutcome>;
  readonly connection: PeerConnection;
}

interface Options {
  /** The server's Sec-WebSocket-Extensions answer (none when undefined). */
  readonly answer: string | undefined;
  readonly offer?: DeflateOfferOptions;
  readonly thresholdBytes?: number;
  readonly maxMessageBytes?: number;
}

function dialPeer(
  t: TestContext,
  options: Options,
): Promise<{ peer: RawPeer; result: Promise<Client | DialFailure> }> {
  return RawPeer.start({
    respond: () => accept(options.answer === undefined ? {} : { extensions: options.answer }),
    replyToClose: true,
  }).then((peer) => {
    t.after(() => peer.stop());
    const messages = new Queue<{ binary: boolean; data: Buffer }>();
    let resolveClosed: (outcome: CloseOutcome) => void = () => {};
    const closed = new Promise<CloseOutcome>((resolve) => (resolveClosed = resolve));
    const result = new Promise<Client | DialFailure>((resolve) => {
      dial(
        {
          url: new URL(peer.url),
          protocols: [],
          handshakeTimeoutMs: WAIT_MS,
          engine: {
            closeTimeoutMs: 1000,
            tcpCloseWaitMs: 500,
            ...(options.maxMessageBytes === undefined
              ? {}
              : { maxMessageBytes: options.maxMessageBytes }),
          },
          deflate: {
            offer: options.offer ?? {},
            codec: createDeflateCodec(),
            thresholdBytes: options.thresholdBytes ?? 0,
          },
        },
        {
          open(transport, info) {
            void peer
              .connection()
              .then((connection) => resolve({ transport, info, messages, closed, connection }));
            t.after(() => transport.destroy());
          },
          failed: resolve,
          handleMessage: (binary, data) => messages.push({ binary, data: Buffer.from(data) }),
          handleClosed: resolveClosed,
        },
      );
    });
    return { peer, result };
  });
}

async function open(t: TestContext, options: Options): Promise<Client> {
  const { result } = await dialPeer(t, options);
  const client = await withTimeout(result, "the client to open");
  if (!("transport" in client))
    assert.fail(`the handshake failed: ${client.code} ${client.message}`);
  return client;
}

/** The message a frame from the client carries: inflated when RSV1 is set. */
function messageOf(frame: ReceivedFrame, windowBits = 15): Buffer {
  return Buffer.from(
    frame.rsv === RSV1 ? referenceInflate(frame.payload, windowBits) : frame.payload,
  );
}

describe("F12/F23/N6–N10 the offer and the answer", () => {
  const offers: readonly [DeflateOfferOptions, string][] = [
    [{}, "permessage-deflate; client_max_window_bits"],
    [
      { serverNoContextTakeover: true, serverMaxWindowBits: 10 },
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits",
    ],
    [
      { clientMaxWindowBits: false, clientNoContextTakeover: true },
      "permessage-deflate; client_no_context_takeover",
    ],
  ];
  for (const [offer, header] of offers) {
    test(`F12/N3: offer ${JSON.stringify(offer)} is sent as "${header}", once`, async (t) => {
      const { peer, result } = await dialPeer(t, { answer: undefined, offer });
      await withTimeout(result, "the client to open");
      const request = await peer.request();
      assert.deepEqual(request.values("Sec-WebSocket-Extensions"), [header]);
    });
  }

  test('F23/N22: a server that declines leaves extensions "" and the connection plain', async (t) => {
    const client = await open(t, { answer: undefined });
    assert.equal(client.info.extensions, "");
    // N13: RSV1 from the server is then a protocol error.
    client.connection.sendFrame({
      opcode: OP.text,
      rsv: RSV1,
      payload: hex("f2 48 cd c9 c9 07 00"),
    });
    assert.equal(parseCloseFrame(await client.connection.nextFrame()).code, 1002);
    assert.equal((await client.closed).cause?.code, "ERR_WS_UNEXPECTED_RSV");
  });

  test("N22/F28: extensions is the server's header value exactly as received", async (t) => {
    const answer = 'permessage-deflate;server_no_context_takeover ; client_max_window_bits="10"';
    const client = await open(t, { answer });
    assert.equal(client.info.extensions, answer);
  });

  const refused: readonly [string, DeflateOfferOptions, string][] = [
    ["N6: an unknown parameter", {}, "permessage-deflate; x-foo"],
    [
      "N6: a duplicate parameter",
      {},
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    ],
    ["N4/N6: a leading zero", {}, "permessage-deflate; server_max_window_bits=010"],
    ["N4/N6: a quoted leading zero", {}, 'permessage-deflate; server_max_window_bits="09"'],
    ["N4/N6: 16 bits", {}, "permessage-deflate; server_max_window_bits=16"],
    [
      "N10: client_max_window_bits not offered",
      { clientMaxWindowBits: false },
      "permessage-deflate; client_max_window_bits=10",
    ],
    [
      "N10: client_max_window_bits above the offer",
      { clientMaxWindowBits: 10 },
      "permessage-deflate; client_max_window_bits=11",
    ],
    [
      "N10: client_max_window_bits without a value",
      {},
      "permessage-deflate; client_max_window_bits",
    ],
    [
      "N9: server_max_window_bits above the offer",
      { serverMaxWindowBits: 10 },
      "permessage-deflate; server_max_window_bits=12",
    ],
    [
      "N7★: server_no_context_takeover asked for, not confirmed",
      { serverNoContextTakeover: true },
      "permessage-deflate",
    ],
    ["N6/F22: permessage-deflate twice", {}, "permessage-deflate, permessage-deflate"],
    ["N6/F23: an extension that was not offered", {}, "x-webkit-deflate-frame"],
    ["N6/F23: permessage-deflate plus one not offered", {}, "permessage-deflate, x-foo"],
  ];
  for (const [name, offer, answer] of refused) {
    test(`${name}: answer "${answer}" → the handshake fails (ERR_WS_HANDSHAKE_EXTENSIONS)`, async (t) => {
      const { result } = await dialPeer(t, { answer, offer });
      const failure = await withTimeout(result, "the attempt to fail");
      assert.ok(!("transport" in failure), "the connection must not open");
      assert.equal(failure.code, "ERR_WS_HANDSHAKE_EXTENSIONS");
    });
  }
});

describe("N12–N21 compressed messages at the client", () => {
  test('N17: the RFC 7692 §7.2.3.1 frame c1 07 f2 48 cd c9 c9 07 00 is the text "Hello"', async (t) => {
    const client = await open(t, { answer: "permessage-deflate" });
    client.connection.sendRaw(hex("c1 07 f2 48 cd c9 c9 07 00"));
    assert.deepEqual(await client.messages.take("a message"), {
      binary: false,
      data: Buffer.from("Hello"),
    });
  });

  test("N12/N14/N15: 256 KiB of JSON-like text both ways, compressed, masked, RSV1 on the only frame", async (t) => {
    const client = await open(t, { answer: "permessage-deflate" });
    const text = jsonLikeText(256 * 1024);
    client.connection.sendFrame({
      opcode: OP.text,
      rsv: RSV1,
      payload: referenceDeflate(utf8(text)),
    });
    const received = await client.messages.take("a message");
    assert.equal(received.data.toString(), text);
    client.transport.send("text", utf8(text));
    const frame = await client.connection.nextFrame();
    assert.deepEqual(
      [frame.opcode, frame.rsv, frame.fin, frame.masked],
      [OP.text, RSV1, true, true],
    );
    assert.ok(frame.payload.length < text.length / 3);
    assert.equal(messageOf(frame).toString(), text);
  });

  test("N18: incompressible data and messages under the threshold are sent uncompressed", async (t) => {
    const client = await open(t, { answer: "permessage-deflate", thresholdBytes: 100 });
    const random = randomBytesSeeded(5000);
    client.transport.send("binary", random.slice());
    client.transport.send("text", utf8("a".repeat(99)));
    client.transport.send("text", utf8("a".repeat(100)));
    const frames = [
      await client.connection.nextFrame(),
      await client.connection.nextFrame(),
      await client.connection.nextFrame(),
    ];
    assert.deepEqual(
      frames.map((frame) => frame.rsv),
      [0, 0, RSV1],
    );
    assert.deepEqual(messageOf(frames[0]!), Buffer.from(random));
  });

  test("N19: with takeover (no *_no_context_takeover) the client's messages form one zlib stream", async (t) => {
    const client = await open(t, { answer: "permessage-deflate" });
    const message = jsonLikeText(6000);
    for (let i = 0; i < 3; i++) client.transport.send("text", utf8(message));
    const inflater = new StreamingInflater();
    try {
      const sizes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const frame = await client.connection.nextFrame();
        sizes.push(frame.payload.length);
        assert.equal(Buffer.from(await inflater.decompress(frame.payload)).toString(), message);
      }
      assert.ok(sizes[1]! < sizes[0]! / 10, `sizes ${sizes.join(", ")}`);
    } finally {
      inflater.close();
    }
  });

  test("N8/N19: client_no_context_takeover in the answer: every client message inflates on its own", async (t) => {
    const client = await open(t, { answer: "permessage-deflate; client_no_context_takeover" });
    const message = jsonLikeText(6000);
    for (let i = 0; i < 3; i++) client.transport.send("text", utf8(message));
    for (let i = 0; i < 3; i++) {
      const frame = await client.connection.nextFrame();
      assert.equal(frame.rsv, RSV1);
      assert.equal(messageOf(frame).toString(), message);
    }
  });

  test("N19: the server's zlib stream (takeover) is inflated message after message", async (t) => {
    const client = await open(t, { answer: "permessage-deflate" });
    const deflater = new StreamingDeflater();
    const messages = Array.from({ length: 6 }, (_, i) => jsonLikeText(4000, 30 + (i % 2)));
    try {
      for (const message of messages) {
        client.connection.sendFrame({
          opcode: OP.text,
          rsv: RSV1,
          payload: await deflater.compress(utf8(message)),
        });
      }
    } finally {
      deflater.close();
    }
    for (const message of messages) {
      assert.equal((await client.messages.take("a message")).data.toString(), message);
    }
  });

  test("N7/N19/N20: server_no_context_takeover answered, then a back-reference into a previous message → 1007", async (t) => {
    const client = await open(t, { answer: "permessage-deflate; server_no_context_takeover" });
    const deflater = new StreamingDeflater();
    const message = utf8(jsonLikeText(4000));
    try {
      client.connection.sendFrame({
        opcode: OP.text,
        rsv: RSV1,
        payload: await deflater.compress(message),
      });
      client.connection.sendFrame({
        opcode: OP.text,
        rsv: RSV1,
        payload: await deflater.compress(message),
      });
    } finally {
      deflater.close();
    }
    await client.messages.take("the first message");
    assert.equal(parseCloseFrame(await client.connection.nextFrame()).code, 1007);
    assert.equal((await client.closed).cause?.code, "ERR_WS_INVALID_COMPRESSED_DATA");
  });

  test("N10: client_max_window_bits=9 in the answer: the client's output inflates with a 9-bit window", async (t) => {
    const client = await open(t, { answer: "permessage-deflate; client_max_window_bits=9" });
    const message = jsonLikeText(30_000);
    client.transport.send("text", utf8(message));
    const frame = await client.connection.nextFrame();
    assert.equal(frame.rsv, RSV1);
    const inflater = new StreamingInflater(9);
    try {
      assert.equal(Buffer.from(await inflater.decompress(frame.payload)).toString(), message);
    } finally {
      inflater.close();
    }
  });

  test("N21: client_max_window_bits=8 in the answer: the client sends uncompressed, and still inflates", async (t) => {
    const client = await open(t, { answer: "permessage-deflate; client_max_window_bits=8" });
    const message = jsonLikeText(30_000);
    client.transport.send("text", utf8(message));
    const frame = await client.connection.nextFrame();
    assert.equal(frame.rsv, 0);
    assert.equal(Buffer.from(frame.payload).toString(), message);
    client.connection.sendFrame({
      opcode: OP.text,
      rsv: RSV1,
      payload: referenceDeflate(utf8(message)),
    });
    assert.equal((await client.messages.take("a message")).data.toString(), message);
  });

  test("N21: server_max_window_bits=8 answered unasked: the server's 8 (zlib: 9) stream inflates", async (t) => {
    const client = await open(t, { answer: "permessage-deflate; server_max_window_bits=8" });
    const message = jsonLikeText(30_000);
    client.connection.sendFrame({
      opcode: OP.text,
      rsv: RSV1,
      payload: referenceDeflate(utf8(message), 8),
    });
    assert.equal((await client.messages.take("a message")).data.toString(), message);
  });

  test("N20/P7: a compressed message inflating beyond maxMessageBytes → 1009", async (t) => {
    const client = await open(t, { answer: "permessage-deflate", maxMessageBytes: 100_000 });
    client.connection.sendFrame({
      opcode: OP.binary,
      rsv: RSV1,
      payload: referenceDeflate(new Uint8Array(100_001)),
    });
    assert.equal(parseCloseFrame(await client.connection.nextFrame()).code, 1009);
    assert.equal((await client.closed).cause?.code, "ERR_WS_MESSAGE_TOO_BIG");
  });

  test("N12: RSV1 on a continuation from the server → 1002", async (t) => {
    const client = await open(t, { answer: "permessage-deflate" });
    const compressed = referenceDeflate(utf8(jsonLikeText(500)));
    client.connection.sendFrame({
      opcode: OP.text,
      rsv: RSV1,
      fin: false,
      payload: compressed.subarray(0, 5),
    });
    client.connection.sendFrame({ opcode: OP.cont, rsv: RSV1, payload: compressed.subarray(5) });
    assert.equal(parseCloseFrame(await client.connection.nextFrame()).code, 1002);
  });
});
