/**
 * Lifecycle events (the `EVENTS` var; CONTRACT v3, docs/integrations.md):
 * `connected`, `disconnected`, `occupied`, `vacated` as the room's own
 * messages on `$events/<kind>` (publish/own-messages.ts: seq, history,
 * resume, every sink). Data: `{"id","sub","kind","at"}`, plus `"code"` and
 * `"reason"` for `disconnected` (null where the connection had none).
 *
 * Every kind of connection reports here at the moment it becomes a member
 * and the moment it stops being one (readers.ts, room.ts): WebSockets of
 * every wire format (MQTT once its CONNECT is accepted), SSE streams. In a
 * shard, the events go to the sequencer by the shard's sequencing, like any
 * publish: one path. `occupied`/`vacated` follow the room-wide count the
 * object knows at that moment (in a shard: its own connections and the other
 * shards' members as last told), so two shards that fill at the same
 * instant may both report `occupied` (docs/integrations.md says so).
 */
import type { Sequencing } from "./publish/sequencing";
import { publishOwn } from "./publish/own-messages";

export const LIFECYCLE_KINDS = ["connected", "disconnected", "occupied", "vacated"] as const;
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

/** Who came or went: a connection's id (as in its welcome), its token's `sub`, its wire format. */
export interface Member {
  id: string;
  sub: string | null;
  kind: string;
}

/** `EVENTS`: comma-separated kinds; empty (the default) turns them off. An unknown name is an error, not a silent no-op. */
export function readEvents(raw: string | undefined): ReadonlySet<LifecycleKind> {
  const kinds = new Set<LifecycleKind>();
  for (const part of (raw ?? "").split(",")) {
    const name = part.trim();
    if (name === "") continue;
    if (!(LIFECYCLE_KINDS as readonly string[]).includes(name)) {
      throw new Error(`EVENTS: ${JSON.stringify(name)} is not one of ${LIFECYCLE_KINDS.join(", ")}`);
    }
    kinds.add(name as LifecycleKind);
  }
  return kinds;
}

export class Lifecycle {
  constructor(
    private readonly kinds: ReadonlySet<LifecycleKind>,
    private readonly sequencing: () => Sequencing,
    /** Connections in the whole room now (after the change being reported). */
    private readonly occupancy: () => number,
  ) {}

  get on(): boolean {
    return this.kinds.size > 0;
  }

  connected(who: Member): void {
    if (!this.on) return;
    const at = Date.now();
    this.emit("connected", { id: who.id, sub: who.sub, kind: who.kind, at });
    if (this.kinds.has("occupied") && this.occupancy() === 1) this.emit("occupied", { id: who.id, sub: who.sub, kind: who.kind, at });
  }

  /** `code` and `reason` as the close carried them; 1005/1006 (no status, no close frame) and "" are none. */
  disconnected(who: Member, code: number | null, reason: string | null): void {
    if (!this.on) return;
    const at = Date.now();
    const closeCode = code === null || code === 1005 || code === 1006 ? null : code;
    this.emit("disconnected", { id: who.id, sub: who.sub, kind: who.kind, at, code: closeCode, reason: reason || null });
    if (this.kinds.has("vacated") && this.occupancy() === 0) this.emit("vacated", { id: who.id, sub: who.sub, kind: who.kind, at });
  }

  private emit(kind: LifecycleKind, data: object): void {
    if (this.kinds.has(kind)) publishOwn(this.sequencing(), `$events/${kind}`, data);
  }
}
