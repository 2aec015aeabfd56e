/**
 * The SHA-1 port behind Sec-WebSocket-Accept (src/node/node-ports.ts) takes a one-shot path for
 * ASCII text and the Hash object otherwise; both must give what RFC 6455 §4.2.2 computes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { nodeSha1 } from "../../src/node/node-ports.js";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

test("G11: the accept value of RFC 6455's sample key", () => {
  assert.equal(
    nodeSha1.digestLatin1ToBase64!(`dGhlIHNhbXBsZSBub25jZQ==${GUID}`),
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  );
});

test("G11: digestLatin1ToBase64 hashes ASCII and latin1 text as latin1 bytes", () => {
  for (const text of [
    "",
    "a",
    `x3JJHMbDL1EzLkh9GBhXDw==${GUID}`,
    "é",
    "ÿ\u0080k",
    "a".repeat(1000),
  ]) {
    const expected = createHash("sha1").update(Buffer.from(text, "latin1")).digest("base64");
    assert.equal(nodeSha1.digestLatin1ToBase64!(text), expected, JSON.stringify(text));
  }
});
