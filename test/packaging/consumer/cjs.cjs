// Run by test/packaging/tarball.test.ts inside a temporary project where the packed tarball is
// installed, with require(esm) turned off where Node has it: the CommonJS entry points must not
// need it (Node 20.0–20.18 have none).
"use strict";
const assert = require("node:assert").strict;

async function main() {
  const subpaths = JSON.parse(process.argv[2]);
  for (const subpath of subpaths) {
    const required = require(subpath);
    const imported = await import(subpath);
    for (const name of Object.keys(imported))
      assert.equal(imported[name], required[name], `${subpath}: ${name} is one and the same`);
  }
  const { WebSocketServer, WebSocket, ServerWebSocket, CloseCode } = require("sockwise");
  const { Engine } = require("sockwise/protocol");
  assert.equal(typeof Engine, "function");
  assert.equal(CloseCode.NormalClosure, 1000);
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", heartbeat: false });
  const { port } = await server.ready();
  const accepted = new Promise((resolve) => server.once("connection", resolve));
  const imported = await import("sockwise");
  const client = new imported.WebSocket(`ws://127.0.0.1:${port}/`);
  const socket = await accepted;
  assert.ok(socket instanceof ServerWebSocket);
  assert.ok(client instanceof WebSocket, "instanceof holds across require and import");
  await new Promise((resolve) => (client.onopen = resolve));
  client.close(1000);
  await server.close();
  console.log("cjs ok");
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
