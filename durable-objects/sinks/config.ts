/**
 * The `SINKS` var (docs/integrations.md): where committed messages leave the
 * room, and the bounds of what a sink may fall behind. Parsed once per Room
 * construction; a config that does not parse is an error that names the
 * entry and the field, never a sink silently left out (a missing sink would
 * lose data without a word).
 */
import { positiveInt } from "../../protocol/limits";
import { parseTopicList } from "../../protocol/topics";

export type SinkTarget = { kind: "webhook"; url: string } | { kind: "queue"; binding: string };

export interface SinkRoute {
  /** Stable name of the sink, its key in the outbox: `webhook:<url>` or `queue:<binding>`. */
  name: string;
  /** Topic filters: a message is routed when its topic matches one (a message without a topic never is). */
  match: string[];
  target: SinkTarget;
}

export interface SinkBounds {
  /** Messages a sink may have pending before new ones are dropped (and counted, logged, announced). */
  maxPendingMessages: number;
  /** Envelope bytes a sink may have pending, likewise. */
  maxPendingBytes: number;
  /** First retry after this; each next one waits twice as long, up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A webhook request not answered in this long is abandoned and retried. */
  timeoutMs: number;
}

export interface SinkConfig {
  routes: SinkRoute[];
  bounds: SinkBounds;
}

export const DEFAULT_SINK_BOUNDS: Readonly<SinkBounds> = Object.freeze({
  maxPendingMessages: 10_000,
  maxPendingBytes: 8 * 1024 * 1024,
  retryBaseMs: 1000,
  retryMaxMs: 60_000,
  timeoutMs: 10_000,
});

/** The contract: the first retry comes within 5 s, and a request is abandoned after at most 10 s. */
const MAX_RETRY_BASE_MS = 5000;
const MAX_TIMEOUT_MS = 10_000;

/** The vars sinks read, as the Env declares them (worker-secrets.d.ts). */
export type SinkVars = Pick<Env, "SINKS" | "WEBHOOK_SECRET" | "SINK_MAX_PENDING_MESSAGES" | "SINK_MAX_PENDING_BYTES" | "SINK_RETRY_BASE_MS" | "SINK_RETRY_MAX_MS" | "SINK_TIMEOUT_MS">;

export class SinkConfigError extends Error {
  override name = "SinkConfigError";
}

/** Reads `SINKS` and the bounds; throws SinkConfigError with the entry and field at fault. */
export function readSinkConfig(vars: SinkVars, env: object): SinkConfig {
  const retryBaseMs = Math.min(positiveInt(vars.SINK_RETRY_BASE_MS, DEFAULT_SINK_BOUNDS.retryBaseMs), MAX_RETRY_BASE_MS);
  const bounds: SinkBounds = {
    maxPendingMessages: positiveInt(vars.SINK_MAX_PENDING_MESSAGES, DEFAULT_SINK_BOUNDS.maxPendingMessages),
    maxPendingBytes: positiveInt(vars.SINK_MAX_PENDING_BYTES, DEFAULT_SINK_BOUNDS.maxPendingBytes),
    retryBaseMs,
    retryMaxMs: Math.max(retryBaseMs, positiveInt(vars.SINK_RETRY_MAX_MS, DEFAULT_SINK_BOUNDS.retryMaxMs)),
    timeoutMs: Math.min(positiveInt(vars.SINK_TIMEOUT_MS, DEFAULT_SINK_BOUNDS.timeoutMs), MAX_TIMEOUT_MS),
  };
  const raw = vars.SINKS?.trim() ?? "";
  if (raw === "") return { routes: [], bounds };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new SinkConfigError(`SINKS is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new SinkConfigError("SINKS must be a JSON array of {match, webhook | queue}");
  const routes = parsed.map((entry, i) => readRoute(entry, i, env));
  const names = new Set<string>();
  for (const r of routes) {
    if (names.has(r.name)) throw new SinkConfigError(`SINKS: ${r.name} appears twice (one entry per target; join its filters in "match")`);
    names.add(r.name);
  }
  if (routes.some((r) => r.target.kind === "webhook") && !vars.WEBHOOK_SECRET) {
    throw new SinkConfigError("SINKS has a webhook but the WEBHOOK_SECRET secret is not set (its bodies are signed with it)");
  }
  return { routes, bounds };
}

function readRoute(entry: unknown, i: number, env: object): SinkRoute {
  const at = `SINKS[${i}]`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new SinkConfigError(`${at} must be an object`);
  const e = entry as Record<string, unknown>;
  const unknownKeys = Object.keys(e).filter((k) => k !== "match" && k !== "webhook" && k !== "queue");
  if (unknownKeys.length > 0) throw new SinkConfigError(`${at}: unknown field ${JSON.stringify(unknownKeys[0])} (allowed: match, webhook, queue)`);
  if (typeof e.match !== "string") throw new SinkConfigError(`${at}.match must be a string of comma-separated topic filters`);
  const match = parseTopicList(e.match);
  if (!match.ok) throw new SinkConfigError(`${at}.match: ${match.message}`);
  if ((e.webhook === undefined) === (e.queue === undefined)) throw new SinkConfigError(`${at} needs exactly one of "webhook" or "queue"`);
  if (e.webhook !== undefined) {
    if (typeof e.webhook !== "string" || !/^https?:\/\//i.test(e.webhook) || !URL.canParse(e.webhook)) {
      throw new SinkConfigError(`${at}.webhook must be an http(s) URL`);
    }
    return { name: `webhook:${e.webhook}`, match: match.value, target: { kind: "webhook", url: e.webhook } };
  }
  if (typeof e.queue !== "string" || e.queue === "") throw new SinkConfigError(`${at}.queue must name a Queue producer binding`);
  const binding = (env as Record<string, unknown>)[e.queue];
  if (typeof (binding as Queue | undefined)?.sendBatch !== "function") {
    throw new SinkConfigError(`${at}.queue: no Queue producer binding ${JSON.stringify(e.queue)} in this Worker (wrangler.toml [[queues.producers]])`);
  }
  return { name: `queue:${e.queue}`, match: match.value, target: { kind: "queue", binding: e.queue } };
}
