/**
 * The summary printed at the end of a run (and pasted into
 * docs/performance.md): one row per measurement, one column per system, and
 * the ratios the targets are about: each Roomcast system (roomcast,
 * roomcast-hook) over each peer (bare, partyserver), and roomcast-hook over
 * roomcast (what the hook costs).
 */
import { speaksRoomcast, type SystemName } from "../systems/system.js";
import { CONNECT_VARIANTS, type ConnectVariant } from "../driver/jobs.js";
import { connectPoint, connectSizes, ratio, systemFaults, type BenchResults } from "./results.js";

export type Row = [string, ...string[]];

export function summaryTable(r: BenchResults): string {
  const systems = r.systems;
  // Ratio columns only for the systems that ran (a narrowed run has fewer).
  const peers = (["bare", "partyserver"] as const).filter((p) => systems.includes(p));
  const mine = systems.filter(speaksRoomcast);
  const pairs: [SystemName, SystemName][] = peers.flatMap((peer) => mine.map((s): [SystemName, SystemName] => [s, peer]));
  if (systems.includes("roomcast") && systems.includes("roomcast-hook")) pairs.push(["roomcast-hook", "roomcast"]);
  const header: Row = ["measurement", ...systems, ...pairs.map(([a, b]) => `${a}/${b}`)];
  const blanks = pairs.map(() => "");
  const rows: Row[] = [];
  const withRatios = (label: string, value: (s: SystemName) => number | undefined, unit = "") => {
    const cell = (s: SystemName) => {
      const v = value(s);
      return v === undefined ? "–" : `${fmt(v)}${unit}`;
    };
    const vs = ([mine, peer]: [SystemName, SystemName]) => {
      const a = value(mine);
      const b = value(peer);
      return a === undefined || b === undefined ? "–" : `${ratio(a, b).toFixed(2)}×`;
    };
    rows.push([label, ...systems.map(cell), ...pairs.map(vs)]);
  };

  const plain = (label: string, cell: (s: SystemName) => string | undefined) => rows.push([label, ...systems.map((s) => cell(s) ?? "–"), ...blanks]);
  const counts = [...new Set(Object.values(r.fanout).flatMap((ps) => ps?.map((p) => p.subscribers) ?? []))].sort((a, b) => a - b);
  for (const n of counts) {
    withRatios(`fan-out N=${n} (msg/s)`, (s) => r.fanout[s]?.find((p) => p.subscribers === n)?.msgsPerSec);
  }
  for (const n of counts) {
    withRatios(`server CPU per delivery N=${n} (µs)`, (s) => r.fanout[s]?.find((p) => p.subscribers === n)?.runtimeCpuUsPerDelivery);
  }
  for (const n of counts) {
    plain(`load-process CPU per delivery N=${n} (µs)`, (s) => {
      const v = r.fanout[s]?.find((p) => p.subscribers === n)?.clientCpuUsPerDelivery;
      return v === undefined ? undefined : fmt(v);
    });
  }
  const lat = (k: "p50_ms" | "p99_ms" | "p999_ms") => (s: SystemName) => r.latency[s]?.[k];
  const latencyLabel = (q: string) => `latency ${q} (ms, N=${firstOf(r.latency)?.subscribers}, ${firstOf(r.latency)?.rate}/s)`;
  if (firstOf(r.latency)) {
    withRatios(latencyLabel("p50"), lat("p50_ms"));
    withRatios(latencyLabel("p99"), lat("p99_ms"));
    withRatios(latencyLabel("p99.9"), lat("p999_ms"));
    withRatios(`latency run: server CPU per delivery (µs)`, (s) => r.latency[s]?.runtimeCpuUsPerDelivery);
  }
  for (const n of connectSizes(r)) {
    for (const variant of CONNECT_VARIANTS) {
      withRatios(`connection setup N=${n}, ${variantLabel(variant)} (upgrades/s)`, (s) => connectPoint(r, s, n, variant)?.upgradesPerSec);
    }
    const cut = CONNECT_VARIANTS.some((v) => systems.some((s) => (connectPoint(r, s, n, v)?.opened ?? n) < n));
    if (cut) {
      plain(`N=${n}: sockets opened before the fill's time cap (json / presence=0 / raw)`, (s) =>
        CONNECT_VARIANTS.map((v) => (s === "roomcast" || v === "json" ? connectPoint(r, s, n, v)?.opened ?? "–" : "")).filter((x) => x !== "").join(" / "),
      );
    }
    plain(`frames per socket while N=${n} JSON sockets fill`, (s) => {
      const p = connectPoint(r, s, n, "json");
      return p && fmt(p.framesPerSocket);
    });
    for (const variant of CONNECT_VARIANTS) {
      withRatios(`runtime CPU per upgrade N=${n}, ${variantLabel(variant)} (µs)`, (s) => connectPoint(r, s, n, variant)?.runtimeCpuUsPerUpgrade);
    }
    plain(`load-process CPU per upgrade N=${n}, JSON sockets (µs)`, (s) => {
      const p = connectPoint(r, s, n, "json");
      return p && fmt(p.clientCpuUsPerUpgrade);
    });
  }
  const wave = firstOf(r.wave);
  if (wave) {
    withRatios(`reconnect wave N=${wave.sockets}: s until all back`, (s) => r.wave[s]?.seconds ?? undefined);
    plain(`reconnect wave: back / 503 / failed / timed out`, (s) => {
      const w = r.wave[s];
      return w && `${w.back} / ${w.refused503} / ${w.failed} / ${w.timedOut}`;
    });
    plain(`reconnect wave: not recovered / lost / repeated`, (s) => {
      const w = r.wave[s];
      return w && (speaksRoomcast(s) ? `${w.notRecovered} / ${w.lost} / ${w.duplicated}` : "n/a (no resume)");
    });
    withRatios(`reconnect wave: runtime CPU (s)`, (s) => r.wave[s]?.runtimeCpuSeconds);
    withRatios(`reconnect wave: server CPU per delivery (µs)`, (s) => waveCpuPerDelivery(r.wave[s]));
    plain(`reconnect wave: load-process CPU (s)`, (s) => {
      const w = r.wave[s];
      return w?.clientCpuSeconds === undefined ? undefined : fmt(w.clientCpuSeconds);
    });
  }
  const idleCounts = firstOf(r.idle)?.points.map((p) => p.sockets) ?? [];
  for (const n of idleCounts) {
    withRatios(`RSS ${n} idle, awake (MiB)`, (s) => r.idle[s]?.points.find((p) => p.sockets === n)?.rssBeforeMiB);
    withRatios(`RSS ${n} idle, after hibernation (MiB)`, (s) => r.idle[s]?.points.find((p) => p.sockets === n)?.rssAfterMiB);
  }
  rows.push(["lost + duplicated + reordered", ...systems.map((s) => String(systemFaults(r, s))), ...blanks]);
  if (firstOf(r.idle)) rows.push([
    `wake-ups from ${firstOf(r.idle)?.pingers ?? 0} pings (pongs)`,
    ...systems.map((s) => {
      const i = r.idle[s];
      if (!i) return "–";
      return s === "node-ws" ? `n/a (${i.pongs})` : `${i.wakeups} (${i.pongs})`;
    }),
    ...blanks,
  ]);
  return markdown([header, ...rows]);
}

export function targetsTable(r: BenchResults): string {
  const rows: Row[] = r.targets.map((t) => [t.name, t.value === null ? "–" : String(t.value), t.target, t.pass === null ? "–" : t.pass ? "pass" : "MISS"]);
  return markdown([["target", "measured", "wanted", "verdict"], ...rows]);
}

export function markdown(rows: Row[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: Row) => `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join("\n");
}

export function fmt(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) >= 1000) return v.toLocaleString("en-US");
  return String(v);
}

function firstOf<T>(record: Partial<Record<SystemName, T>>): T | undefined {
  return Object.values(record).find((v): v is T => v !== undefined);
}

/** The runtime's CPU over a reconnect wave per message it delivered, in µs (undefined without the CPU or with nothing delivered). */
export function waveCpuPerDelivery(w: { runtimeCpuSeconds?: number; delivered: number } | undefined | null): number | undefined {
  if (!w || w.runtimeCpuSeconds === undefined || w.delivered === 0) return undefined;
  return Math.round((w.runtimeCpuSeconds * 1e6 * 100) / w.delivered) / 100;
}

/** How a connect variant is named in the table's rows. */
function variantLabel(variant: ConnectVariant): string {
  return variant === "json" ? "JSON sockets" : variant === "raw" ? "roomcast raw" : `roomcast ${variant}`;
}
