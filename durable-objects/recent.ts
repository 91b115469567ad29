/**
 * The newest messages of a room's history, kept in memory as well as in
 * SQLite, so that a resume (most ask for the last few messages) is served
 * without a query. It matters in a reconnect wave: thousands of clients each
 * asking for the same recent messages would otherwise read them from SQLite
 * once each.
 *
 * It holds a run of consecutive seqs ending at the newest message, bounded
 * by rows (the room's HISTORY_LIMIT, so it never serves what history no
 * longer would) and by RECENT_HISTORY_BYTES. It is empty after every wake
 * and fills as messages are written, or from the first replay that read
 * history up to the newest message.
 */
import { RECENT_HISTORY_BYTES } from "../protocol/limits";
import type { StoredMessage } from "./store";

export class RecentMessages {
  private rows: StoredMessage[] = [];
  /** Index of the oldest row held (rows before it were dropped; compacted now and then). */
  private start = 0;
  private bytes = 0;

  constructor(
    private readonly maxRows: number,
    private readonly maxBytes = RECENT_HISTORY_BYTES,
  ) {}

  /** A message just written to history; seqs arrive in order, and a gap starts the run again. */
  add(row: StoredMessage): void {
    const newest = this.rows[this.rows.length - 1];
    if (newest !== undefined && row.seq !== newest.seq + 1) this.clear();
    this.rows.push(row);
    this.bytes += row.envelope.length;
    while (this.rows.length - this.start > this.maxRows || (this.bytes > this.maxBytes && this.rows.length - this.start > 1)) {
      this.bytes -= this.rows[this.start]!.envelope.length;
      this.start++;
    }
    if (this.start > 1024 && this.start * 2 > this.rows.length) {
      this.rows = this.rows.slice(this.start);
      this.start = 0;
    }
  }

  /**
   * Rows a replay read from storage, oldest first, ending at the newest
   * message: held instead of the run when they reach further back.
   */
  seed(rows: readonly StoredMessage[]): void {
    const first = this.rows[this.start];
    if (rows.length === 0 || (first !== undefined && rows[0]!.seq >= first.seq)) return;
    this.clear();
    for (const row of rows) this.add(row);
  }

  /**
   * Every held message after `after`, oldest first, when the run holds all
   * of them up to `newest`; null when part of that range is not held.
   */
  after(after: number, newest: number): readonly StoredMessage[] | null {
    const first = this.rows[this.start];
    const last = this.rows[this.rows.length - 1];
    if (first === undefined || last === undefined || last.seq !== newest || first.seq > after + 1) return null;
    return this.rows.slice(this.start + Math.max(0, after + 1 - first.seq));
  }

  clear(): void {
    this.rows = [];
    this.start = 0;
    this.bytes = 0;
  }
}
