/**
 * How a Room takes its part in a sharded room: the hosts it gives the
 * sequencer's ShardFanout and a shard's ShardLink, and the answers to the
 * shards' RPCs. The RPC methods themselves stay on Room (workerd dispatches
 * RPC on the class) and only delegate here.
 */
import type { History } from "../history";
import type { Sequencing } from "../publish/sequencing";
import type { RetainedMessage } from "../retained-store";
import type { SocketFanout } from "../fanout";
import { planResume } from "../resume";
import type { StoredMessage } from "../store";
import type { Limits } from "../../protocol/limits";
import { shardName } from "./config";
import type { ShardPresence } from "./presence";
import type { SequencerHost, ShardFanout, ShardTarget } from "./sequencer";
import { CATCH_UP_PAGE, type SequencerTarget, type ShardHost } from "./shard";
import { countWithin, type ForwardedPublish, type OpenAnswer, type OpenRequest } from "./wire";

/** The Room object of `name` (a room or one of its shards), typed as the caller talks to it. */
export function roomStub<T>(env: Env, name: string): T {
  return env.ROOM.get(env.ROOM.idFromName(name)) as unknown as T;
}

/** What a shard reads of its sequencer's retained values for a new reader. */
export interface RetainedSource {
  retainedPage(topics: string[] | null, after: number, limit: number, maxBytes: number): Promise<{ rows: RetainedMessage[]; more: boolean }>;
}

export function sequencerHost(room: string, env: Env, history: History): SequencerHost {
  return {
    name: room,
    store: history.store,
    position: () => ({ seq: history.seq, epoch: history.epoch }),
    persist: () => history.persist(),
    shard: (index) => roomStub<ShardTarget>(env, shardName(room, index)),
  };
}

/** What a shard's host is made of (the Room's parts, as roles.ts holds them). */
export interface ShardParts {
  env: Env;
  history: History;
  fanout: SocketFanout;
  members(): number;
  shed(ws: WebSocket, code: number, reason: string): void;
}

export function shardHost(room: string, index: number, parts: ShardParts, roomWide: ShardPresence): ShardHost {
  let sequencer: SequencerTarget | null = null;
  return {
    name: shardName(room, index),
    index,
    store: parts.history.store,
    // One stub for the whole wake: calls on one stub arrive in the order they were made.
    sequencer: () => (sequencer ??= roomStub<SequencerTarget>(parts.env, room)),
    deliver: (messages) => parts.fanout.deliver(messages),
    members: parts.members,
    setOthers: (n) => roomWide.setOthers(n),
    shed: parts.shed,
  };
}

/** What the sequencer answers its shards with. */
export interface SequencerParts {
  history: History;
  limits: Limits;
  sequencing: Sequencing;
  shards: ShardFanout;
}

/** Room.shardOpen: registers the shard, plans the reader's resume and sends its first replay page. */
export function openForShard({ history, limits, sequencing, shards }: SequencerParts, request: OpenRequest): OpenAnswer {
  sequencing.flush();
  const fresh = shards.register(request.index);
  const plan = planResume(history, limits, request.since, request.epoch, request.identity);
  const rows: StoredMessage[] = [];
  let bytes = 0;
  const complete =
    request.since === null ||
    history.replay(plan.after, (row) => {
      if (bytes > 0 && bytes + row.envelope.length > request.budget) return false;
      bytes += row.envelope.length;
      rows.push(row);
      return true;
    });
  const others = shards.othersThan(request.index);
  return { seq: history.seq, epoch: history.epoch, recovered: plan.recovered, after: plan.after, rows, complete, fresh, others };
}

/**
 * Room.shardPublish: the shard already ran the publish pipeline (hooks
 * included); here the messages only get their seqs, which leave once the
 * batch is committed.
 */
export function publishForShard({ sequencing }: SequencerParts, publishes: ForwardedPublish[]): number[] {
  const seqs: number[] = [];
  publishes.forEach((p, k) => {
    sequencing.sequence(p.input, { sender: null, echo: p.echo, origin: p.origin }, (verdict) => {
      seqs[k] = verdict.ok ? verdict.seq : 0;
    });
  });
  sequencing.flush();
  return seqs;
}

/** Room.shardRange: history a shard missed, `after < seq <= upTo`, a page at a time. */
export function rangeForShard({ history, sequencing }: SequencerParts, after: number, upTo: number): StoredMessage[] {
  sequencing.flush();
  const limit = Math.max(0, Math.min(CATCH_UP_PAGE, upTo - after));
  const rows = history.store.range(after, history.oldestSeq(), limit).filter((row) => row.seq <= upTo);
  // Within one RPC's bound: the shard asks again from where this page ends.
  return rows.slice(0, countWithin(rows, (r) => r.envelope.length));
}
