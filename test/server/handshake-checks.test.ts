/**
 * RFC 6455 §4.2.1 request checks, with raw `node:net` requests, in every server mode: each
 * broken rule gets its HTTP status (and the headers the status requires), the connection is
 * closed, no Close frame is ever sent, nothing reaches the application, and the server keeps
 * serving.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WS } from "../helpers/peer-clients.js";
import {
  RawClient,
  SAMPLE_ACCEPT,
  rawRequest,
  requestHead,
  upgradeHeaders,
} from "../helpers/raw-client.js";
import { SERVER_MODES, startServerIn, withTimeout } from "../helpers/server-harness.js";

type Headers = [string, string][];

/** A request that must be refused. */
interface BadRequest {
  readonly name: string;
  readonly requestLine?: string;
  readonly edit: (headers: Headers) => Headers;
  readonly status: number;
  /** Headers the answer must carry. */
  readonly headers?: readonly (readonly [string, string])[];
  /** Node does not raise 'upgrade' for it: only the standalone server sees it. */
  readonly standaloneOnly?: boolean;
}

const without =
  (name: string) =>
  (headers: Headers): Headers =>
    headers.filter(([n]) => n !== name);
const replace =
  (name: string, value: string) =>
  (headers: Headers): Headers =>
    headers.map(([n, v]): [string, string] => (n === name ? [n, value] : [n, v]));
const add =
  (name: string, value: string) =>
  (headers: Headers): Headers => [...headers, [name, value]];

const BAD_REQUESTS: readonly BadRequest[] = [
  {
    name: "G1: POST gets 405 with Allow: GET",
    requestLine: "POST / HTTP/1.1",
    edit: (h) => h,
    status: 405,
    headers: [["Allow", "GET"]],
  },
  {
    name: "G1: HTTP/1.0 gets 400",
    requestLine: "GET / HTTP/1.0",
    edit: (h) => h,
    status: 400,
  },
  { name: "G2: a missing Host gets 400", edit: without("Host"), status: 400 },
  { name: "G2: two Host headers get 400", edit: add("Host", "other.test"), status: 400 },
  { name: "G3: Upgrade: h2c gets 400", edit: replace("Upgrade", "h2c"), status: 400 },
  {
    name: "G3: a missing Upgrade gets 400",
    edit: without("Upgrade"),
    status: 400,
    standaloneOnly: true,
  },
  {
    name: "G3: Connection without the upgrade token gets 400",
    edit: replace("Connection", "keep-alive"),
    status: 400,
    standaloneOnly: true,
  },
  {
    name: "G4: a missing Sec-WebSocket-Key gets 400",
    edit: without("Sec-WebSocket-Key"),
    status: 400,
  },
  {
    name: "G4: a key of 15 bytes gets 400",
    edit: replace("Sec-WebSocket-Key", Buffer.alloc(15).toString("base64")),
    status: 400,
  },
  {
    name: "G4: a key that is not base64 gets 400",
    edit: replace("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!=="),
    status: 400,
  },
  {
    name: "G4: two Sec-WebSocket-Key headers get 400",
    edit: add("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="),
    status: 400,
  },
  {
    name: "G5: version 12 gets 426 with Sec-WebSocket-Version: 13",
    edit: replace("Sec-WebSocket-Version", "12"),
    status: 426,
    headers: [
      ["Sec-WebSocket-Version", "13"],
      ["Upgrade", "websocket"],
    ],
  },
  {
    name: "G5: a missing version gets 426 with Sec-WebSocket-Version: 13",
    edit: without("Sec-WebSocket-Version"),
    status: 426,
    headers: [["Sec-WebSocket-Version", "13"]],
  },
  {
    name: "G5: two Sec-WebSocket-Version headers get 400",
    edit: add("Sec-WebSocket-Version", "13"),
    status: 400,
  },
  {
    name: "G9: a repeated subprotocol gets 400",
    edit: add("Sec-WebSocket-Protocol", "chat, chat"),
    status: 400,
  },
  {
    name: "G9: a subprotocol that is not a token gets 400",
    edit: add("Sec-WebSocket-Protocol", "bad/proto"),
    status: 400,
  },
  {
    name: "G10: an extension offer that breaks the ABNF gets 400",
    edit: add("Sec-WebSocket-Extensions", "permessage-deflate; =x"),
    status: 400,
  },
  {
    name: "G6: two Origin headers get 400",
    edit: (h) => [...h, ["Origin", "https://a.test"], ["Origin", "https://b.test"]],
    status: 400,
  },
];

for (const mode of SERVER_MODES) {
  describe(`§4.2.1 request checks (${mode})`, () => {
    for (const bad of BAD_REQUESTS) {
      if (bad.standaloneOnly === true && mode !== "standalone") continue;
      test(`${bad.name}; G13: the connection closes, no Close frame, nothing reaches the app`, async (t) => {
        const { server, port } = await startServerIn(mode, t);
        let connections = 0;
        server.on("connection", () => connections++);
        const head = requestHead(
          bad.requestLine ?? "GET / HTTP/1.1",
          bad.edit(upgradeHeaders(port)),
        );
        const response = await rawRequest(port, head);
        assert.equal(response.status, bad.status, response.body);
        for (const [name, value] of bad.headers ?? []) {
          assert.equal(response.header(name), value, `${name} in ${response.raw}`);
        }
        assert.equal(response.header("Sec-WebSocket-Accept"), undefined);
        assert.match(response.header("Content-Type") ?? "", /^text\/plain/);
        assert.ok(response.body.length > 0, "the body says why");
        assert.equal(response.connectionEnded, true);
        assert.equal(connections, 0);
        assert.equal(server.clients.size, 0);
      });
    }

    test("G10/G11/N22: a valid request gets exactly the 101 headers; permessage-deflate is accepted (no context takeover)", async (t) => {
      const { server, port } = await startServerIn(mode, t);
      let connections = 0;
      server.on("connection", () => connections++);
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      const response = await client.upgrade("/", [
        ["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"],
      ]);
      assert.equal(response.status, 101);
      assert.equal(response.statusText, "Switching Protocols");
      assert.deepEqual(
        response.headers.map(([name, value]) => [name.toLowerCase(), value]),
        [
          ["upgrade", "websocket"],
          ["connection", "Upgrade"],
          ["sec-websocket-accept", SAMPLE_ACCEPT],
          [
            "sec-websocket-extensions",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
          ],
        ],
      );
      assert.equal(connections, 1);
    });

    test("G10: an extension the server does not know is not answered; perMessageDeflate: false declines", async (t) => {
      const { port } = await startServerIn(mode, t, { perMessageDeflate: false });
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      const response = await client.upgrade("/", [
        ["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits, x-unknown; a=1"],
      ]);
      assert.equal(response.status, 101);
      assert.equal(response.header("Sec-WebSocket-Extensions"), undefined);
    });

    test("G3: tokens are matched case-insensitively inside longer lists", async (t) => {
      const { port } = await startServerIn(mode, t);
      const headers = replace(
        "Connection",
        "keep-alive, Upgrade",
      )(replace("Upgrade", "WebSocket")(upgradeHeaders(port))).map(
        ([name, value]): [string, string] => [name.toLowerCase(), value],
      );
      const client = await RawClient.open(port);
      t.after(() => client.destroy());
      client.write(requestHead("GET / HTTP/1.1", headers));
      assert.equal((await client.readResponse()).status, 101);
    });

    test("bad requests never throw into user code and the server keeps serving", async (t) => {
      const { server, port, url } = await startServerIn(mode, t);
      const errors: unknown[] = [];
      server.on("error", (error) => errors.push(error));
      let connections = 0;
      server.on("connection", (socket) => {
        connections++;
        socket.send("welcome");
      });
      const heads = BAD_REQUESTS.filter((b) => b.standaloneOnly !== true).map((bad) =>
        requestHead(bad.requestLine ?? "GET / HTTP/1.1", bad.edit(upgradeHeaders(port))),
      );
      const responses = await withTimeout(
        Promise.all(heads.map((head) => rawRequest(port, head))),
        "every refusal",
      );
      assert.ok(responses.every((r) => r.status >= 400 && r.status < 500));
      const client = await WS.open(url());
      assert.equal(await client.nextMessage(), "welcome");
      client.close();
      await withTimeout(client.closed, "close");
      assert.deepEqual(errors, []);
      assert.equal(connections, 1);
    });
  });
}

describe("standalone: plain HTTP", () => {
  test("a plain GET learns it reached a WebSocket endpoint: 426 with Upgrade: websocket", async (t) => {
    const { port } = await startServerIn("standalone", t);
    const response = await rawRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3000, 50);
    assert.equal(response.status, 426);
    assert.equal(response.header("Upgrade"), "websocket");
  });

  test("an unparseable request gets 400 and the connection closes", async (t) => {
    const { port } = await startServerIn("standalone", t);
    const response = await rawRequest(port, "HELLO\r\n\r\n");
    assert.equal(response.status, 400);
    assert.equal(response.connectionEnded, true);
  });
});
