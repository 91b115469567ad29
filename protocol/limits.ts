/**
 * The relay's limits, read from the vars in one place so that the Worker and
 * the Room agree. Every value has the default docs/security.md gives and is
 * validated once; a var that does not parse falls back to the default instead
 * of breaking rooms.
 */

import type { Rate } from "./token-bucket";

export interface Limits {
  /** Largest message payload, in bytes: WebSocket close 1009, HTTP 413. */
  maxMessageBytes: number;
  /** Token bucket per connection: refill rate and capacity. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** The same two, as the token bucket takes them. */
  publishRate: Rate;
  /** Consecutive dropped messages after which a connection is closed with 1008. */
  rateLimitStrikes: number;
  /** Sockets per room; past it the upgrade gets HTTP 503. */
  maxConnectionsPerRoom: number;
  /** Messages kept in a room's history. */
  historyLimit: number;
  /**
   * Slow consumers: a socket that was sent more than this many bytes while it
   * showed no sign of life (no frame, no ping) for `slowConsumerGraceMs` is
   * closed with 4008 and resumes. workerd has no `bufferedAmount`, so this is
   * how a client that stopped reading is kept from piling up the room's memory.
   */
  slowConsumerBytes: number;
  slowConsumerGraceMs: number;
  /**
   * Upgrades a room takes per second (and in a burst) before it answers
   * `503 room_busy` with `Retry-After`: a reconnect wave is spread, not queued.
   */
  joinRate: Rate;
  /** A resume with `subscribe` alone replays only messages this recent (ms); older ones need `history`. */
  resumeWindowMs: number;
  /**
   * An MQTT WebSocket whose CONNECT has not been accepted this long after
   * the upgrade is closed (1008): until then it holds no slot and is sent
   * nothing, so this bounds how long it occupies the room at all.
   */
  mqttConnectTimeoutMs: number;
  /**
   * How often a room with connections whose token could be revoked asks for
   * the revocation list (its alarm wakes it that often while such
   * connections are open): the longer, the later a revoked connection is
   * closed, the more the room hibernates (docs/security.md, Revocation).
   */
  revocationSweepMs: number;
  /**
   * The longest MQTT keep-alive a client may use, in seconds; 0: no cap.
   * A 5.0 client asking for more (or for none) is told this one in CONNACK
   * (Server Keep Alive) and held to it; a 3.1.1 client is held to its own.
   */
  mqttMaxKeepAliveSeconds: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 65536,
  rateLimitPerSecond: 50,
  rateLimitBurst: 100,
  publishRate: { perSecond: 50, burst: 100 },
  rateLimitStrikes: 50,
  maxConnectionsPerRoom: 10000,
  historyLimit: 1000,
  slowConsumerBytes: 2 * 1024 * 1024,
  slowConsumerGraceMs: 30_000,
  // A burst a room takes at once, then a steady rate: past them a wave is
  // told when to come back (Retry-After) before it can queue up. One object
  // takes about 2000-3400 plain upgrades a second locally, and about 1300
  // resumes that replay 100 messages each (docs/performance.md): a resume
  // that will replay m messages takes 1 + ceil(m / 40) tokens
  // (REPLAY_MESSAGES_PER_JOIN_TOKEN), so 8000 tokens a second is a little
  // above what the room takes either way, and the bucket refuses only what
  // the room could not have taken anyway. Joins that queued too long are
  // refused by JOIN_QUEUE_MAX_MS. (2000/s, the earlier default, was the
  // bound of a reconnect wave: 500 resumes a second, 11 s for 5000.)
  joinRate: { perSecond: 8000, burst: 2000 },
  resumeWindowMs: 120_000,
  mqttConnectTimeoutMs: 10_000,
  revocationSweepMs: 30_000,
  mqttMaxKeepAliveSeconds: 0,
});

/** The longest `MQTT_CONNECT_TIMEOUT_SECONDS` may set (the contract's bound: at most 30 s). */
export const MAX_MQTT_CONNECT_TIMEOUT_SECONDS = 30;

/**
 * Members up to which a room sends per-member presence `join`/`leave` frames;
 * past it, `count` frames instead (Pusher stops member events at 100 too).
 */
export const PRESENCE_EVENTS_MAX = 100;
/** Past PRESENCE_EVENTS_MAX, at most one `count` frame per socket per this many ms. */
export const PRESENCE_COUNT_INTERVAL_MS = 1000;
/** The longest `Retry-After` a busy room answers: a refused crowd is spread over at most this. */
export const MAX_RETRY_AFTER_SECONDS = 30;
/**
 * A resume that will replay m messages takes 1 + ceil(m / this) join
 * tokens: a reconnect wave of resumes is where a room has the most to send
 * at once, and its replays, not its handshakes, are most of the work.
 */
export const REPLAY_MESSAGES_PER_JOIN_TOKEN = 40;
/** A join that waited this long in the room's queue is answered `room_busy`: its client has likely given up. */
export const JOIN_QUEUE_MAX_MS = 3000;
/** `GET /rooms/:room/presence` page size without `limit`, and the largest `limit`. */
export const DEFAULT_PRESENCE_PAGE = 100;
export const MAX_PRESENCE_PAGE = 1000;

/**
 * Bytes of a room's newest messages kept in memory besides SQLite, so that
 * resumes are served without a query (durable-objects/recent.ts).
 */
export const RECENT_HISTORY_BYTES = 1024 * 1024;

/** Largest `limit` accepted by `GET /rooms/:room/messages`. */
export const MAX_HISTORY_PAGE = 1000;
/** `limit` used when `GET /rooms/:room/messages` has none. */
export const DEFAULT_HISTORY_PAGE = 100;
/**
 * Most bytes of envelopes in one page of `GET /messages` or `GET /retained`
 * (and in one RPC answer carrying either: the runtime refuses results past
 * 32 MiB). A page holds at least one envelope however large; the answer
 * says where to go on (the last envelope's seq, the `cursor`).
 */
export const READ_PAGE_BYTES = 4 * 1024 * 1024;
/** `GET /rooms/:room/retained` page size without `limit`, and the largest `limit`. */
export const DEFAULT_RETAINED_PAGE = 100;
export const MAX_RETAINED_PAGE = 1000;
/** SSE comment heartbeat period (docs/protocol.md, SSE): at least one every 30 s. */
export const SSE_HEARTBEAT_MS = 25_000;
/**
 * Deepest nesting of arrays/objects accepted in a published JSON payload (the
 * `data` of a frame or of an HTTP body; the wrapper object itself does not
 * count). Deeper JSON is refused before it is parsed: it would only ever be
 * an attack on whoever parses it next.
 */
export const MAX_JSON_DEPTH = 64;
/** Longest `meta` object a token may carry: one owner, protocol/claims.ts. */
export { MAX_META_BYTES } from "./claims";

export interface LimitVars {
  MAX_MESSAGE_BYTES?: string;
  RATE_LIMIT_PER_SECOND?: string;
  RATE_LIMIT_BURST?: string;
  MAX_CONNECTIONS_PER_ROOM?: string;
  HISTORY_LIMIT?: string;
  SLOW_CONSUMER_BYTES?: string;
  SLOW_CONSUMER_GRACE_SECONDS?: string;
  JOIN_RATE_PER_SECOND?: string;
  JOIN_RATE_BURST?: string;
  RESUME_WINDOW_SECONDS?: string;
  MQTT_CONNECT_TIMEOUT_SECONDS?: string;
  REVOCATION_SWEEP_SECONDS?: string;
  MQTT_MAX_KEEPALIVE_SECONDS?: string;
}

export function positiveInt(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

export function readLimits(vars: LimitVars): Limits {
  const rateLimitPerSecond = positiveInt(vars.RATE_LIMIT_PER_SECOND, DEFAULT_LIMITS.rateLimitPerSecond);
  const rateLimitBurst = positiveInt(vars.RATE_LIMIT_BURST, DEFAULT_LIMITS.rateLimitBurst);
  return {
    maxMessageBytes: positiveInt(vars.MAX_MESSAGE_BYTES, DEFAULT_LIMITS.maxMessageBytes),
    rateLimitPerSecond,
    rateLimitBurst,
    publishRate: { perSecond: rateLimitPerSecond, burst: rateLimitBurst },
    // "If it goes on": one second's worth of refused messages in a row.
    rateLimitStrikes: Math.max(rateLimitPerSecond, 10),
    maxConnectionsPerRoom: positiveInt(vars.MAX_CONNECTIONS_PER_ROOM, DEFAULT_LIMITS.maxConnectionsPerRoom),
    historyLimit: positiveInt(vars.HISTORY_LIMIT, DEFAULT_LIMITS.historyLimit),
    slowConsumerBytes: positiveInt(vars.SLOW_CONSUMER_BYTES, DEFAULT_LIMITS.slowConsumerBytes),
    slowConsumerGraceMs: positiveInt(vars.SLOW_CONSUMER_GRACE_SECONDS, DEFAULT_LIMITS.slowConsumerGraceMs / 1000) * 1000,
    joinRate: {
      perSecond: positiveInt(vars.JOIN_RATE_PER_SECOND, DEFAULT_LIMITS.joinRate.perSecond),
      burst: positiveInt(vars.JOIN_RATE_BURST, DEFAULT_LIMITS.joinRate.burst),
    },
    resumeWindowMs: positiveInt(vars.RESUME_WINDOW_SECONDS, DEFAULT_LIMITS.resumeWindowMs / 1000) * 1000,
    mqttConnectTimeoutMs:
      Math.min(positiveInt(vars.MQTT_CONNECT_TIMEOUT_SECONDS, DEFAULT_LIMITS.mqttConnectTimeoutMs / 1000), MAX_MQTT_CONNECT_TIMEOUT_SECONDS) * 1000,
    revocationSweepMs: positiveInt(vars.REVOCATION_SWEEP_SECONDS, DEFAULT_LIMITS.revocationSweepMs / 1000) * 1000,
    // MQTT's keep-alive is a two-byte number of seconds.
    mqttMaxKeepAliveSeconds: Math.min(positiveInt(vars.MQTT_MAX_KEEPALIVE_SECONDS, DEFAULT_LIMITS.mqttMaxKeepAliveSeconds), 65_535),
  };
}

/** How many objects a sharded room may be spread over (`SHARDS`: `PATTERN=K`, K in this range). */
export const MIN_SHARDS = 2;
export const MAX_SHARDS = 64;
