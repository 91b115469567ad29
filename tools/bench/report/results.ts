/** The shape of `tools/bench/results/<date>.json`: one run, every system side by side. */
import type { ConnectResult, ConnectVariant, FanoutResult, IdleResult, LatencyResult, MqttFanoutResult, MqttIdleResult, WaveResult } from "../driver/jobs.js";
import { speaksRoomcast, type SystemName } from "../systems/system.js";
import type { ShardsResult } from "../shards/scenario.js";
import type { VariantName } from "../variants/variants.js";

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
  /** Per system, one entry per room size and socket variant (Roomcast: json, presence=0, raw; the others: json). */
  connect: Partial<Record<SystemName, ConnectResult[]>>;
  /** The reconnect wave, per system that can restart. */
  wave: Partial<Record<SystemName, WaveResult>>;
  idle: Partial<Record<SystemName, IdleResult>>;
  /** Roomcast's MQTT endpoint, when the run had the mqtt scenario. */
  mqtt?: { fanout: MqttFanoutResult[]; idle: MqttIdleResult | null };
  /** Roomcast's variants (tools/bench/variants/), each run right after the plain Roomcast point it is read against. */
  variants?: Partial<Record<VariantName, VariantResults>>;
  /** The `shards` scenario (tools/bench/shards/), when it ran. */
  shards?: ShardsResult;
  targets: TargetCheck[];
  seconds: number;
}

/** One variant's points: its fan-out (best of the rounds, as for a system), latency, wave, and its sink's throughput. */
export interface VariantResults {
  fanout: FanoutResult[];
  latency: LatencyResult | null;
  wave: WaveResult | null;
  /** Sink variants: per fan-out point, messages per second out of the sink, first publish to the last message out (null: not all came out in time). */
  sink: SinkPoint[];
}

export interface SinkPoint {
  subscribers: number;
  messages: number;
  msgsPerSec: number | null;
}

/** One target of the issue, checked against the run's numbers (targets.ts). */
export interface TargetCheck {
  name: string;
  /** The measured value (a ratio, or a count). */
  value: number | null;
  /** "≥ 0.9", "≤ 1.25", "= 0" */
  target: string;
  pass: boolean | null;
}

/** Roomcast's number over a peer's, to two decimals (0 when the peer measured 0). */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}

/** What a delivery measurement got wrong: messages lost, duplicated or reordered. */
export function faults(p: { lost: number; duplicated: number; outOfOrder: number }): number {
  return p.lost + p.duplicated + p.outOfOrder;
}

/** Faults of one system over every scenario that checks delivery (fan-out, latency, the reconnect wave). */
export function systemFaults(r: Pick<BenchResults, "fanout" | "latency" | "wave">, s: SystemName): number {
  const latency = r.latency[s];
  const wave = r.wave[s];
  return (r.fanout[s] ?? []).reduce((n, p) => n + faults(p), 0) + (latency ? faults(latency) : 0) + (wave ? faults(wave) : 0);
}

/** Faults of one variant over its fan-out, latency and wave. */
export function variantFaults(v: VariantResults | undefined): number {
  if (!v) return 0;
  return v.fanout.reduce((n, p) => n + faults(p), 0) + (v.latency ? faults(v.latency) : 0) + (v.wave ? faults(v.wave) : 0);
}

/** Faults of every system and variant that measured delivery. */
export function allFaults(r: Pick<BenchResults, "fanout" | "latency" | "wave" | "variants">): number {
  const systems = new Set([...Object.keys(r.fanout), ...Object.keys(r.latency), ...Object.keys(r.wave)] as SystemName[]);
  const variants = Object.values(r.variants ?? {}).reduce((n, v) => n + variantFaults(v), 0);
  return [...systems].reduce((n, s) => n + systemFaults(r, s), variants);
}

/**
 * One connection-setup point: `system`'s fill of `sockets` in `variant`.
 * Only Roomcast has variants; the others' one kind of socket answers for all
 * (so "presence=0 vs bare" compares with bare's plain fill). A Roomcast
 * system answers only for the variants it filled (roomcast-hook: JSON).
 */
export function connectPoint(r: Pick<BenchResults, "connect">, system: SystemName, sockets: number, variant: ConnectVariant): ConnectResult | undefined {
  const wanted = speaksRoomcast(system) ? variant : "json";
  return r.connect[system]?.find((p) => p.sockets === sockets && p.variant === wanted);
}

/** Room sizes of the run's connection-setup points, ascending. */
export function connectSizes(r: Pick<BenchResults, "connect">): number[] {
  return [...new Set(Object.values(r.connect).flatMap((ps) => ps?.map((p) => p.sockets) ?? []))].sort((a, b) => a - b);
}
