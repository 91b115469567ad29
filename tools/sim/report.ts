/**
 * The simulator's report: one flat JSON object, the same in the `--json`
 * line and in tools/sim/results/<date>.json, plus the readable summary made from it.
 */
import { countsJson, type FleetStats, type Gap, type TallyCountsJson, type TallyReport, type TimelinePoint } from "../load/index.js";
import type { SimOptions } from "./flags.js";

/** The tally's counts (published … double_published) are TallyCountsJson: docs/simulate.md says what each means. */
export interface SimReport extends TallyCountsJson {
  started_at: string;
  relay: string;
  prefix: string;
  devices: number;
  dashboards: number;
  rooms: number;
  /** Objects each room is sharded over (1: not sharded). */
  shards: number;
  mode: string;
  rate: number;
  flaky: number;
  duration_s: number;
  /** Delivered messages per second of publishing. */
  delivered_per_s: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  reconnects: number;
  /** Links dropped on purpose (--flaky). */
  drops: number;
  restarts: number;
  gaps: Gap[];
  timeline: TimelinePoint[];
  ok: boolean;
}

export function buildReport(args: {
  options: SimOptions;
  relay: string;
  prefix: string;
  startedAt: Date;
  publishedForMs: number;
  tally: TallyReport;
  timeline: TimelinePoint[];
  stats: FleetStats;
  restarts: number;
}): SimReport {
  const { options, tally, stats } = args;
  const seconds = args.publishedForMs / 1000;
  return {
    started_at: args.startedAt.toISOString(),
    relay: args.relay,
    prefix: args.prefix,
    devices: options.devices,
    dashboards: options.dashboards,
    rooms: options.rooms,
    shards: options.shards,
    mode: options.mode,
    rate: options.rate,
    flaky: options.flaky,
    duration_s: Math.round(seconds * 10) / 10,
    ...countsJson(tally),
    delivered_per_s: seconds > 0 ? Math.round(tally.delivered / seconds) : 0,
    p50_ms: tally.latency.p50,
    p90_ms: tally.latency.p90,
    p99_ms: tally.latency.p99,
    max_ms: tally.latency.max,
    reconnects: stats.reconnects,
    drops: stats.drops,
    restarts: args.restarts,
    gaps: tally.gaps,
    timeline: args.timeline,
    // A run where nothing was accepted proves nothing: it is not a pass.
    ok: tally.ok && tally.published > 0 && tally.delivered === tally.expected,
  };
}

/** The readable summary printed at the end of a run. */
export function summaryLines(r: SimReport): string[] {
  const lines = [
    "",
    `Roomcast simulation against ${r.relay}`,
    `  fleet       ${r.devices} devices (${r.mode}, ${r.rate}/s each) in ${r.rooms} rooms${r.shards > 1 ? ` (${r.shards} shards each)` : ""}, ${r.dashboards} dashboards, flaky ${r.flaky}/s, ${r.duration_s}s`,
    `  published   ${r.published} messages accepted by the relay (${r.acked} acknowledged to their device)`,
    `  delivered   ${r.delivered} of ${r.expected} expected at dashboards (${r.delivered_per_s}/s)`,
    `  lost        ${r.lost}`,
    `  duplicated  ${r.duplicated}${r.out_of_order + r.mismatched + r.double_published > 0 ? `  (out of order ${r.out_of_order}, mismatched ${r.mismatched}, published twice ${r.double_published})` : ""}`,
    `  latency     p50 ${r.p50_ms} ms, p90 ${r.p90_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms (publish to dashboard)`,
    `  links       ${r.drops} dropped on purpose, ${r.reconnects} reconnects${r.restarts ? `, ${r.restarts} relay restart(s)` : ""}`,
  ];
  for (const g of r.gaps.slice(0, 5)) lines.push(`  gap         ${g.subscriber} in ${g.room}: seq ${g.from}${g.to > g.from ? `-${g.to}` : ""} never arrived`);
  if (r.published === 0) lines.push("  VERDICT     FAIL: nothing was published (is the relay reachable, is the token right?)");
  else lines.push(r.ok ? "  VERDICT     PASS: nothing lost, nothing duplicated" : "  VERDICT     FAIL: see above");
  return lines;
}
