/**
 * The parent's side of the multi-process topic tests: starts server processes
 * (test/helpers/pubsub-node.ts) and drives many lightweight WebSocket clients. The clients are a
 * small RFC 6455 reader on plain TCP (unfragmented server frames are all a sockwise server
 * sends here), so that one test process can take millions of deliveries quickly.
 *
 * @module
 */
import { fork, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { NodeConfig, NodeStatus } from "./pubsub-node.js";

const NODE_SCRIPT = fileURLToPath(new URL("./pubsub-node.js", import.meta.url));

/** A server process (or a cluster primary). */
export class PubsubNode {
  readonly child: ChildProcess;
  readonly port: number;
  readonly pid: number;
  /** Broker status events received, oldest first. */
  readonly brokerEvents: { state: string; dropped: number; pid: number; at: number }[] = [];
  #exited: Promise<void>;

  private constructor(child: ChildProcess, port: number, pid: number, exited: Promise<void>) {
    this.child = child;
    this.port = port;
    this.pid = pid;
    this.#exited = exited;
    child.on(
      "message",
      (message: { type: string; state: string; dropped: number; pid: number }) => {
        if (message.type === "broker")
          this.brokerEvents.push({ ...message, at: performance.now() });
      },
    );
  }

  static async start(config: NodeConfig, ms = 10_000): Promise<PubsubNode> {
    const child = fork(NODE_SCRIPT, [], {
      env: { ...process.env, SOCKWISE_PUBSUB_NODE: JSON.stringify(config) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const ready = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("a server process did not start")), ms);
      child.on("message", (message: { type: string; port: number; pid: number }) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          resolve(message);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`a server process exited at start (${code})`));
      });
    });
    return new PubsubNode(child, ready.port, ready.pid, exited);
  }

  /** Asks every process behind this node for its status (one answer per worker). */
  status(answers = 1, topic = "t", ms = 5000): Promise<NodeStatus[]> {
    return new Promise((resolve, reject) => {
      const got: NodeStatus[] = [];
      const timer = setTimeout(() => {
        this.child.off("message", onMessage);
        reject(new Error(`no status from ${this.pid}`));
      }, ms);
      const onMessage = (message: NodeStatus): void => {
        if (message.type !== "status") return;
        got.push(message);
        if (got.length === answers) {
          clearTimeout(timer);
          this.child.off("message", onMessage);
          resolve(got);
        }
      };
      this.child.on("message", onMessage);
      this.child.send({ type: "status", topic });
    });
  }

  /** Kills the process by PID and waits for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.#exited;
  }
}

/** A message a {@link LiteClient} received. */
export interface Received {
  readonly binary: boolean;
  readonly data: Buffer;
}

/**
 * A minimal WebSocket client on TCP: upgrades, sends masked frames, and hands each received
 * data frame to `onMessage` (the payload is a view into the read buffer: copy to keep it).
 */
export class LiteClient {
  readonly socket: Socket;
  /** The server process that took the connection (from its `hello <pid>` message). */
  serverPid = 0;
  onMessage: (binary: boolean, data: Buffer) => void = () => {};
  closed = false;
  #buffer: Buffer = Buffer.alloc(0);
  #upgraded = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#data(chunk));
    socket.on("error", () => {});
    socket.on("close", () => (this.closed = true));
  }

  /** Connects and resolves after the server's `hello`. */
  static open(port: number, path = "/", ms = 10_000): Promise<LiteClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: "127.0.0.1" });
      const client = new LiteClient(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no hello from port ${port}`));
      }, ms);
      client.onMessage = (binary, data) => {
        const text = data.toString();
        if (!binary && text.startsWith("hello ")) {
          clearTimeout(timer);
          client.serverPid = Number(text.slice(6));
          client.onMessage = () => {};
          resolve(client);
        }
      };
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once("connect", () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n` +
            `Sec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
    });
  }

  /** Sends one message as a single masked frame. */
  send(binary: boolean, payload: Uint8Array): void {
    const length = payload.length;
    const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(header + 4 + length);
    frame[0] = 0x80 | (binary ? 2 : 1);
    if (length < 126) frame[1] = 0x80 | length;
    else if (length < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(0, 2);
      frame.writeUInt32BE(length, 6);
    }
    // A zero mask key: masking is required on the wire (RFC 6455 §5.3), its value is not checked.
    frame.writeUInt32BE(0, header);
    frame.set(payload, header + 4);
    this.socket.write(frame);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #data(chunk: Buffer): void {
    let buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (!this.#upgraded) {
      const end = buffer.indexOf("\r\n\r\n");
      if (end === -1) {
        this.#buffer = buffer;
        return;
      }
      if (!buffer.subarray(0, 12).toString().includes("101")) {
        this.socket.destroy();
        return;
      }
      this.#upgraded = true;
      buffer = buffer.subarray(end + 4);
    }
    let offset = 0;
    for (;;) {
      if (buffer.length - offset < 2) break;
      const opcode = buffer[offset]! & 0x0f;
      let length = buffer[offset + 1]! & 0x7f;
      let start = offset + 2;
      if (length === 126) {
        if (buffer.length - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        start = offset + 4;
      } else if (length === 127) {
        if (buffer.length - offset < 10) break;
        length = buffer.readUInt32BE(offset + 6);
        start = offset + 10;
      }
      if (buffer.length < start + length) break;
      const payload = buffer.subarray(start, start + length);
      offset = start + length;
      if (opcode === 1 || opcode === 2) this.onMessage(opcode === 2, payload);
      else if (opcode === 8) this.closed = true;
    }
    this.#buffer = offset === buffer.length ? Buffer.alloc(0) : buffer.subarray(offset);
  }
}

/** Polls `condition` every 10 ms until it holds or `ms` pass (then rejects with `what`). */
export async function until(condition: () => boolean, what: string, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
