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

/**
 * How Roomcast's sockets join in the connection-setup scenario: default JSON
 * sockets (told of every join), JSON sockets with `presence=0`, or raw-mode
 * devices. The other systems have one kind of socket and always run "json".
 */
export const CONNECT_VARIANTS = ["json", "presence=0", "raw"] as const;
export type ConnectVariant = (typeof CONNECT_VARIANTS)[number];

export interface ConnectJob {
  scenario: "connect";
  endpoint: SystemEndpoint;
  variant: ConnectVariant;
  sockets: number;
  concurrency: number;
  /** No new handshake starts after this long: a fill that slow is reported as far as it got. */
  capMs: number;
}

/**
 * The reconnect wave: `sockets` clients in one room, the system restarted
 * with its storage, `messages` published while the clients are away, then
 * every client reconnecting at once (Roomcast: resuming with since/epoch),
 * each retrying like a well-behaved client until `deadlineMs` passes.
 */
export interface WaveJob {
  scenario: "wave";
  endpoint: SystemEndpoint;
  sockets: number;
  /** Handshakes in flight while the room first fills (the wave itself is all at once). */
  concurrency: number;
  /** Messages published live before the restart, so every client has a seq to resume from. */
  before: number;
  /** Messages published over HTTP after the restart, before the clients are let back. */
  messages: number;
  /** How long the clients keep trying to get back, from the moment they are let go. */
  deadlineMs: number;
  /** A handshake with no answer after this long is given up and retried. */
  handshakeTimeoutMs: number;
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

/** MQTT fan-out (Roomcast only): N mqtt.js subscribers at `qos`, one JSON publisher. */
export interface MqttFanoutJob {
  scenario: "mqtt-fanout";
  endpoint: SystemEndpoint;
  subscribers: number;
  messages: number;
  qos: 0 | 1 | 2;
  timeoutMs: number;
}

/** Idle MQTT devices (Roomcast only), one PINGREQ each after the room was evicted. */
export interface MqttIdleJob {
  scenario: "mqtt-idle";
  endpoint: SystemEndpoint;
  devices: number;
  hibernateMs: number;
}

export type Job = FanoutJob | LatencyJob | ConnectJob | IdleJob | WaveJob | MqttFanoutJob | MqttIdleJob;

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
  /** The room of the burst, and when its first message was sent (ms since the epoch): a sink's throughput is measured from there. */
  room?: string;
  startedAt?: number;
  seconds: number;
  /** Delivered messages per second, first send to last delivery. */
  msgsPerSec: number;
  /**
   * CPU time of the server's process (workerd: the Worker and every object;
   * node-ws: its server) from the first send to the last delivery, per
   * delivered message, in µs (absent where /proc cannot be read).
   */
  runtimeCpuUsPerDelivery?: number;
  /** The same for the load process (the publisher and every subscriber). */
  clientCpuUsPerDelivery?: number;
  /**
   * Conflating readers only (scenarios/conflate.ts): the messages they got in
   * all. Then `expected`/`delivered`/`lost` count readers that had to end with
   * the burst's last message, `msgsPerSec` and the CPU are per message made
   * current at a reader (N × M).
   */
  conflatedDeliveries?: number;
}

export interface LatencyResult extends Delivery {
  subscribers: number;
  rate: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  /** The server process's CPU over the run per delivered message, in µs (at a steady rate each message is its own batch). */
  runtimeCpuUsPerDelivery?: number;
  /** p99 of every round of this point, in the order run (full mode runs several); the fields above are of the median round. */
  roundsP99Ms?: number[];
}

export interface ConnectResult {
  variant: ConnectVariant;
  sockets: number;
  concurrency: number;
  /** Sockets opened: `sockets`, or fewer when handshakes failed or the fill hit its time cap (the rate and frames are of this many). */
  opened: number;
  /** From the first handshake until the last socket is open. */
  seconds: number;
  upgradesPerSec: number;
  /** Handshakes that failed (each left out; the fill went on). */
  failed: number;
  /** The first failure's message, to start an investigation from. */
  firstError?: string;
  /** Frames the room sent to its sockets while it filled (welcomes and presence), summed over sockets. */
  frames: number;
  /** `frames / opened`. */
  framesPerSocket: number;
  /**
   * CPU time of the runtime process (workerd: the Worker and every object;
   * node-ws: its server) per socket opened, in µs, over the fill: what an
   * upgrade costs the server, whatever else the machine is doing meanwhile
   * (wall-clock rates also wait for the load process and the scheduler).
   */
  runtimeCpuUsPerUpgrade: number;
  /** The same for this load process: the handshake, and every frame the room sent while it filled. */
  clientCpuUsPerUpgrade: number;
  /** Upgrades/s of every round of this point, in the order run; the fields above are of the median round. */
  roundsUpgradesPerSec?: number[];
}

export interface WaveResult extends Delivery {
  sockets: number;
  messages: number;
  /** From letting the clients go until every one is back (Roomcast: resumed with recovered:true) and has every message; null if not all made it. */
  seconds: number | null;
  /** Clients back at the deadline (or at the end). */
  back: number;
  /** Welcomes with recovered:false to a client that asked to resume (each is a reconnect that did not resume). */
  notRecovered: number;
  /** Upgrades refused with 503 (retried after Retry-After). */
  refused503: number;
  /** Handshakes that failed otherwise (other status, connection error, closed before the welcome). */
  failed: number;
  /** Handshakes with no answer within the timeout. */
  timedOut: number;
  /** Handshake attempts in all (first tries and retries). */
  attempts: number;
  /** Clients dropped again after they were back (each reconnected and resumed). */
  dropped: number;
  /** CPU time of the runtime process from letting the clients go until all were back (absent when its pid is unknown). */
  runtimeCpuSeconds?: number;
  /** The same for the load process, which reads every frame the clients get. */
  clientCpuSeconds?: number;
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

export interface MqttFanoutResult extends FanoutResult {
  qos: 0 | 1 | 2;
}

export interface MqttIdleResult {
  devices: number;
  pingresps: number;
  /** Handler runs caused by the PINGREQs (constructions and `webSocketMessage` calls). */
  wakeups: number;
  evicted: boolean;
}

export type JobResult = FanoutResult | LatencyResult | ConnectResult | IdleResult | WaveResult | MqttFanoutResult | MqttIdleResult;
