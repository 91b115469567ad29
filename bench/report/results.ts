/** The shape of `bench/results/<date>.json`: one run, every system side by side. */
import type { ConnectResult, FanoutResult, IdleResult, LatencyResult } from "../driver/jobs.js";
import type { SystemName } from "../systems/system.js";
import type { ShardsResult } from "../shards/scenario.js";
import type { TargetCheck } from "./targets.js";

export interface BenchResults {
  date: string;
  mode: "full" | "quick";
  host: { cpus: number; node: string; platform: string };
  /** Vars laid over Roomcast's wrangler.toml for the run (the rate limit, raised). */
  roomcastVars: Record<string, string>;
  systems: SystemName[];
  /** Per system, one entry per subscriber count (the best of the rounds). */
  fanout: Partial<Record<SystemName, FanoutResult[]>>;
  latency: Partial<Record<SystemName, LatencyResult>>;
  connect: Partial<Record<SystemName, ConnectResult>>;
  idle: Partial<Record<SystemName, IdleResult>>;
  /** The `shards` scenario (bench/shards/), when it ran. */
  shards?: ShardsResult;
  targets: TargetCheck[];
  seconds: number;
}
