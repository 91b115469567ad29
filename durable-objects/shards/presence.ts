/**
 * Presence across a sharded room. Each shard counts its own sockets (as any
 * Room does, presence.ts); the sequencer adds the shards up and decides, for
 * the whole room, what is sent: per-member join/leave frames while the room
 * has at most PRESENCE_EVENTS_MAX members, coalesced count frames past it.
 *
 * - A shard reports its joins and leaves once per turn of the event loop
 *   (one RPC for whatever arrived in it), with its member count.
 * - Every push result carries the shard's member count too, and every push
 *   carries the count of the other shards: the tally heals by itself after a
 *   restart of either side, at no extra RPC.
 */
import type { PresenceEvent, PresenceFrame } from "../../protocol";
import { PRESENCE_EVENTS_MAX } from "../../protocol/limits";
import { CountTicker, type RoomWide } from "../presence";

export interface PresenceReport {
  index: number;
  /** The shard's WebSocket members now. */
  members: number;
  /** Its joins and leaves since the last report, oldest first (counts are the shard's). */
  events: PresenceFrame[];
}

export interface PresenceTarget {
  shardPresenceReport(report: PresenceReport): Promise<{ others: number }>;
}

/** A shard's view of the rest of the room. */
export class ShardPresence implements RoomWide {
  private othersCount = 0;
  private queue: PresenceFrame[] = [];
  private scheduled = false;

  constructor(
    private readonly index: number,
    private readonly sequencer: () => PresenceTarget,
    private readonly members: () => number,
  ) {}

  others(): number {
    return this.othersCount;
  }

  /** What the sequencer last said about the other shards. */
  setOthers(n: number): void {
    this.othersCount = Math.max(0, n);
  }

  changed(frame: PresenceFrame): void {
    this.queue.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => void this.report(), 0);
  }

  private async report(): Promise<void> {
    this.scheduled = false;
    const events = this.queue;
    this.queue = [];
    try {
      const { others } = await this.sequencer().shardPresenceReport({ index: this.index, members: this.members(), events });
      this.setOthers(others);
    } catch (error) {
      // The next report or push brings the count back; these frames are lost, as a dropped presence frame is.
      console.warn(`shard ${this.index}: presence report failed`, error);
    }
  }
}

function countDelta(events: readonly PresenceFrame[]): number {
  let d = 0;
  for (const e of events) d += e.event === "join" ? 1 : -1;
  return d;
}

/** The sequencer's tally of every shard's members, and the frames the whole room gets. */
export class PresenceHub {
  private readonly members = new Map<number, number>();
  private readonly ticker: CountTicker;

  constructor(private readonly send: (frames: PresenceEvent[]) => void) {
    this.ticker = new CountTicker(
      () => this.total(),
      (frame) => this.send([frame]),
    );
  }

  total(): number {
    let n = 0;
    for (const m of this.members.values()) n += m;
    return n;
  }

  othersThan(index: number): number {
    return this.total() - (this.members.get(index) ?? 0);
  }

  /** A shard's count, from a push result. */
  set(index: number, members: number): void {
    this.members.set(index, members);
  }

  report({ index, members, events }: PresenceReport): void {
    // Each frame carries the room's count just after it, as in a room of one object.
    let count = this.total() - (this.members.get(index) ?? 0) + Math.max(0, members - countDelta(events));
    this.set(index, members);
    const frames: PresenceEvent[] = [];
    for (const e of events) {
      count = Math.max(0, count + (e.event === "join" ? 1 : -1));
      // The threshold is the whole room's: past it, coalesced counts only.
      if (count <= PRESENCE_EVENTS_MAX) frames.push({ ...e, count });
      else this.ticker.poke();
    }
    if (frames.length > 0) this.send(frames);
  }
}
