/**
 * How a Room takes its part in a sharded room: the hosts it gives the
 * sequencer's ShardFanout and a shard's ShardLink, and the answers to the
 * shards' RPCs. The RPC methods themselves stay on Room (workerd dispatches
 * RPC on the class) and only delegate here.
 */
import type { RoomInternals } from "../room-internals";
import type { StoredMessage } from "../store";
import { shardName } from "./config";
import type { ShardPresence } from "./presence";
import type { SequencerHost, ShardFanout, ShardTarget } from "./sequencer";
import { CATCH_UP_PAGE, type SequencerTarget, type ShardHost } from "./shard";
import type { ForwardedPublish, OpenAnswer, OpenRequest } from "./wire";

/** The Room object of `name` (a room or one of its shards), typed as the caller talks to it. */
export function roomStub<T>(env: Env, name: string): T {
  return env.ROOM.get(env.ROOM.idFromName(name)) as unknown as T;
}

export function sequencerHost(room: RoomInternals): SequencerHost {
  return {
    name: room.name,
    store: room.store,
    position: () => room.position(),
    persist: () => room.persist(),
    shard: (index) => roomStub<ShardTarget>(room.env, shardName(room.name, index)),
  };
}

export function shardHost(room: RoomInternals, index: number, roomWide: ShardPresence | null): ShardHost {
  let sequencer: SequencerTarget | null = null;
  return {
    name: shardName(room.name, index),
    index,
    store: room.store,
    // One stub for the whole wake: calls on one stub arrive in the order they were made.
    sequencer: () => (sequencer ??= roomStub<SequencerTarget>(room.env, room.name)),
    deliver: (messages) => room.fanOut(messages),
    members: () => room.members(),
    setOthers: (n) => roomWide?.setOthers(n),
    shed: (ws, code, reason) => room.shed(ws, code, reason),
  };
}

/** Room.shardOpen: registers the shard, plans the reader's resume and sends its first replay page. */
export function openForShard(room: RoomInternals, fanout: ShardFanout | null, request: OpenRequest): OpenAnswer {
  room.flush();
  const fresh = requireFanout(room, fanout).register(request.index);
  const plan = room.planResume(request.since, request.epoch, request.identity);
  const rows: StoredMessage[] = [];
  let bytes = 0;
  const complete =
    request.since === null ||
    room.replay(plan.after, (row) => {
      if (bytes > 0 && bytes + row.envelope.length > request.budget) return false;
      bytes += row.envelope.length;
      rows.push(row);
      return true;
    });
  const others = requireFanout(room, fanout).othersThan(request.index);
  const { seq, epoch } = room.position();
  return { seq, epoch, recovered: plan.recovered, after: plan.after, rows, complete, fresh, others };
}

/** Room.shardPublish: the seqs (for the acks) leave once the batch is committed. */
export function publishForShard(room: RoomInternals, fanout: ShardFanout | null, publishes: ForwardedPublish[]): number[] {
  requireFanout(room, fanout);
  const seqs = publishes.map((p) => room.accept(p.input, null, p.echo, p.origin));
  room.flush();
  return seqs;
}

/** Room.shardRange: history a shard missed, `after < seq <= upTo`, a page at a time. */
export function rangeForShard(room: RoomInternals, after: number, upTo: number): StoredMessage[] {
  room.flush();
  const limit = Math.max(0, Math.min(CATCH_UP_PAGE, upTo - after));
  return room.store.range(after, room.oldestSeq(), limit).filter((row) => row.seq <= upTo);
}

export function requireFanout(room: RoomInternals, fanout: ShardFanout | null): ShardFanout {
  if (fanout === null) throw new Error(`room ${room.name} is not sharded`);
  return fanout;
}
