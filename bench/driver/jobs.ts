/**
 * What the bench asks of the load process and what it answers: plain JSON,
 * since the two are separate processes (the load generator must not share a
 * CPU queue or a heap with the servers it measures).
 */
import type { SystemEndpoint } from "../systems/system.js";

/** Marks the load process's result line on its stdout. */
export const RESULT_PREFIX = "RESULT ";

export interface FanoutJob {
  scenario: "fanout";
  endpoint: SystemEndpoint;
  subscribers: number;
  /** Messages the one publisher sends in one burst. */
  messages: number;
  timeoutMs: number;
  /** The room to use (the `shards` scenario names its rooms so SHARDS matches them); a fresh random one when absent. */
  room?: string;
}

export interface LatencyJob {
  scenario: "latency";
  endpoint: SystemEndpoint;
  subscribers: number;
  /** Messages per second, well under capacity. */
  rate: number;
  seconds: number;
}

export interface ConnectJob {
  scenario: "connect";
  endpoint: SystemEndpoint;
  sockets: number;
  concurrency: number;
}

export interface IdleJob {
  scenario: "idle";
  endpoint: SystemEndpoint;
  /** Idle socket counts, ascending; RSS is read at each, before and after the wait. */
  counts: number[];
  /** How long to stay idle so workerd evicts the object (it does after ~10 s). */
  hibernateMs: number;
  /** Sockets that send `ping` after the last wait. */
  pingers: number;
}

export type Job = FanoutJob | LatencyJob | ConnectJob | IdleJob;

/** What every delivering scenario reports about correctness. */
export interface Delivery {
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

export interface FanoutResult extends Delivery {
  subscribers: number;
  messages: number;
  seconds: number;
  /** Delivered messages per second, first send to last delivery. */
  msgsPerSec: number;
}

export interface LatencyResult extends Delivery {
  subscribers: number;
  rate: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
}

export interface ConnectResult {
  sockets: number;
  concurrency: number;
  seconds: number;
  upgradesPerSec: number;
  failed: number;
}

export interface IdlePoint {
  sockets: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
}

export interface IdleResult {
  points: IdlePoint[];
  pingers: number;
  pongs: number;
  /** Handler runs caused by pings: object constructions and `webSocketMessage` calls. */
  wakeups: number;
  /** Whether the object was really evicted during the wait (so the pings met a hibernated room). */
  evicted: boolean | null;
}

export type JobResult = FanoutResult | LatencyResult | ConnectResult | IdleResult;
