/**
 * Shared pieces of the permessage-deflate interop suites (test/interop/deflate-*.test.ts): the
 * parameter combinations, the message corpus, sockwise's two ends with permessage-deflate, and
 * the checks run on every connection (both ends' `extensions`, every echo intact, and what the
 * wire tap saw: compressed messages in both directions, RSV1 only where allowed, and context
 * takeover visible exactly when negotiated).
 *
 * The sockwise end always sends and the peer echoes, so each message is compressed once by
 * sockwise and once by the peer.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { parseExtensions } from "../../src/protocol/handshake/header-grammar.js";
import {
  WebSocket,
  WebSocketServer,
  type CloseEvent,
  type ServerWebSocket,
} from "../../src/index.js";
import { jsonLikeText, randomBytesSeeded } from "./deflate-harness.js";
import type { TapDirection, TapLink } from "./deflate-tap.js";

/** Multiplies every wait: `SOCKWISE_TEST_TIME_SCALE=3`. */
export const TIME_SCALE = Math.max(1, Number(process.env["SOCKWISE_TEST_TIME_SCALE"] ?? "1") || 1);
export const WAIT_MS = 10_000 * TIME_SCALE;

/** sockwise's message limit in these suites (the largest message is 2 MiB). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One parameter combination, applied the same way on both ends. */
export interface Combo {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  /** Both max_window_bits parameters. */
  readonly windowBits: 9 | 15;
}

/** Every combination: server/client no_context_takeover on and off, windows of 9 and 15 bits. */
export const COMBOS: readonly Combo[] = [false, true].flatMap((serverNoContextTakeover) =>
  [false, true].flatMap((clientNoContextTakeover) =>
    ([9, 15] as const).map((windowBits) => ({
      serverNoContextTakeover,
      clientNoContextTakeover,
      windowBits,
    })),
  ),
);

export function comboName(combo: Combo): string {
  return [
    combo.serverNoContextTakeover ? "server_no_context_takeover" : "server takeover",
    combo.clientNoContextTakeover ? "client_no_context_takeover" : "client takeover",
    `max_window_bits=${combo.windowBits}`,
  ].join(", ");
}

/** The parameters of a `permessage-deflate` header value, as a sorted list of `name[=value]`. */
export function paramsOf(header: string | undefined): string[] {
  assert.ok(header !== undefined && header !== "", "no Sec-WebSocket-Extensions");
  const [extension, ...rest] = parseExtensions(header);
  assert.equal(rest.length, 0, header);
  assert.equal(extension!.name, "permessage-deflate", header);
  return extension!.params.map(([n, v]) => (v === true ? n : `${n}=${v}`)).sort();
}

/** What both ends must have agreed on when each requested/configured exactly `combo`. */
export function expectedParams(combo: Combo): string[] {
  return [
    ...(combo.serverNoContextTakeover ? ["server_no_context_takeover"] : []),
    ...(combo.clientNoContextTakeover ? ["client_no_context_takeover"] : []),
    `server_max_window_bits=${combo.windowBits}`,
    `client_max_window_bits=${combo.windowBits}`,
  ].sort();
}

/** One message of the corpus. */
export interface CorpusMessage {
  readonly name: string;
  readonly binary: boolean;
  readonly data: Buffer;
}

/** Small enough to repeat within a 9-bit window (zlib reaches 250 bytes back with 512). */
const REPEATED = jsonLikeText(200, 11);

/** Index of the first of the {@link REPEAT_COUNT} identical messages. */
export const REPEAT_START = 3;
export const REPEAT_COUNT = 5;

/** Small and large, text and binary, compressible and not, empty, and repeats for takeover. */
export const CORPUS: readonly CorpusMessage[] = [
  { name: "Hello", binary: false, data: Buffer.from("Hello") },
  { name: "empty text", binary: false, data: Buffer.alloc(0) },
  { name: "16 KiB JSON text", binary: false, data: Buffer.from(jsonLikeText(16 * 1024, 12)) },
  ...Array.from({ length: REPEAT_COUNT }, (_, i) => ({
    name: `200 B JSON, repeat ${i + 1}`,
    binary: false,
    data: Buffer.from(REPEATED),
  })),
  { name: "64 KiB JSON binary", binary: true, data: Buffer.from(jsonLikeText(64 * 1024, 13)) },
  {
    name: "64 KiB random binary",
    binary: true,
    data: Buffer.from(randomBytesSeeded(64 * 1024, 14)),
  },
  { name: "1 MiB of zeros", binary: true, data: Buffer.alloc(1024 * 1024) },
  { name: "2 MiB JSON text", binary: false, data: Buffer.from(jsonLikeText(2 * 1024 * 1024, 15)) },
];

const digest = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** sockwise's end of a connection, with permessage-deflate. */
export interface SockwiseDeflateEnd {
  /** The `extensions` attribute (server) or the accepted header value (client). */
  readonly extensions: string;
  send(binary: boolean, data: Buffer): void;
  next(what: string): Promise<{ binary: boolean; data: Buffer }>;
  /** Starts the closing handshake (1000) and resolves with how it ended. */
  close(): Promise<{ code: number; wasClean: boolean }>;
}

class Inbox<T> {
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

/** Wraps a sockwise server connection. */
export function sockwiseServerEnd(socket: ServerWebSocket): SockwiseDeflateEnd {
  socket.binaryType = "nodebuffer";
  const inbox = new Inbox<{ binary: boolean; data: Buffer }>();
  socket.onmessage = (event) => {
    const data = event.data as string | Buffer;
    inbox.push(
      typeof data === "string"
        ? { binary: false, data: Buffer.from(data) }
        : { binary: true, data },
    );
  };
  return {
    extensions: socket.extensions,
    send: (binary, data) => socket.send(binary ? data : data.toString("utf8")),
    next: (what) => inbox.take(what),
    close: async () => {
      socket.close(1000);
      const { code, wasClean } = await withTimeout(socket.closed, "the server connection to close");
      return { code, wasClean };
    },
  };
}

/** A sockwise server on 127.0.0.1 with permessage-deflate configured from `combo`. */
export async function startSockwiseDeflateServer(
  combo: Combo | undefined,
  extra: { readonly server?: import("node:http").Server } = {},
): Promise<{
  server: WebSocketServer;
  port: number;
  next(): Promise<SockwiseDeflateEnd>;
}> {
  const common = {
    heartbeat: false,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    closeTimeoutMs: 2000,
    perMessageDeflate:
      combo === undefined
        ? { thresholdBytes: 0 }
        : {
            serverNoContextTakeover: combo.serverNoContextTakeover,
            clientNoContextTakeover: combo.clientNoContextTakeover,
            serverMaxWindowBits: combo.windowBits,
            clientMaxWindowBits: combo.windowBits,
            thresholdBytes: 0,
          },
  } as const;
  const server =
    extra.server === undefined
      ? new WebSocketServer({ ...common, port: 0, host: "127.0.0.1" })
      : new WebSocketServer({ ...common, server: extra.server });
  const connections = new Inbox<SockwiseDeflateEnd>();
  server.on("connection", (socket) => connections.push(sockwiseServerEnd(socket)));
  const port =
    extra.server === undefined
      ? (await server.ready()).port
      : (extra.server.address() as import("node:net").AddressInfo).port;
  return { server, port, next: () => connections.take("a connection at the sockwise server") };
}

/**
 * sockwise's WHATWG `WebSocket` offering exactly `combo` (`perMessageDeflate` option, threshold
 * 0). `extensions` is the attribute: the server's answer as received.
 */
export function openSockwiseDeflateClient(url: string, combo: Combo): Promise<SockwiseDeflateEnd> {
  const inbox = new Inbox<{ binary: boolean; data: Buffer }>();
  const socket = new WebSocket(url, {
    maxMessageBytes: MAX_MESSAGE_BYTES,
    closeTimeoutMs: 2000,
    perMessageDeflate: {
      serverNoContextTakeover: combo.serverNoContextTakeover,
      clientNoContextTakeover: combo.clientNoContextTakeover,
      serverMaxWindowBits: combo.windowBits,
      clientMaxWindowBits: combo.windowBits,
      thresholdBytes: 0,
    },
  });
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event: MessageEvent) => {
    const data: unknown = event.data;
    inbox.push(
      typeof data === "string"
        ? { binary: false, data: Buffer.from(data) }
        : { binary: true, data: Buffer.from(data as ArrayBuffer) },
    );
  };
  const closed = new Promise<{ code: number; wasClean: boolean }>((resolve) => {
    socket.addEventListener("close", (event) => {
      const { code, wasClean } = event as CloseEvent;
      resolve({ code, wasClean });
    });
  });
  return withTimeout(
    new Promise<SockwiseDeflateEnd>((resolve, reject) => {
      socket.onopen = () =>
        resolve({
          extensions: socket.extensions,
          send: (binary, data) =>
            socket.send(binary ? new Uint8Array(data) : data.toString("utf8")),
          next: (what) => inbox.take(what),
          close: () => {
            socket.close(1000);
            return withTimeout(closed, "the client connection to close");
          },
        });
      socket.onerror = () => reject(new Error(`the sockwise client could not open ${url}`));
    }),
    "the sockwise client to open",
  );
}

/** Sends every corpus message from sockwise and checks each echo, byte for byte. */
export async function exchangeCorpus(end: SockwiseDeflateEnd): Promise<void> {
  for (const message of CORPUS) {
    end.send(message.binary, message.data);
    const echo = await end.next(`the echo of "${message.name}"`);
    assert.equal(echo.binary, message.binary, `${message.name}: message type`);
    assert.equal(echo.data.length, message.data.length, `${message.name}: length`);
    assert.equal(digest(echo.data), digest(message.data), `${message.name}: content`);
  }
}

/**
 * Checks one direction of the wire: every corpus message crossed it once; compressed ones
 * exist; RSV1 only on first frames; and N19 — with context takeover the repeated messages after
 * the first shrink to a few bytes, without it they are exactly as large as the first.
 */
export function checkDirection(
  direction: TapDirection,
  what: string,
  options: { readonly takeover: boolean; readonly mayCompress: boolean },
): void {
  const first = direction.frames.filter((f) => f.opcode === 1 || f.opcode === 2);
  assert.equal(first.length, CORPUS.length, `${what}: data messages on the wire`);
  assert.equal(direction.misplacedRsv1, 0, `${what}: RSV1 on a continuation or control frame`);
  assert.equal(direction.otherRsv, 0, `${what}: RSV2/RSV3`);
  if (!options.mayCompress) {
    assert.equal(direction.compressedMessages, 0, `${what}: nothing may be compressed`);
    return;
  }
  assert.ok(
    direction.compressedMessages >= 6,
    `${what}: ${direction.compressedMessages} compressed`,
  );
  const big = first[CORPUS.length - 1]!;
  assert.ok((big.rsv & 4) !== 0, `${what}: the 2 MiB JSON text is compressed`);
  const repeats = first.slice(REPEAT_START, REPEAT_START + REPEAT_COUNT);
  assert.ok(
    repeats.every((f) => (f.rsv & 4) !== 0),
    `${what}: the repeats are compressed`,
  );
  const [head, ...rest] = repeats.map((f) => f.payloadLength);
  if (options.takeover) {
    assert.ok(
      rest.every((n) => n < head! / 4),
      `${what} (takeover): repeats of ${head} compressed bytes were ${rest.join(", ")}`,
    );
  } else {
    assert.ok(
      rest.every((n) => n === head),
      `${what} (no takeover): repeats of ${head} compressed bytes were ${rest.join(", ")}`,
    );
  }
}

/** Checks both directions of a tapped link for `combo`. */
export function checkLink(
  link: TapLink,
  combo: Combo,
  mayCompress: { readonly toServer: boolean; readonly toClient: boolean } = {
    toServer: true,
    toClient: true,
  },
): void {
  checkDirection(link.toClient, "server → client", {
    takeover: !combo.serverNoContextTakeover,
    mayCompress: mayCompress.toClient,
  });
  checkDirection(link.toServer, "client → server", {
    takeover: !combo.clientNoContextTakeover,
    mayCompress: mayCompress.toServer,
  });
}

/**
 * For a peer that cannot run here (`missing` says why): under `CI` (any value but "", "0",
 * "false") a failing test says so; otherwise the suite is skipped with the reason. Returns the
 * options for the suite's `describe`.
 */
export function requirePeer(missing: string | undefined): { skip?: string } {
  if (missing === undefined) return {};
  if (!["", "0", "false"].includes(process.env["CI"] ?? "")) {
    test(`the peer is installed`, () => assert.fail(`${missing} — required when CI is set`));
  }
  return { skip: missing };
}
