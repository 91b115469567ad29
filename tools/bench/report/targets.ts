/**
 * The targets, checked against one run's numbers. Every comparison is
 * a ratio of two systems measured side by side in the same run.
 */
import { CONNECT_VARIANTS, type ConnectVariant } from "../driver/jobs.js";
import { connectPoint, connectSizes, type BenchResults } from "./results.js";

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
  checks.push(...joinTargets(r));
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
  for (const w of Object.values(r.wave)) if (w) lost += w.lost + w.duplicated + w.outOfOrder;
  return lost;
}

/** Issue 15 (many clients joining at once): fill rate, frames per join, the reconnect wave. */
function joinTargets(r: Omit<BenchResults, "targets">): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const floors: Record<ConnectVariant, number> = { json: 0.8, "presence=0": 0.9, raw: 0.9 };
  const sizes = connectSizes(r);
  for (const n of sizes) {
    for (const variant of CONNECT_VARIANTS) {
      const mine = connectPoint(r, "roomcast", n, variant);
      const bare = connectPoint(r, "bare", n, variant);
      const value = mine && bare ? ratio(mine.upgradesPerSec, bare.upgradesPerSec) : null;
      const floor = floors[variant];
      checks.push({ name: `fill rate N=${n}, roomcast ${variant} / bare`, value, target: `≥ ${floor}`, pass: value === null ? null : value >= floor && mine!.failed === 0 && mine!.opened === n });
    }
  }
  const largest = sizes.at(-1);
  if (largest !== undefined) {
    const point = connectPoint(r, "roomcast", largest, "json");
    const value = point?.framesPerSocket ?? null;
    // A fill cut short by its cap did not fill the room: a miss whatever its count so far.
    const pass = point === undefined ? null : point.framesPerSocket <= 5 && point.opened === largest;
    checks.push({ name: `frames per socket while ${largest} JSON sockets fill`, value, target: "≤ 5", pass });
  }
  const wave = r.wave.roomcast;
  if (wave) {
    const whole = wave.back === wave.sockets && wave.notRecovered === 0 && wave.seconds !== null;
    checks.push({ name: `reconnect wave N=${wave.sockets}: every client back, recovered:true`, value: wave.back, target: `= ${wave.sockets}`, pass: whole });
    const faults = wave.lost + wave.duplicated + wave.outOfOrder;
    checks.push({ name: `reconnect wave N=${wave.sockets}: lost or repeated`, value: faults, target: "= 0", pass: faults === 0 });
    const bare = r.wave.bare?.seconds ?? null;
    const value = wave.seconds !== null && bare !== null ? ratio(wave.seconds, bare) : null;
    checks.push({ name: `reconnect wave N=${wave.sockets}: time, roomcast / bare`, value, target: "≤ 1.5", pass: wave.seconds === null ? false : value === null ? null : value <= 1.5 });
  }
  return checks;
}

export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}
