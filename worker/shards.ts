/**
 * The Worker's side of sharded rooms (durable-objects/shards/): which object
 * takes a new stream, the reads that span every object (presence, the
 * operator's connection list) and the kick sent to each. A room that is not
 * sharded is one object and none of this applies.
 */
import type { ConnectionInfo, ConnectionList, KickTarget, PresenceList, RoomDescription } from "../protocol";
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
  // Every shard answers (its count is part of the total); those before the cursor's need no page.
  const pages = (await Promise.all(
    all.map((s, i) => s.presenceList(i < at.shard ? 1 : limit, i === at.shard ? at.after : null)),
  )) as unknown as PresenceList[];
  const merged = mergePages(pages.map((p) => ({ items: p.clients, cursor: p.cursor })), at.shard, limit);
  const count = pages.reduce((n, p) => n + p.count, 0);
  return { room, count, clients: merged.items, cursor: merged.cursor };
}

/**
 * `GET /rooms/:room/connections` (the `admin` scope) over every object of the
 * room: in a sharded room its sequencer (the MQTT sockets) then each shard
 * (WebSockets and SSE), each in id order, with the same kind of cursor as
 * presence (`s<i>-<id>`, i counting the sequencer as 0).
 */
export async function connectionsAcross(env: Env, room: string, limit: number, cursor: string | null): Promise<ConnectionList> {
  const objects = everyObject(env, room);
  if (objects.length === 1) return { room, ...(await objects[0]!.connectionList(limit, cursor)) };
  const at = parseShardCursor(cursor);
  const pages = await Promise.all(objects.slice(at.shard).map((o, k) => o.connectionList(limit, k === 0 ? at.after : null)));
  const padded = [...Array.from({ length: at.shard }, () => ({ items: [], cursor: null })), ...pages.map((p) => ({ items: p.connections, cursor: p.cursor }))];
  const merged = mergePages<ConnectionInfo>(padded, at.shard, limit);
  return { room, connections: merged.items, cursor: merged.cursor };
}

/** `POST /rooms/:room/kick` on every object of the room (a sub may be on several): how many were closed. */
export async function kickAcross(env: Env, room: string, target: KickTarget): Promise<number> {
  const closed = await Promise.all(everyObject(env, room).map((o) => o.kick(target)));
  return closed.reduce((n, k) => n + k, 0);
}

/** The room's objects: its own, then its shards' (none when it is not sharded). */
export function everyObject(env: Env, room: string) {
  return [sequencer(env, room), ...shards(env, room)];
}

interface Page<T> {
  items: T[];
  cursor: string | null;
}

/**
 * Pages read from several objects (index-aligned, each in id order) as one
 * page of at most `limit`, from object `from` on: a cursor `s<i>-<id>` only
 * when anything is left, in object i or a later one. The one way a read that
 * spans objects pages.
 */
function mergePages<T extends { id: string }>(pages: Page<T>[], from: number, limit: number): Page<T> {
  const items: T[] = [];
  for (let i = from; i < pages.length; i++) {
    const page = pages[i]!;
    for (let k = 0; k < page.items.length; k++) {
      items.push(page.items[k]!);
      if (items.length < limit) continue;
      const more = k < page.items.length - 1 || page.cursor !== null || pages.slice(i + 1).some((p) => p.items.length > 0);
      return { items, cursor: more ? `s${i}-${page.items[k]!.id}` : null };
    }
  }
  return { items, cursor: null };
}

function parseShardCursor(cursor: string | null): { shard: number; after: string | null } {
  const match = cursor === null ? null : /^s(\d{1,2})-(.+)$/.exec(cursor);
  if (match === null) return { shard: 0, after: null };
  return { shard: Number(match[1]), after: match[2]! };
}
