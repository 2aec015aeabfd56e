// Run by test/packaging/tarball.test.ts inside a temporary project where the packed tarball is
// installed: `import` and `require` of every entry point give the very same objects, and a
// server imported one way talks to a client required the other way.
import { strict as assert } from "node:assert";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const subpaths = JSON.parse(process.argv[2]);

for (const subpath of subpaths) {
  const imported = await import(subpath);
  const required = require(subpath);
  const names = Object.keys(imported).sort();
  assert.ok(names.length > 0, `${subpath} exports something`);
  assert.deepEqual(
    names,
    Object.keys(required)
      .filter((name) => name !== "__esModule")
      .sort(),
    `${subpath}: the same names through import and require`,
  );
  for (const name of names)
    assert.equal(imported[name], required[name], `${subpath}: ${name} is one and the same`);
}

const esm = await import("sockwise");
const cjs = require("sockwise");
const server = new esm.WebSocketServer({ port: 0, host: "127.0.0.1", heartbeat: false });
const { port } = await server.ready();
const accepted = new Promise((resolve) => server.once("connection", resolve));
const client = new cjs.WebSocket(`ws://127.0.0.1:${port}/`);
const socket = await accepted;
assert.ok(socket instanceof cjs.ServerWebSocket, "instanceof holds across import and require");
socket.addEventListener("message", (event) => socket.send(event.data));
await new Promise((resolve, reject) => {
  client.onerror = () => reject(new Error("the client failed"));
  client.onopen = () => client.send("hello from require");
  client.onmessage = (event) => {
    assert.ok(event instanceof esm.MessageEvent);
    assert.equal(event.data, "hello from require");
    resolve();
  };
});
client.close(1000);
const result = await server.close();
assert.equal(result.forced, 0);
console.log("esm ok");
