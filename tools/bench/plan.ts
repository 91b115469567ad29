/**
 * How big each scenario is, in full and quick mode. Quick mode (`--quick`)
 * keeps the whole run under two minutes on a shared 2-core machine: smaller
 * rooms, shorter runs, one idle size. Bursts are sized so every point
 * delivers a similar total, enough to dwarf timer and scheduling noise.
 */
export interface Plan {
  mode: "full" | "quick";
  fanout: { subscribers: number[]; deliveries: number; maxMessages: number; rounds: number; timeoutMs: number };
  /** `rounds` runs per system, interleaved; the median round by p99 is reported. */
  latency: { subscribers: number; rate: number; seconds: number; rounds: number };
  /**
   * Room sizes; each is filled by every system (Roomcast: once per socket
   * variant) in each of `rounds` rounds, and the median round is reported
   * (a round with refused or failed handshakes instead, if there was one).
   */
  connect: { sockets: number[]; concurrency: number; capMs: number; rounds: number };
  wave: { sockets: number; concurrency: number; before: number; messages: number; deadlineMs: number; handshakeTimeoutMs: number };
  idle: { counts: number[]; hibernateMs: number; pingers: number };
  /** MQTT (Roomcast only): fan-out reuses `fanout`'s sizes and burst; idle devices ping once. */
  mqtt: { qos: Array<0 | 1 | 2>; idleDevices: number };
  /** The `shards` scenario (tools/bench/shards/): one room unsharded and sharded at each width, same subscribers. */
  shards: { subscribers: number; messages: number; widths: number[] };
}

export const FULL: Plan = {
  mode: "full",
  // N = 200 answers issue 3 (≥ 0.9× bare with 200 subscribers?).
  // Five rounds, the best kept: two runs of the same relay a few seconds apart differ by up to ±25% here,
  // and the variants' targets are ratios near 0.9.
  fanout: { subscribers: [100, 200, 500, 1000], deliveries: 100_000, maxMessages: 1000, rounds: 5, timeoutMs: 60_000 },
  latency: { subscribers: 100, rate: 100, seconds: 10, rounds: 3 },
  // A room of default JSON sockets fills in O(n²) frames: a fill still going after 2 minutes is reported as far as it got.
  // Three rounds, Roomcast's variants in a rotated order each round: the first fill after another system's
  // pays for the previous rooms' teardown (about 150 µs of runtime CPU per upgrade at N=5000), and the
  // median is of rounds where each variant ran in each position once.
  connect: { sockets: [1000, 5000], concurrency: 50, capMs: 120_000, rounds: 3 },
  // Issue 15: 5000 clients back at once after a restart, two minutes to make it.
  wave: { sockets: 5000, concurrency: 50, before: 5, messages: 100, deadlineMs: 120_000, handshakeTimeoutMs: 10_000 },
  // workerd evicts an idle object after ~10 s; 12 s leaves a margin.
  idle: { counts: [1000, 5000], hibernateMs: 12_000, pingers: 1000 },
  mqtt: { qos: [0, 1, 2], idleDevices: 1000 },
  shards: { subscribers: 2000, messages: 100, widths: [4, 16] },
};

export const QUICK: Plan = {
  mode: "quick",
  fanout: { subscribers: [50, 200], deliveries: 20_000, maxMessages: 400, rounds: 1, timeoutMs: 30_000 },
  latency: { subscribers: 50, rate: 100, seconds: 3, rounds: 1 },
  connect: { sockets: [200, 500], concurrency: 50, capMs: 60_000, rounds: 1 },
  wave: { sockets: 500, concurrency: 50, before: 5, messages: 50, deadlineMs: 60_000, handshakeTimeoutMs: 10_000 },
  idle: { counts: [1000], hibernateMs: 11_000, pingers: 1000 },
  mqtt: { qos: [0, 1, 2], idleDevices: 200 },
  shards: { subscribers: 400, messages: 50, widths: [4, 16] },
};

/** Messages in one burst to N subscribers. */
export function burstSize(plan: Plan, subscribers: number): number {
  return Math.min(plan.fanout.maxMessages, Math.round(plan.fanout.deliveries / subscribers));
}
