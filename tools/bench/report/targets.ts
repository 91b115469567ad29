/**
 * The targets, checked against one run's numbers. Every comparison is
 * a ratio of two systems measured side by side in the same run.
 */
import { CONNECT_VARIANTS, type ConnectVariant } from "../driver/jobs.js";
import { allFaults, connectPoint, connectSizes, faults, ratio, type BenchResults, type TargetCheck } from "./results.js";

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
  const lost = allFaults(r);
  checks.push({ name: "messages lost, every scenario and system", value: lost, target: "= 0", pass: lost === 0 });
  const wakeups = r.idle.roomcast?.wakeups ?? null;
  checks.push({ name: "roomcast wake-ups from pings", value: wakeups, target: "= 0", pass: wakeups === null ? null : wakeups === 0 && r.idle.roomcast!.pongs === r.idle.roomcast!.pingers });
  return checks;
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
    const wrong = faults(wave);
    checks.push({ name: `reconnect wave N=${wave.sockets}: lost or repeated`, value: wrong, target: "= 0", pass: wrong === 0 });
    const bare = r.wave.bare?.seconds ?? null;
    const value = wave.seconds !== null && bare !== null ? ratio(wave.seconds, bare) : null;
    checks.push({ name: `reconnect wave N=${wave.sockets}: time, roomcast / bare`, value, target: "≤ 1.5", pass: wave.seconds === null ? false : value === null ? null : value <= 1.5 });
  }
  return checks;
}
