/**
 * A shard's side of a sharded room: it holds sockets like any Room, but it
 * does not sequence. Publishes from its sockets go to the sequencer (one RPC
 * per turn of the event loop, whatever arrived in it), and what the sequencer
 * commits comes back as pushes, which the shard fans out to its sockets.
 *
 * Position: `delivered` is the last seq this shard has fanned out, kept in
 * its storage so that a shard woken from hibernation (its sockets still
 * there, its fields gone) knows what its sockets have. Pushes are applied
 * one at a time, in order: a push that starts past `delivered + 1` first
 * fetches the gap from the sequencer's history; messages at or below
 * `delivered` are duplicates and are skipped.
 *
 * Resume: the shard asks the sequencer for the resume plan and the first
 * replay page (one RPC), then, with no await left, sends that page and the
 * messages pushed meanwhile from a small ring of recent ones, up to
 * `delivered`; what comes after arrives live. No gap, no repeat: the replay
 * and the live stream meet at `delivered`, inside one synchronous section.
 */
import type { Identity } from "../../handoff/identity";
import { CloseCode } from "../../protocol";
import type { Delivery } from "../fanout";
import { payloadOfEnvelope, payloadWeight, type PublishInput } from "../payload";
import type { Sender, Sequencing } from "../publish/sequencing";
import { accepted, refused, type Answer } from "../publish/verdict";
import type { Attachment } from "../sockets";
import type { RoomStore, StoredMessage } from "../store";
import { countWithin, type ForwardedPublish, type OpenAnswer, type OpenRequest, type Push, type PushedMessage, type PushResult } from "./wire";

/** Recent messages kept to close the race between a replay RPC and pushes arriving meanwhile. */
const RING_MAX = 1024;
/** Messages fetched per history RPC while catching up a gap. */
export const CATCH_UP_PAGE = 500;
const DELIVERED_KEY = "delivered";
const EPOCH_KEY = "epoch";

export interface SequencerTarget {
  shardOpen(request: OpenRequest): Promise<OpenAnswer>;
  shardPublish(publishes: ForwardedPublish[]): Promise<number[]>;
  shardRange(after: number, upTo: number): Promise<StoredMessage[]>;
}

export interface ShardHost {
  /** The object's name (`room#i`). */
  name: string;
  index: number;
  store: RoomStore;
  sequencer(): SequencerTarget;
  deliver(messages: Delivery[]): void;
  /** This shard's WebSocket members. */
  members(): number;
  /** The sequencer's word on the other shards' members. */
  setOthers(n: number): void;
  /** Closes a socket the way the Room does (it leaves presence at once). */
  shed(ws: WebSocket, code: number, reason: string): void;
}

/** Where a new stream starts: the welcome's seq and epoch, whether the resume is served in full, and its replay. */
export interface StreamStart {
  recovered: boolean;
  seq: number;
  epoch: string;
  /** Sends the replay up to what this shard has delivered; false when it stopped early (the reader resumes). */
  replay(send: (message: StoredMessage) => boolean): boolean;
}

/** What a shard did in this wake (diagnostics, docs/scale.md). */
export interface ShardStats {
  pushes: number;
  messages: number;
  /** Pushes that started past what the shard had: it fetched the gap from history first. */
  gaps: number;
  /** Messages it was pushed again and skipped. */
  duplicates: number;
  /** Streams opened without asking the sequencer (no resume), and with. */
  localOpens: number;
  sequencerOpens: number;
}

/**
 * Counters per object name, in module scope: it outlives an evicted object
 * (as room.ts's wake counters do), so the benchmark can read what a shard did
 * after it went idle and was evicted while its readers were still reading.
 */
const STATS = new Map<string, ShardStats>();

export function statsOf<T>(map: Map<string, T>, name: string, fresh: () => T): T {
  let stats = map.get(name);
  if (stats === undefined) map.set(name, (stats = fresh()));
  return stats;
}

interface Outgoing {
  ws: WebSocket | null;
  answer: Answer;
  forwarded: ForwardedPublish;
}

export class ShardLink implements Sequencing {
  private delivered: number | null = null;
  private epoch = "";
  /** Whether the sequencer has spoken to this shard in this wake (an open answer or a push). */
  private live = false;
  private readonly ring: StoredMessage[] = [];
  private applying: Promise<unknown> = Promise.resolve();
  private outbox: Outgoing[] = [];
  private outboxScheduled = false;
  /** Sockets of this shard that published in this wake, by connection id: the sequencer's pushes name the sender so. */
  private readonly senders = new Map<string, WebSocket>();
  readonly stats: ShardStats;

  constructor(private readonly host: ShardHost) {
    this.stats = statsOf(STATS, host.name, () => ({ pushes: 0, messages: 0, gaps: 0, duplicates: 0, localOpens: 0, sequencerOpens: 0 }));
  }

  /** Restores the position (inside the constructor's blockConcurrencyWhile). */
  wake(): void {
    const delivered = this.host.store.getMeta(DELIVERED_KEY);
    if (delivered !== null) this.delivered = Number(delivered);
    this.epoch = this.host.store.getMeta(EPOCH_KEY) ?? "";
  }

  position(): { seq: number; epoch: string } {
    return { seq: this.delivered ?? 0, epoch: this.epoch };
  }

  // ---- opening a stream -----------------------------------------------------

  async prepareResume(since: number | null, epoch: string | null, identity: Identity, budget: number): Promise<StreamStart> {
    // A reader that does not resume starts at what this shard has delivered:
    // once the shard is registered and has heard from the sequencer in this
    // wake, that needs no call (a reconnect wave costs the sequencer only its resumes).
    if (since === null && this.delivered !== null && this.live) {
      this.stats.localOpens++;
      return { recovered: false, seq: this.delivered, epoch: this.epoch, replay: () => true };
    }
    this.stats.sequencerOpens++;
    const answer = await this.host.sequencer().shardOpen({ index: this.host.index, since, epoch, identity, budget });
    this.host.setOthers(answer.others);
    this.live = true;
    // A push may have arrived before this answer: never move back.
    if (this.delivered === null || answer.epoch !== this.epoch) this.moveTo(answer.seq, answer.epoch);
    else if (answer.fresh && this.delivered < answer.seq) this.moveTo(answer.seq, answer.epoch);
    const resuming = since !== null;
    return {
      recovered: answer.recovered,
      seq: this.delivered!,
      epoch: this.epoch,
      replay: (send) => (resuming ? this.replay(answer, send) : true),
    };
  }

  private replay(answer: OpenAnswer, send: (message: StoredMessage) => boolean): boolean {
    const upTo = this.delivered!;
    let last = answer.after;
    for (const row of answer.rows) {
      if (row.seq > upTo) return true; // pushed but not here yet: it arrives live
      if (row.seq <= last) continue;
      if (!send(row)) return false;
      last = row.seq;
    }
    if (last >= upTo) return true;
    if (!answer.complete) return false; // the page was full: the reader resumes for the next one
    // Pushed while the RPC was out: from the ring, or, if it no longer holds them, on the next connection.
    const first = this.ring[0];
    if (first === undefined || first.seq > last + 1) return false;
    for (const row of this.ring) {
      if (row.seq <= last) continue;
      if (row.seq > upTo) break;
      if (!send(row)) return false;
      last = row.seq;
    }
    return true;
  }

  // ---- publishing -----------------------------------------------------------

  /**
   * Sequencing for a shard: the publish (past the pipeline's steps and hooks
   * here) goes to the sequencer, one RPC per turn of the event loop whatever
   * arrived in it; the answer follows the sequencer's commit.
   */
  sequence(input: PublishInput, from: Sender, answer: Answer): void {
    if (from.sender !== null && from.origin !== null) this.senders.set(from.origin, from.sender);
    this.outbox.push({ ws: from.sender, answer, forwarded: { input, origin: from.origin ?? "", echo: from.echo } });
    if (this.outboxScheduled) return;
    this.outboxScheduled = true;
    setTimeout(() => void this.sendOutbox(), 0);
  }

  /** Nothing of a shard's waits to be committed here: its forwards are the sequencer's to commit. */
  flush(): void {}

  /** The socket closed: it will not be named as a sender again. */
  forget(att: Attachment): void {
    this.senders.delete(att.id);
  }

  private async sendOutbox(): Promise<void> {
    this.outboxScheduled = false;
    const items = this.outbox;
    this.outbox = [];
    if (items.length === 0) return;
    let seqs: number[];
    try {
      // In calls of at most RPC_BYTES, all made before any is awaited: calls on one stub arrive in order.
      const sequencer = this.host.sequencer();
      const calls: Array<Promise<number[]>> = [];
      for (let from = 0; from < items.length; ) {
        const n = countWithin(items.slice(from), (i) => payloadWeight(i.forwarded.input.payload));
        calls.push(sequencer.shardPublish(items.slice(from, from + n).map((i) => i.forwarded)));
        from += n;
      }
      seqs = (await Promise.all(calls)).flat();
    } catch (error) {
      // Not known to be accepted: the publishers reconnect, resume, and send
      // again with their ids (idempotent), as after any dropped link.
      console.warn(`shard ${this.host.index}: forwarding ${items.length} publishes failed`, error);
      const failed = refused("unavailable", "room restarting: reconnect and resume", CloseCode.Internal);
      for (const item of items) item.answer(failed);
      return;
    }
    items.forEach((item, k) => item.answer(accepted(seqs[k]!)));
  }

  // ---- pushes ---------------------------------------------------------------

  /** Applies pushes one at a time, in the order they arrive. */
  push(push: Push): Promise<PushResult> {
    const applied = this.applying.then(() => this.apply(push));
    this.applying = applied.catch(() => undefined);
    return applied;
  }

  private async apply(push: Push): Promise<PushResult> {
    this.stats.pushes++;
    this.host.setOthers(push.others);
    this.live = true;
    if (this.delivered === null || push.epoch !== this.epoch) {
      // Nothing recorded (or the room began again): the sequencer's word is all there is.
      this.delivered = push.from - 1;
      this.epoch = push.epoch;
    }
    if (push.from > this.delivered + 1) {
      this.stats.gaps++;
      await this.catchUp(push.from - 1);
    }
    const fresh = push.messages.filter((m) => m.seq > this.delivered!);
    if (fresh.length < push.messages.length) this.stats.duplicates += push.messages.length - fresh.length;
    this.deliver(fresh);
    if (push.to > this.delivered!) this.moveTo(push.to, push.epoch);
    return { delivered: this.delivered!, members: this.host.members() };
  }

  /** Fetches and delivers what this shard missed, up to `upTo`, from the sequencer's history. */
  private async catchUp(upTo: number): Promise<void> {
    while (this.delivered! < upTo) {
      const rows = await this.host.sequencer().shardRange(this.delivered!, upTo);
      if (rows.length === 0) break; // older than history holds: nothing left to deliver
      // History keeps the topic; a caught-up message is not a retained snapshot.
      this.deliver(rows.map((r) => ({ ...r, payload: payloadOfEnvelope(r.envelope), origin: originOf(r.envelope), echo: false, retain: false })));
      this.moveTo(rows[rows.length - 1]!.seq, this.epoch);
    }
    if (this.delivered! < upTo) this.moveTo(upTo, this.epoch);
  }

  /** Fans messages out and keeps them in the ring; the caller records the new position (moveTo). */
  private deliver(messages: PushedMessage[]): void {
    if (messages.length === 0) return;
    this.stats.messages += messages.length;
    this.host.deliver(
      messages.map((m) => ({ ...m, sender: m.origin === null ? null : (this.senders.get(m.origin) ?? null) })),
    );
    for (const m of messages) this.ring.push({ seq: m.seq, envelope: m.envelope, topic: m.topic });
    if (this.ring.length > RING_MAX) this.ring.splice(0, this.ring.length - RING_MAX);
  }

  /** Records the position; in storage, so that the next wake starts from it. */
  private moveTo(seq: number, epoch: string): void {
    this.delivered = seq;
    this.host.store.create();
    this.host.store.setMeta(DELIVERED_KEY, String(seq));
    if (epoch !== this.epoch || this.host.store.getMeta(EPOCH_KEY) === null) this.host.store.setMeta(EPOCH_KEY, epoch);
    this.epoch = epoch;
  }
}

/** The sender's connection id, from a stored envelope (its `from`). */
function originOf(envelope: string): string | null {
  const from = (JSON.parse(envelope) as { from?: unknown }).from;
  return typeof from === "string" ? from : null;
}
