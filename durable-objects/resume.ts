/**
 * Where a reader of a room that keeps its own history starts: what a resume
 * request may replay (history, the resume window, the `history` scope), and
 * what it costs to admit. A plain room and a sharded room's sequencer plan
 * with it; a shard asks its sequencer (shards/shard.ts).
 */
import { REPLAY_MESSAGES_PER_JOIN_TOKEN, type Limits } from "../protocol/limits";
import { hasScope, type Identity } from "../handoff/identity";
import type { History } from "./history";

export interface ResumePlan {
  recovered: boolean;
  /** The replay starts after this seq. */
  after: number;
}

/**
 * What a resume request may replay: everything after `since` if history
 * still holds it and, for a reader without `history`, only what the room
 * accepted in the resume window.
 */
export function planResume(history: History, limits: Limits, since: number | null, epoch: string | null, identity: Identity): ResumePlan {
  const none = { recovered: false, after: history.seq };
  const from = resumableFrom(history, since, epoch, history.seq);
  if (from === null) return none;
  if (from < history.seq && !hasScope(identity, "history")) {
    const first = history.store.firstSeqSince(from, Date.now() - limits.resumeWindowMs);
    if (first === null) return none;
    if (first > from + 1) return { recovered: false, after: first - 1 };
  }
  return { recovered: true, after: from };
}

/** Join tokens a join takes: one, and more for a resume with much to replay (REPLAY_MESSAGES_PER_JOIN_TOKEN). */
export function joinCost(history: History, since: number | null, epoch: string | null, pending: number): number {
  const newest = history.seq + pending;
  const from = resumableFrom(history, since, epoch, newest);
  if (from === null) return 1;
  // At most this many (the resume window may replay fewer): counted before any query.
  return 1 + Math.ceil((newest - from) / REPLAY_MESSAGES_PER_JOIN_TOKEN);
}

/**
 * `since` when history can resume from it: the room's epoch (or none
 * given), not past `newest`, and not older than history keeps; null when a
 * resume from it replays nothing. The checks that need no query.
 */
function resumableFrom(history: History, since: number | null, epoch: string | null, newest: number): number | null {
  if (since === null || since > newest) return null;
  if (epoch !== null && epoch !== history.epoch) return null;
  if (since + 1 < history.oldestSeq()) return null;
  return since;
}
