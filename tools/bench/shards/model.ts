/**
 * The cost model of docs/scale.md, as code: from what one sequencer and one
 * shard do per message (measured locally by the `shards` scenario) and the
 * platform's published limits, how many readers at what message rate a room
 * of K shards holds. Every assumption is a named constant here, and the doc
 * states the same ones.
 */

/** Published platform limits (Cloudflare Durable Objects docs, 2026). */
export const PLATFORM = {
  /** Hibernatable WebSockets one object may hold. */
  socketsPerObject: 32_768,
  /** Soft limit of requests (RPCs, fetches, WebSocket messages in) one object serves per second. */
  requestsPerObjectPerSecond: 1000,
  /** Shards a room may have (SHARDS: K from 2 to 64). */
  maxShards: 64,
};

/** What one measured run says about the per-message work. */
export interface MeasuredCosts {
  /** Frames one object sends per second (fan-out throughput of one object, locally). */
  framesPerObjectPerSecond: number;
  /** Messages per sequencer batch (more under load: the batch is one turn of the event loop). */
  messagesPerBatch: number;
  /** Pushes per batch per shard (≤ 1: pushes in flight gather the next batches). */
  pushesPerBatchPerShard: number;
}

export interface Projection {
  readers: number;
  shards: number;
  /** Sockets each shard holds. */
  readersPerShard: number;
  /** Whether the shards can hold the readers at all (the per-object socket limit). */
  fits: boolean;
  /** Messages per second the shards can fan out to all readers. */
  fanoutRate: number;
  /** Messages per second the sequencer can take: publishes in, pushes out, under the request limit. */
  sequencerRate: number;
  /** The room's message rate: the smaller of the two. */
  messageRate: number;
  /** Which side limits it. */
  bound: "fan-out" | "sequencer" | "sockets";
}

/**
 * One room of `shards` objects with `readers` readers.
 * - Fan-out: each shard sends every message to readers/K sockets, so the rate
 *   is framesPerObject × K / readers (shards run in parallel on the platform).
 * - Sequencer: each message is one request in (a publish; forwarded publishes
 *   arrive batched, counted as one each, the worst case), and each batch costs
 *   pushesPerBatchPerShard × K requests out: requests per message =
 *   1 + K × pushesPerBatchPerShard / messagesPerBatch, under the request limit.
 * Unsharded (shards = 1) the room is one object doing both.
 */
export function project(readers: number, shards: number, costs: MeasuredCosts): Projection {
  const readersPerShard = Math.ceil(readers / shards);
  const fits = readersPerShard <= PLATFORM.socketsPerObject;
  const fanoutRate = (costs.framesPerObjectPerSecond * shards) / readers;
  const perMessage = shards === 1 ? 1 : 1 + (shards * costs.pushesPerBatchPerShard) / Math.max(1, costs.messagesPerBatch);
  const sequencerRate = PLATFORM.requestsPerObjectPerSecond / perMessage;
  const messageRate = fits ? Math.min(fanoutRate, sequencerRate) : 0;
  const bound = !fits ? "sockets" : fanoutRate <= sequencerRate ? "fan-out" : "sequencer";
  return { readers, shards, readersPerShard, fits, fanoutRate: round(fanoutRate), sequencerRate: round(sequencerRate), messageRate: round(messageRate), bound };
}

/** The fewest shards that hold `readers` sockets. */
export function minimumShards(readers: number): number {
  return Math.max(1, Math.ceil(readers / PLATFORM.socketsPerObject));
}

const round = (x: number) => (x >= 100 ? Math.round(x) : Math.round(x * 10) / 10);
