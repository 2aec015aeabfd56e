/**
 * Runs a command inside a real pseudo-terminal (util-linux `script`, or Python's `pty` module)
 * and renders what it prints on a minimal virtual screen, so tests can assert on what a user
 * would actually see (prompt redrawn, no garbled lines) rather than on raw escape sequences.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The terminal size set inside the pseudo-terminal. */
export const PTY_COLUMNS = 100;
export const PTY_ROWS = 40;

/** A way to run a shell command line inside a pseudo-terminal. */
export interface PtyLauncher {
  readonly name: string;
  /** The program and arguments that run `commandLine` (a `/bin/sh` command) in a pty. */
  wrap(commandLine: string): [command: string, args: string[]];
}

const PYTHON = "/usr/bin/python3";
const PYTHON_PTY =
  "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(['/bin/sh', '-c', sys.argv[1]])))";

/**
 * Finds a pseudo-terminal launcher: util-linux `script -qfec` first, then Python's `pty`.
 * `SOCKWISE_PTY=script` or `SOCKWISE_PTY=python` forces one (to test both).
 * @returns the launcher, or a string saying why none is available
 */
export function findPtyLauncher(): PtyLauncher | string {
  const only = process.env["SOCKWISE_PTY"];
  const script =
    only === "python" ? undefined : spawnSync("script", ["--version"], { encoding: "utf8" });
  if (script?.status === 0 && /util-linux/.test(script.stdout + script.stderr)) {
    return {
      name: "script (util-linux)",
      wrap: (commandLine) => ["script", ["-qfec", commandLine, "/dev/null"]],
    };
  }
  if (only !== "script" && existsSync(PYTHON)) {
    const python = spawnSync(PYTHON, ["-c", "import os, pty; os.waitstatus_to_exitcode"]);
    if (python.status === 0) {
      return {
        name: "python3 pty",
        wrap: (commandLine) => [PYTHON, ["-c", PYTHON_PTY, commandLine]],
      };
    }
  }
  return "neither util-linux `script` nor /usr/bin/python3 (3.9+, pty module) is available";
}

/** Quotes `word` for /bin/sh. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A /bin/sh command line that sizes the terminal, then runs `argv`. */
export function ptyCommandLine(argv: readonly string[]): string {
  return `stty cols ${PTY_COLUMNS} rows ${PTY_ROWS} 2>/dev/null; exec ${argv.map(shellQuote).join(" ")}`;
}

/**
 * A tiny terminal emulator: enough of ECMA-48 for readline's output (CR, LF, BS, cursor
 * movement, erase in line/display). The screen grows downwards without scrolling.
 */
export class VirtualTerminal {
  readonly #rows: string[][] = [[]];
  #row = 0;
  #column = 0;
  /** Escape sequences the emulator ignored, for diagnostics. */
  readonly ignored: string[] = [];

  constructor(readonly columns = PTY_COLUMNS) {}

  /** Interprets `text` as terminal output. */
  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (char === "\x1b") {
        i = this.#escape(text, i);
        continue;
      }
      switch (char) {
        case "\r":
          this.#column = 0;
          break;
        case "\n":
          this.#moveTo(this.#row + 1, this.#column);
          break;
        case "\b":
          this.#column = Math.max(0, this.#column - 1);
          break;
        case "\x07":
          break;
        case "\t":
          this.#column = Math.min(this.columns - 1, (Math.floor(this.#column / 8) + 1) * 8);
          break;
        default:
          if (this.#column >= this.columns) this.#moveTo(this.#row + 1, 0);
          this.#line()[this.#column] = char;
          this.#column++;
      }
    }
  }

  /** The screen's lines, trailing spaces and trailing empty lines removed. */
  lines(): string[] {
    const lines = this.#rows.map((row) =>
      Array.from(row, (cell) => cell ?? " ")
        .join("")
        .trimEnd(),
    );
    while (lines.length > 0 && lines.at(-1) === "") lines.pop();
    return lines;
  }

  /** The line the cursor is on, and the cursor's column. */
  cursor(): { line: string; column: number } {
    return { line: this.lines()[this.#row] ?? "", column: this.#column };
  }

  #line(): string[] {
    return this.#rows[this.#row]!;
  }

  #moveTo(row: number, column: number): void {
    this.#row = Math.max(0, row);
    while (this.#rows.length <= this.#row) this.#rows.push([]);
    this.#column = Math.max(0, Math.min(this.columns - 1, column));
  }

  /** Handles the escape sequence starting at `start`; returns the index of its last character. */
  #escape(text: string, start: number): number {
    if (text[start + 1] !== "[") {
      this.ignored.push(text.slice(start, start + 2));
      return start + 1;
    }
    const match = /^\x1b\[([?]?)([0-9;]*)([@-~])/.exec(text.slice(start));
    if (match === null) {
      this.ignored.push(text.slice(start, start + 8));
      return start + 1;
    }
    const [sequence, privateMarker, params = "", final] = match;
    const numbers = params.split(";").map((p) => (p === "" ? undefined : Number(p)));
    const n = numbers[0];
    const line = this.#line();
    if (privateMarker !== "") {
      this.ignored.push(sequence);
    } else if (final === "G") {
      this.#moveTo(this.#row, (n ?? 1) - 1);
    } else if (final === "C") {
      this.#moveTo(this.#row, this.#column + (n ?? 1));
    } else if (final === "D") {
      this.#moveTo(this.#row, this.#column - (n ?? 1));
    } else if (final === "A") {
      this.#moveTo(this.#row - (n ?? 1), this.#column);
    } else if (final === "B") {
      this.#moveTo(this.#row + (n ?? 1), this.#column);
    } else if (final === "K") {
      if ((n ?? 0) === 0) line.length = Math.min(line.length, this.#column);
      else if (n === 1) line.fill(" ", 0, this.#column + 1);
      else line.length = 0;
    } else if (final === "J") {
      if ((n ?? 0) === 0) {
        line.length = Math.min(line.length, this.#column);
        this.#rows.length = this.#row + 1;
      } else {
        for (const row of this.#rows) row.length = 0;
      }
    } else if (final === "m") {
      // Colours do not change the text.
    } else {
      this.ignored.push(sequence);
    }
    return start + sequence.length - 1;
  }
}
