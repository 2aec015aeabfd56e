/**
 * Engine fragmentation (SPEC.md I): reassembly, continuation rules, control frames between
 * fragments, in both roles and at every split.
 */
import { test } from "node:test";
import { EngineHarness, ROLES, forEveryChunking, out } from "../helpers/engine-harness.js";
import { OP, closeBody, concat, hex, utf8 } from "../helpers/frames.js";

for (const role of ROLES) {
  const peer = new EngineHarness(role);
  const f = peer.peerFrame.bind(peer);

  test(`I2/I7/${role}: a fragmented text message is delivered once, joined in order`, () => {
    const input = concat(
      f(OP.text, "Hel", { fin: false }),
      f(OP.cont, "l", { fin: false }),
      f(OP.cont, "o"),
    );
    forEveryChunking(role, input, (h) => h.expect(out.message("text", "Hello")));
  });

  test(`I7/${role}: the message has the type of its first frame (binary)`, () => {
    const input = concat(f(OP.binary, hex("00 01"), { fin: false }), f(OP.cont, hex("02")));
    forEveryChunking(role, input, (h) => h.expect(out.message("binary", hex("00 01 02"))));
  });

  test(`I8/${role}: zero-length fragments are legal first, in between and last`, () => {
    const input = concat(
      f(OP.text, "", { fin: false }),
      f(OP.cont, "a", { fin: false }),
      f(OP.cont, "", { fin: false }),
      f(OP.cont, "b", { fin: false }),
      f(OP.cont, ""),
    );
    forEveryChunking(role, input, (h) => h.expect(out.message("text", "ab")));
  });

  test(`I8/${role}: a message of only empty fragments is an empty message`, () => {
    const input = concat(f(OP.binary, "", { fin: false }), f(OP.cont, ""));
    forEveryChunking(role, input, (h) => h.expect(out.message("binary", "")));
  });

  test(`I3/${role}: a continuation with no message in progress fails with 1002`, () => {
    forEveryChunking(role, f(OP.cont, "x"), (h) =>
      h.expectFailing(1002, "ERR_WS_UNEXPECTED_CONTINUATION"),
    );
  });

  test(`I3/${role}: a continuation after a complete message fails with 1002`, () => {
    const input = concat(f(OP.text, "done"), f(OP.cont, "more"));
    forEveryChunking(role, input, (h) =>
      h.expectFailing(1002, "ERR_WS_UNEXPECTED_CONTINUATION", {
        before: [out.message("text", "done")],
      }),
    );
  });

  for (const opcode of [OP.text, OP.binary]) {
    const kind = opcode === OP.text ? "text" : "binary";
    test(`I4/${role}: a new ${kind} frame inside a fragmented message fails with 1002`, () => {
      const input = concat(f(OP.binary, "a", { fin: false }), f(opcode, "b"));
      forEveryChunking(role, input, (h) => h.expectFailing(1002, "ERR_WS_EXPECTED_CONTINUATION"));
    });
  }

  test(`I5/J2/${role}: a ping between fragments is answered at once, before the message`, () => {
    const input = concat(f(OP.text, "Hel", { fin: false }), f(OP.ping, "mid"), f(OP.cont, "lo"));
    forEveryChunking(role, input, (h) =>
      h.expect(out.ping("mid"), out.sent(OP.pong, "mid"), out.message("text", "Hello")),
    );
  });

  test(`I5/J4/${role}: a pong between fragments is reported and the message continues`, () => {
    const input = concat(
      f(OP.binary, hex("01"), { fin: false }),
      f(OP.pong, "p1"),
      f(OP.cont, hex("02"), { fin: false }),
      f(OP.ping, ""),
      f(OP.pong, "p2"),
      f(OP.cont, hex("03")),
    );
    forEveryChunking(role, input, (h) =>
      h.expect(
        out.pong("p1"),
        out.ping(),
        out.sent(OP.pong),
        out.pong("p2"),
        out.message("binary", hex("01 02 03")),
      ),
    );
  });

  test(`I12/${role}: a Close in the middle of a fragmented message drops the message`, () => {
    const input = concat(
      f(OP.text, "unfinished", { fin: false }),
      f(OP.close, closeBody(1001, "away")),
      f(OP.cont, " never"),
    );
    forEveryChunking(role, input, (h) => {
      h.expect(
        out.close(1001, "away"),
        out.closing("remote", { code: 1001, reason: "away", payload: closeBody(1001, "away") }),
        ...(role === "server" ? [out.shutdownWrite] : []),
      );
      h.engine.receiveEof();
      h.expectClosed(
        { code: 1001, reason: "away", wasClean: true, initiator: "remote", sentCode: 1001 },
        role === "client" ? [out.shutdownWrite] : [],
      );
    });
  });

  test(`I14/${role}: messages follow each other; each starts its own fragment sequence`, () => {
    const input = concat(
      f(OP.text, "a", { fin: false }),
      f(OP.cont, "b"),
      f(OP.binary, hex("01"), { fin: false }),
      f(OP.cont, hex("02")),
      f(OP.text, "c"),
    );
    forEveryChunking(role, input, (h) =>
      h.expect(
        out.message("text", "ab"),
        out.message("binary", hex("01 02")),
        out.message("text", "c"),
      ),
    );
  });

  test(`I6/${role}: a fragmented ping (FIN=0) fails with 1002, even between fragments`, () => {
    const input = concat(f(OP.text, "a", { fin: false }), f(OP.ping, "x", { fin: false }));
    forEveryChunking(role, input, (h) => h.expectFailing(1002, "ERR_WS_FRAGMENTED_CONTROL_FRAME"));
  });

  test(`I2/K2/${role}: a multi-byte character split over three fragments is valid`, () => {
    const smile = utf8("😀");
    const input = concat(
      f(OP.text, smile.subarray(0, 1), { fin: false }),
      f(OP.cont, smile.subarray(1, 3), { fin: false }),
      f(OP.cont, smile.subarray(3)),
    );
    forEveryChunking(role, input, (h) => h.expect(out.message("text", "😀")));
  });
}
