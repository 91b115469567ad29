/**
 * One soak run: an embedded relay, a "sleeper" per room that stays connected
 * for the whole run (so rooms hibernate with sockets held, and must wake up
 * for them), and alternating phases:
 *
 *   traffic: a fresh fleet from load/ (devices in json/raw/http, dashboards,
 *            flaky links) publishes, then drains calmly and closes: every
 *            connection of the phase opened and closed;
 *   idle:    nothing but the sleepers' pings (answered without waking the
 *            room) for longer than workerd keeps an idle object.
 *
 * Each traffic phase has its own Tally (its dashboards come and go with it);
 * the sleepers have one for the whole run, brought to each phase's end seq,
 * so a message lost across a hibernation or a phase boundary shows there. Progress lines report memory (workerd's RSS and
 * this process's) and message counts; the summary gives the verdict.
 */
import { join } from "node:path";
import { rm } from "node:fs/promises";
import { buildBundle, EmbeddedRelay } from "../local/relay.js";
import { createSubscriber, openFleet, roomInstance, roomNames, roomState, Tally, type Fleet, type Subscriber, type TallyCount, type TallyReport, type Target } from "../load/index.js";
import type { SoakOptions } from "./flags.js";
import { childPids, nodeRssMiB, rssMiB } from "../local/processes.js";
import { MemorySeries } from "./memory.js";
import { sleep, waitFor } from "../load/wait.js";

export interface SoakSummary {
  ok: boolean;
  seconds: number;
  rooms: number;
  trafficPhases: number;
  idleGaps: number;
  /** Per idle gap, how many rooms were evicted (their object instance, from /diagnostics, changed across the gap). */
  evictedPerGap: number[];
  connectionsOpened: number;
  /** The sleepers' whole-run verdict and every phase's, added up. */
  totals: Totals;
  sleepers: TallyReport;
  memory: { workerd: ReturnType<MemorySeries["toJSON"]>; node: ReturnType<MemorySeries["toJSON"]> };
}

/** Longest wait for unacked publishes, then for dashboards, at the end of a phase. */
const DRAIN_MS = 60_000;

export async function runSoak(options: SoakOptions, print: (line: string) => void): Promise<SoakSummary> {
  const bundle = await buildBundle(join(process.cwd(), "dist", "soak-worker"));
  const before = childPids("workerd");
  // Diagnostics on: eviction is told by the object instance changing.
  const relay = await EmbeddedRelay.start({ bundle, diagnostics: true });
  // The clock starts once the relay is up: the build is not part of the run.
  const began = Date.now();
  const deadline = began + options.durationMs;
  const workerd = childPids("workerd").find((pid) => !before.includes(pid));
  const memory = { workerd: new MemorySeries(), node: new MemorySeries() };
  const target = { url: relay.url };
  const rooms = roomNames(`soak-${began.toString(36)}`, options.rooms);
  const sleeperTally = new Tally();
  const phases: TallyReport[] = [];
  let fleet: Fleet | null = null;
  let phase = "start";
  let connectionsOpened = 0;
  const evictedPerGap: number[] = [];
  let instancesBeforeGap: Array<string | null> | null = null;

  const sleepers: Subscriber[] = [];
  const sample = () => {
    const w = rssMiB(workerd);
    const n = nodeRssMiB();
    memory.workerd.add(w);
    memory.node.add(n);
    const stats = fleet?.stats();
    const open = (stats?.open ?? 0) + sleepers.filter((s) => s.open).length;
    const t = Math.round((Date.now() - began) / 1000);
    const acked = phases.reduce((n, p) => n + p.acked, 0) + (fleet?.tally.ackedCount ?? 0);
    const delivered = phases.reduce((n, p) => n + p.delivered, 0) + (fleet?.tally.deliveredCount ?? 0) + sleeperTally.deliveredCount;
    print(
      `soak ${String(t).padStart(4)}s ${phase.padEnd(10)} open ${String(open).padStart(4)}  acked ${acked}  delivered ${delivered}` +
        `  reconnects ${stats?.reconnects ?? 0}  workerd ${w} MiB  node ${n} MiB${phase.startsWith("drain") ? `  pending ${pendingByMode(fleet)}` : ""}`,
    );
  };
  const timer = setInterval(sample, options.everyMs);

  try {
    for (const room of rooms) {
      const { seq, epoch } = await roomState(target, room);
      sleeperTally.beginRoom(room, seq);
      sleepers.push(createSubscriber("ws", { target, room, since: seq, epoch, tally: sleeperTally.watch(`sleeper/${room}`, room, seq) }));
    }
    connectionsOpened += sleepers.length;

    let trafficPhases = 0;
    let idleGaps = 0;
    let ok = true;
    while (Date.now() < deadline) {
      trafficPhases++;
      phase = `traffic#${trafficPhases}`;
      if (instancesBeforeGap) {
        // A room whose object was constructed again was evicted during the gap.
        const now = await instances(target, rooms);
        const evicted = now.filter((id, i) => id !== instancesBeforeGap![i]).length;
        evictedPerGap.push(evicted);
        print(`soak idle#${idleGaps}: ${evicted} of ${rooms.length} rooms were evicted (and woke for traffic#${trafficPhases})`);
      }
      fleet = await openFleet({ ...target, rooms, devices: options.devices, dashboards: options.dashboards, mode: "mixed", rate: options.rate, flaky: options.flaky, runId: `soak${trafficPhases}`, rampMs: 2_000 });
      connectionsOpened += fleet.devices.filter((d) => d.mode !== "http").length + fleet.subscribers.length;
      await sleep(Math.min(options.trafficMs, deadline - Date.now()));
      phase = `drain#${trafficPhases}`;
      const report = await fleet.finish({ drainMs: DRAIN_MS });
      const stats = fleet.stats();
      fleet.close();
      fleet = null;
      phases.push(report);
      // The sleepers must have everything too: bring them to where every room ended.
      for (const room of rooms) sleeperTally.endRoom(room, (await roomState(target, room)).seq);
      await waitFor(() => sleeperTally.caughtUp(), DRAIN_MS);
      const asleep = sleeperTally.report();
      ok = report.ok && asleep.ok;
      print(
        `soak phase traffic#${trafficPhases}: made ${stats.made}, published ${report.published}, drops ${stats.drops}, reconnects ${stats.reconnects}, ` +
          `lost ${report.lost}, duplicated ${report.duplicated}, out of order ${report.outOfOrder}; sleepers so far: lost ${asleep.lost}, duplicated ${asleep.duplicated}`,
      );
      if (!ok) break; // the verdict is in; more traffic would only bury it
      // Idle only when traffic can follow it: the point is to wake the rooms again.
      if (deadline - Date.now() < options.idleMs + 5_000) break;
      idleGaps++;
      instancesBeforeGap = await instances(target, rooms);
      phase = `idle#${idleGaps}`;
      await sleep(options.idleMs);
    }
    sample();
    const sleepersReport = sleeperTally.report();
    return {
      ok: ok && sleepersReport.ok && phases.length > 0,
      seconds: Math.round((Date.now() - began) / 1000),
      rooms: rooms.length,
      trafficPhases,
      idleGaps,
      evictedPerGap,
      connectionsOpened,
      totals: addUp([...phases, sleepersReport]),
      sleepers: sleepersReport,
      memory: { workerd: memory.workerd.toJSON(), node: memory.node.toJSON() },
    };
  } finally {
    clearInterval(timer);
    fleet?.close();
    for (const s of sleepers) s.close();
    await relay.stop();
    await rm(relay.persistDir, { recursive: true, force: true });
  }
}

/** Readings devices still hold, per mode (a drain that does not end shows which kind is stuck). */
function pendingByMode(fleet: Fleet | null): string {
  const by: Record<string, number> = {};
  for (const d of fleet?.devices ?? []) if (d.pending > 0) by[d.mode] = (by[d.mode] ?? 0) + d.pending;
  return JSON.stringify(by);
}

/** Counts of several reports added up; latency is the worst phase's. */
export type Totals = Pick<TallyReport, TallyCount | "gaps"> & { p99_ms: number };

function addUp(reports: TallyReport[]): Totals {
  const sum = (f: (r: TallyReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  // The sleepers' report counts the same messages again: `published` and `acked` come from the phases.
  const phases = reports.slice(0, -1);
  return {
    published: phases.reduce((n, r) => n + r.published, 0),
    acked: phases.reduce((n, r) => n + r.acked, 0),
    expected: sum((r) => r.expected),
    delivered: sum((r) => r.delivered),
    lost: sum((r) => r.lost),
    duplicated: sum((r) => r.duplicated),
    outOfOrder: sum((r) => r.outOfOrder),
    mismatched: sum((r) => r.mismatched),
    doublePublished: sum((r) => r.doublePublished),
    p99_ms: Math.max(0, ...reports.map((r) => r.latency.p99)),
    gaps: reports.flatMap((r) => r.gaps).slice(0, 10),
  };
}

/** Each room's object instance, to compare across an idle gap. */
function instances(target: Target, rooms: string[]): Promise<Array<string | null>> {
  return Promise.all(rooms.map((room) => roomInstance(target, room)));
}
