/**
 * Makes peer-controlled text safe to print on a terminal: control characters (C0, DEL, C1 —
 * ESC above all, which could otherwise move the cursor, change colours or set the window title)
 * are shown as escapes instead of being interpreted.
 *
 * @module
 */

const NAMED: Readonly<Record<number, string>> = {
  0x09: "\\t",
  0x0a: "\\n",
  0x0d: "\\r",
  0x5c: "\\\\",
};

/** Escapes control characters (and backslashes, so the output is unambiguous) in `text`. */
export function escapeControl(text: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isControl = c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f) || c === 0x5c;
    // Bidirectional overrides and isolates can also disguise what is shown.
    const isBidi = (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
    if (!isControl && !isBidi) continue;
    out += text.slice(start, i) + (NAMED[c] ?? `\\u${c.toString(16).padStart(4, "0")}`);
    start = i + 1;
  }
  return start === 0 ? text : out + text.slice(start);
}

/**
 * Serializes `value` as JSON that is also safe to print on a terminal. `JSON.stringify` escapes
 * C0 controls but leaves DEL, C1 controls (0x9b is an 8-bit CSI to many terminals), bidi
 * overrides and the line/paragraph separators raw; those are written as `\uXXXX` too. They can
 * only occur inside JSON strings, so the output still parses back to the same value.
 */
export function toTerminalJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Formats bytes as space-separated lower-case hex; past `maxBytes` it stops and gives the length. */
export function toHex(bytes: Uint8Array, maxBytes = 64): string {
  const shown = bytes.length > maxBytes ? bytes.subarray(0, maxBytes) : bytes;
  const hex = Array.from(shown, (b) => b.toString(16).padStart(2, "0")).join(" ");
  return bytes.length > maxBytes ? `${hex} … (${bytes.length} bytes)` : hex;
}

/**
 * Parses hex such as "01 02 ff" or "0102ff" (spaces and colons ignored).
 * @returns the bytes, or `undefined` when the text is not an even number of hex digits
 */
export function parseHex(text: string): Uint8Array | undefined {
  const digits = text.replace(/[\s:]/g, "");
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) return undefined;
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Parses standard or URL-safe base64 (whitespace ignored, padding optional).
 * @returns the bytes, or `undefined` when the text is not base64
 */
export function parseBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s/g, "");
  if (
    !/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact) ||
    compact.replace(/=+$/, "").length % 4 === 1 ||
    (compact.endsWith("=") && compact.length % 4 !== 0)
  )
    return undefined;
  return new Uint8Array(
    Buffer.from(compact, compact.includes("-") || compact.includes("_") ? "base64url" : "base64"),
  );
}

/** How binary data is written out in full: packed lower-case hex or standard base64. */
export type BinaryEncoding = "hex" | "base64";

/** Encodes `bytes` whole (no elision) as `encoding`. */
export function encodeBinary(bytes: Uint8Array, encoding: BinaryEncoding): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding);
}

/**
 * Whether to colour output on `stream`: `FORCE_COLOR` (non-empty, not "0") forces colours,
 * `NO_COLOR` (non-empty, https://no-color.org) turns them off, and otherwise only a terminal
 * gets them. An explicit `--color`/`--no-color` wins over all three.
 */
export function colorEnabled(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
  flag?: boolean,
): boolean {
  if (flag !== undefined) return flag;
  const force = env["FORCE_COLOR"];
  if (force !== undefined && force !== "" && force !== "0" && force !== "false") return true;
  const noColor = env["NO_COLOR"];
  if (noColor !== undefined && noColor !== "") return false;
  if (env["TERM"] === "dumb") return false;
  return stream.isTTY === true;
}

/** The SGR colours the CLI uses. */
const SGR = {
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
  dim: "2",
  bold: "1",
} as const;

/** A colour name of {@link paint}. */
export type Colour = keyof typeof SGR;

/** Wraps `text` in an SGR colour when `enabled` (the text itself must already be escaped). */
export function paint(enabled: boolean, colour: Colour, text: string): string {
  return enabled ? `\x1b[${SGR[colour]}m${text}\x1b[0m` : text;
}
