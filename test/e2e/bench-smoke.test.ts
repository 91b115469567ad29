/**
 * The benchmark's harness on a toy size (not the benchmark: no numbers are
 * judged here, only that a run is well formed). The fan-out and idle
 * scenarios run in this process against the test relay, and the report code
 * turns their results into a table, target checks and an SVG.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { fanout } from "../../bench/driver/scenarios/fanout";
import { chartSvg } from "../../bench/report/chart";
import type { BenchResults } from "../../bench/report/results";
import { summaryTable, targetsTable } from "../../bench/report/table";
import { checkTargets } from "../../bench/report/targets";
import type { SystemEndpoint } from "../../bench/systems/system";
import { ROOMCAST_BENCH_VARS } from "../../bench/systems/workerd";
import type { EmbeddedRelay } from "../../local/relay";
import { startRelay } from "../support/relay";

let relay: EmbeddedRelay;
let endpoint: SystemEndpoint;
beforeAll(async () => {
  relay = await startRelay({ vars: ROOMCAST_BENCH_VARS });
  endpoint = { name: "roomcast", origin: relay.url, roomPathPrefix: "/rooms/", pid: process.pid };
});
afterAll(async () => {
  await relay?.stop();
});

it("a toy fan-out run delivers everything and reports well-formed results", async () => {
  const result = await fanout({ scenario: "fanout", endpoint, subscribers: 3, messages: 5, timeoutMs: 10_000 }, () => {});
  expect(result).toMatchObject({ subscribers: 3, messages: 5, expected: 15, delivered: 15, lost: 0, duplicated: 0, outOfOrder: 0 });
  expect(result.msgsPerSec).toBeGreaterThan(0);

  const run: Omit<BenchResults, "targets"> = {
    date: new Date().toISOString(),
    mode: "quick",
    host: { cpus: 1, node: process.version, platform: process.platform },
    roomcastVars: ROOMCAST_BENCH_VARS,
    systems: ["roomcast", "bare"],
    fanout: { roomcast: [result], bare: [{ ...result, msgsPerSec: result.msgsPerSec * 2 }] },
    latency: {},
    connect: {},
    idle: {},
    seconds: 1,
  };
  const results: BenchResults = { ...run, targets: checkTargets(run) };
  expect(results.targets.find((t) => t.name === "fan-out N=3: roomcast / bare")).toMatchObject({ value: 0.5, pass: false });
  expect(results.targets.find((t) => t.name.startsWith("messages lost"))).toMatchObject({ value: 0, pass: true });
  expect(summaryTable(results)).toContain("| fan-out N=3 (msg/s)");
  expect(targetsTable(results)).toContain("MISS");
  expect(await chartSvg(results)).toMatch(/^<svg/);
});
