/**
 * Python `websockets` as an interop peer: drives test/helpers/websockets_peer.py (run with
 * the Debian interpreter, /usr/bin/python3) over JSON lines on its stdin/stdout. One process
 * serves a whole test file, as a client, a server or both.
 *
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import {
  Inbox,
  WAIT_MS,
  withTimeout,
  type CloseArgs,
  type End,
  type Observed,
  type PeerClient,
  type PeerServer,
} from "./ends.js";
import { PYTHON, WEBSOCKETS_PEER_SCRIPT } from "../helpers/python-websockets.js";

interface Message {
  readonly event?: string;
  readonly reply?: number;
  readonly conn?: number;
  readonly port?: number;
  readonly error?: string | null;
  readonly code?: number;
  readonly reason?: string;
  readonly rcvd?: boolean;
  readonly sent?: boolean;
}

/** One running websockets_peer.py process. */
export class PythonPeer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #replies = new Map<number, (message: Message) => void>();
  readonly #closed = new Map<number, (observed: Observed) => void>();
  readonly #events = new Inbox<Message>();
  readonly #stderr: string[] = [];
  #nextRequest = 0;

  constructor() {
    this.#child = spawn(PYTHON, [WEBSOCKETS_PEER_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stderr.setEncoding("utf8");
    this.#child.stderr.on("data", (text: string) => this.#stderr.push(text));
    const lines = createInterface({ input: this.#child.stdout });
    lines.on("line", (line) => this.#dispatch(JSON.parse(line) as Message));
  }

  /** What the process wrote to stderr so far (for failure messages). */
  get stderr(): string {
    return this.#stderr.join("");
  }

  /** As a server: listens on 127.0.0.1 and hands out each accepted connection. */
  async serve(): Promise<PeerServer> {
    this.#send({ op: "serve" });
    const { port } = await this.#expect("listening");
    return {
      port: port!,
      nextConnection: async () => this.#end((await this.#expect("connection")).conn!),
      stop: () => Promise.resolve(),
    };
  }

  /** As a client. */
  get client(): PeerClient {
    return {
      connect: async (url) => {
        this.#send({ op: "connect", url });
        const message = await this.#events.take("websockets to open");
        if (message.event !== "open") {
          throw new Error(`websockets could not open ${url}: ${message.error ?? message.event}`);
        }
        return this.#end(message.conn!);
      },
      stop: () => Promise.resolve(),
    };
  }

  /** Ends the process (it drops any connection still open). */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#send({ op: "quit" });
    this.#child.stdin.end();
    try {
      await withTimeout(exited, "websockets_peer.py to exit");
    } catch {
      this.#child.kill("SIGKILL");
    }
  }

  #end(conn: number): End {
    const closed = new Promise<Observed>((resolve) => this.#closed.set(conn, resolve));
    return {
      close: (args: CloseArgs) => this.#close(conn, args),
      abort: () => this.#send({ op: "abort", conn }),
      sendSized: (kind, size) => this.#send({ op: "send", conn, kind, size }),
      closed,
    };
  }

  async #close(conn: number, args: CloseArgs): Promise<string | undefined> {
    const req = ++this.#nextRequest;
    const reply = new Promise<Message>((resolve) => this.#replies.set(req, resolve));
    this.#send({ op: "close", conn, args, req });
    const { error } = await withTimeout(reply, "websockets to start closing", WAIT_MS);
    return error ?? undefined;
  }

  async #expect(event: string): Promise<Message> {
    const message = await this.#events.take(`websockets: ${event}`);
    if (message.event !== event) {
      throw new Error(`websockets_peer.py: expected ${event}, got ${JSON.stringify(message)}`);
    }
    return message;
  }

  #send(command: object): void {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  #dispatch(message: Message): void {
    if (message.reply !== undefined) {
      this.#replies.get(message.reply)?.(message);
      this.#replies.delete(message.reply);
    } else if (message.event === "closed") {
      this.#closed.get(message.conn!)?.({
        code: message.code!,
        reason: message.reason!,
        // websockets records whether a Close was received and sent; that is its wasClean.
        wasClean: message.rcvd === true && message.sent === true,
      });
    } else {
      this.#events.push(message);
    }
  }
}
