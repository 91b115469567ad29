/**
 * Which rooms are sharded, and how their objects are named. The SHARDS var is
 * comma-separated `PATTERN=K` entries: PATTERN is a room name, or a prefix
 * ending in `*`; K from 2 to 64. The first entry that matches wins; an entry
 * that does not parse is ignored (as a limit that does not parse falls back
 * to its default), so a typo never takes rooms down.
 *
 * A sharded room `r` is one sequencer, the object named `r` (the room as it
 * is unsharded: seq, epoch, history, idempotency), and K shard objects named
 * `r#0` … `r#(K-1)` that hold the sockets. `#` is outside the room-name
 * alphabet, so no client-chosen room can ever name a shard.
 */

import { MAX_SHARDS, MIN_SHARDS } from "../../protocol/limits";

export { MAX_SHARDS, MIN_SHARDS };
const SEPARATOR = "#";

export interface ShardVars {
  SHARDS?: string;
}

interface Rule {
  pattern: string;
  prefix: boolean;
  count: number;
}

/** The var is the same on every request of an isolate: parsed once, not per join. */
let parsed: { raw: string | undefined; rules: Rule[] } | null = null;

function rulesOf(raw: string | undefined): Rule[] {
  if (parsed === null || parsed.raw !== raw) parsed = { raw, rules: parseRules(raw) };
  return parsed.rules;
}

function parseRules(raw: string | undefined): Rule[] {
  if (raw === undefined) return [];
  const rules: Rule[] = [];
  for (const entry of raw.split(",")) {
    const eq = entry.lastIndexOf("=");
    if (eq <= 0) continue;
    const pattern = entry.slice(0, eq).trim();
    const count = Number(entry.slice(eq + 1).trim());
    if (pattern === "" || !Number.isInteger(count) || count < MIN_SHARDS || count > MAX_SHARDS) continue;
    const prefix = pattern.endsWith("*");
    rules.push({ pattern: prefix ? pattern.slice(0, -1) : pattern, prefix, count });
  }
  return rules;
}

/** How many shards `room` is spread over; 1 for a room that is not sharded. */
export function shardCount(room: string, vars: ShardVars): number {
  for (const rule of rulesOf(vars.SHARDS)) {
    if (rule.prefix ? room.startsWith(rule.pattern) : room === rule.pattern) return rule.count;
  }
  return 1;
}

/** The object name of shard `index` of `room`. */
export function shardName(room: string, index: number): string {
  return `${room}${SEPARATOR}${index}`;
}

/** What a Room object is, from its name and the SHARDS var. */
export type ShardRole =
  | { kind: "single"; room: string }
  | { kind: "sequencer"; room: string; count: number }
  | { kind: "shard"; room: string; index: number; count: number };

export function shardRole(objectName: string, vars: ShardVars): ShardRole {
  const at = objectName.lastIndexOf(SEPARATOR);
  if (at < 0) {
    const count = shardCount(objectName, vars);
    return count > 1 ? { kind: "sequencer", room: objectName, count } : { kind: "single", room: objectName };
  }
  const room = objectName.slice(0, at);
  return { kind: "shard", room, index: Number(objectName.slice(at + 1)), count: shardCount(room, vars) };
}
