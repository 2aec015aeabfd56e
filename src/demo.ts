/**
 * `npm start` until the CLI exists: two protocol engines, a client and a server, wired together
 * in memory. It prints every frame that crosses the "wire" in hex, the events each side sees,
 * and the close outcome of both, so a newcomer sees the real engine at work.
 */
import { Engine, type Output } from "./protocol/index.js";
import { nodePorts } from "./node/node-ports.js";

const client = new Engine({ role: "client", ports: nodePorts });
const server = new Engine({ role: "server", ports: nodePorts });

const hex = (bytes: Uint8Array, max = 48): string => {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, "0")).join(
    " ",
  );
  return bytes.length > max ? `${shown} … (${bytes.length} bytes)` : shown;
};
const text = new TextDecoder();

/** Moves each side's writes to the other side until nothing is left to deliver. */
function pump(): void {
  for (let round = 0; round < 100; round++) {
    const fromClient = client.takeOutputs();
    deliver("client", fromClient, server);
    const fromServer = server.takeOutputs();
    deliver("server", fromServer, client);
    if (fromClient.length === 0 && fromServer.length === 0) return;
  }
}

function deliver(name: string, outputs: readonly Output[], peer: Engine): void {
  const arrow = name === "client" ? "client → server" : "server → client";
  for (const output of outputs) {
    switch (output.type) {
      case "write":
        console.log(`  ${arrow}  ${hex(output.data)}`);
        peer.receive(output.data.slice());
        break;
      case "shutdownWrite":
        console.log(`  ${name} half-closes TCP (FIN)`);
        peer.receiveEof();
        break;
      case "destroy":
        console.log(`  ${name} drops TCP`);
        peer.transportClosed();
        break;
      case "message":
        console.log(
          `  ${name} receives a ${output.binary ? "binary" : "text"} message: ` +
            (output.binary ? hex(output.data) : JSON.stringify(text.decode(output.data))),
        );
        break;
      case "ping":
      case "pong":
        console.log(
          `  ${name} receives a ${output.type}: ${JSON.stringify(text.decode(output.data))}`,
        );
        break;
      case "closing":
        console.log(`  ${name}: closing handshake started (${output.initiator})`);
        break;
      case "closed": {
        const { code, reason, wasClean, initiator } = output.outcome;
        console.log(
          `  ${name}: closed code=${code} reason=${JSON.stringify(reason)} wasClean=${wasClean} initiator=${initiator}`,
        );
        break;
      }
    }
  }
}

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
console.log("sockwise protocol engine demo: a client and a server engine talking in memory\n");
console.log("1. the client sends a text message (masked) and the server replies (unmasked)");
client.send("text", encode("Hello"));
pump();
server.send("text", encode("Hello back, 👋"));
pump();
console.log("\n2. a binary message of 300 bytes (16-bit length) and a ping");
client.send(
  "binary",
  new Uint8Array(300).map((_, i) => i & 0xff),
);
client.ping(encode("are you there?"));
pump();
console.log('\n3. the client closes with 1000 "bye"; the server echoes it and closes TCP first');
client.close(1000, "bye");
pump();
