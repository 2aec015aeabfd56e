/**
 * Engine UTF-8 handling (SPEC.md K): text messages and Close reasons are validated across
 * fragments, failing fast with 1007, in both roles, with and without the native accelerator.
 */
import { isUtf8 as nativeIsUtf8 } from "node:buffer";
import { test } from "node:test";
import {
  EngineHarness,
  ROLES,
  forEveryChunking,
  out,
  type HarnessOptions,
} from "../helpers/engine-harness.js";
import { OP, closeBody, concat, hex, utf8 } from "../helpers/frames.js";
import { INVALID_UTF8, VALID_UTF8 } from "../helpers/utf8-cases.js";

const VARIANTS: readonly [string, HarnessOptions][] = [
  ["pure", {}],
  ["accelerated", { accelerators: { isUtf8: nativeIsUtf8 } }],
];

/** 36 ASCII bytes, so that the accelerator (used on 32 bytes or more) takes part. */
const PAD = "abcdefghijklmnopqrstuvwxyz0123456789";

for (const role of ROLES) {
  const peer = new EngineHarness(role);
  const f = peer.peerFrame.bind(peer);

  for (const [variant, options] of VARIANTS) {
    test(`K1/K6/K13/${role}/${variant}: valid text, noncharacters included, is delivered`, () => {
      for (const [, bytesHex] of VALID_UTF8) {
        const text = concat(utf8(PAD), hex(bytesHex), utf8(PAD));
        forEveryChunking(
          role,
          f(OP.text, text),
          (h) => h.expect(out.message("text", text)),
          options,
          [1, 2, 22, 23, 24, 25],
        );
        // Short as well, so the byte loop alone judges it.
        forEveryChunking(role, f(OP.text, hex(bytesHex)), (h) =>
          h.expect(out.message("text", hex(bytesHex))),
        );
      }
    });

    for (const [name, bytesHex] of INVALID_UTF8) {
      test(`K3/K5/K13/${role}/${variant}: ${name} in a text frame fails with 1007`, () => {
        const bytes = hex(bytesHex);
        forEveryChunking(
          role,
          f(OP.text, bytes),
          (h) => h.expectFailing(1007, "ERR_WS_INVALID_UTF8"),
          options,
        );
        const padded = concat(utf8(PAD), bytes);
        forEveryChunking(
          role,
          f(OP.text, padded),
          (h) => h.expectFailing(1007, "ERR_WS_INVALID_UTF8"),
          options,
          [1, 2, 6, 10, 20, 21, 22],
        );
      });
    }
  }

  for (const [name, bytesHex, failAt] of INVALID_UTF8) {
    if (failAt === "end") {
      test(`K2/${role}: ${name}: every fragment is a valid prefix, the final one fails with 1007`, () => {
        const bytes = hex(bytesHex);
        const h = new EngineHarness(role);
        h.receive(f(OP.text, bytes, { fin: false }));
        h.expectNothing();
        h.receive(f(OP.cont, ""));
        h.expectFailing(1007, "ERR_WS_INVALID_UTF8");
      });
    } else {
      test(`K4/${role}: ${name}: fails as soon as the bad byte arrives, mid-frame, before FIN`, () => {
        for (const [, options] of VARIANTS) {
          // A frame declaring 100 bytes, of which only the bytes up to the bad one arrive.
          const bytes = concat(hex(bytesHex), new Uint8Array(100 - hex(bytesHex).length));
          const frame = f(OP.text, bytes, { fin: false });
          const headerLength = frame.length - 100;
          const h = new EngineHarness(role, options);
          h.receive(frame.subarray(0, headerLength + failAt));
          h.expectNothing();
          h.receive(frame.subarray(headerLength + failAt, headerLength + failAt + 1));
          h.expectFailing(1007, "ERR_WS_INVALID_UTF8");
        }
      });
    }
  }

  test(`K4/${role}: invalid UTF-8 in the first fragment fails before the next fragment`, () => {
    forEveryChunking(role, f(OP.text, hex("48 69 ed a0 80"), { fin: false }), (h) =>
      h.expectFailing(1007, "ERR_WS_INVALID_UTF8"),
    );
  });

  test(`K2/${role}: a code point split between fragments at every byte is valid`, () => {
    const text = utf8("é€😀");
    for (let at = 0; at <= text.length; at++) {
      const input = concat(
        f(OP.text, text.subarray(0, at), { fin: false }),
        f(OP.cont, text.subarray(at)),
      );
      forEveryChunking(role, input, (h) => h.expect(out.message("text", text)));
    }
  });

  test(`K2/${role}: a surrogate split between fragments fails with 1007 at the second`, () => {
    const h = new EngineHarness(role);
    h.receive(f(OP.text, hex("41 ed"), { fin: false }));
    h.expectNothing();
    h.receive(f(OP.cont, hex("a0 80")));
    h.expectFailing(1007, "ERR_WS_INVALID_UTF8");
  });

  test(`K12/${role}: binary messages are never validated`, () => {
    const junk = hex("c0 80 ed a0 80 ff fe f5");
    const input = concat(
      f(OP.binary, junk.subarray(0, 3), { fin: false }),
      f(OP.cont, junk.subarray(3)),
    );
    forEveryChunking(role, input, (h) => h.expect(out.message("binary", junk)));
  });

  test(`K11/${role}: a leading BOM in a text message is kept`, () => {
    forEveryChunking(role, f(OP.text, hex("ef bb bf 68 69")), (h) =>
      h.expect(out.message("text", hex("ef bb bf 68 69"))),
    );
  });

  for (const [variant, options] of VARIANTS) {
    test(`K7/L4/${role}/${variant}: a Close reason that is not UTF-8 fails with 1007`, () => {
      for (const bad of ["ff", "c0 80", "ed a0 80", "e2 82"]) {
        const body = concat(hex("03 e8"), utf8(PAD), hex(bad));
        forEveryChunking(
          role,
          f(OP.close, body),
          (h) => h.expectFailing(1007, "ERR_WS_INVALID_CLOSE_REASON"),
          options,
          [1, 2, 10],
        );
      }
    });
  }

  test(`K10/${role}: a Close reason keeps its leading BOM`, () => {
    const body = closeBody(1000, "\ufeffbye");
    forEveryChunking(role, f(OP.close, body), (h) =>
      h.expect(
        out.close(1000, "\ufeffbye"),
        out.closing("remote", { code: 1000, reason: "\ufeffbye", payload: body }),
        ...(role === "server" ? [out.shutdownWrite] : []),
      ),
    );
  });
}
