/**
 * The sequencer's side of a sharded room: which shards hold readers, and the
 * pushes that bring each one every committed batch.
 *
 * - Pushes to one shard are sent one at a time, in seq order: while one is in
 *   flight, later batches gather and leave together as the next push. So a
 *   shard gets at most one push per batch (fewer under load), never one per
 *   socket, and applies them in order.
 * - A push that fails is sent again (with what gathered meanwhile) after a
 *   backoff; past the last retry the shard catches up from history on its
 *   next push, which carries `from`, so it sees the gap.
 * - The registry (which shards ever held a reader) is kept in storage: a
 *   restarted sequencer still knows whom to push to, and first sends each an
 *   empty push with the room's seq, so a shard that missed the batch
 *   committed just before the restart fetches it at once.
 */
import type { PresenceEvent } from "../../protocol";
import type { CommittedMessage, Sink } from "../publish/sinks";
import { payloadWeight } from "../payload";
import type { RoomStore } from "../store";
import { PresenceHub, type PresenceReport } from "./presence";
import { statsOf } from "./shard";
import { SlotLedger } from "./slots";
import { countWithin, type Push, type PushedMessage, type PushResult } from "./wire";

const REGISTRY_KEY = "shards";
const RETRY_MS = [50, 200, 1000, 3000];

export interface ShardTarget {
  shardPush(push: Push): Promise<PushResult>;
  shardPresence(frames: PresenceEvent[], others: number): Promise<void>;
}

const STATS = new Map<string, FanoutStats>();

export interface SequencerHost {
  /** The room's name. */
  name: string;
  store: RoomStore;
  /** The room's committed seq and epoch. */
  position(): { seq: number; epoch: string };
  /** Writes the room's epoch if it is not stored yet (a registered shard's readers will resume against it). */
  persist(): void;
  shard(index: number): ShardTarget;
}

/** Counters for docs/scale.md and the benchmark: what the sequencer did, in this wake. */
export interface FanoutStats {
  batches: number;
  messages: number;
  pushes: number;
  failedPushes: number;
  shards: number;
}

export class ShardFanout implements Sink {
  private readonly registered = new Set<number>();
  private readonly pending = new Map<number, PushedMessage[]>();
  /** Seq the next push to each shard starts after (what it was last sent). */
  private readonly sentUpTo = new Map<number, number>();
  private readonly inFlight = new Set<number>();
  private readonly attempts = new Map<number, number>();
  /** Shards whose next push asks for a slot report (the ledger woke at its stored bounds). */
  private readonly recount = new Set<number>();
  /** Per room name in module scope (see shard.ts's counters). */
  readonly stats: FanoutStats;
  private readonly presence = new PresenceHub((frames) => this.sendPresence(frames));
  /** The connection slots the shards hold (slots.ts): the room's cap is checked here. */
  readonly slots: SlotLedger;

  constructor(
    private readonly host: SequencerHost,
    private readonly count: number,
  ) {
    this.stats = statsOf(STATS, host.name, () => ({ batches: 0, messages: 0, pushes: 0, failedPushes: 0, shards: 0 }));
    this.slots = new SlotLedger(host, count);
  }

  /** Reads the registry and the slot ledger (inside the constructor's blockConcurrencyWhile) and tells each shard where the room is. */
  wake(): void {
    const recount = this.slots.wake();
    const raw = this.host.store.getMeta(REGISTRY_KEY);
    if (raw === null) return;
    for (const i of JSON.parse(raw) as number[]) if (i >= 0 && i < this.count) this.registered.add(i);
    if (recount) for (const i of this.registered) this.recount.add(i);
    this.stats.shards = this.registered.size;
    const { seq } = this.host.position();
    for (const i of this.registered) {
      this.sentUpTo.set(i, seq);
      this.pending.set(i, []);
      void this.pump(i, true);
    }
  }

  /** A shard is about to open a stream; true when it was not registered (its pushes start after the current seq). */
  register(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`no shard ${index}`);
    if (this.registered.has(index)) return false;
    this.registered.add(index);
    this.stats.shards = this.registered.size;
    this.sentUpTo.set(index, this.host.position().seq);
    this.pending.set(index, []);
    this.host.persist();
    this.host.store.setMeta(REGISTRY_KEY, JSON.stringify([...this.registered].sort((a, b) => a - b)));
    return true;
  }

  /** A shard's joins and leaves; answers the count of the other shards. */
  presenceReport(report: PresenceReport): { others: number } {
    this.presence.report(report);
    return { others: this.presence.othersThan(report.index) };
  }

  /** WebSocket members in every shard but `index`, as last reported. */
  othersThan(index: number): number {
    return this.presence.othersThan(index);
  }

  private sendPresence(frames: PresenceEvent[]): void {
    for (const i of this.registered) {
      this.host
        .shard(i)
        .shardPresence(frames, this.presence.othersThan(i))
        .catch((error: unknown) => console.warn(`shard ${i}: presence push failed`, error));
    }
  }

  /** The sequencer's sink: each committed batch, without what only this object can use (its sockets). */
  committed(batch: readonly CommittedMessage[]): void {
    this.enqueue(batch.map(({ seq, envelope, payload, origin, echo, topic, retain }) => ({ seq, envelope, payload, origin, echo, topic, retain })));
  }

  /** A batch was committed: queue it for every registered shard. */
  enqueue(batch: PushedMessage[]): void {
    if (batch.length === 0) return;
    this.stats.batches++;
    this.stats.messages += batch.length;
    for (const i of this.registered) {
      this.pending.get(i)!.push(...batch);
      void this.pump(i, false);
    }
  }

  private async pump(index: number, announce: boolean): Promise<void> {
    if (this.inFlight.has(index)) return;
    this.inFlight.add(index);
    try {
      for (;;) {
        const waiting = this.pending.get(index)!;
        if (waiting.length === 0 && !announce) return;
        announce = false;
        // At most RPC_BYTES per push (an envelope and its payload each): the rest goes in the next.
        const n = countWithin(waiting, (m) => m.envelope.length + payloadWeight(m.payload));
        const messages = waiting.slice(0, n);
        this.pending.set(index, waiting.slice(n));
        const after = this.sentUpTo.get(index)!;
        const to = messages.length > 0 ? messages[messages.length - 1]!.seq : this.host.position().seq;
        const recount = this.recount.delete(index);
        const push: Push = { epoch: this.host.position().epoch, others: this.presence.othersThan(index), from: after + 1, to, messages, recount };
        this.stats.pushes++;
        try {
          const result = await this.host.shard(index).shardPush(push);
          this.presence.set(index, result.members);
          this.sentUpTo.set(index, to);
          this.attempts.delete(index);
        } catch (error) {
          this.stats.failedPushes++;
          if (recount) this.recount.add(index);
          const attempt = this.attempts.get(index) ?? 0;
          if (attempt >= RETRY_MS.length) {
            // Give up on this push: the next one starts at `after + 1` still,
            // so the shard sees the gap and fetches it from history.
            this.attempts.delete(index);
            console.warn(`shard ${index}: push ${push.from}..${push.to} failed ${attempt + 1} times`, error);
            continue;
          }
          this.attempts.set(index, attempt + 1);
          this.pending.set(index, [...messages, ...this.pending.get(index)!]);
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS[attempt]));
          announce = messages.length === 0;
        }
      }
    } finally {
      this.inFlight.delete(index);
    }
  }
}
