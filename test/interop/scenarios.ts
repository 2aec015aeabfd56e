/**
 * The close-and-data scenarios of the interop matrix, each with what a spec-conforming pair
 * reports on both ends, and the table of legitimate peer differences (a peer's defaults, an API
 * that cannot express a call), each with a note. Nothing is skipped: where a peer differs, the
 * difference itself is the expectation.
 *
 * Every scenario runs after a burst of messages (see burst.ts) on the same connection.
 *
 * @module
 */
import { MAX_MESSAGE_BYTES, type CloseArgs, type End, type SockwiseEnd } from "./ends.js";
import { frame, type RelayLink } from "./relay.js";

/** Which end sockwise plays. */
export type Role = "client" | "server";

/** The peer libraries. */
export type PeerId = "ws" | "undici" | "websockets" | "chromium";

/**
 * What one end must report. sockwise's end also says who started the close (`initiator`) and,
 * for an abnormal close, why (`cause`, an `ERR_WS_*` code); both are checked when given.
 */
export interface Expect {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  readonly initiator?: "local" | "remote";
  readonly cause?: string;
}

/** One expectation, or a list of acceptable ones (a race the spec allows either way). */
export type Expectation = Expect | readonly Expect[];

/** What both ends must report in a scenario. */
export interface ScenarioExpect {
  readonly client: Expectation;
  readonly server: Expectation;
  /** The library call the scenario makes must fail with this error (a peer difference). */
  readonly apiError?: RegExp;
}

/** What a scenario hands to its action. */
export interface ScenarioContext {
  readonly sockwiseRole: Role;
  readonly sockwise: SockwiseEnd;
  readonly peer: End;
  readonly client: End;
  readonly server: End;
  readonly link: RelayLink;
}

/** What the action did, for the record. */
export interface Action {
  /** The error a library call returned (then the other end closed with 1000 "fallback"). */
  readonly apiError?: string;
  /** How the scenario was staged, when that varies by peer (e.g. who dropped TCP). */
  readonly how?: string;
}

/** One column of the matrix. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  expect(sockwiseRole: Role): ScenarioExpect;
  /** Who sockwise must say started the close, when that is determined. */
  initiator(sockwiseRole: Role): "local" | "remote" | undefined;
  act(context: ScenarioContext): Promise<Action>;
  /** Further checks once both ends reported the close; returns the problems found. */
  verify?(context: ScenarioContext): string[];
  /**
   * A known sockwise bug that makes this scenario fail in this role (reported as a TODO test,
   * so it does not fail the run, and marked in the table). Remove once fixed.
   */
  knownBug?(sockwiseRole: Role): string | undefined;
}

/** A 123-byte close reason (the most a Close frame can carry) with 2-, 3- and 4-byte characters. */
export const LONG_REASON = "é".repeat(10) + "€".repeat(10) + "🔌".repeat(10) + "x".repeat(33);

/** A lone surrogate: USVString conversion turns it into U+FFFD before it is encoded. */
const LONE_SURROGATE = "\uD807";

function clean(code: number, reason = ""): Expect {
  return { code, reason, wasClean: true };
}

const ABNORMAL: Expect = { code: 1006, reason: "", wasClean: false };

function both(expect: Expect): ScenarioExpect {
  return { client: expect, server: expect };
}

/** sockwise failed the connection: it reports 1006 (SPEC.md L20); the peer gets its Close. */
function sockwiseFails(role: Role, code: number, cause: string): ScenarioExpect {
  const sockwise: Expect = { ...ABNORMAL, cause };
  const peer = clean(code);
  return role === "client"
    ? { client: sockwise, server: peer }
    : { client: peer, server: sockwise };
}

/**
 * Calls `end.close(args)`; if the library refuses, the other end closes with 1000 "fallback" so
 * that the connection still ends and both ends' reports can be recorded.
 */
async function closeFrom(end: End, other: End, args: CloseArgs): Promise<Action> {
  const apiError = await end.close(args);
  if (apiError === undefined) return {};
  await other.close([1000, "fallback"]);
  return { apiError };
}

function clientCloses(id: string, title: string, args: CloseArgs, expect: Expect): Scenario {
  return {
    id,
    title,
    expect: () => both(expect),
    initiator: (role) => (role === "client" ? "local" : "remote"),
    act: ({ client, server }) => closeFrom(client, server, args),
  };
}

function serverCloses(code: number, reason: string): Scenario {
  return {
    id: `server-${code}`,
    title: `server close(${code}, "${reason}")`,
    expect: () => both(clean(code, reason)),
    initiator: (role) => (role === "server" ? "local" : "remote"),
    act: ({ client, server }) => closeFrom(server, client, [code, reason]),
  };
}

function drop(side: Role): Scenario {
  return {
    id: `drop-${side}`,
    title: `abrupt TCP loss at the ${side}`,
    expect: () => both(ABNORMAL),
    // Only sockwise's server can drop TCP itself (destroy()); otherwise the loss comes from afar.
    initiator: (role) => (role === side && role === "server" ? "local" : "remote"),
    act: (context) => {
      const end = context[side];
      if (end.abort !== undefined) {
        end.abort();
        return Promise.resolve({ how: `the ${side} dropped TCP through its API` });
      }
      context.link.cut();
      return Promise.resolve({
        how: `the ${side}'s API cannot drop TCP: the relay reset both connections`,
      });
    },
  };
}

/** Injects one frame into the stream towards sockwise (masked when sockwise is the server). */
function injectTowardsSockwise(
  context: ScenarioContext,
  opcode: number,
  payload: Uint8Array,
): void {
  const toServer = context.sockwiseRole === "server";
  context.link.inject(
    toServer ? "toServer" : "toClient",
    frame({ opcode, payload, masked: toServer }),
  );
}

/** Sizes of the text messages the peer sends right before its Close in "messages-then-close". */
const IN_FLIGHT = [1, 10, 100, 1000, 10_000] as const;

/** "κόσμε" followed by an encoded surrogate (ED A0 80), then "edited" (Autobahn 6.3.1). */
const INVALID_UTF8 = Buffer.concat([
  Buffer.from("κόσμε", "utf8"),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from("edited", "utf8"),
]);

/** The scenarios, in matrix order. Scenario n's burst uses seed BASE_SEED + n. */
export const SCENARIOS: readonly Scenario[] = [
  clientCloses("close-bare", "client close() without arguments", [], clean(1005)),
  clientCloses("close-1000", "client close(1000)", [1000], clean(1000)),
  clientCloses("close-3000", 'client close(3000, "x")', [3000, "x"], clean(3000, "x")),
  clientCloses(
    "close-4999-123B",
    "client close(4999, 123-byte reason with 2-, 3- and 4-byte characters)",
    [4999, LONG_REASON],
    clean(4999, LONG_REASON),
  ),
  clientCloses(
    "close-lone-surrogate",
    'client close(1000, "\\uD807"): the reason arrives as U+FFFD',
    [1000, LONE_SURROGATE],
    clean(1000, "\uFFFD"),
  ),
  serverCloses(1001, "going away"),
  serverCloses(1011, "internal error"),
  serverCloses(4000, "custom reason"),
  {
    id: "simultaneous",
    title: "both ends close at once (the Close frames cross)",
    // Each end reports the other end's code (RFC 6455 §7.1.5 note; SPEC.md L10).
    expect: () => ({ client: clean(4002, "server"), server: clean(4001, "client") }),
    initiator: () => undefined,
    act: async ({ client, server, link }) => {
      link.hold();
      const [clientError, serverError] = await Promise.all([
        client.close([4001, "client"]),
        server.close([4002, "server"]),
      ]);
      const deadline = Date.now() + 2000;
      while (
        (link.heldBytes("toServer") === 0 || link.heldBytes("toClient") === 0) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const how = `held: ${link.heldBytes("toServer")} B to the server, ${link.heldBytes("toClient")} B to the client`;
      link.release();
      const apiError = clientError ?? serverError;
      return apiError === undefined ? { how } : { how, apiError };
    },
  },
  drop("client"),
  drop("server"),
  {
    id: "messages-then-close",
    title: `peer sends ${IN_FLIGHT.length} messages and close(1000) in one TCP write; sockwise's app replies to each`,
    // The peer's Close arrives behind the messages: sockwise's application must still get every
    // one of them, in order (RFC 6455 §1.4: only data after the Close is discarded).
    // sockwise's client cannot send its replies (the peer's Close was processed before its message
    // tasks ran), which makes its close unclean by its own rule (SPEC.md L25).
    expect: (role) =>
      role === "client"
        ? {
            client: { code: 1000, reason: "", wasClean: false, cause: "ERR_WS_UNSENT_DATA" },
            server: clean(1000),
          }
        : both(clean(1000)),
    initiator: () => "remote",
    act: async ({ sockwiseRole, sockwise, peer, link }) => {
      sockwise.replyToMessages();
      const towards = sockwiseRole === "server" ? "toServer" : "toClient";
      link.hold();
      for (const size of IN_FLIGHT) peer.sendSized("text", size);
      const apiError = await peer.close([1000]);
      const minimum = IN_FLIGHT.reduce((sum, size) => sum + size, 0) + 2;
      const deadline = Date.now() + 2000;
      while (link.heldBytes(towards) < minimum && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const how = `released ${link.heldBytes(towards)} B to sockwise in one write`;
      link.release();
      return apiError === undefined ? { how } : { how, apiError };
    },
    verify: ({ sockwise }) => {
      const sizes = sockwise.takeAll().map((m) => (typeof m === "string" ? m.length : -1));
      return sizes.join() === IN_FLIGHT.join()
        ? []
        : [
            `sockwise's application got messages of sizes [${sizes.join(", ")}], expected [${IN_FLIGHT.join(", ")}]`,
          ];
    },
  },
  {
    id: "violation",
    title: "protocol violation received by sockwise → 1002",
    initiator: () => "local",
    expect: (role) =>
      role === "server"
        ? sockwiseFails(role, 1002, "ERR_WS_UNMASKED_FRAME")
        : sockwiseFails(role, 1002, "ERR_WS_INVALID_OPCODE"),
    act: (context) => {
      // A server must fail on an unmasked client frame; a client on a reserved opcode.
      if (context.sockwiseRole === "server") {
        context.link.inject(
          "toServer",
          frame({ opcode: 0x1, payload: Buffer.from("x"), masked: false }),
        );
        return Promise.resolve({ how: "the relay injected an unmasked text frame" });
      }
      injectTowardsSockwise(context, 0x3, Buffer.alloc(0));
      return Promise.resolve({ how: "the relay injected a frame with reserved opcode 3" });
    },
  },
  {
    id: "invalid-utf8",
    title: "invalid UTF-8 received by sockwise → 1007",
    initiator: () => "local",
    expect: (role) => sockwiseFails(role, 1007, "ERR_WS_INVALID_UTF8"),
    act: (context) => {
      injectTowardsSockwise(context, 0x1, INVALID_UTF8);
      return Promise.resolve({ how: "the relay injected a text frame with an encoded surrogate" });
    },
  },
  {
    id: "too-big",
    title: `peer sends ${MAX_MESSAGE_BYTES + 1} B, over sockwise's limit → 1009`,
    initiator: () => "local",
    expect: (role) => sockwiseFails(role, 1009, "ERR_WS_MESSAGE_TOO_BIG"),
    act: ({ peer }) => {
      peer.sendSized("binary", MAX_MESSAGE_BYTES + 1);
      return Promise.resolve({});
    },
  },
  {
    id: "violation-at-peer",
    title: "protocol violation received by the peer (reserved opcode 3)",
    // The peer fails the connection: it reports 1006 (as WHATWG clients must) and sends sockwise
    // a Close 1002, which sockwise answers.
    expect: (role) =>
      role === "client"
        ? { client: clean(1002), server: ABNORMAL }
        : { client: ABNORMAL, server: clean(1002) },
    initiator: () => "remote",
    act: ({ sockwiseRole, link }) => {
      const toServer = sockwiseRole === "client";
      link.inject(
        toServer ? "toServer" : "toClient",
        frame({ opcode: 0x3, payload: Buffer.alloc(0), masked: toServer }),
      );
      return Promise.resolve({ how: "the relay injected a frame with reserved opcode 3" });
    },
  },
];

/** A legitimate difference of one peer in one scenario, with the reason why. */
export interface Difference {
  readonly note: string;
  readonly client?: Expectation;
  readonly server?: Expectation;
  readonly apiError?: RegExp;
}

/** Peer differences, by peer, role the peer plays, and scenario. */
export const DIFFERENCES: Partial<
  Record<PeerId, Partial<Record<Role, Partial<Record<string, Difference>>>>>
> = {
  undici: {
    client: {
      ...Object.fromEntries(
        (
          [
            [1001, "going away"],
            [1011, "internal error"],
            [4000, "custom reason"],
          ] as const
        ).map(([code, reason]) => [
          `server-${code}`,
          {
            note:
              "undici answers a Close with the status code only and drops the reason " +
              "(lib/web/websocket/receiver.js); RFC 6455 §5.5.1 only says an endpoint typically " +
              "echoes the code. sockwise reports what arrived: the code and an empty reason.",
            server: clean(code),
            client: clean(code, reason),
          },
        ]),
      ),
      "violation-at-peer": {
        note: 'undici fails with a Close 1002 that carries the reason "Invalid opcode received".',
        server: clean(1002, "Invalid opcode received"),
      },
      "messages-then-close": {
        note:
          "undici inflates permessage-deflate messages asynchronously and pauses its parser " +
          "meanwhile (lib/web/websocket/receiver.js); when the server's FIN arrives during that " +
          "pause, it reports 1006 although the server's Close is already in its buffer. sockwise's " +
          "server behaves as RFC 6455 §7.1.1 asks (its replies, then the Close, then FIN at once) " +
          "and reports a clean 1000; a `ws` server with compression triggers the same undici bug.",
        client: { code: 1006, reason: "", wasClean: false },
        server: clean(1000),
      },
    },
  },
  chromium: {
    client: {
      "violation-at-peer": {
        note: 'Chromium fails with a Close 1002 that carries the reason "Unknown opcode".',
        server: clean(1002, "Unknown opcode"),
      },
    },
  },
  websockets: {
    client: {
      "close-bare": {
        note:
          'websockets has no bare close(): its signature is close(code=1000, reason="") and it ' +
          "cannot send a Close without a body, so the call sends 1000 and both ends report 1000.",
        client: clean(1000),
        server: clean(1000),
      },
      "close-lone-surrogate": {
        note:
          "A Python str keeps a lone surrogate and websockets encodes the reason as strict " +
          'UTF-8, so close(1000, "\\ud807") raises UnicodeEncodeError (no USVString ' +
          "conversion as in browsers). websockets 10.4 raises only after it set the state to " +
          "CLOSING and recorded the Close as sent (legacy/protocol.py write_close_frame), so it " +
          "never answers the server's fallback Close either: sockwise drops TCP at its close " +
          "timeout (1006, ERR_WS_CLOSE_TIMEOUT) while websockets believes both Close frames " +
          "were exchanged.",
        apiError: /^UnicodeEncodeError/,
        client: clean(1000, "fallback"),
        server: { ...ABNORMAL, initiator: "local", cause: "ERR_WS_CLOSE_TIMEOUT" },
      },
    },
  },
};

/** The expectation of one scenario for one pairing, with the difference note if any. */
export function expectationFor(
  scenario: Scenario,
  peer: PeerId,
  sockwiseRole: Role,
): ScenarioExpect & { readonly note?: string } {
  const base = scenario.expect(sockwiseRole);
  const peerRole: Role = sockwiseRole === "client" ? "server" : "client";
  const difference = DIFFERENCES[peer]?.[peerRole]?.[scenario.id];
  const client = difference?.client ?? base.client;
  const server = difference?.server ?? base.server;
  const initiator = scenario.initiator(sockwiseRole);
  const withInitiator = (expectation: Expectation): Expectation => {
    if (initiator === undefined) return expectation;
    const add = (expect: Expect): Expect =>
      expect.initiator === undefined ? { ...expect, initiator } : expect;
    return Array.isArray(expectation)
      ? (expectation as readonly Expect[]).map(add)
      : add(expectation as Expect);
  };
  const apiError = difference?.apiError ?? base.apiError;
  return {
    client: sockwiseRole === "client" ? withInitiator(client) : client,
    server: sockwiseRole === "server" ? withInitiator(server) : server,
    ...(apiError === undefined ? {} : { apiError }),
    ...(difference === undefined ? {} : { note: difference.note }),
  };
}
