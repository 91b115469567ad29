/**
 * One simulation run: a relay (the embedded one on Miniflare unless --url),
 * a fleet from load/, publishing for --duration (with an optional relay
 * restart in the middle), a calm drain, then the report, written to
 * <out>/<date>.json with its chart <out>/<date>.svg.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { signJwt } from "../../client/jwt.js";
import { buildBundle, EmbeddedRelay } from "../local/relay.js";
import { openFleet, randomPrefix, roomNames } from "../load/index.js";
import { chartSvg } from "./chart.js";
import type { SimOptions } from "./flags.js";
import { Progress, type ProgressSink } from "./progress.js";
import { buildReport, type SimReport } from "./report.js";

export interface RunContext {
  progress: ProgressSink;
  /** Aborting ends publishing early; the run still drains and reports. */
  signal?: AbortSignal;
  /** A prebuilt bundle for the embedded relay (tests build it once). */
  bundle?: string;
}

export interface RunResult {
  report: SimReport;
  /** The JSON report and chart written for this run. */
  files: { json: string; svg: string };
}

/** Scopes of the token the simulator signs with --secret. */
const SIM_SCOPE = "subscribe publish history presence";
/** Longest wait for devices' unacked publishes, then for dashboards, after publishing stops. */
const DRAIN_MS = 60_000;

export async function runSimulation(options: SimOptions, ctx: RunContext): Promise<RunResult> {
  const prefix = options.prefix ?? randomPrefix();
  const rooms = roomNames(prefix, options.rooms);
  const relay = options.url
    ? null
    : await EmbeddedRelay.start({
        bundle: ctx.bundle ?? (await buildBundle(join(process.cwd(), "dist", "sim-worker"))),
        vars: {
          ...(options.secret ? { AUTH_SECRET: options.secret } : {}),
          // Every room of this run (they share the prefix) sharded K wide.
          ...(options.shards > 1 ? { SHARDS: `${prefix}-*=${options.shards}` } : {}),
        },
      });
  try {
    const url = options.url ?? relay!.url;
    const token = options.token ?? (options.secret ? await simToken(options, prefix) : undefined);
    const startedAt = new Date();
    const fleet = await openFleet({ url, token, rooms, devices: options.devices, dashboards: options.dashboards, mode: options.mode, rate: options.rate, flaky: options.flaky, topics: options.topics });
    const links = fleet.devices.filter((d) => d.mode !== "http").length + fleet.subscribers.length;
    const progress = new Progress(ctx.progress, () => fleet.stats(), { links, durationMs: options.durationMs });
    progress.start();
    let restarts = 0;
    try {
      const publishing = sleep(options.durationMs, ctx.signal);
      if (relay && options.restartAfterMs !== undefined && options.restartAfterMs < options.durationMs) {
        await sleep(options.restartAfterMs, ctx.signal);
        if (!ctx.signal?.aborted) {
          await relay.restart();
          restarts++;
        }
      }
      await publishing;
      const publishedForMs = Date.now() - startedAt.getTime();
      const tally = await fleet.finish({ drainMs: DRAIN_MS });
      progress.stop();
      const report = buildReport({
        options,
        relay: options.url ?? "embedded (Miniflare)",
        prefix,
        startedAt,
        publishedForMs,
        tally,
        timeline: fleet.tally.timeline(),
        stats: fleet.stats(),
        restarts,
      });
      return { report, files: await saveResults(options.outDir, report) };
    } finally {
      progress.stop();
      fleet.close();
    }
  } finally {
    if (relay) {
      await relay.stop();
      await rm(relay.persistDir, { recursive: true, force: true });
    }
  }
}

/** A token for every room of the run, valid well past its end. */
async function simToken(options: SimOptions, prefix: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + Math.ceil(options.durationMs / 1000) + 3600;
  return signJwt({ sub: "roomcast-sim", rooms: [`${prefix}-*`], scope: SIM_SCOPE, iat: now, exp }, options.secret!);
}

async function saveResults(outDir: string, report: SimReport): Promise<{ json: string; svg: string }> {
  await mkdir(outDir, { recursive: true });
  const base = join(outDir, report.started_at.replace(/:/g, "-").replace(/\.\d+Z$/, "Z"));
  const files = { json: `${base}.json`, svg: `${base}.svg` };
  await writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`);
  const title = `${report.shards > 1 ? `${report.shards} shards per room, ` : ""}${report.devices} devices, ${report.dashboards} dashboards, ${report.rooms} rooms, flaky ${report.flaky}/s: ${report.lost} lost, ${report.duplicated} duplicated`;
  await writeFile(files.svg, chartSvg(title, report.timeline));
  return files;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
