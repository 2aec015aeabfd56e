/**
 * Measures the event-loop cost of the permessage-deflate codec (src/node/deflate-codec.ts): µs
 * per deflate and per inflate call for JSON-like and random messages of 1, 16 and 64 KiB, with no
 * dictionary (no context takeover, sockwise's server default) and with a 32 KiB dictionary
 * (context takeover). Not a test: `node build/test/node/deflate-codec-cost.js [--json]`.
 * docs/permessage-deflate.md quotes its output.
 *
 * Each figure is the median of 15 batches, a batch being as many calls as fit in ~20 ms.
 */
import { createDeflateCodec } from "../../src/node/deflate-codec.js";
import { jsonLikeText, randomBytesSeeded } from "../helpers/deflate-harness.js";

const codec = createDeflateCodec();
const WINDOW = 32 * 1024;

interface Row {
  readonly kind: "json" | "random";
  readonly sizeKiB: number;
  readonly dictionary: boolean;
  readonly compressedBytes: number;
  readonly deflateUs: number;
  readonly inflateUs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median µs per call of `fn`. */
function measure(fn: () => void): number {
  for (let i = 0; i < 50; i++) fn();
  let perBatch = 1;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < perBatch; i++) fn();
    if (performance.now() - start > 20) break;
    perBatch *= 2;
  }
  const samples: number[] = [];
  for (let b = 0; b < 15; b++) {
    const start = performance.now();
    for (let i = 0; i < perBatch; i++) fn();
    samples.push(((performance.now() - start) * 1000) / perBatch);
  }
  return median(samples);
}

const rows: Row[] = [];
for (const kind of ["json", "random"] as const) {
  for (const sizeKiB of [1, 16, 64]) {
    const size = sizeKiB * 1024;
    const data =
      kind === "json"
        ? new TextEncoder().encode(jsonLikeText(size, 1))
        : randomBytesSeeded(size, 1);
    // The window a connection with takeover would hold: earlier messages of the same kind.
    const history =
      kind === "json"
        ? new TextEncoder().encode(jsonLikeText(WINDOW, 2))
        : randomBytesSeeded(WINDOW, 2);
    for (const dictionary of [false, true]) {
      const options = dictionary ? { windowBits: 15, dictionary: history } : { windowBits: 15 };
      const compressed = codec.deflate(data, options);
      const inflateOptions = dictionary
        ? { windowBits: 15, maxBytes: 1 << 20, dictionary: history }
        : { windowBits: 15, maxBytes: 1 << 20 };
      rows.push({
        kind,
        sizeKiB,
        dictionary,
        compressedBytes: compressed.length,
        deflateUs: measure(() => codec.deflate(data, options)),
        inflateUs: measure(() => codec.inflate(compressed, inflateOptions)),
      });
    }
  }
}

if (process.argv.includes("--json")) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  process.stdout.write(
    "| message | dictionary | compressed | deflate µs | inflate µs |\n|---|---|---:|---:|---:|\n",
  );
  for (const row of rows) {
    process.stdout.write(
      `| ${row.sizeKiB} KiB ${row.kind === "json" ? "JSON-like" : "random"} | ${row.dictionary ? "32 KiB" : "none"} | ${row.compressedBytes} B | ${row.deflateUs.toFixed(1)} | ${row.inflateUs.toFixed(1)} |\n`,
    );
  }
  process.stdout.write(`\nNode ${process.version}, zlib ${process.versions.zlib}\n`);
}
