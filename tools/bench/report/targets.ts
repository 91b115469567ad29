/**
 * The issue's targets, checked against one run's numbers. Every comparison is
 * a ratio of two systems measured side by side in the same run.
 */
import { CONNECT_VARIANTS, type ConnectVariant } from "../driver/jobs.js";
import { allFaults, connectPoint, connectSizes, faults, ratio, type BenchResults, type TargetCheck } from "./results.js";
import { pointsOf } from "./variants.js";
import { waveCpuPerDelivery } from "./table.js";
import type { VariantName } from "../variants/variants.js";
import type { SystemName } from "../systems/system.js";

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
  checks.push(...variantTargets(r));
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

/**
 * The targets of the variants' issues, each a ratio of two points of one run:
 * batch frames against node-ws and bare (issue 29), publishes that skip
 * history against bare (29), the ACL against the same tokens without one
 * (27), each sink against none (26). A "≥" target is on throughput, a "≤"
 * target on CPU, latency or time.
 */
function variantTargets(r: Omit<BenchResults, "targets">): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const fanoutVs = (mine: VariantName, other: SystemName | VariantName, floor: number, what: "msgsPerSec" | "runtimeCpuUsPerDelivery") => {
    const a = pointsOf(r, mine);
    const b = pointsOf(r, other);
    if (!a || !b) return;
    for (const p of a.fanout) {
      const q = b.fanout.find((x) => x.subscribers === p.subscribers);
      const x = p[what];
      const y = q?.[what];
      const value = x === undefined || y === undefined ? null : ratio(x, y);
      const throughput = what === "msgsPerSec";
      const name = throughput ? `fan-out N=${p.subscribers}: roomcast ${mine} / ${other}` : `server CPU per delivery N=${p.subscribers}: roomcast ${mine} / ${other}`;
      checks.push({ name, value, target: `${throughput ? "≥" : "≤"} ${floor}`, pass: value === null ? null : throughput ? value >= floor : value <= floor });
    }
  };
  const latencyVs = (mine: VariantName | "roomcast", other: SystemName | VariantName, ceiling: number, why = "") => {
    const a = pointsOf(r, mine)?.latency;
    const b = pointsOf(r, other)?.latency;
    if (!a) return;
    const value = b ? ratio(a.p99_ms, b.p99_ms) : null;
    checks.push({ name: `latency p99: roomcast${mine === "roomcast" ? "" : ` ${mine}`} / ${other}${why}`, value, target: `≤ ${ceiling}`, pass: value === null ? null : value <= ceiling });
  };
  // Issue 29: busy readers.
  fanoutVs("batch", "node-ws", 0.5, "runtimeCpuUsPerDelivery");
  fanoutVs("batch", "node-ws", 1.5, "msgsPerSec");
  const wave = r.variants?.batch?.wave;
  if (wave) {
    const whole = wave.back === wave.sockets && wave.notRecovered === 0 && wave.seconds !== null;
    checks.push({ name: `reconnect wave N=${wave.sockets}, batch=1: every client back, recovered:true`, value: wave.back, target: `= ${wave.sockets}`, pass: whole });
    checks.push({ name: `reconnect wave N=${wave.sockets}, batch=1: lost or repeated`, value: faults(wave), target: "= 0", pass: faults(wave) === 0 });
    const bare = r.wave.bare?.seconds ?? null;
    const value = wave.seconds !== null && bare !== null ? ratio(wave.seconds, bare) : null;
    checks.push({ name: `reconnect wave N=${wave.sockets}: time, roomcast batch / bare`, value, target: "≤ 1.2", pass: wave.seconds === null ? false : value === null ? null : value <= 1.2 });
    const cpu = waveCpuPerDelivery(wave);
    const plainCpu = waveCpuPerDelivery(r.wave.roomcast);
    const cpuRatio = cpu !== undefined && plainCpu !== undefined ? ratio(cpu, plainCpu) : null;
    checks.push({ name: `reconnect wave: server CPU per delivery, roomcast batch / plain`, value: cpuRatio, target: "≤ 1", pass: cpuRatio === null ? null : cpuRatio <= 1 });
  }
  latencyVs("live", "bare", 1.1);
  if (r.variants?.live) latencyVs("roomcast", "bare", 1.52, " (plain publishes no worse than issue 29 found them)");
  // Issue 27: an ACL on every socket against the same tokens without one.
  fanoutVs("acl", "token", 0.9, "msgsPerSec");
  latencyVs("acl", "token", 1.11); // ≥ 0.9× in speed: at most 1/0.9 the p99
  // Issue 26: a sink beside none.
  fanoutVs("webhook", "roomcast", 0.9, "msgsPerSec");
  fanoutVs("queue", "roomcast", 0.9, "msgsPerSec");
  for (const sink of ["webhook", "queue"] as const) {
    for (const p of r.variants?.[sink]?.sink ?? []) {
      checks.push({ name: `${sink} sink ${p.subscribers === 0 ? "alone" : `N=${p.subscribers}`}: every message out (msg/s)`, value: p.msgsPerSec, target: "every message", pass: p.msgsPerSec !== null });
    }
  }
  return checks;
}
