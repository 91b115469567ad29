/**
 * The room's log: its epoch, the latest committed seq, history in SQLite
 * (the newest messages in memory too, recent.ts) and the retained values.
 * A room that sequences itself (plain or a sharded room's sequencer) writes
 * it; every room reads it for resumes and reads. Nothing is written for a
 * room until it has a message or a reader that will resume (`persist`).
 */
import type { Limits } from "../protocol/limits";
import { RecentMessages } from "./recent";
import { RetainedStore, type RetainedMessage } from "./retained-store";
import { RoomStore, type StoredMessage } from "./store";

/** History rows read per query while a resume is replayed. */
const REPLAY_PAGE = 100;

/** A message as the batch commits it. */
export interface CommittedRow extends StoredMessage {
  publishKey: string | null;
  ts: number;
}

/** A retained value set (envelope) or cleared (null) by a batch, in accept order. */
export interface RetainedOp {
  topic: string;
  seq: number | null;
  envelope: string | null;
}

export class History {
  readonly store: RoomStore;
  private readonly recent: RecentMessages;
  private readonly retainedStore: RetainedStore;
  epoch = "";
  /** Latest seq written. */
  seq = 0;
  /** Whether the epoch is in storage yet (a room nobody wrote to keeps none). */
  private stored = false;

  constructor(
    sql: SqlStorage,
    private readonly limits: Limits,
    private readonly room: string,
  ) {
    this.store = new RoomStore(sql);
    this.recent = new RecentMessages(limits.historyLimit);
    this.retainedStore = new RetainedStore(sql);
  }

  /** Reads what storage holds (inside the constructor's blockConcurrencyWhile). */
  open(newEpoch: () => string): void {
    this.stored = this.store.open();
    if (this.stored) this.retainedStore.migrate();
    if (this.stored) this.keepName();
    this.epoch = this.store.getMeta("epoch") ?? newEpoch();
    this.seq = this.store.latestSeq();
  }

  /** Writes the epoch the first time the room has something a client will come back for. */
  persist(): void {
    if (this.stored) return;
    this.store.create();
    this.retainedStore.migrate();
    this.store.setMeta("epoch", this.epoch);
    this.keepName();
    this.stored = true;
  }

  /** Stores the object's name (storedObjectName, store.ts), once: an alarm wakes it without one. */
  private keepName(): void {
    if (this.room !== "" && this.store.getMeta("name") !== this.room) this.store.setMeta("name", this.room);
  }

  /** Oldest seq history still serves (HISTORY_LIMIT applies even before a trim). */
  oldestSeq(): number {
    return Math.max(1, this.seq - this.limits.historyLimit + 1);
  }

  /** The seq a publisher's key was accepted with, while history holds it. */
  seqForKey(publishKey: string): number | null {
    return this.store.seqForPublishId(publishKey, this.oldestSeq());
  }

  /** Writes one batch: its messages, then its retained values (one transaction: the runtime's output gate). */
  commit(rows: readonly CommittedRow[], retained: readonly RetainedOp[]): void {
    this.persist();
    for (const m of rows) {
      this.store.append(m.seq, m.publishKey, m.envelope, m.ts, m.topic, this.limits.historyLimit);
      this.recent.add({ seq: m.seq, envelope: m.envelope, topic: m.topic });
    }
    for (const op of retained) {
      if (op.envelope === null) this.retainedStore.delete(op.topic);
      else if (this.retainedStore.set(op.topic, op.seq!, op.envelope) === "full") {
        console.warn(`room ${this.room}: ${op.topic} not retained: the room holds the most retained topics it may`);
      }
    }
    const last = rows[rows.length - 1];
    if (last !== undefined) this.seq = last.seq;
  }

  /** A page of the retained values (RetainedStore.page); none in a room that never stored anything. */
  retainedPage(topics: readonly string[] | null, after: number, limit: number, maxBytes: number): { rows: RetainedMessage[]; more: boolean } {
    return this.stored ? this.retainedStore.page(topics, after, limit, maxBytes) : { rows: [], more: false };
  }

  /** Hands `send` every stored message after `after`, a page at a time; false when `send` stopped it. */
  replay(after: number, send: (message: StoredMessage) => boolean): boolean {
    const held = this.recent.after(after, this.seq);
    if (held !== null) {
      for (const row of held) if (!send(row)) return false;
      return true;
    }
    let cursor = after;
    const read: StoredMessage[] = [];
    while (cursor < this.seq) {
      const rows = this.store.range(cursor, this.oldestSeq(), REPLAY_PAGE);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (!send(row)) return false;
        read.push(row);
        cursor = row.seq;
      }
    }
    // Read up to the newest message: the next resumes after a wake need no query.
    if (cursor === this.seq) this.recent.seed(read);
    return true;
  }
}
