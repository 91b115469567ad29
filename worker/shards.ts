/**
 * The Worker's side of sharded rooms (durable-objects/shards/): which object
 * takes a new stream, and the two reads that span every shard. A room that is
 * not sharded is one object and none of this applies.
 */
import type { PresenceClient, PresenceList, RoomDescription } from "../protocol";
import { shardCount, shardName } from "../durable-objects/shards/config";

/** Upgrades are spread round-robin: a client that reconnects lands on another shard than before. */
let nextShard = 0;

function object(env: Env, name: string) {
  return env.ROOM.get(env.ROOM.idFromName(name));
}

/** The room's sequencer: the room's own object, sharded or not (publishes, history, describe). */
export function sequencer(env: Env, room: string) {
  return object(env, room);
}

/** Where a WebSocket or SSE stream of `room` opens: a shard when the room is sharded. */
export function streamObject(env: Env, room: string) {
  const count = shardCount(room, env);
  if (count === 1) return object(env, room);
  nextShard = (nextShard + 1) % count;
  return object(env, shardName(room, nextShard));
}

export function shardObject(env: Env, room: string, index: number) {
  return object(env, shardName(room, index));
}

function shards(env: Env, room: string) {
  const count = shardCount(room, env);
  return Array.from({ length: count > 1 ? count : 0 }, (_, i) => object(env, shardName(room, i)));
}

/** `GET /rooms/:room`: seq and epoch from the sequencer; connections summed over the shards. */
export async function describeRoom(env: Env, room: string): Promise<RoomDescription> {
  const [head, ...parts] = await Promise.all([sequencer(env, room).describe(), ...shards(env, room).map((s) => s.describe())]);
  return { ...head, connections: parts.reduce((n, p) => n + p.connections, head.connections) };
}

/**
 * `GET /rooms/:room/presence` over the shards: shard by shard, each in
 * connection-id order. A cursor `s<i>-<id>` says: shard i, after id.
 */
export async function presenceAcross(env: Env, room: string, limit: number, cursor: string | null): Promise<PresenceList> {
  const all = shards(env, room);
  if (all.length === 0) return sequencer(env, room).presenceList(limit, cursor);
  const at = parseShardCursor(cursor);
  const pages = (await Promise.all(
    all.map((s, i) => s.presenceList(i < at.shard ? 1 : limit, i === at.shard ? at.after : null)),
  )) as unknown as PresenceList[];
  const clients: PresenceClient[] = [];
  let next: string | null = null;
  for (let i = at.shard; i < pages.length && next === null; i++) {
    const page = pages[i]!;
    for (let k = 0; k < page.clients.length; k++) {
      clients.push(page.clients[k]!);
      if (clients.length < limit) continue;
      // Full: a cursor only if anything is left, here or in a later shard.
      const more = k < page.clients.length - 1 || page.cursor !== null || pages.slice(i + 1).some((p) => p.clients.length > 0);
      if (more) next = `s${i}-${page.clients[k]!.id}`;
      break;
    }
    if (clients.length === limit) break;
  }
  const count = pages.reduce((n, p) => n + p.count, 0);
  return { room, count, clients, cursor: next };
}

function parseShardCursor(cursor: string | null): { shard: number; after: string | null } {
  const match = cursor === null ? null : /^s(\d{1,2})-(.+)$/.exec(cursor);
  if (match === null) return { shard: 0, after: null };
  return { shard: Number(match[1]), after: match[2]! };
}
