/**
 * Runs the interop matrix for one pairing (sockwise in one role, one real peer in the other):
 * one `node:test` test per scenario, each on a fresh connection through a {@link Relay}, each
 * asserting what BOTH ends report (code, reason, wasClean, and sockwise's failure cause). The
 * results, passing or not, are written to `test-artifacts/interop/<pairing>.json`, which
 * `node scripts/interop-table.mjs` turns into the README's interoperability table.
 *
 * A peer that is not installed fails the pairing when `CI` is set, and is skipped with the
 * reason otherwise.
 *
 * @module
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { BASE_SEED, BURST_MESSAGES, runBurst } from "./burst.js";
import {
  MAX_MESSAGE_BYTES,
  SOCKWISE_CLOSE_TIMEOUT_MS,
  WAIT_MS,
  withTimeout,
  type End,
  type Observed,
  type SockwiseEnd,
} from "./ends.js";
import type { RelayLink } from "./relay.js";
import {
  SCENARIOS,
  expectationFor,
  type Action,
  type Expect,
  type Expectation,
  type PeerId,
  type Role,
  type Scenario,
  type ScenarioExpect,
} from "./scenarios.js";

/** A started pairing: opens connections from the client to the server through a relay. */
export interface Harness {
  /** e.g. "8.23.0" */
  readonly peerVersion: string;
  connect(): Promise<{ sockwise: SockwiseEnd; peer: End; link: RelayLink }>;
  stop(): Promise<void>;
}

/** One pairing of the matrix. */
export interface PairingConfig {
  readonly peer: PeerId;
  /** The peer's display name, e.g. "Python websockets". */
  readonly peerName: string;
  readonly sockwiseRole: Role;
  /** Why the peer cannot run on this machine, or undefined. */
  probe(): string | undefined;
  setup(): Promise<Harness>;
}

/** One cell of the matrix, as written to the artifact. */
export interface MatrixResult {
  readonly scenario: string;
  readonly title: string;
  status: "pass" | "fail" | "skip";
  burst?: { messages: number; bytes: number };
  action?: Action;
  observed?: { client: Observed; server: Observed };
  readonly expected: { client: Expectation; server: Expectation; apiError?: string };
  readonly note?: string;
  /** A known sockwise bug that makes this cell fail (the test is then a TODO). */
  knownBug?: string;
  readonly problems: string[];
}

/** The artifact of one pairing. */
export interface MatrixArtifact {
  readonly pairing: string;
  readonly sockwiseRole: Role;
  readonly peer: PeerId;
  readonly peerName: string;
  peerVersion: string | undefined;
  readonly node: string;
  readonly generatedAt: string;
  readonly seed: number;
  readonly burstMessages: number;
  readonly maxMessageBytes: number;
  skipped?: string;
  setupError?: string;
  readonly results: MatrixResult[];
}

const ARTIFACT_DIR = new URL("../../../test-artifacts/interop/", import.meta.url);

/** The pairing's id, e.g. "sockwise-client--ws-server". */
export function pairingId(peer: PeerId, sockwiseRole: Role): string {
  return sockwiseRole === "client"
    ? `sockwise-client--${peer}-server`
    : `sockwise-server--${peer}-client`;
}

function show(observed: Observed | Expect): string {
  const extra = [observed.initiator, observed.cause].filter((x) => x !== undefined);
  const details = extra.length === 0 ? "" : ` (${extra.join(", ")})`;
  return `${observed.code} ${JSON.stringify(observed.reason)} ${observed.wasClean ? "clean" : "unclean"}${details}`;
}

function matches(observed: Observed, expectation: Expectation): boolean {
  const options: readonly Expect[] = Array.isArray(expectation)
    ? (expectation as readonly Expect[])
    : [expectation as Expect];
  return options.some(
    (expect) =>
      observed.code === expect.code &&
      observed.reason === expect.reason &&
      observed.wasClean === expect.wasClean &&
      (expect.initiator === undefined || observed.initiator === expect.initiator) &&
      (expect.cause === undefined || observed.cause === expect.cause),
  );
}

function showExpectation(expectation: Expectation): string {
  return Array.isArray(expectation)
    ? (expectation as readonly Expect[]).map(show).join(" or ")
    : show(expectation as Expect);
}

function expectedRecord(expectation: ScenarioExpect): MatrixResult["expected"] {
  return {
    client: expectation.client,
    server: expectation.server,
    ...(expectation.apiError === undefined ? {} : { apiError: String(expectation.apiError) }),
  };
}

async function runScenario(
  harness: Harness,
  config: PairingConfig,
  scenario: Scenario,
  index: number,
): Promise<MatrixResult> {
  const expectation = expectationFor(scenario, config.peer, config.sockwiseRole);
  const result: MatrixResult = {
    scenario: scenario.id,
    title: scenario.title,
    status: "fail",
    expected: expectedRecord(expectation),
    ...(expectation.note === undefined ? {} : { note: expectation.note }),
    problems: [],
  };
  let link: RelayLink | undefined;
  try {
    const opened = await harness.connect();
    link = opened.link;
    const { sockwise, peer } = opened;
    const [client, server] = config.sockwiseRole === "client" ? [sockwise, peer] : [peer, sockwise];
    result.burst = await runBurst(sockwise, BASE_SEED + index);
    const context = { sockwiseRole: config.sockwiseRole, sockwise, peer, client, server, link };
    const action = await scenario.act(context);
    result.action = action;
    const [clientSaw, serverSaw] = await withTimeout(
      Promise.all([client.closed, server.closed]),
      "both ends to report the close",
      WAIT_MS + SOCKWISE_CLOSE_TIMEOUT_MS,
    );
    result.observed = { client: clientSaw, server: serverSaw };
    result.problems.push(...(scenario.verify?.(context) ?? []));
    if (expectation.apiError !== undefined) {
      if (action.apiError === undefined || !expectation.apiError.test(action.apiError)) {
        result.problems.push(
          `the library call should have failed with ${String(expectation.apiError)}, got ${action.apiError ?? "no error"}`,
        );
      }
    } else if (action.apiError !== undefined) {
      result.problems.push(`the library call failed: ${action.apiError}`);
    }
    for (const [side, saw, expected] of [
      ["client", clientSaw, expectation.client],
      ["server", serverSaw, expectation.server],
    ] as const) {
      if (!matches(saw, expected)) {
        const who = side === config.sockwiseRole ? "sockwise" : config.peerName;
        result.problems.push(
          `${side} (${who}) reported ${show(saw)}, expected ${showExpectation(expected)}`,
        );
      }
    }
  } catch (error) {
    result.problems.push(error instanceof Error ? error.message : String(error));
    link?.cut();
  }
  result.status = result.problems.length === 0 ? "pass" : "fail";
  return result;
}

function writeArtifact(artifact: MatrixArtifact): void {
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  writeFileSync(
    new URL(`${artifact.pairing}.json`, ARTIFACT_DIR),
    `${JSON.stringify(artifact, null, 2)}\n`,
  );
}

/** Defines the tests of one pairing (call at the top level of a test file). */
export function runMatrix(config: PairingConfig): void {
  const pairing = pairingId(config.peer, config.sockwiseRole);
  const peerRole = config.sockwiseRole === "client" ? "server" : "client";
  const artifact: MatrixArtifact = {
    pairing,
    sockwiseRole: config.sockwiseRole,
    peer: config.peer,
    peerName: config.peerName,
    peerVersion: undefined,
    node: process.version,
    generatedAt: new Date().toISOString(),
    seed: BASE_SEED,
    burstMessages: BURST_MESSAGES,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    results: [],
  };
  describe(`interop: sockwise ${config.sockwiseRole} ↔ ${config.peerName} ${peerRole}`, () => {
    const missing = config.probe();
    if (missing !== undefined) {
      artifact.skipped = missing;
      after(() => writeArtifact(artifact));
      // CI=true (or any value but "", "0" and "false"), as CI services and .ci/run set it.
      if (!["", "0", "false"].includes(process.env["CI"] ?? "")) {
        test(`${config.peerName} is installed`, () => {
          assert.fail(`${missing} — required when CI is set (.ci/run installs it)`);
        });
        return;
      }
      for (const scenario of SCENARIOS) {
        test(`${scenario.id}: ${scenario.title}`, { skip: missing }, () => {});
        artifact.results.push({
          scenario: scenario.id,
          title: scenario.title,
          status: "skip",
          expected: expectedRecord(expectationFor(scenario, config.peer, config.sockwiseRole)),
          problems: [missing],
        });
      }
      return;
    }
    let harness: Harness | undefined;
    before(async () => {
      try {
        harness = await config.setup();
        artifact.peerVersion = harness.peerVersion;
      } catch (error) {
        artifact.setupError = error instanceof Error ? error.message : String(error);
        throw error;
      }
    });
    after(async () => {
      await harness?.stop();
      writeArtifact(artifact);
    });
    for (const [index, scenario] of SCENARIOS.entries()) {
      test(`${scenario.id}: ${scenario.title}`, async (t) => {
        assert.ok(harness, "the pairing did not start");
        const result = await runScenario(harness, config, scenario, index);
        artifact.results.push(result);
        const bug = scenario.knownBug?.(config.sockwiseRole);
        if (bug !== undefined) {
          if (result.status === "fail") {
            result.knownBug = bug;
            t.todo(`known sockwise bug: ${bug}`);
          } else {
            t.diagnostic(`the known bug no longer reproduces, remove it from scenarios.ts: ${bug}`);
          }
        }
        if (result.status === "fail") assert.fail(result.problems.join("\n"));
      });
    }
  });
}
