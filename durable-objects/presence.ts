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
 */
import type { PresenceClient, PresenceCountFrame, PresenceEvent, PresenceFrame } from "../protocol";
import { PRESENCE_COUNT_INTERVAL_MS, PRESENCE_EVENTS_MAX } from "../server/limits";
import { ADAPTERS } from "./adapters";
import { ssePresence, type SseHub } from "./adapters/sse";
import { attachmentOf, safeSend, TAG_PRESENCE, type Attachment } from "./sockets";

export interface PresencePage {
  count: number;
  clients: PresenceClient[];
  cursor: string | null;
}

export class Presence {
  /** Open WebSockets; null until first needed in this wake. */
  private members: number | null = null;
  private lastCountSent: number | null = null;
  private lastCountAt = 0;
  private countTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sse: SseHub,
  ) {}

  /** Open WebSockets in the room, leaving out `leaving` when it is still listed. */
  count(leaving?: WebSocket): number {
    if (this.members === null) {
      let n = 0;
      for (const ws of this.ctx.getWebSockets()) if (ws !== leaving && ws.readyState === WebSocket.OPEN) n++;
      this.members = n;
    }
    return this.members;
  }

  /** `ws` was just accepted (it is already in the runtime's list). */
  joined(ws: WebSocket, who: Attachment): number {
    // A first count in this wake walks the list, which already holds `ws`.
    const count = this.members === null ? this.count() : ++this.members;
    this.announce({ type: "presence", event: "join", id: who.id, meta: who.meta, count }, ws);
    return count;
  }

  /** `ws` closed, or the room closed it. Call once per socket (see Attachment.closing). */
  left(ws: WebSocket, who: Attachment): void {
    const count = this.members === null ? this.count(ws) : (this.members = Math.max(0, this.members - 1));
    this.announce({ type: "presence", event: "leave", id: who.id, meta: who.meta, count }, ws);
  }

  private announce(frame: PresenceFrame, subject: WebSocket): void {
    if (frame.count <= PRESENCE_EVENTS_MAX) this.broadcast(frame, subject);
    else this.scheduleCount();
  }

  private scheduleCount(): void {
    if (this.countTimer !== null) return;
    const wait = Math.max(0, this.lastCountAt + PRESENCE_COUNT_INTERVAL_MS - Date.now());
    this.countTimer = setTimeout(() => {
      this.countTimer = null;
      const count = this.count();
      if (count === this.lastCountSent) return;
      this.lastCountSent = count;
      this.lastCountAt = Date.now();
      const frame: PresenceCountFrame = { type: "presence", event: "count", count };
      this.broadcast(frame, null);
    }, wait);
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
      if (cursor === null || a.id > cursor) clients.push({ id: a.id, meta: a.meta, connectedAt: a.connectedAt });
    }
    clients.sort((x, y) => (x.id < y.id ? -1 : 1));
    const page = clients.slice(0, limit);
    const more = clients.length > limit;
    return { count: this.count(), clients: page, cursor: more ? page[page.length - 1]!.id : null };
  }
}
