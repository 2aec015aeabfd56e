/**
 * The end-to-end bench's results as data (a flat list of metrics) and their Markdown tables.
 * `bench/run.ts` renders one run; `bench/summarize.ts` renders several runs of the same
 * metrics, with the median of each value and the median and range of each ratio.
 *
 * @module
 */

/** A unit, which also decides how a value is printed. */
export type Unit = "msg/s" | "conn/s" | "µs" | "ms" | "KiB" | "clean" | "%";

/** One measured quantity of one row, for every implementation that was measured. */
export interface Metric {
  /** Which table it belongs to. */
  readonly section: string;
  /** The row label, unique within the section. */
  readonly row: string;
  readonly unit: Unit;
  /** Whether a larger value is better (rates) or worse (costs, times). */
  readonly better: "higher" | "lower";
  /** Values by implementation; missing or null when it was not measured or failed. */
  readonly values: Readonly<Record<string, number | null>>;
  /** For `msg/s`: the payload bytes of one message, to print MB/s too. */
  readonly messageBytes?: number;
  /** For `clean`: the number of connections, by implementation. */
  readonly totals?: Readonly<Record<string, number>>;
  /** CPU of the server and the client process during the measurement (fractions of a core). */
  readonly cpu?: Readonly<Record<string, { readonly server: number; readonly client: number }>>;
}

/** A table: which implementations are columns, which ones sockwise is divided by. */
export interface SectionSpec {
  readonly id: string;
  readonly title: string;
  readonly intro: string;
  readonly impls: readonly string[];
  readonly baselines: readonly string[];
  /** Implementations whose CPU (server/client) gets a column. */
  readonly cpuOf?: readonly string[];
}

export const SUBJECT = "sockwise";

export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return "–";
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toPrecision(3)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toPrecision(3)}k`;
  return perSecond.toPrecision(3);
}

function megabytes(perSecond: number): string {
  const mb = perSecond / 1e6;
  return mb >= 100 ? mb.toFixed(0) : mb.toPrecision(3);
}

function formatValue(metric: Metric, impl: string, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  switch (metric.unit) {
    case "msg/s":
    case "conn/s":
      return metric.messageBytes === undefined
        ? rate(value)
        : `${rate(value)} · ${megabytes(value * metric.messageBytes)} MB/s`;
    case "clean":
      return `${value}/${metric.totals?.[impl] ?? "?"}`;
    case "%":
      return `${(value * 100).toFixed(0)}%`;
    case "KiB":
      return Math.abs(value) < 10 ? "0.00" : (value / 1024).toPrecision(3);
    default:
      return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function ratioOf(metric: Metric, baseline: string): number {
  const subject = metric.values[SUBJECT];
  const base = metric.values[baseline];
  if (subject === null || subject === undefined || base === null || base === undefined) return NaN;
  // Memory deltas of a few bytes per connection are noise: no ratio.
  if (base === 0 || (metric.unit === "KiB" && Math.max(Math.abs(subject), Math.abs(base)) < 16)) {
    return NaN;
  }
  return subject / base;
}

function formatRatio(ratios: readonly number[]): string {
  const finite = ratios.filter(Number.isFinite);
  if (finite.length === 0) return "–";
  const mid = median(finite).toFixed(2);
  if (finite.length === 1) return mid;
  return `${mid} (${Math.min(...finite).toFixed(2)}–${Math.max(...finite).toFixed(2)})`;
}

function unitLabel(metric: Metric): string {
  const arrow = metric.better === "higher" ? "↑" : "↓";
  return metric.unit === "clean" ? metric.unit : `${metric.unit} ${arrow}`;
}

/**
 * Renders one section from one or more runs of it. Values are the median over runs; ratio
 * columns are sockwise ÷ baseline, the median over runs with the range in brackets.
 */
export function renderSection(spec: SectionSpec, runs: readonly (readonly Metric[])[]): string {
  const rows = new Map<string, Metric[]>();
  for (const metrics of runs) {
    for (const metric of metrics) {
      if (metric.section !== spec.id) continue;
      const list = rows.get(metric.row) ?? [];
      list.push(metric);
      rows.set(metric.row, list);
    }
  }
  if (rows.size === 0) return "";
  const cpuOf = spec.cpuOf ?? [];
  const header = [
    "row",
    "unit",
    ...spec.impls,
    ...spec.baselines.map((baseline) => `${SUBJECT}/${baseline}`),
    ...cpuOf.map((impl) => `${impl} CPU srv/cli`),
  ];
  const lines = [
    `### ${spec.title}`,
    "",
    spec.intro,
    "",
    `| ${header.join(" | ")} |`,
    `| --- | --- | ${[...spec.impls, ...spec.baselines, ...cpuOf].map(() => "---:").join(" | ")} |`,
  ];
  for (const [row, metrics] of rows) {
    const first = metrics[0]!;
    const cells = spec.impls.map((impl) => {
      const values = metrics
        .map((metric) => metric.values[impl])
        .filter((value): value is number => typeof value === "number" && Number.isFinite(value));
      return formatValue(first, impl, values.length === 0 ? null : median(values));
    });
    const ratios = spec.baselines.map((baseline) =>
      first.unit === "clean"
        ? "–"
        : formatRatio(metrics.map((metric) => ratioOf(metric, baseline))),
    );
    const cpu = cpuOf.map((impl) => {
      const samples = metrics.flatMap((metric) => (metric.cpu?.[impl] ? [metric.cpu[impl]] : []));
      if (samples.length === 0) return "–";
      const server = median(samples.map((sample) => sample.server)) * 100;
      const client = median(samples.map((sample) => sample.client)) * 100;
      return `${server.toFixed(0)}/${client.toFixed(0)}%`;
    });
    lines.push(`| ${[row, unitLabel(first), ...cells, ...ratios, ...cpu].join(" | ")} |`);
  }
  return lines.join("\n");
}

export const SERVER_IMPLS = ["sockwise", "ws", "ws+bufferutil", "raw"] as const;
export const CLIENT_IMPLS = ["sockwise", "ws", "ws+bufferutil", "undici", "raw"] as const;

/** The tables of a report, in order. */
export const SECTIONS: readonly SectionSpec[] = [
  {
    id: "server-pingpong",
    title: "(a) Echo round trips, server side",
    intro:
      "One connection, strict ping-pong of one 16 B binary message; the fixed load generator " +
      "(raw node:net WebSocket client) against each server.",
    impls: SERVER_IMPLS,
    baselines: ["ws", "ws+bufferutil", "raw"],
    cpuOf: ["sockwise", "ws"],
  },
  {
    id: "server-pipelined",
    title: "(b) Pipelined echo throughput, server side",
    intro:
      "A bounded window of messages in flight per connection (128 up to 1 KiB, 64 at 64 KiB, " +
      "4 at 1 MiB); every echo is answered with a new message. msg/s = echoed messages per " +
      "second; MB/s = 10⁶ payload bytes echoed per second (one direction).",
    impls: SERVER_IMPLS,
    baselines: ["ws", "ws+bufferutil", "raw"],
    cpuOf: ["sockwise", "raw"],
  },
  {
    id: "client-pingpong",
    title: "(a) Echo round trips, client side",
    intro:
      "One connection, strict ping-pong of one 16 B binary message against the fixed echo server.",
    impls: CLIENT_IMPLS,
    baselines: ["ws", "ws+bufferutil", "undici", "raw"],
    cpuOf: ["sockwise", "undici"],
  },
  {
    id: "client-pipelined",
    title: "(b) Pipelined echo throughput, client side",
    intro: "One connection, the same windows as on the server side, against the fixed echo server.",
    impls: CLIENT_IMPLS,
    baselines: ["ws", "ws+bufferutil", "undici", "raw"],
    cpuOf: ["sockwise", "raw"],
  },
  {
    id: "idle",
    title: "(c) Idle connections",
    intro:
      "Connections opened by the load generator (256 handshakes in flight, the shape of a reconnect storm) and left " +
      "idle. Server CPU is the server process's user + system time while they were opened; " +
      "memory is `process.memoryUsage()` in the server after two `gc()`s, before and after.",
    impls: SERVER_IMPLS,
    baselines: ["ws", "ws+bufferutil", "raw"],
  },
  {
    id: "broadcast",
    title: "(d) Broadcast",
    intro:
      "One 128 B binary message to every connected client. A round is timed from the server's " +
      "broadcast call until the last client has it; a burst is many broadcasts in one go.",
    impls: SERVER_IMPLS,
    baselines: ["ws", "ws+bufferutil", "raw"],
  },
  {
    id: "close",
    title: "(e) Close storms",
    intro:
      "Every connection closed at once, from the server (code 1001) or from the clients (1000). " +
      "Time runs from the first close call until the last TCP connection is gone at both " +
      "ends. Clean = both Close frames exchanged and TCP ended by FIN, no reset, as the " +
      "load generator saw it (for raw: an orderly FIN).",
    impls: SERVER_IMPLS,
    baselines: ["ws", "ws+bufferutil", "raw"],
  },
];
