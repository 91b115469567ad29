/**
 * MAX_CONNECTIONS_PER_ROOM across a sharded room: one count for the whole
 * room, kept by the sequencer, the one place that grants connection slots.
 *
 * - The sequencer's own connections (MQTT sockets: they open there) are
 *   counted as in any room. Each shard's are one number per shard in the
 *   sequencer's ledger.
 * - A shard asks the sequencer for a slot before it opens a WebSocket or SSE
 *   stream (one RPC per join; docs/scale.md has the measured cost). The ask
 *   carries the shard's *claim*: its open streams, plus every slot it has
 *   asked for or been granted that is not settled yet (an open still
 *   running). The sequencer sets the shard's entry to the claim, plus one if
 *   it grants, and grants only while the room stays within the cap.
 * - Why that never lets the room past the cap, bursts included: a shard's
 *   calls go out on one stub, so the sequencer takes them in the order they
 *   were made, one at a time (its methods do not await). When it takes one,
 *   every earlier ask of that shard was already answered there and is in the
 *   claim (as granted, conservatively, if its answer had not come back yet),
 *   and a shard's streams only ever grow by a grant. So each entry is at least
 *   what its shard holds, from the moment it is set until the next call of
 *   that shard; the sum is checked against the cap at every grant.
 * - Slots come back by the same call without an ask (a *report*): when a
 *   stream closes, an ask is refused or an open fails, at most one report per
 *   turn of the shard's event loop, only when its claim fell below what the
 *   sequencer holds for it. Overcounting (a refused ask counted until the
 *   report) can refuse a join early, never admit one too many.
 * - Hibernation and restarts: a shard reports its claim each time it wakes
 *   (its streams are counted from the runtime's socket list, so a shard whose
 *   sockets died with a restart reports what is left). The sequencer keeps a
 *   bound of each entry in storage (SlotLedger), so an evicted or restarted
 *   sequencer starts from upper bounds, not zeros; its first push to each
 *   registered shard (sequencer.ts) asks for a report. Nothing stays counted
 *   past the next wake of the shard that held it.
 */
import type { RoomStore } from "../store";

const SLOTS_KEY = "slots";
/** A report that failed is sent again after this long (the claim may not change again soon). */
const REPORT_RETRY_MS = 1000;

/** The sequencer's side of the call: `want` asks for a slot; without it, a report. True when a slot is granted. */
export interface SlotTarget {
  shardSlots(index: number, claim: number, want: boolean): Promise<boolean>;
}

export interface LedgerHost {
  store: RoomStore;
  /** Creates the room's storage if it has none yet (the ledger is kept there). */
  persist(): void;
}

/**
 * The sequencer's ledger: slots each shard holds, never fewer than it has.
 *
 * Storage keeps, per shard, a *bound* at least its entry, not the entry
 * itself: a write with every grant is what a join would cost most (a commit
 * the answer waits for: measured in docs/scale.md). The bound is raised, with
 * headroom, only when an entry passes it, and lowered when it is far above;
 * the headroom is a share of the free slots (half of them, over the shards),
 * so it shrinks to nothing near the cap, where every grant writes. A woken
 * sequencer starts each entry at its bound (never an undercount) and asks the
 * shards to report (their first push says so), which brings the entries back to their claims.
 */
export class SlotLedger {
  private readonly held = new Map<number, number>();
  private readonly bound = new Map<number, number>();
  constructor(
    private readonly host: LedgerHost,
    private readonly count: number,
  ) {}

  /** Reads the bounds (inside the constructor's blockConcurrencyWhile); true when the shards should report. */
  wake(): boolean {
    const raw = this.host.store.getMeta(SLOTS_KEY);
    if (raw === null) return false;
    for (const [index, n] of JSON.parse(raw) as Array<[number, number]>) {
      if (index < 0 || index >= this.count || n <= 0) continue;
      this.held.set(index, n);
      this.bound.set(index, n);
    }
    return this.held.size > 0;
  }

  /** Slots held by all the shards. */
  total(): number {
    let n = 0;
    for (const m of this.held.values()) n += m;
    return n;
  }

  /**
   * A shard's ask or report. `local` is what the sequencer itself holds now,
   * `max` the room's cap. The entry becomes the claim, plus the slot granted.
   */
  claim(index: number, claim: number, want: boolean, local: number, max: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`no shard ${index}`);
    const mine = Number.isInteger(claim) && claim > 0 ? claim : 0;
    const others = this.total() - (this.held.get(index) ?? 0);
    const granted = want && local + others + mine < max;
    const n = mine + (granted ? 1 : 0);
    if (n === 0) this.held.delete(index);
    else this.held.set(index, n);
    this.keepBound(index, n, Math.max(0, Math.floor((max - local - this.total()) / (2 * this.count))));
    return granted;
  }

  private keepBound(index: number, n: number, headroom: number): void {
    const bound = this.bound.get(index) ?? 0;
    if (n <= bound && bound <= n + 2 * headroom) return;
    const next = n === 0 && headroom === 0 ? 0 : n + headroom;
    if (next === 0) this.bound.delete(index);
    else this.bound.set(index, next);
    // Written with the answer (the output gate holds it until committed): a restarted sequencer never undercounts.
    this.host.persist();
    this.host.store.setMeta(SLOTS_KEY, JSON.stringify([...this.bound]));
  }
}

/** A shard's side: asks for a slot around each open, and gives slots back. */
export class ShardSlots {
  /** Slots asked for or granted whose open has not settled yet. */
  private pending = 0;
  /**
   * What the sequencer holds for this shard once it has taken the last call
   * sent (an ask counted as granted until its answer says otherwise). A
   * report is owed when the claim falls below it; unknown on wake.
   */
  private told = Number.POSITIVE_INFINITY;
  /** Calls sent in this wake: the answer of the last one alone says what `told` is. */
  private sent = 0;
  private reportScheduled = false;
  /** One stub for the wake: calls on one stub arrive in the order they were made, which the ledger relies on. */
  private stub: SlotTarget | null = null;

  constructor(
    private readonly index: number,
    private readonly sequencer: () => SlotTarget,
    /** This shard's open WebSockets and SSE streams. */
    private readonly local: () => number,
  ) {}

  /**
   * Reports the claim whatever the sequencer holds: on the shard's wake (it
   * may count streams this shard no longer has, after a restart) and when a
   * woken sequencer asks (its entries are bounds).
   */
  recount(): void {
    this.told = Number.POSITIVE_INFINITY;
    this.changed();
  }

  /** Streams open, plus slots asked for or granted and not settled. */
  claim(): number {
    return this.local() + this.pending;
  }

  /**
   * Runs `open` holding a slot the sequencer granted; null, without running
   * it, when the room is full (or the sequencer could not be asked: refusing
   * is the side that keeps the cap).
   */
  async holding<T>(open: () => Promise<T>): Promise<T | null> {
    const claim = this.claim();
    this.pending++;
    const serial = ++this.sent;
    this.told = claim + 1;
    let granted = false;
    try {
      granted = await this.call(claim, true);
      if (serial === this.sent) this.told = claim + (granted ? 1 : 0);
    } catch (error) {
      // It may have been granted all the same: what the sequencer holds is unknown until a report.
      console.warn(`shard ${this.index}: asking for a connection slot failed`, error);
      this.told = Number.POSITIVE_INFINITY;
    }
    if (!granted) {
      this.pending--;
      this.changed();
      return null;
    }
    try {
      return await open();
    } finally {
      // Opened, the stream now counts in `local`; failed, the slot goes back.
      this.pending--;
      this.changed();
    }
  }

  /** The claim may have dropped (a stream closed): report it, once for whatever this turn brings. */
  changed(): void {
    if (this.reportScheduled || this.claim() >= this.told) return;
    this.reportScheduled = true;
    setTimeout(() => void this.report(), 0);
  }

  private async report(): Promise<void> {
    this.reportScheduled = false;
    const claim = this.claim();
    if (claim >= this.told) return;
    this.sent++;
    this.told = claim;
    try {
      await this.call(claim, false);
    } catch (error) {
      console.warn(`shard ${this.index}: reporting connection slots failed`, error);
      this.told = Number.POSITIVE_INFINITY;
      setTimeout(() => this.changed(), REPORT_RETRY_MS);
    }
  }

  private async call(claim: number, want: boolean): Promise<boolean> {
    const stub = (this.stub ??= this.sequencer());
    try {
      return await stub.shardSlots(this.index, claim, want);
    } catch (error) {
      // A failed call may leave the stub broken: the next call takes a new one.
      if (this.stub === stub) this.stub = null;
      throw error;
    }
  }
}
