/**
 * `npm run bench [-- --quick] [--systems=roomcast,bare] [--scenarios=fanout,latency] [--variants=batch,acl] [--wave-sockets=N]`
 *
 * Systems: roomcast, roomcast-hook (Roomcast with a no-op publish hook, the
 * cost of a deployer's hook), bare, partyserver, node-ws; all by default.
 * Scenarios: fanout, latency, connect, wave, idle, mqtt, shards. Connect
 * variants, mqtt and shards are measured on "roomcast" only (roomcast-hook
 * fills its rooms with JSON sockets only). `--wave-sockets` overrides
 * the plan's reconnect-wave size (a room too slow to fill at full size can
 * still be measured at a smaller one).
 *
 * Variants (tools/bench/variants/, all by default when "roomcast" runs):
 * Roomcast with batch frames, with publishes that skip history, with a
 * token and with a token's ACL on every socket, with a webhook sink and
 * with a queue sink; each runs right after the plain Roomcast point of its
 * scenarios (fan-out, latency, the wave) and is read against its baseline.
 *
 * Starts every system on loopback (Roomcast's real bundle, the bare Durable
 * Object and the partyserver room on Miniflare's workerd, the node-ws server
 * in its own process), runs each scenario against each system, one load
 * process per job, interleaving systems so they share the machine's mood,
 * then writes tools/bench/results/<date>.json and .svg and prints the summary.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONNECT_VARIANTS, type ConnectResult, type ConnectVariant, type FanoutResult, type IdleResult, type LatencyResult, type WaveResult } from "./driver/jobs.js";
import { runMqtt } from "./mqtt.js";
import { LoadProcess } from "./driver/spawn.js";
import { burstSize, FULL, QUICK, type Plan } from "./plan.js";
import { chartSvg } from "./report/chart.js";
import { faults, type BenchResults } from "./report/results.js";
import { summaryTable, targetsTable } from "./report/table.js";
import { mqttTable } from "./report/mqtt.js";
import { checkTargets } from "./report/targets.js";
import { STARTERS } from "./systems/index.js";
import { SYSTEM_NAMES, speaksRoomcast, type RunningSystem, type SystemEndpoint, type SystemName } from "./systems/system.js";
import { prebuildWorkers, ROOMCAST_BENCH_VARS } from "./systems/workerd.js";
import { runShards } from "./shards/scenario.js";
import { shardsTable } from "./shards/table.js";
import { VARIANT_NAMES, variantsFor, type Variant, type VariantName } from "./variants/variants.js";
import { VariantRelays, type SinkWatch } from "./variants/relays.js";
import type { SinkPoint, VariantResults } from "./report/results.js";
import { variantsTable } from "./report/variants.js";

const SCENARIOS = ["fanout", "latency", "connect", "wave", "idle", "mqtt", "shards"] as const;
type Scenario = (typeof SCENARIOS)[number];
const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

function parseArgs(argv: string[]): { plan: Plan; systems: SystemName[]; scenarios: Scenario[]; variants: VariantName[] } {
  const list = <T extends string>(name: string, all: readonly T[]): T[] => {
    const arg = argv.find((a) => a.startsWith(`--${name}=`));
    if (!arg) return [...all];
    const picked = arg.slice(name.length + 3).split(",");
    for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${name}: ${p} (one of ${all.join(", ")})`);
    return picked as T[];
  };
  const base = argv.includes("--quick") ? QUICK : FULL;
  const waveSockets = argv.find((a) => a.startsWith("--wave-sockets="));
  const sockets = waveSockets ? Number(waveSockets.slice("--wave-sockets=".length)) : base.wave.sockets;
  if (!Number.isInteger(sockets) || sockets < 1) throw new Error(`--wave-sockets wants a positive integer`);
  const plan: Plan = { ...base, wave: { ...base.wave, sockets } };
  const systems = list("systems", SYSTEM_NAMES);
  // Every variant is read against plain Roomcast (or another variant): none without it.
  const variants = systems.includes("roomcast") ? list("variants", VARIANT_NAMES) : [];
  return { plan, systems, scenarios: list("scenarios", SCENARIOS), variants };
}

const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

/** Runs one job; a failure is logged and leaves that cell empty instead of ending the run. */
async function attempt<R>(label: string, job: () => Promise<R>, keep: (r: R) => unknown): Promise<void> {
  try {
    await keep(await job());
  } catch (error) {
    log(`${label} FAILED: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
}

async function main(): Promise<void> {
  const { plan, systems, scenarios, variants } = parseArgs(process.argv.slice(2));
  const began = Date.now();
  log(`bench (${plan.mode}): ${systems.join(", ")}; ${scenarios.join(", ")}${variants.length ? `; roomcast variants ${variants.join(", ")}` : ""}`);
  const running = new Map<SystemName, RunningSystem>();
  const load = LoadProcess.start();
  const results: Omit<BenchResults, "targets"> = {
    date: new Date().toISOString(),
    mode: plan.mode,
    host: { cpus: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    roomcastVars: ROOMCAST_BENCH_VARS,
    systems,
    fanout: {},
    latency: {},
    connect: {},
    wave: {},
    idle: {},
    seconds: 0,
  };
  const variantResults = (v: Variant): VariantResults => ((results.variants ??= {})[v.name] ??= { fanout: [], latency: null, wave: null, sink: [] });
  let relays: VariantRelays | undefined;
  try {
    prebuildWorkers(systems);
    for (const name of systems) {
      log(`starting ${name}`);
      running.set(name, await STARTERS[name]());
    }
    const endpoint = (name: SystemName) => running.get(name)!.endpoint;
    relays = new VariantRelays(running.get("roomcast"));
    const used = (["fanout", "latency", "wave"] as const).filter((sc) => scenarios.includes(sc)).flatMap((sc) => variantsFor(variants, sc));
    if (used.length > 0) log(`starting the variants' relays`);
    await relays.start(used);

    if (scenarios.includes("fanout") || scenarios.includes("latency")) {
      // One small unrecorded burst on every system and variant relay first: each runs in a fresh
      // process whose first burst would also pay for compiling its code, and the first point must not.
      const warm = (label: string, at: SystemEndpoint) =>
        attempt(`warm-up ${label}`, () => load.run<FanoutResult>({ scenario: "fanout", endpoint: at, subscribers: 20, messages: 200, timeoutMs: 30_000 }, 150_000), () => {});
      for (const name of systems) await warm(name, endpoint(name));
      for (const v of used) if (v.relay !== "roomcast") await warm(`roomcast ${v.label}`, relays.endpoint(v));
    }
    if (scenarios.includes("fanout")) {
      for (let round = 1; round <= plan.fanout.rounds; round++) {
        for (const subscribers of plan.fanout.subscribers) {
          for (const name of systems) {
            const messages = burstSize(plan, subscribers);
            const job = { scenario: "fanout", endpoint: endpoint(name), subscribers, messages, timeoutMs: plan.fanout.timeoutMs } as const;
            await attempt(`fan-out ${name} N=${subscribers}`, () => load.run<FanoutResult>(job, plan.fanout.timeoutMs + 120_000), (r) => {
              log(`fan-out ${name} N=${subscribers} M=${messages} round ${round}: ${r.msgsPerSec.toLocaleString("en-US")} msg/s, lost ${r.lost}`);
              keepBest((results.fanout[name] ??= []), r);
            });
            if (name !== "roomcast") continue;
            // The variants right after the plain point, so they share the machine's mood.
            for (const v of variantsFor(variants, "fanout")) {
              const variantJob = { ...job, endpoint: relays.endpoint(v) };
              const label = `fan-out roomcast ${v.label} N=${subscribers}`;
              await attempt(label, () => load.run<FanoutResult>(variantJob, plan.fanout.timeoutMs + 120_000), async (r) => {
                log(`${label} M=${messages} round ${round}: ${r.msgsPerSec.toLocaleString("en-US")} msg/s, lost ${r.lost}`);
                const mine = variantResults(v);
                keepBest(mine.fanout, r);
                const sink = relays!.sink(v);
                if (sink) keepSinkPoint(mine.sink, await sinkPoint(sink, r, label));
              });
            }
          }
        }
      }
    }
    if (scenarios.includes("fanout")) {
      // Each sink alone: one publisher, no reader, a burst; what the sink lets out per second when fan-out does not share its room's turns.
      for (const v of variantsFor(variants, "fanout").filter((x) => x.sink)) {
        const messages = plan.fanout.maxMessages;
        const job = { scenario: "fanout", endpoint: relays.endpoint(v), subscribers: 0, messages, timeoutMs: plan.fanout.timeoutMs } as const;
        const label = `sink roomcast ${v.label}, publisher alone, ${messages} messages`;
        await attempt(label, () => load.run<FanoutResult>(job, plan.fanout.timeoutMs + 120_000), async (r) => {
          keepSinkPoint(variantResults(v).sink, await sinkPoint(relays!.sink(v)!, r, label));
        });
      }
    }
    if (scenarios.includes("latency")) {
      // Rounds interleave every system and variant; each reports its median round by p99 (one that lost anything instead).
      const { subscribers, rate, seconds, rounds } = plan.latency;
      const samples = new Map<string, LatencyResult[]>();
      const keep = (key: string, r: LatencyResult) => samples.set(key, [...(samples.get(key) ?? []), r]);
      for (let round = 1; round <= rounds; round++) {
        for (const name of systems) {
          const job = { scenario: "latency", endpoint: endpoint(name), subscribers, rate, seconds } as const;
          await attempt(`latency ${name}`, () => load.run<LatencyResult>(job, seconds * 1000 + 120_000), (r) => {
            log(`latency ${name} round ${round}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, p99.9 ${r.p999_ms} ms, lost ${r.lost}`);
            keep(name, r);
          });
          if (name !== "roomcast") continue;
          for (const v of variantsFor(variants, "latency")) {
            const variantJob = { ...job, endpoint: relays.endpoint(v) };
            await attempt(`latency roomcast ${v.label}`, () => load.run<LatencyResult>(variantJob, seconds * 1000 + 120_000), (r) => {
              log(`latency roomcast ${v.label} round ${round}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, p99.9 ${r.p999_ms} ms, lost ${r.lost}`);
              keep(`variant ${v.name}`, r);
            });
          }
        }
      }
      for (const name of systems) {
        const runs = samples.get(name);
        if (runs) results.latency[name] = medianLatency(runs);
      }
      for (const v of variantsFor(variants, "latency")) {
        const runs = samples.get(`variant ${v.name}`);
        if (runs) variantResults(v).latency = medianLatency(runs);
      }
    }
    if (scenarios.includes("connect")) {
      const { concurrency, capMs, rounds } = plan.connect;
      for (const sockets of plan.connect.sockets) {
        const samples = new Map<string, ConnectResult[]>();
        for (let round = 0; round < rounds; round++) {
          for (const name of systems) {
            const variants = rotated(variantsOf(name), round);
            for (const variant of variants) {
              const job = { scenario: "connect", endpoint: endpoint(name), variant, sockets, concurrency, capMs } as const;
              const label = `connect ${name}${speaksRoomcast(name) ? ` ${variant}` : ""} N=${sockets}${rounds > 1 ? ` round ${round + 1}` : ""}`;
              // After the capped fill: the frames still on their way, then every close (each a presence leave).
              await attempt(label, () => load.run<ConnectResult>(job, capMs + 300_000), (r) => {
                const partial = r.opened < r.sockets ? ` (only ${r.opened} opened before the cap)` : "";
                log(`${label}: ${r.upgradesPerSec} upgrades/s, ${r.framesPerSocket} frames per socket${partial}${r.failed ? ", FAILED handshakes" : ""}`);
                const key = `${name} ${variant}`;
                samples.set(key, [...(samples.get(key) ?? []), r]);
              });
            }
          }
        }
        for (const name of systems) {
          for (const variant of variantsOf(name)) {
            const runs = samples.get(`${name} ${variant}`);
            if (runs !== undefined) (results.connect[name] ??= []).push(medianRound(runs));
          }
        }
      }
    }
    if (scenarios.includes("wave")) {
      for (const name of systems) {
        const system = running.get(name)!;
        if (!system.restart) {
          log(`wave ${name}: skipped (it cannot restart with its storage)`);
          continue;
        }
        const timeout = 600_000 + plan.wave.deadlineMs + 120_000;
        const runWave = (label: string, on: RunningSystem, at: SystemEndpoint, keep: (r: WaveResult) => void) =>
          attempt(label, () => load.run<WaveResult>({ scenario: "wave", endpoint: at, ...plan.wave }, timeout, async () => {
            await on.restart!();
            return on.endpoint.pid;
          }), (r) => {
            const time = r.seconds === null ? `NOT all back (${r.back} of ${r.sockets})` : `all back in ${r.seconds} s`;
            log(`${label} N=${r.sockets}: ${time}; 503s ${r.refused503}, failed ${r.failed}, timed out ${r.timedOut}, not recovered ${r.notRecovered}, lost ${r.lost}, repeated ${r.duplicated}`);
            keep(r);
          });
        await runWave(`wave ${name}`, system, endpoint(name), (r) => (results.wave[name] = r));
        if (name !== "roomcast") continue;
        for (const v of variantsFor(variants, "wave")) {
          await runWave(`wave roomcast ${v.label}`, relays.system(v), relays.endpoint(v), (r) => (variantResults(v).wave = r));
        }
      }
    }
    if (scenarios.includes("idle")) {
      // Waiting for hibernation dominates; the systems wait side by side, each in its own process.
      log(`idle: ${plan.idle.counts.join(" then ")} sockets per system, ${plan.idle.hibernateMs / 1000} s waits`);
      const idleTimeout = plan.idle.counts.length * (plan.idle.hibernateMs + 60_000) + 60_000;
      await Promise.all(
        systems.map(async (name) => {
          const job = { scenario: "idle", endpoint: endpoint(name), ...plan.idle } as const;
          await attempt(`idle ${name}`, () => load.run<IdleResult>(job, idleTimeout), (r) => {
            log(`idle ${name}: ${r.points.map((p) => `${p.sockets}: ${p.rssBeforeMiB} → ${p.rssAfterMiB} MiB`).join("; ")}; wake-ups ${r.wakeups}, pongs ${r.pongs}`);
            results.idle[name] = r;
          });
        }),
      );
    }
    if (scenarios.includes("mqtt") && running.has("roomcast")) {
      results.mqtt = await runMqtt(plan, load, endpoint("roomcast"), log);
    }
    if (scenarios.includes("shards")) {
      // Roomcast only, on a relay of its own with SHARDS set: unsharded and K = 4, 16 side by side.
      await attempt("shards", () => runShards(plan, load, log), (r) => (results.shards = r));
    }
  } finally {
    load.stop();
    await relays?.stop().catch((e: unknown) => log(`stopping the variants' relays: ${String(e)}`));
    for (const [name, system] of running) await system.stop().catch((e: unknown) => log(`stopping ${name}: ${String(e)}`));
  }

  results.seconds = Math.round((Date.now() - began) / 1000);
  const final: BenchResults = { ...results, targets: checkTargets(results) };
  await mkdir(RESULTS_DIR, { recursive: true });
  const stem = join(RESULTS_DIR, final.date.replace(/:/g, "-").slice(0, 19));
  await writeFile(`${stem}.json`, `${JSON.stringify(final, null, 2)}\n`);
  await writeFile(`${stem}.svg`, await chartSvg(final));
  console.log(`\n${summaryTable(final)}\n`);
  if (final.variants) console.log(`${variantsTable(final)}\n`);
  console.log(`${targetsTable(final)}\n`);
  if (final.mqtt) console.log(`${mqttTable(final)}\n`);
  if (final.shards) console.log(`${shardsTable(final.shards)}\n`);
  log(`wrote ${stem}.json and .svg in ${final.seconds} s`);
}

/**
 * The socket kinds a system's connect runs fill: Roomcast's three, one for the
 * others. "roomcast-hook" fills with JSON sockets only: a publish hook has no
 * part in a join, so its other variants would measure "roomcast" again.
 */
function variantsOf(name: SystemName): readonly ConnectVariant[] {
  return name === "roomcast" ? CONNECT_VARIANTS : ["json"];
}

/** `items` started `by` places later, wrapping around: round r of the connect scenario runs Roomcast's variants in this order. */
function rotated<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * The round reported for one connect point: the one with the median fill
 * rate (the lower middle of an even count), unless a round refused or
 * failed handshakes or hit its cap. Then the worst such round is reported,
 * so a failure is never hidden behind a faster round (as keepBest does for
 * fan-out losses). Every round's rate is kept beside it.
 */
function medianRound(runs: ConnectResult[]): ConnectResult {
  const chosen = medianOrWorst(runs, (r) => r.upgradesPerSec, (r) => r.failed + (r.sockets - r.opened));
  return runs.length > 1 ? { ...chosen, roundsUpgradesPerSec: runs.map((r) => r.upgradesPerSec) } : chosen;
}

/** The run with the median `value` (the lower middle of an even count), or, if any run has a `shortfall`, the one with the most. */
function medianOrWorst<R>(runs: readonly R[], value: (r: R) => number, shortfall: (r: R) => number): R {
  const worst = [...runs].sort((a, b) => shortfall(b) - shortfall(a))[0]!;
  if (shortfall(worst) > 0) return worst;
  return [...runs].sort((a, b) => value(a) - value(b))[Math.floor((runs.length - 1) / 2)]!;
}

/**
 * Keeps, per subscriber count, the round with the highest throughput: noise
 * from a shared machine only ever slows a run down. A round that lost
 * anything is kept whatever its speed, so a loss is never hidden.
 */
function keepBest(points: FanoutResult[], r: FanoutResult): void {
  const i = points.findIndex((p) => p.subscribers === r.subscribers);
  const faulty = (p: FanoutResult) => faults(p) > 0;
  if (i < 0) points.push(r);
  else if (!faulty(points[i]!) && (faulty(r) || r.msgsPerSec > points[i]!.msgsPerSec)) points[i] = r;
  points.sort((a, b) => a.subscribers - b.subscribers);
}

/**
 * The latency round reported: the one with the median p99 (the lower middle
 * of an even count), unless a round lost, repeated or reordered anything:
 * then the worst such round, so a fault is never hidden. Every round's p99
 * is kept beside it.
 */
function medianLatency(runs: LatencyResult[]): LatencyResult {
  const chosen = medianOrWorst(runs, (r) => r.p99_ms, faults);
  return runs.length > 1 ? { ...chosen, roundsP99Ms: runs.map((r) => r.p99_ms) } : chosen;
}

/** Messages per second out of `sink` for the burst `r` measured (from its first publish until its last message was out), logged. */
async function sinkPoint(sink: SinkWatch, r: FanoutResult, label: string): Promise<SinkPoint> {
  const at = await sink.arrival(r.room!, r.messages, 60_000);
  const msgsPerSec = at === null ? null : Math.round(r.messages / Math.max(1e-3, (at - r.startedAt!) / 1000));
  log(`${label}: ${msgsPerSec === null ? "NOT every message out of the sink in 60 s" : `${msgsPerSec.toLocaleString("en-US")} msg/s out of the sink`}`);
  return { subscribers: r.subscribers, messages: r.messages, msgsPerSec };
}

/** Keeps, per subscriber count, the sink's best throughput over the rounds (a sink that did not deliver in time is kept whatever the others did). */
function keepSinkPoint(points: SinkPoint[], p: SinkPoint): void {
  const i = points.findIndex((q) => q.subscribers === p.subscribers);
  if (i < 0) points.push(p);
  else if (points[i]!.msgsPerSec !== null && (p.msgsPerSec === null || p.msgsPerSec > points[i]!.msgsPerSec!)) points[i] = p;
  points.sort((a, b) => a.subscribers - b.subscribers);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
