/**
 * Starting the workerd systems: Roomcast as the embedded relay runs it (the
 * deployable bundle on Miniflare), with no hooks ("roomcast") and as a
 * deployer's Worker with a no-op publish hook ("roomcast-hook",
 * tools/bench/hooked/), and the comparison Workers (bare, partyserver) built
 * and run the same way from their own wrangler.toml, so all of them share one
 * runtime build and one way of running.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { EmbeddedRelay } from "../../local/relay.js";
import { childPids, newChildPid } from "../../local/processes.js";
import type { RunningSystem, SystemEndpoint, SystemName } from "./system.js";

const BENCH = resolve(fileURLToPath(new URL("..", import.meta.url)));
const ROOT = resolve(BENCH, "..", "..");

/**
 * Roomcast's defaults (50 messages/s per connection) would throttle the one
 * fast publisher of a throughput run, so the bench raises them. Nothing else
 * changes: JSON envelopes, history in SQLite, presence, all on.
 */
export const ROOMCAST_BENCH_VARS = { RATE_LIMIT_PER_SECOND: "1000000", RATE_LIMIT_BURST: "1000000", DIAGNOSTICS: "1" };

export function startRoomcast(): Promise<RunningSystem> {
  return startRelay("roomcast");
}

/** Roomcast built from tools/bench/hooked/ (a no-op publish hook), run exactly as "roomcast" is: same vars, same relay. */
export function startRoomcastHook(): Promise<RunningSystem> {
  return startRelay("roomcast-hook");
}

function startRelay(name: "roomcast" | "roomcast-hook"): Promise<RunningSystem> {
  return startRoomcastRelay(name, CONFIGS[name]);
}

/** What a variant's relay adds to the bench's vars and Workers (tools/bench/variants/relays.ts). */
export interface RelayExtras {
  vars?: Record<string, string>;
  /** Workers run beside it in the same runtime, built from their wrangler.toml (a Queue consumer). */
  auxiliary?: Array<{ name: string; config: string }>;
}

/**
 * Roomcast built from `config` (a dry-run deploy, once per run) on the
 * embedded relay with the bench's vars and `extras`. Its endpoint is named
 * "roomcast" unless `name` is another Roomcast system: every variant relay
 * speaks Roomcast's wire.
 */
export async function startRoomcastRelay(name: string, config: string, extras: RelayExtras = {}): Promise<RunningSystem & { relay: EmbeddedRelay }> {
  const bundle = await buildWorker(name, config);
  const auxiliary = await Promise.all((extras.auxiliary ?? []).map(async (a) => ({ ...a, bundle: await buildWorker(a.name, a.config) })));
  const before = childPids("workerd");
  const relay = await EmbeddedRelay.start({ vars: { ...ROOMCAST_BENCH_VARS, ...extras.vars }, bundle, config, auxiliary });
  const system: SystemName = name === "roomcast-hook" ? "roomcast-hook" : "roomcast";
  const endpoint: SystemEndpoint = { name: system, origin: relay.url, roomPathPrefix: "/rooms/", pid: newChildPid("workerd", before) };
  return {
    relay,
    endpoint,
    stop: () => relay.stop(),
    restart: async () => {
      const running = childPids("workerd");
      await relay.restart(); // same port, same persistDir
      endpoint.pid = newChildPid("workerd", running);
    },
  };
}

export async function startBare(): Promise<RunningSystem> {
  return startComparisonWorker("bare", CONFIGS.bare, "/rooms/");
}

export async function startPartyserver(): Promise<RunningSystem> {
  return startComparisonWorker("partyserver", CONFIGS.partyserver, "/parties/bench-room/");
}

async function startComparisonWorker(name: SystemName, config: string, roomPathPrefix: string): Promise<RunningSystem> {
  const bundle = await buildWorker(name, config);
  const persistDir = await mkdtemp(join(tmpdir(), `bench-${name}-`));
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const boot = async (port: number) => {
    const before = childPids("workerd");
    const mf = new Miniflare({
      ...workerOptions,
      name,
      modules: true,
      scriptPath: bundle,
      host: "127.0.0.1",
      port,
      durableObjectsPersist: join(persistDir, "do"),
      log: new Log(LogLevel.ERROR),
    } as ConstructorParameters<typeof Miniflare>[0]);
    const url = await mf.ready;
    return { mf, url, pid: newChildPid("workerd", before) };
  };
  let current = await boot(0);
  const endpoint: SystemEndpoint = { name, origin: current.url.origin, roomPathPrefix, pid: current.pid };
  return {
    endpoint,
    stop: () => current.mf.dispose(),
    restart: async () => {
      await current.mf.dispose();
      current = await boot(Number(current.url.port)); // same port, same storage
      endpoint.pid = current.pid;
    },
  };
}

const CONFIGS: Record<Exclude<SystemName, "node-ws">, string> = {
  roomcast: join(ROOT, "wrangler.toml"),
  "roomcast-hook": join(BENCH, "hooked", "wrangler.toml"),
  bare: join(BENCH, "bare", "wrangler.toml"),
  partyserver: join(BENCH, "party", "wrangler.toml"),
};
const builds = new Map<string, Promise<string>>();

/** Starts every build at once (they are the slow part of starting); the starters then wait for theirs. */
export function prebuildWorkers(names: SystemName[]): void {
  for (const name of names) if (name !== "node-ws") void buildWorker(name, CONFIGS[name]).catch(() => {});
}

/**
 * `wrangler deploy --dry-run` of `config` into dist/bench/<name>, once per
 * config and run (the variants' relays that differ from "roomcast" only in
 * vars share its bundle); resolves to the entry module.
 */
export function buildWorker(name: string, config: string): Promise<string> {
  let build = builds.get(config);
  if (!build) builds.set(config, (build = runBuild(name, config)));
  return build;
}

async function runBuild(name: string, config: string): Promise<string> {
  const outdir = join(ROOT, "dist", "bench", name);
  await promisify(execFile)(join(ROOT, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "--config", config], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
  });
  // The entry keeps the basename of the config's `main` (index.js, worker.js).
  const entry = (await readdir(outdir)).find((f) => f.endsWith(".js"));
  if (!entry) throw new Error(`no bundle in ${outdir}`);
  return join(outdir, entry);
}
