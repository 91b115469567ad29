/**
 * The `shards` scenario: one room unsharded and the same room sharded K wide
 * (K = 4 and 16), each with the same subscribers and the same burst, side by
 * side in one run on one relay (SHARDS set for the sharded rooms' names).
 *
 * Per width it reports what docs/scale.md's model takes: fan-out throughput,
 * the sequencer's batches and pushes (pushes per batch per shard, never per
 * socket), frames per socket, and workerd's marginal CPU per message (a burst
 * of 2M minus a burst of M, so opening the sockets is not counted). Locally
 * every object shares one workerd thread: these figures prove correctness and
 * per-object cost, not the parallel speed-up the platform gives.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildBundle, EmbeddedRelay } from "../../local/relay.js";
import { childPids, cpuMs, newChildPid } from "../../local/processes.js";
import { randomPrefix } from "../../load/index.js";
import type { FanoutResult } from "../driver/jobs.js";
import type { LoadProcess } from "../driver/spawn.js";
import type { Plan } from "../plan.js";
import type { SystemEndpoint } from "../systems/system.js";
import { ROOMCAST_BENCH_VARS } from "../systems/workerd.js";
import { minimumShards, project, type MeasuredCosts, type Projection } from "./model.js";

export interface ShardsPoint {
  /** 1: the room unsharded. */
  shards: number;
  subscribers: number;
  messages: number;
  msgsPerSec: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Frames each subscriber got (= messages when nothing was lost). */
  framesPerSocket: number;
  /** The sequencer's batches and pushes for the burst (0 unsharded: it fans out itself). */
  batches: number;
  pushes: number;
  pushesPerBatchPerShard: number;
  messagesPerBatch: number;
  /** Pushes the shards applied, and gaps they had to fetch first. */
  shardPushes: number;
  shardGaps: number;
  /** workerd CPU per message, all objects together (sequencer + shards), marginal. */
  cpuMsPerMessage: number;
}

export interface ShardsResult {
  points: ShardsPoint[];
  /** Frames one object sends per CPU-second, from the unsharded point: the model's fan-out input. */
  framesPerObjectPerSecond: number;
  /** docs/scale.md's projection for the readers below, from this run's figures. */
  readers: number;
  projection: Projection[];
}

export const PROJECTED_READERS = 100_000;

interface Diagnostics {
  sequencer?: { batches: number; messages: number; pushes: number };
  shard?: { pushes: number; gaps: number };
}

export async function runShards(plan: Plan, load: LoadProcess, log: (line: string) => void): Promise<ShardsResult> {
  const { subscribers, messages, widths } = plan.shards;
  const prefix = randomPrefix();
  const roomOf = (k: number, run: string) => (k === 1 ? `${prefix}-solo-${run}` : `${prefix}-k${k}-${run}`);
  const SHARDS = widths.map((k) => `${prefix}-k${k}-*=${k}`).join(",");
  const before = childPids("workerd");
  const relay = await EmbeddedRelay.start({
    bundle: await buildBundle(join(process.cwd(), "dist", "bench", "roomcast-shards")),
    vars: { ...ROOMCAST_BENCH_VARS, SHARDS },
  });
  const pid = newChildPid("workerd", before);
  const endpoint: SystemEndpoint = { name: "roomcast", origin: relay.url, roomPathPrefix: "/rooms/", pid };
  const points: ShardsPoint[] = [];
  try {
    for (const k of [1, ...widths]) {
      const burst = async (room: string, m: number) => {
        const cpu0 = cpuMs(pid);
        const job = { scenario: "fanout", endpoint, subscribers, messages: m, timeoutMs: 120_000, room } as const;
        const r = await load.run<FanoutResult>(job, 300_000);
        return { r, cpu: cpuMs(pid) - cpu0, diag: await diagnostics(relay.url, room, k) };
      };
      const small = await burst(roomOf(k, "a"), messages);
      const large = await burst(roomOf(k, "b"), messages * 2);
      const { r, diag } = large;
      const seq = diag.sequencer;
      const batches = seq?.batches ?? 0;
      const pushes = seq?.pushes ?? 0;
      const point: ShardsPoint = {
        shards: k,
        subscribers,
        messages: r.messages,
        msgsPerSec: r.msgsPerSec,
        lost: r.lost,
        duplicated: r.duplicated,
        outOfOrder: r.outOfOrder,
        framesPerSocket: Math.round((r.delivered / subscribers) * 10) / 10,
        batches,
        pushes,
        pushesPerBatchPerShard: k === 1 || batches === 0 ? 0 : round(pushes / batches / k, 3),
        messagesPerBatch: batches === 0 ? r.messages : round((seq?.messages ?? 0) / batches, 2),
        shardPushes: diag.shardPushes,
        shardGaps: diag.shardGaps,
        cpuMsPerMessage: round((large.cpu - small.cpu) / messages, 3),
      };
      log(
        `shards K=${k}: ${point.msgsPerSec.toLocaleString("en-US")} msg/s to ${subscribers}, ` +
          `${point.batches} batches, ${point.pushes} pushes (${point.pushesPerBatchPerShard}/batch/shard), ` +
          `${point.framesPerSocket} frames/socket, ${point.cpuMsPerMessage} ms CPU/msg, lost ${point.lost}`,
      );
      points.push(point);
    }
  } finally {
    await relay.stop();
  }
  const { costs, projection } = projections(points);
  return { points, framesPerObjectPerSecond: costs?.framesPerObjectPerSecond ?? 0, readers: PROJECTED_READERS, projection };
}

/** The model's answer for 100 000 readers at the widths measured, and at the fewest shards that fit them. */
function projections(points: ShardsPoint[]): { costs: MeasuredCosts | null; projection: Projection[] } {
  const solo = points.find((p) => p.shards === 1);
  const sharded = points.filter((p) => p.shards > 1);
  if (solo === undefined || sharded.length === 0) return { costs: null, projection: [] };
  // One object's fan-out rate in frames per second, from the unsharded room's
  // CPU per frame (the server's own cost; the delivered rate also holds the
  // load generator's). The delivered rate when CPU cannot be read.
  const cpuPerFrame = solo.cpuMsPerMessage / solo.subscribers;
  const framesPerObjectPerSecond = Number.isFinite(cpuPerFrame) && cpuPerFrame > 0 ? Math.round(1000 / cpuPerFrame) : solo.msgsPerSec;
  const worst = sharded.reduce((a, b) => (b.pushesPerBatchPerShard > a.pushesPerBatchPerShard ? b : a));
  const costs: MeasuredCosts = {
    framesPerObjectPerSecond,
    // The worst case for the sequencer: one message per batch, one push per shard per batch.
    messagesPerBatch: 1,
    pushesPerBatchPerShard: Math.max(worst.pushesPerBatchPerShard, 1),
  };
  const widths = [...new Set([1, minimumShards(PROJECTED_READERS), ...sharded.map((p) => p.shards), 64])].sort((a, b) => a - b);
  return { costs, projection: widths.map((k) => project(PROJECTED_READERS, k, costs)) };
}

async function diagnostics(origin: string, room: string, shards: number): Promise<{ sequencer: Diagnostics["sequencer"] | null; shardPushes: number; shardGaps: number }> {
  const read = async (query: string) => (await (await fetch(`${origin}/rooms/${room}/diagnostics${query}`)).json()) as Diagnostics;
  const head = await read("");
  let shardPushes = 0;
  let shardGaps = 0;
  if (shards > 1) {
    for (let i = 0; i < shards; i++) {
      const d = await read(`?shard=${i}`);
      shardPushes += d.shard?.pushes ?? 0;
      shardGaps += d.shard?.gaps ?? 0;
    }
  }
  return { sequencer: head.sequencer ?? null, shardPushes, shardGaps };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
