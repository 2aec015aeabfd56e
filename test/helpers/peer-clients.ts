/**
 * Three independent WebSocket clients behind one small interface, so each server behaviour is
 * checked against sockwise's own client, `ws` and undici's WHATWG `WebSocket`:
 *
 * ```ts
 * for (const kind of CLIENT_KINDS) {
 *   test(`echo with ${kind.name}`, async (t) => {
 *     const client = await kind.open(url);
 *     client.send("hi");
 *     assert.equal(await client.nextMessage(), "hi");
 *   });
 * }
 * ```
 *
 * Binary messages arrive as `Buffer`, text as `string`; `closed` resolves with what the client
 * reported in its close event.
 *
 * @module
 */
import { WebSocket as UndiciWebSocket } from "undici";
import WsWebSocket from "ws";
import { WebSocket as SockwiseWebSocket, closeDetails } from "../../src/index.js";
import { WAIT_MS, withTimeout } from "./server-harness.js";

/** What a client reported when its connection closed. */
export interface ClientClose {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** An open connection from one of the client libraries. */
export interface PeerClient {
  readonly protocol: string;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** The next message not yet taken: text as string, binary as Buffer. */
  nextMessage(ms?: number): Promise<string | Buffer>;
  /** Every message received so far, in order. */
  readonly messages: readonly (string | Buffer)[];
  /** Resolves with the close event's code, reason and wasClean. */
  readonly closed: Promise<ClientClose>;
  /** Drops TCP at once where the library allows it (ws only). */
  readonly terminate?: () => void;
}

/** Why a client failed to open; `status` is the HTTP status when the library tells it. */
export class OpenError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined) {
    super(message);
    this.status = status;
  }
}

/** Options for {@link ClientKind.open}. */
export interface OpenOptions {
  readonly protocols?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly origin?: string;
}

/** One client library. */
export interface ClientKind {
  readonly name: "sockwise" | "ws" | "undici";
  /** Whether the library echoes the reason of a server's Close (undici echoes only the code). */
  readonly echoesCloseReason: boolean;
  /** Whether the library's close() accepts codes outside 1000 and 3000–4999 (only ws). */
  readonly closesWithAnyWireCode: boolean;
  /** Opens a connection; rejects with {@link OpenError} when it fails to open. */
  open(url: string, options?: OpenOptions): Promise<PeerClient>;
}

/** Message queue with bounded waits. */
class Inbox {
  readonly all: (string | Buffer)[] = [];
  #taken = 0;
  #waiters: (() => void)[] = [];

  put(message: string | Buffer): void {
    this.all.push(message);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  next(ms: number): Promise<string | Buffer> {
    return withTimeout(
      new Promise((resolve) => {
        const check = (): void => {
          if (this.#taken < this.all.length) resolve(this.all[this.#taken++]!);
          else this.#waiters.push(check);
        };
        check();
      }),
      "a message at the client",
      ms,
    );
  }
}

/**
 * Wraps any WHATWG-shaped socket (sockwise, undici, ws's EventTarget mode): resolves once
 * open, rejects if it closes first.
 */
function wrapWhatwg(
  socket: {
    readonly protocol: string;
    readonly readyState: number;
    binaryType: string;
    send(data: string | Uint8Array): void;
    close(code?: number, reason?: string): void;
    addEventListener(type: string, listener: (event: Event) => void): void;
  },
  describeFailure: () => { message: string; status: number | undefined },
): Promise<PeerClient> {
  socket.binaryType = "arraybuffer";
  const inbox = new Inbox();
  let opened = false;
  const closed = new Promise<ClientClose>((resolve) => {
    socket.addEventListener("close", (event) => {
      const { code, reason, wasClean } = event as Event & ClientClose;
      resolve({ code, reason, wasClean });
    });
  });
  socket.addEventListener("message", (event) => {
    const data: unknown = (event as MessageEvent).data;
    inbox.put(typeof data === "string" ? data : Buffer.from(data as ArrayBuffer));
  });
  const client: PeerClient = {
    get protocol() {
      return socket.protocol;
    },
    get readyState() {
      return socket.readyState;
    },
    send: (data) => socket.send(data),
    close: (code, reason) =>
      code === undefined
        ? socket.close()
        : reason === undefined
          ? socket.close(code)
          : socket.close(code, reason),
    nextMessage: (ms = WAIT_MS) => inbox.next(ms),
    messages: inbox.all,
    closed,
  };
  return withTimeout(
    new Promise<PeerClient>((resolve, reject) => {
      socket.addEventListener("open", () => {
        opened = true;
        resolve(client);
      });
      void closed.then(() => {
        if (opened) return;
        // The close event comes after the failure is known; describe it then.
        const { message, status } = describeFailure();
        reject(new OpenError(message, status));
      });
    }),
    "the client to open",
  );
}

/** sockwise's own WHATWG client. */
export const SOCKWISE: ClientKind = {
  name: "sockwise",
  echoesCloseReason: true,
  closesWithAnyWireCode: false,
  open(url, options = {}) {
    const socket = new SockwiseWebSocket(url, {
      ...(options.protocols === undefined ? {} : { protocols: options.protocols }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.origin === undefined ? {} : { origin: options.origin }),
    });
    return wrapWhatwg(socket, () => {
      const details = closeDetails(socket);
      return {
        message: `sockwise failed to open: ${details?.cause?.code ?? "?"} ${details?.cause?.message ?? ""}`,
        status: details?.cause?.response?.status,
      };
    });
  },
};

/** undici's WHATWG client (Node's built-in WebSocket, newer). */
export const UNDICI: ClientKind = {
  name: "undici",
  echoesCloseReason: false,
  closesWithAnyWireCode: false,
  open(url, options = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.origin !== undefined) headers["Origin"] = options.origin;
    const socket = new UndiciWebSocket(url, {
      protocols: [...(options.protocols ?? [])],
      headers,
    });
    return wrapWhatwg(socket, () => ({
      message: "undici failed to open",
      status: undefined,
    }));
  },
};

/** The `ws` library, through its Node-style API. */
export const WS: ClientKind = {
  name: "ws",
  echoesCloseReason: true,
  closesWithAnyWireCode: true,
  open(url, options = {}) {
    const socket = new WsWebSocket(url, [...(options.protocols ?? [])], {
      ...(options.headers === undefined ? {} : { headers: { ...options.headers } }),
      ...(options.origin === undefined ? {} : { origin: options.origin }),
    });
    const inbox = new Inbox();
    let failure: OpenError | undefined;
    socket.on("message", (data, isBinary) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      inbox.put(isBinary ? bytes : bytes.toString("utf8"));
    });
    const closed = new Promise<ClientClose>((resolve) => {
      socket.addEventListener("close", (event) =>
        resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean }),
      );
    });
    socket.on("unexpected-response", (_request, response) => {
      failure = new OpenError(`ws got HTTP ${response.statusCode}`, response.statusCode);
      response.resume();
      socket.terminate();
    });
    socket.on("error", (error) => {
      failure ??= new OpenError(`ws failed: ${error.message}`, undefined);
    });
    const client: PeerClient = {
      get protocol() {
        return socket.protocol;
      },
      get readyState() {
        return socket.readyState;
      },
      send: (data) => socket.send(data),
      close: (code, reason) => socket.close(code, reason),
      nextMessage: (ms = WAIT_MS) => inbox.next(ms),
      messages: inbox.all,
      closed,
      terminate: () => socket.terminate(),
    };
    return withTimeout(
      new Promise<PeerClient>((resolve, reject) => {
        socket.once("open", () => resolve(client));
        void closed.then(() =>
          reject(failure ?? new OpenError("ws closed before opening", undefined)),
        );
      }),
      "ws to open",
    );
  },
};

/** All three, for table tests. */
export const CLIENT_KINDS: readonly ClientKind[] = [SOCKWISE, WS, UNDICI];
