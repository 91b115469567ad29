/**
 * Who is in a room, at a cost that does not grow with the room on a join.
 *
 * - The member count is kept in memory: walked from the runtime's socket list
 *   once per wake, when first needed (never per join), then moved by one on
 *   every join and leave.
 * - Up to PRESENCE_EVENTS_MAX members, every join and leave is a per-member
 *   frame to the sockets (and SSE streams) that take presence, as in v1.
 *   Past it, those get `{"event":"count"}` frames instead, coalesced to at
 *   most one per PRESENCE_COUNT_INTERVAL_MS, and only when the count moved:
 *   filling a room of n costs O(n) frames, not O(n^2).
 * - The member list (GET /presence) is read from the attachments only when
 *   asked for, one page at a time.
 * - A socket accepted as not yet a member (Attachment.pending: an MQTT
 *   socket without a token, until its CONNECT is accepted) is counted
 *   apart (`waiting`), never in the member count, the list or a frame; it
 *   joins when the room seats it (`admitted`).
 * - In a shard of a sharded room (shards/), joins and leaves are handed to the
 *   room-wide side instead, which counts across the shards and sends back the
 *   frames every shard relays; the threshold applies to the whole room.
 */
import type { PresenceClient, PresenceCountFrame, PresenceEvent, PresenceFrame } from "../protocol";
import { PRESENCE_COUNT_INTERVAL_MS, PRESENCE_EVENTS_MAX } from "../protocol/limits";
import { ADAPTERS } from "./adapters";
import { ssePresence, type SseHub } from "./adapters/sse";
import { attachmentOf, safeSend, TAG_PENDING, TAG_PRESENCE, type Attachment } from "./sockets";

/** The rest of a sharded room, as a shard's Presence sees it (shards/presence.ts). */
export interface RoomWide {
  /** Members in the other shards, as last told. */
  others(): number;
  /** A local join or leave (its count is this shard's): the room-wide side decides what every shard sends. */
  changed(frame: PresenceFrame): void;
}

/**
 * Coalesced `count` frames: at most one per PRESENCE_COUNT_INTERVAL_MS, and
 * only when the count moved since the last one sent.
 */
export class CountTicker {
  private lastSent: number | null = null;
  private lastAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly current: () => number,
    private readonly send: (frame: PresenceCountFrame) => void,
  ) {}

  poke(): void {
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastAt + PRESENCE_COUNT_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const count = this.current();
      if (count === this.lastSent) return;
      this.lastSent = count;
      this.lastAt = Date.now();
      this.send({ type: "presence", event: "count", count });
    }, wait);
  }
}

export interface PresencePage {
  count: number;
  clients: PresenceClient[];
  cursor: string | null;
}

export class Presence {
  /** Open WebSockets that are members; null until first needed in this wake. */
  private members: number | null = null;
  /** Open pending sockets (not members yet); null until first needed in this wake. */
  private pending: number | null = null;
  private readonly ticker = new CountTicker(
    () => this.count(),
    (frame) => this.broadcast(frame, null),
  );

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sse: SseHub,
    private readonly roomWide: RoomWide | null = null,
  ) {}

  /** Open WebSockets in the room that are members (not pending), leaving out `leaving` when it is still listed. */
  count(leaving?: WebSocket): number {
    if (this.members === null) {
      let n = 0;
      for (const ws of this.ctx.getWebSockets()) if (ws !== leaving && ws.readyState === WebSocket.OPEN) n++;
      this.members = n - this.walkPending(leaving);
    }
    return this.members;
  }

  /**
   * Open sockets that are not members yet (Attachment.pending: an MQTT
   * socket before its CONNECT): bounded on their own, as they hold no slot.
   */
  waiting(leaving?: WebSocket): number {
    this.pending ??= this.walkPending(leaving);
    return this.pending;
  }

  /** `ws` was just accepted (it is already in the runtime's list); a pending one is counted apart and announced when admitted. */
  joined(ws: WebSocket, who: Attachment): number {
    if (who.pending) {
      // A first count in this wake walks the list, which already holds `ws`.
      this.pending = this.pending === null ? this.walkPending() : this.pending + 1;
      return this.count() + (this.roomWide?.others() ?? 0);
    }
    const count = this.members === null ? this.count() : ++this.members;
    this.announce({ type: "presence", event: "join", id: who.id, meta: who.meta, count }, ws);
    return count + (this.roomWide?.others() ?? 0);
  }

  /** A pending socket became a member (its `pending` already cleared and saved): it joins now. */
  admitted(ws: WebSocket, who: Attachment): void {
    if (this.pending !== null) this.pending = Math.max(0, this.pending - 1);
    const count = this.members === null ? this.count() : ++this.members;
    this.announce({ type: "presence", event: "join", id: who.id, meta: who.meta, count }, ws);
  }

  /** `ws` closed, or the room closed it. Call once per socket (see Attachment.closing). */
  left(ws: WebSocket, who: Attachment): void {
    if (who.pending) {
      // Never announced, never counted as a member: only the pending count moves.
      this.pending = this.pending === null ? this.walkPending(ws) : Math.max(0, this.pending - 1);
      return;
    }
    const count = this.members === null ? this.count(ws) : (this.members = Math.max(0, this.members - 1));
    this.announce({ type: "presence", event: "leave", id: who.id, meta: who.meta, count }, ws);
  }

  /** Open pending sockets but `leaving`: only TAG_PENDING sockets' attachments are read (an admitted one keeps its tag). */
  private walkPending(leaving?: WebSocket): number {
    let n = 0;
    for (const ws of this.ctx.getWebSockets(TAG_PENDING)) {
      if (ws !== leaving && ws.readyState === WebSocket.OPEN && attachmentOf(ws).pending) n++;
    }
    return n;
  }

  private announce(frame: PresenceFrame, subject: WebSocket): void {
    if (this.roomWide !== null) this.roomWide.changed(frame);
    else if (frame.count <= PRESENCE_EVENTS_MAX) this.broadcast(frame, subject);
    else this.ticker.poke();
  }

  /** Frames decided for the whole sharded room: to this shard's presence sockets (but a join's or leave's own) and SSE. */
  relay(frames: readonly PresenceEvent[]): void {
    if (frames.length === 0) return;
    const sockets = this.ctx.getWebSockets(TAG_PRESENCE);
    for (const frame of frames) {
      const text = ADAPTERS.json.presence(frame)!;
      // Per-member frames exist only while the room is small, so reading ids here stays cheap.
      const subject = frame.event === "count" ? null : frame.id;
      for (const ws of sockets) if (subject === null || attachmentOf(ws).id !== subject) safeSend(ws, text);
      this.sse.broadcast(ssePresence(text), "presence");
    }
  }

  /** One frame per adapter, to every socket that takes presence but `subject`, and to SSE. */
  private broadcast(event: PresenceEvent, subject: WebSocket | null): void {
    const text = ADAPTERS.json.presence(event)!;
    for (const ws of this.ctx.getWebSockets(TAG_PRESENCE)) if (ws !== subject) safeSend(ws, text);
    this.sse.broadcast(ssePresence(text), "presence");
  }

  /** One page of members, ordered by connection id; `cursor` is the last id of the previous page. */
  page(limit: number, cursor: string | null): PresencePage {
    const clients: PresenceClient[] = [];
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const a = attachmentOf(ws);
      if (a.pending) continue;
      if (cursor === null || a.id > cursor) clients.push({ id: a.id, meta: a.meta, connectedAt: a.connectedAt });
    }
    clients.sort((x, y) => (x.id < y.id ? -1 : 1));
    const page = clients.slice(0, limit);
    const more = clients.length > limit;
    return { count: this.count(), clients: page, cursor: more ? page[page.length - 1]!.id : null };
  }
}
