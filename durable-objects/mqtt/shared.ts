/**
 * Shared subscriptions (`$share/<group>/<filter>`, MQTT 5 §4.8.2): each
 * message matching a group's filter goes to ONE of the group's members in
 * the room, the pattern backend consumers use to split a stream.
 *
 * Where the choice is made: the core's fan-out offers each live message to
 * every MQTT socket whose filters match (a shared subscription matches on
 * its inner filter). A member does not send it then; it puts itself down as
 * a candidate (`offer`). After the batch (`settle`), each (message, group)
 * goes to one candidate, taken round-robin per group, once per message, with
 * no walk over the room's sockets. Members that are behind (a returning
 * session, a full Receive Maximum window) are served from history, where
 * shared subscriptions do not apply, so they are not candidates: the
 * message goes to a member that is live. In a sharded room MQTT connections
 * are the sequencer's, so the group is the whole room.
 */
import type { OutboundMessage } from "../adapters/adapter";
import type { GrantedSubscription } from "./subscribe-rules";
import { matchFilter, SHARE_PREFIX } from "./share-name";
import { topicMatches } from "../../protocol/topics";

export function isShared(s: GrantedSubscription): boolean {
  return s.filter.startsWith(SHARE_PREFIX);
}

/** The shared subscriptions of `subs` that `topic` matches, one per group (the highest QoS if a client is in a group twice). */
export function sharedMatches(subs: readonly GrantedSubscription[], topic: string): GrantedSubscription[] {
  let out: GrantedSubscription[] | null = null;
  for (const s of subs) {
    if (!isShared(s)) continue;
    if (!topicMatches(matchFilter(s.filter), topic)) continue;
    (out ??= []).push(s);
  }
  return out ?? [];
}

interface Candidate {
  ws: WebSocket;
  sub: GrantedSubscription;
}

/** Per room (by name): this batch's candidates per message and group, and each group's round-robin position. */
interface RoomShares {
  pending: Map<OutboundMessage, Map<string, Candidate[]>>;
  turn: Map<string, number>;
}

const rooms = new Map<string, RoomShares>();

function sharesOf(room: string): RoomShares {
  let r = rooms.get(room);
  if (r === undefined) rooms.set(room, (r = { pending: new Map(), turn: new Map() }));
  return r;
}

/** `ws` is a live member of `sub`'s group for `m`. */
export function offer(room: string, m: OutboundMessage, ws: WebSocket, sub: GrantedSubscription): void {
  const r = sharesOf(room);
  let groups = r.pending.get(m);
  if (groups === undefined) r.pending.set(m, (groups = new Map()));
  const key = sub.filter; // `$share/<group>/<filter>`: one group per share name
  const list = groups.get(key);
  if (list === undefined) groups.set(key, [{ ws, sub }]);
  else list.push({ ws, sub });
}

/**
 * After a batch: each (message, group) to one candidate, in seq order.
 * `send` answers whether the candidate took it (false: its window is full or
 * it is gone; the next candidate is tried).
 */
export function settle(room: string, send: (ws: WebSocket, m: OutboundMessage, sub: GrantedSubscription) => boolean): void {
  const r = rooms.get(room);
  if (r === undefined || r.pending.size === 0) return;
  const batch = [...r.pending].sort(([a], [b]) => a.seq - b.seq);
  r.pending.clear();
  for (const [m, groups] of batch) {
    for (const [key, candidates] of groups) {
      const start = r.turn.get(key) ?? 0;
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[(start + i) % candidates.length]!;
        if (send(c.ws, m, c.sub)) break;
      }
      r.turn.set(key, (start + 1) % 1_000_000);
    }
  }
}
