/**
 * `sockwise connect` in interactive mode, driven through a real pseudo-terminal (util-linux
 * `script`, or Python's `pty`). What it prints is rendered on a small virtual screen so the
 * assertions are about what a user sees: the `<` mark, the prompt redrawn after each message
 * (keeping a half-typed line), hex for binary, and the slash commands.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import type { ServerWebSocket } from "../../src/index.js";
import { CLI_MAIN, startCommand, type CliProcess } from "../helpers/cli-process.js";
import { VirtualTerminal, findPtyLauncher, ptyCommandLine } from "../helpers/pseudo-terminal.js";
import {
  SocketEvents,
  nextConnection,
  startServer,
  waitUntil,
  withTimeout,
} from "../helpers/server-harness.js";

const launcher = findPtyLauncher();
const skip = typeof launcher === "string" ? `no pseudo-terminal: ${launcher}` : false;

interface Session {
  readonly cli: CliProcess;
  readonly screen: VirtualTerminal;
  readonly socket: ServerWebSocket;
  readonly events: SocketEvents;
  /** Types `text` as if on a keyboard (use "\r" for Enter). */
  type(text: string): void;
  /** Waits until the screen's last lines equal `expected`. */
  expectTail(expected: readonly string[]): Promise<void>;
}

/** Starts an echo server and `sockwise connect` to it inside a pseudo-terminal. */
async function startSession(
  t: TestContext,
  extraArgs: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<Session> {
  if (typeof launcher === "string") throw new Error(launcher);
  t.diagnostic(`pseudo-terminal: ${launcher.name}`);
  const { server, url } = await startServer(t);
  const connection = nextConnection(server);
  const [command, args] = launcher.wrap(
    ptyCommandLine([process.execPath, CLI_MAIN, "connect", ...extraArgs, url()]),
  );
  const cli = startCommand(t, command, args, { env: { TERM: "xterm", ...env } });
  const screen = new VirtualTerminal();
  cli.child.stdout.on("data", (chunk: string) => screen.feed(chunk));
  const { socket } = await connection;
  const events = new SocketEvents(socket);
  socket.addEventListener("message", (event: MessageEvent) => {
    if (event.data === "push please") socket.send("pushed");
    else socket.send(event.data as string | ArrayBuffer);
  });
  const session: Session = {
    cli,
    screen,
    socket,
    events,
    type: (text) => cli.write(text),
    async expectTail(expected) {
      const tail = (): string[] => screen.lines().slice(-expected.length);
      try {
        await waitUntil(
          () => JSON.stringify(tail()) === JSON.stringify(expected),
          "the screen to show the expected lines",
        );
      } catch (error) {
        assert.deepEqual(
          screen.lines(),
          expected,
          `${(error as Error).message}\nraw output: ${JSON.stringify(cli.stdout)}`,
        );
      }
    },
  };
  if (extraArgs.includes("--timestamps")) {
    await waitUntil(() => {
      const lines = screen.lines();
      return lines.length === 2 && lines[0]!.endsWith(` connected to ${url()}`) && lines[1] === ">";
    }, "the connected line and the prompt");
  } else await session.expectTail([`connected to ${url()}`, ">"]);
  assert.equal(screen.lines().length, 2);
  return session;
}

test(
  "interactive: messages, prompt redraw, /binary, /ping with its pong, /close 4000 bye",
  { skip },
  async (t) => {
    const session = await startSession(t);
    const { screen, type, expectTail, events } = session;

    type("hello\r");
    assert.equal((await events.next("message")).data, "hello");
    await expectTail(["> hello", "< hello", ">"]);
    assert.deepEqual(screen.cursor(), { line: ">", column: 2 });

    type("push please\r");
    await expectTail(["> push please", "< pushed", ">"]);
    // A message that arrives while a line is half typed: printed on its own line, then the
    // prompt and the half-typed text redrawn below it, and typing continues where it was.
    type("par");
    await expectTail(["< pushed", "> par"]);
    session.socket.send("unsolicited \x1b[31mred\x07");
    await expectTail(["< pushed", "< unsolicited \\u001b[31mred\\u0007", "> par"]);
    assert.deepEqual(screen.cursor(), { line: "> par", column: 5 });
    type("tial\r");
    await events.next("message"); // "push please"
    assert.equal((await events.next("message")).data, "partial");
    await expectTail(["< unsolicited \\u001b[31mred\\u0007", "> partial", "< partial", ">"]);

    type("/binary 01 02 ff\r");
    const binary = (await events.next("message")).data as ArrayBuffer;
    assert.deepEqual(new Uint8Array(binary), Uint8Array.of(1, 2, 255));
    await expectTail(["> /binary 01 02 ff", "< [binary 3 B] 01 02 ff", ">"]);

    type("/binary 0g\r");
    await expectTail(["> /binary 0g", "usage: /binary <hex bytes>, e.g. /binary 01 02 ff", ">"]);

    const serverPings: string[] = [];
    session.socket.addEventListener("ping", (event: MessageEvent) => {
      serverPings.push(new TextDecoder().decode(event.data as Uint8Array));
    });
    type("/ping are you there\r");
    await waitUntil(
      () => /^pong "are you there" after \d+\.\d ms$/m.test(screen.lines().join("\n")),
      "the pong line",
    );
    assert.deepEqual(
      serverPings,
      ["are you there"],
      "the server received the Ping with its payload",
    );

    type("/close 4000 bye\r");
    const close = await withTimeout(session.socket.closed, "the server-side close");
    assert.deepEqual([close.code, close.reason, close.wasClean], [4000, "bye", true]);
    const result = await session.cli.finish();
    assert.equal(result.code, 0, result.stdout);
    const lines = screen.lines();
    assert.deepEqual(lines.slice(-2), [
      "> /close 4000 bye",
      'closed: code=4000 reason="bye" clean=true',
    ]);
    // The whole session, as the user saw it.
    assert.deepEqual(lines.slice(1), [
      ...["> hello", "< hello", "> push please", "< pushed"],
      ...["< unsolicited \\u001b[31mred\\u0007", "> partial", "< partial"],
      ...["> /binary 01 02 ff", "< [binary 3 B] 01 02 ff"],
      ...["> /binary 0g", "usage: /binary <hex bytes>, e.g. /binary 01 02 ff"],
      "> /ping are you there",
      screen.lines().find((line) => line.startsWith("pong "))!,
      ...["> /close 4000 bye", 'closed: code=4000 reason="bye" clean=true'],
    ]);
  },
);

test(
  "interactive: an invalid /close code shows the error and keeps the prompt; /quit exits 0",
  { skip },
  async (t) => {
    const session = await startSession(t);
    const { type, expectTail } = session;
    type("/close 1001 nope\r");
    await expectTail([
      "> /close 1001 nope",
      "error: The close code must be either 1000, or between 3000 and 4999. 1001 is neither.",
      ">",
    ]);
    type("still here\r");
    await expectTail(["> still here", "< still here", ">"]);
    type("/quit\r");
    const close = await withTimeout(session.socket.closed, "the server-side close");
    assert.deepEqual([close.code, close.wasClean], [1005, true]);
    const result = await session.cli.finish();
    assert.equal(result.code, 0, result.stdout);
    assert.deepEqual(session.screen.lines().slice(-2), [
      "> /quit",
      'closed: code=1005 reason="" clean=true',
    ]);
  },
);

test("interactive: Ctrl-D closes and exits 0", { skip }, async (t) => {
  const session = await startSession(t, ["--close-code", "4100"]);
  session.type("\x04");
  const close = await withTimeout(session.socket.closed, "the server-side close");
  assert.deepEqual([close.code, close.wasClean], [4100, true]);
  const result = await session.cli.finish();
  assert.equal(result.code, 0, result.stdout);
  assert.equal(session.screen.lines().at(-1), 'closed: code=4100 reason="" clean=true');
});

test(
  "interactive: the server closing while the prompt is shown prints the close on its own line",
  { skip },
  async (t) => {
    const session = await startSession(t);
    session.type("half");
    await session.expectTail(["> half"]);
    session.socket.close(4003, "kicked");
    const result = await session.cli.finish();
    assert.equal(result.code, 0, result.stdout);
    assert.deepEqual(session.screen.lines().slice(1), [
      'closed: code=4003 reason="kicked" clean=true',
    ]);
  },
);

test(
  "interactive (#18): colours on a terminal when NO_COLOR is unset, --timestamps, /base64, --show-ping-pong",
  { skip },
  async (t) => {
    const session = await startSession(t, ["--timestamps", "--show-ping-pong"], { NO_COLOR: "" });
    const { screen, type, events } = session;
    const time = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
    type("/base64 AQL/\r");
    const binary = (await events.next("message")).data as ArrayBuffer;
    assert.deepEqual(new Uint8Array(binary), Uint8Array.of(1, 2, 255));
    session.socket.ping("hb");
    await waitUntil(
      () => new RegExp(`^${time} < ping "hb"$`, "m").test(screen.lines().join("\n")),
      "the ping line",
    );
    const lines = screen.lines();
    assert.match(lines[0]!, new RegExp(`^${time} connected to ws://`));
    assert.ok(
      lines.some((line) => new RegExp(`^${time} < \\[binary 3 B\\] 01 02 ff$`).test(line)),
      lines.join("\n"),
    );
    // The colours are SGR sequences around the marks; the text on screen is unchanged.
    assert.match(session.cli.stdout, /\x1b\[32m<\x1b\[0m \[binary 3 B\]/);
    assert.match(session.cli.stdout, /\x1b\[35m\d\d:|\x1b\[35m< ping/);
    type("/quit\r");
    const result = await session.cli.finish();
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      session.screen.lines().at(-1)!,
      new RegExp(`^${time} closed: code=1005 reason="" clean=true$`),
    );
  },
);
