/**
 * The targets, checked against one run's numbers. Every comparison is
 * a ratio of two systems measured side by side in the same run.
 */
import type { BenchResults } from "./results.js";

export interface TargetCheck {
  name: string;
  /** The measured value (a ratio, or a count). */
  value: number | null;
  /** "≥ 0.9", "≤ 1.25", "= 0" */
  target: string;
  pass: boolean | null;
}

export function checkTargets(r: Omit<BenchResults, "targets">): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const roomcast = r.fanout.roomcast ?? [];
  for (const point of roomcast) {
    for (const [peer, floor] of [["bare", 0.9], ["partyserver", 1.0]] as const) {
      const other = r.fanout[peer]?.find((p) => p.subscribers === point.subscribers);
      const value = other ? ratio(point.msgsPerSec, other.msgsPerSec) : null;
      checks.push({ name: `fan-out N=${point.subscribers}: roomcast / ${peer}`, value, target: `≥ ${floor}`, pass: value === null ? null : value >= floor });
    }
  }
  const p99 = r.latency.roomcast && r.latency.bare ? ratio(r.latency.roomcast.p99_ms, r.latency.bare.p99_ms) : null;
  checks.push({ name: "latency p99: roomcast / bare", value: p99, target: "≤ 1.25", pass: p99 === null ? null : p99 <= 1.25 });
  const lost = lostEverywhere(r);
  checks.push({ name: "messages lost, every scenario and system", value: lost, target: "= 0", pass: lost === 0 });
  const wakeups = r.idle.roomcast?.wakeups ?? null;
  checks.push({ name: "roomcast wake-ups from pings", value: wakeups, target: "= 0", pass: wakeups === null ? null : wakeups === 0 && r.idle.roomcast!.pongs === r.idle.roomcast!.pingers });
  return checks;
}

function lostEverywhere(r: Omit<BenchResults, "targets">): number {
  let lost = 0;
  for (const points of Object.values(r.fanout)) for (const p of points ?? []) lost += p.lost + p.duplicated + p.outOfOrder;
  for (const l of Object.values(r.latency)) if (l) lost += l.lost + l.duplicated + l.outOfOrder;
  return lost;
}

export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}
