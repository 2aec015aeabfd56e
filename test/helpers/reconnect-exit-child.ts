/**
 * Child process for test/whatwg/reconnecting-websocket.test.ts: closes a ReconnectingWebSocket
 * in each state (waiting to retry, connecting, open), then returns from its script. The parent
 * asserts that the process exits on its own: no retry timer or socket of a closed
 * ReconnectingWebSocket keeps Node alive.
 *
 * Usage: node reconnect-exit-child.js <url nobody listens on> <url of an echo server>
 */
import { ReconnectingWebSocket } from "../../src/index.js";

const [deadUrl = "", liveUrl = ""] = process.argv.slice(2);
const fast = { initialDelayMs: 2000, maxDelayMs: 2000 };

function once(target: EventTarget, type: string): Promise<Event> {
  return new Promise((resolve) => target.addEventListener(type, resolve, { once: true }));
}

// Waiting to retry: a 2 s timer is pending when close() is called.
const waiting = new ReconnectingWebSocket(deadUrl, fast);
await once(waiting, "reconnecting");
waiting.close();
console.log("closed while waiting to retry");

// Connecting.
const connecting = new ReconnectingWebSocket(liveUrl, fast);
connecting.close();
await once(connecting, "close");
console.log("closed while connecting");

// Open.
const open = new ReconnectingWebSocket(liveUrl, fast);
await once(open, "open");
open.close();
await once(open, "close");
console.log("closed while open");
