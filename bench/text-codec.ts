/**
 * `npm run bench:text`: how long it takes to turn a text message into a string and a string into
 * the bytes of a text message, by V8's UTF-8 codec (`TextDecoder#decode`, `Buffer.from`: what
 * ws, undici and sockwise before used) and by the routes sockwise's `decodeText` and
 * `toOutgoing` choose (src/facade/message-data.ts), for texts of several kinds and sizes. Every
 * result is checked against V8's before it is timed. Results: docs/benchmarks.md, "Text".
 *
 * Each figure is the best of 5 timed blocks (a bounded number of calls each) after a warm-up:
 * the best, not the median, because the question is the cost of the code, not of the machine's
 * other work.
 */
import { decodeText, toOutgoing } from "../src/facade/message-data.js";
import { textBytes } from "./lib/wire.js";

const isQuick = process.argv.includes("--quick");
const SIZES = isQuick ? [1024, 65536] : [256, 1024, 4096, 16384, 65536, 1 << 20];
const BLOCKS = 5;
/** About this many payload bytes per timed block (fewer calls for large texts). */
const BYTES_PER_BLOCK = isQuick ? 4e6 : 2e7;

/** Texts of the same byte length: what the bench's messages are, and the usual other kinds. */
function texts(size: number): [string, Buffer][] {
  const json = JSON.stringify(
    Array.from({ length: size }, (_, i) => ({ id: i, name: `item ${i}`, ok: i % 2 === 0 })),
  );
  const kinds: [string, Buffer][] = [
    ["mixed-script (the bench's)", textBytes(size)],
    ["ASCII JSON", Buffer.from(json.slice(0, size), "utf8")],
    ["ASCII JSON, one é at the end", Buffer.from(`${json.slice(0, size - 2)}é`, "utf8")],
    ["accented Latin (ü)", Buffer.from("ü".repeat(size / 2), "utf8")],
    ["CJK (你)", Buffer.from("你".repeat(Math.floor(size / 3)), "utf8")],
  ];
  return kinds;
}

let sink: unknown;

/**
 * Microseconds per call of `a` and of `b`: the best of {@link BLOCKS} blocks each, the blocks of
 * the two alternating so that neither gains from going first (a warm cache, an idle collector).
 */
function timePair(a: () => unknown, b: () => unknown, bytes: number): [number, number] {
  const calls = Math.max(10, Math.min(200_000, Math.floor(BYTES_PER_BLOCK / Math.max(bytes, 1))));
  for (let i = 0; i < Math.min(calls, 200); i++) {
    sink = a();
    sink = b();
  }
  const best: [number, number] = [Infinity, Infinity];
  for (let block = 0; block < 2 * BLOCKS; block++) {
    const which = block & 1;
    const fn = which === 0 ? a : b;
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) sink = fn();
    best[which] = Math.min(best[which]!, Number(process.hrtime.bigint() - start) / 1e3 / calls);
  }
  return best;
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const rows: string[] = [];
for (const size of SIZES) {
  for (const [kind, bytes] of texts(size)) {
    const text = decoder.decode(bytes);
    if (decodeText(bytes) !== text) throw new Error(`decodeText differs for ${kind}, ${size} B`);
    const encoded = toOutgoing(text).bytes!;
    if (!Buffer.from(text, "utf8").equals(encoded))
      throw new Error(`toOutgoing differs for ${kind}, ${size} B`);
    const [v8Decode, ourDecode] = timePair(
      () => decoder.decode(bytes),
      () => decodeText(bytes),
      bytes.length,
    );
    const [v8Encode, ourEncode] = timePair(
      () => Buffer.from(text, "utf8"),
      () => toOutgoing(text),
      bytes.length,
    );
    rows.push(
      `| ${bytes.length} | ${kind} | ${v8Decode.toFixed(2)} | ${ourDecode.toFixed(2)} | ` +
        `${(v8Decode / ourDecode).toFixed(2)} | ${v8Encode.toFixed(2)} | ${ourEncode.toFixed(2)} | ` +
        `${(v8Encode / ourEncode).toFixed(2)} |`,
    );
  }
}
void sink;

console.log(
  `Node ${process.version}, ICU ${process.versions["icu"] ?? "none"}; µs per call, best of ${BLOCKS}`,
);
console.log("");
console.log(
  "| bytes | text | decode: V8 | decode: sockwise | speed-up | encode: V8 | encode: sockwise | speed-up |",
);
console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const row of rows) console.log(row);
