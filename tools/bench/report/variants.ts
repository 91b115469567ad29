/**
 * Roomcast's variants beside what they are read against (printed after the
 * summary, pasted into docs/performance.md): one row per measurement, the
 * variant, its baseline (plain Roomcast or another variant) and the ratio,
 * then bare and node-ws for the targets that compare with them. Lower is
 * better for CPU and latency, higher for throughput.
 */
import type { FanoutResult, LatencyResult, WaveResult } from "../driver/jobs.js";
import type { SystemName } from "../systems/system.js";
import { VARIANT_NAMES, VARIANTS, type VariantName } from "../variants/variants.js";
import { ratio, variantFaults, type BenchResults } from "./results.js";
import { fmt, markdown, waveCpuPerDelivery, type Row } from "./table.js";

interface Points {
  fanout: FanoutResult[];
  latency: LatencyResult | null;
  wave: WaveResult | null;
}

/** A system's points, or a variant's: what a variant row reads its baseline and peers from. */
export function pointsOf(r: Pick<BenchResults, "fanout" | "latency" | "wave" | "variants">, who: SystemName | VariantName): Points | undefined {
  if ((VARIANT_NAMES as readonly string[]).includes(who)) return r.variants?.[who as VariantName];
  const s = who as SystemName;
  if (!r.fanout[s] && !r.latency[s] && !r.wave[s]) return undefined;
  return { fanout: r.fanout[s] ?? [], latency: r.latency[s] ?? null, wave: r.wave[s] ?? null };
}

export function variantsTable(r: BenchResults): string {
  const peers = (["bare", "node-ws"] as const).filter((p) => r.systems.includes(p));
  const header: Row = ["roomcast variant", "measurement", "variant", "baseline", "ratio", ...peers.flatMap((p) => [p, `variant/${p}`])];
  const rows: Row[] = [];
  for (const name of VARIANT_NAMES) {
    const mine = r.variants?.[name];
    if (!mine) continue;
    const v = VARIANTS[name];
    const base = pointsOf(r, v.baseline);
    const label = `${v.label} (vs ${v.baseline === "roomcast" ? "roomcast" : VARIANTS[v.baseline].label})`;
    const row = (measurement: string, value: (p: Points) => number | undefined) => {
      const a = value(mine);
      if (a === undefined) return;
      const b = base ? value(base) : undefined;
      const cells = peers.flatMap((peer) => {
        const p = pointsOf(r, peer);
        const c = p ? value(p) : undefined;
        return c === undefined ? ["–", "–"] : [fmt(c), `${ratio(a, c).toFixed(2)}×`];
      });
      rows.push([label, measurement, fmt(a), b === undefined ? "–" : fmt(b), b === undefined ? "–" : `${ratio(a, b).toFixed(2)}×`, ...cells]);
    };
    for (const p of mine.fanout) {
      const at = (ps: Points) => ps.fanout.find((q) => q.subscribers === p.subscribers);
      row(`fan-out N=${p.subscribers} (msg/s)`, (ps) => at(ps)?.msgsPerSec);
      row(`server CPU per delivery N=${p.subscribers} (µs)`, (ps) => at(ps)?.runtimeCpuUsPerDelivery);
      if (p.conflatedDeliveries !== undefined) {
        const got = Math.round((p.conflatedDeliveries / p.subscribers) * 10) / 10;
        rows.push([label, `messages a reader got of the burst's ${p.messages}, N=${p.subscribers}`, fmt(got), "–", "–", ...peers.flatMap(() => ["–", "–"])]);
      }
    }
    for (const s of mine.sink) {
      const during = s.subscribers === 0 ? `publisher alone, ${s.messages} messages` : `during fan-out N=${s.subscribers}, burst of ${s.messages}`;
      rows.push([label, `out of the sink, ${during} (msg/s)`, s.msgsPerSec === null ? "NOT all out in 60 s" : fmt(s.msgsPerSec), "–", "–", ...peers.flatMap(() => ["–", "–"])]);
    }
    if (mine.latency) {
      row(`latency p50 (ms)`, (ps) => ps.latency?.p50_ms);
      row(`latency p99 (ms)`, (ps) => ps.latency?.p99_ms);
      row(`latency run: server CPU per delivery (µs)`, (ps) => ps.latency?.runtimeCpuUsPerDelivery);
    }
    if (mine.wave) {
      const w = mine.wave;
      row(`reconnect wave N=${w.sockets}: s until all back`, (ps) => ps.wave?.seconds ?? undefined);
      row(`reconnect wave: server CPU per delivery (µs)`, (ps) => waveCpuPerDelivery(ps.wave));
      rows.push([label, "reconnect wave: back / not recovered / lost / repeated", `${w.back} / ${w.notRecovered} / ${w.lost} / ${w.duplicated}`, "–", "–", ...peers.flatMap(() => ["–", "–"])]);
    }
    rows.push([label, "lost + duplicated + reordered", String(variantFaults(mine)), "–", "–", ...peers.flatMap(() => ["–", "–"])]);
  }
  return markdown([header, ...rows]);
}
