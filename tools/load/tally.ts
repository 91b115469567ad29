/**
 * Counting what each subscriber got, the part of a load run that gives the
 * verdict. The ground truth is the relay's own promise: every message
 * accepted in a room gets the next seq, so a subscriber that started
 * watching at seq S of a room that ended at seq E must end up with every seq
 * in (S, E], each once. Anything else is reported:
 *
 * - lost:        a seq in (S, E] the subscriber never got (listed in `gaps`);
 * - duplicated:  a seq the subscriber got twice;
 * - outOfOrder:  a seq that arrived after a larger one;
 * - mismatched:  two subscribers (or an ack) disagree on which message a seq holds;
 * - doublePublished: one message id (retries included) accepted under two seqs.
 *
 * Latency is measured from the publish time in the payload (see reading.ts)
 * to the moment the subscriber saw the message, in a total histogram and one
 * per second of the run (for charts).
 */
import { Histogram, type LatencySummary } from "./histogram.js";
import { readingOf } from "./reading.js";
import { SeqSet } from "./seq-set.js";

export interface Gap {
  subscriber: string;
  room: string;
  from: number;
  to: number;
}

export interface TimelinePoint {
  /** Seconds since the tally was created. */
  second: number;
  delivered: number;
  p50_ms: number;
  p99_ms: number;
}

export interface TallyReport {
  /** Distinct messages the relay accepted in the watched rooms: sum of (E - S) per room. */
  published: number;
  /** Publishes acknowledged to a device (ack frame or HTTP 201), each message once. */
  acked: number;
  /** Sum over subscribers of the messages they should have received. */
  expected: number;
  /** Sum over subscribers of the distinct expected messages they did receive. */
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  mismatched: number;
  doublePublished: number;
  /** The first few missing ranges, to start an investigation from. */
  gaps: Gap[];
  latency: LatencySummary;
  /** True when nothing was lost, duplicated, reordered or mixed up. */
  ok: boolean;
}

/** The counts of a report: what several reports add up, and what a results file carries. */
export const TALLY_COUNTS = ["published", "acked", "expected", "delivered", "lost", "duplicated", "outOfOrder", "mismatched", "doublePublished"] as const;
export type TallyCount = (typeof TALLY_COUNTS)[number];

/** `outOfOrder` as the JSON result files spell it: `out_of_order`. */
type Snake<S extends string> = S extends `${infer C}${infer Rest}` ? `${C extends Lowercase<C> ? C : `_${Lowercase<C>}`}${Snake<Rest>}` : S;
export type TallyCountsJson = { [K in TallyCount as Snake<K>]: number };

/** A report's counts under the names of a JSON results file, in TALLY_COUNTS order. */
export function countsJson(r: Pick<TallyReport, TallyCount>): TallyCountsJson {
  const out: Record<string, number> = {};
  for (const k of TALLY_COUNTS) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = r[k];
  return out as TallyCountsJson;
}

/** The per-second timeline stops after a day (a run is minutes long). */
const MAX_TIMELINE_SECONDS = 86_400;

interface RoomTrack {
  /** The seq the room ended at; undefined until `endRoom`. */
  end: number | undefined;
  /** Which message id each seq holds, as first seen (by a subscriber or an ack). */
  ids: Map<number, string>;
  /** The lowest start seq of its subscribers: where `published` counts from. */
  start: number;
}

/** What one subscriber (a dashboard's view of one room) received. */
export class SubscriberTally {
  readonly seqs: SeqSet;
  duplicated = 0;
  outOfOrder = 0;
  private last: number;

  constructor(
    private readonly tally: Tally,
    readonly name: string,
    readonly room: string,
    readonly start: number,
  ) {
    this.seqs = new SeqSet(start);
    this.last = start;
  }

  /** Highest seq seen so far (the start seq before any). */
  get lastSeq(): number {
    return this.last;
  }

  /** Records one delivered message envelope's `seq` and `data`. */
  record(seq: number, data: unknown, receivedAt = Date.now()): void {
    if (!this.seqs.add(seq)) {
      this.duplicated++;
      return;
    }
    if (seq < this.last) this.outOfOrder++;
    else this.last = seq;
    this.tally.delivered(this.room, seq, data, receivedAt);
  }
}

export class Tally {
  readonly startedAt: number;
  private readonly rooms = new Map<string, RoomTrack>();
  private readonly subscribers: SubscriberTally[] = [];
  /** Message id -> the seq it was accepted at (first seen). */
  private readonly accepted = new Map<string, { room: string; seq: number }>();
  private readonly acks = new Set<string>();
  private readonly latency = new Histogram();
  private readonly perSecond: Array<{ delivered: number; latency: Histogram }> = [];
  private deliveries = 0;
  private mismatchCount = 0;
  private doubleCount = 0;

  constructor(now = Date.now()) {
    this.startedAt = now;
  }

  /** Starts tracking a subscriber that watches `room` from seq `start` (exclusive). */
  watch(name: string, room: string, start: number): SubscriberTally {
    const track = this.room(room);
    track.start = Math.min(track.start, start);
    const sub = new SubscriberTally(this, name, room, start);
    this.subscribers.push(sub);
    return sub;
  }

  /** Declares a room of the run and the seq it held when the run began. */
  beginRoom(room: string, start: number): void {
    const track = this.room(room);
    track.start = Math.min(track.start, start);
  }

  /** A device's publish was acknowledged with `seq` (ack frame or HTTP 201). */
  acked(room: string, messageId: string, seq: number): void {
    this.acks.add(messageId);
    this.claim(room, seq, messageId);
  }

  /** The seq `room` ended at, read from the relay once publishing stopped. */
  endRoom(room: string, seq: number): void {
    this.room(room).end = seq;
  }

  /** Every distinct delivery so far, for progress lines. */
  get deliveredCount(): number {
    return this.deliveries;
  }

  get ackedCount(): number {
    return this.acks.size;
  }

  /** True when every subscriber has seen its room's end seq (call after `endRoom`). */
  caughtUp(): boolean {
    return this.subscribers.every((s) => {
      const end = this.rooms.get(s.room)?.end;
      // Nothing above `end` exists once the room has ended, so the size says it.
      return end !== undefined && s.seqs.size >= end - s.start;
    });
  }

  /** @internal called by SubscriberTally for each distinct delivery. */
  delivered(room: string, seq: number, data: unknown, receivedAt: number): void {
    this.deliveries++;
    const reading = readingOf(data);
    if (!reading) return;
    this.claim(room, seq, reading.id);
    const ms = receivedAt - reading.t;
    this.latency.record(ms);
    const second = Math.max(0, Math.floor((receivedAt - this.startedAt) / 1000));
    if (second > MAX_TIMELINE_SECONDS) return; // a clock far off: keep the total, skip the chart
    while (this.perSecond.length <= second) this.perSecond.push({ delivered: 0, latency: new Histogram() });
    const bucket = this.perSecond[second]!;
    bucket.delivered++;
    bucket.latency.record(ms);
  }

  report(): TallyReport {
    let published = 0;
    for (const track of this.rooms.values()) {
      if (track.end !== undefined) published += Math.max(0, track.end - track.start);
    }
    let expected = 0;
    let delivered = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    const gaps: Gap[] = [];
    for (const s of this.subscribers) {
      const end = this.rooms.get(s.room)?.end ?? s.lastSeq;
      expected += Math.max(0, end - s.start);
      delivered += s.seqs.countUpTo(end);
      duplicated += s.duplicated;
      outOfOrder += s.outOfOrder;
      if (gaps.length < 20) {
        for (const g of s.seqs.gaps(end, 20 - gaps.length)) gaps.push({ subscriber: s.name, room: s.room, ...g });
      }
    }
    const lost = expected - delivered;
    return {
      published,
      acked: this.acks.size,
      expected,
      delivered,
      lost,
      duplicated,
      outOfOrder,
      mismatched: this.mismatchCount,
      doublePublished: this.doubleCount,
      gaps,
      latency: this.latency.summary(),
      ok: lost === 0 && duplicated === 0 && outOfOrder === 0 && this.mismatchCount === 0 && this.doubleCount === 0,
    };
  }

  /** Delivered messages and latency per second of the run. */
  timeline(): TimelinePoint[] {
    return this.perSecond.map((b, second) => ({
      second,
      delivered: b.delivered,
      p50_ms: Math.round(b.latency.quantile(0.5) * 10) / 10,
      p99_ms: Math.round(b.latency.quantile(0.99) * 10) / 10,
    }));
  }

  private room(name: string): RoomTrack {
    let track = this.rooms.get(name);
    if (!track) {
      track = { end: undefined, ids: new Map(), start: Number.POSITIVE_INFINITY };
      this.rooms.set(name, track);
    }
    return track;
  }

  /** Records that `seq` of `room` holds message `id`, counting any contradiction. */
  private claim(room: string, seq: number, id: string): void {
    const track = this.room(room);
    const held = track.ids.get(seq);
    if (held === undefined) {
      track.ids.set(seq, id);
      const first = this.accepted.get(id);
      if (first === undefined) this.accepted.set(id, { room, seq });
      else if (first.room !== room || first.seq !== seq) this.doubleCount++;
    } else if (held !== id) {
      this.mismatchCount++;
    }
  }
}
