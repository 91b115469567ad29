/**
 * The sinks' outbox in the room's SQLite: each routed message waits here,
 * per sink, until its target took it, so delivery survives evictions and
 * restarts (at least once). Rows are written in the same turn as the batch's
 * history rows (one implicit transaction: the output gate), so a message is
 * never committed without its outbox row, nor the other way round.
 * `sink_state` keeps what the retries and the bound need across wakes.
 */
import { SqlTables } from "../sql-tables";

export type OutboxRow = {
  seq: number;
  epoch: string;
  /** The room's name, kept with each row: an object woken by its alarm is not told its name (ctx.id.name is unset). */
  room: string;
  envelope: string;
};

export interface SinkState {
  attempts: number;
  /** When the next attempt may start (ms since the epoch); 0: now. */
  nextAt: number;
  /** Messages never written to the outbox because the sink was over its bound, since the room's storage began. */
  dropped: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sink_outbox (
    sink TEXT NOT NULL,
    seq INTEGER NOT NULL,
    epoch TEXT NOT NULL,
    room TEXT NOT NULL,
    envelope TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (sink, seq)
  );
  CREATE TABLE IF NOT EXISTS sink_state (
    sink TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0
  );`;

export class OutboxStore extends SqlTables {
  private ready = false;

  constructor(sql: SqlStorage) {
    super(sql, SCHEMA);
  }

  /** Whether the tables exist (a room never routed to has none: nothing is written for it). */
  exists(): boolean {
    if (this.ready) return true;
    const row = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'sink_outbox'`).one();
    this.ready = row.n > 0;
    return this.ready;
  }

  private ensure(): void {
    if (this.exists()) return;
    this.migrate();
    this.ready = true;
  }

  append(sink: string, rows: readonly OutboxRow[]): void {
    this.ensure();
    for (const r of rows) {
      this.sql.exec(`INSERT OR IGNORE INTO sink_outbox (sink, seq, epoch, room, envelope, bytes) VALUES (?, ?, ?, ?, ?, ?)`, sink, r.seq, r.epoch, r.room, r.envelope, utf8Bytes(r.envelope));
    }
  }

  /** The oldest pending rows of `sink`, at most `limit` of them. */
  head(sink: string, limit: number): OutboxRow[] {
    if (!this.exists()) return [];
    return this.sql.exec<OutboxRow>(`SELECT seq, epoch, room, envelope FROM sink_outbox WHERE sink = ? ORDER BY seq LIMIT ?`, sink, limit).toArray();
  }

  /** The target took every row of `sink` up to `seq`. */
  delivered(sink: string, seq: number): void {
    this.sql.exec(`DELETE FROM sink_outbox WHERE sink = ? AND seq <= ?`, sink, seq);
  }

  /** Pending messages and envelope bytes of `sink` (read once per wake; then kept in memory). */
  totals(sink: string): { messages: number; bytes: number } {
    if (!this.exists()) return { messages: 0, bytes: 0 };
    const row = this.sql.exec<{ n: number; b: number | null }>(`SELECT count(*) AS n, sum(bytes) AS b FROM sink_outbox WHERE sink = ?`, sink).one();
    return { messages: row.n, bytes: row.b ?? 0 };
  }

  state(sink: string): SinkState {
    if (!this.exists()) return { attempts: 0, nextAt: 0, dropped: 0 };
    const row = this.sql.exec<{ attempts: number; next_at: number; dropped: number }>(`SELECT attempts, next_at, dropped FROM sink_state WHERE sink = ?`, sink).toArray()[0];
    return row === undefined ? { attempts: 0, nextAt: 0, dropped: 0 } : { attempts: row.attempts, nextAt: row.next_at, dropped: row.dropped };
  }

  saveState(sink: string, s: SinkState): void {
    this.ensure();
    this.sql.exec(
      `INSERT INTO sink_state (sink, attempts, next_at, dropped) VALUES (?, ?, ?, ?)
       ON CONFLICT (sink) DO UPDATE SET attempts = excluded.attempts, next_at = excluded.next_at, dropped = excluded.dropped`,
      sink,
      s.attempts,
      s.nextAt,
      s.dropped,
    );
  }
}

const encoder = new TextEncoder();

/** What the bound counts: an envelope's UTF-8 bytes, as the target is sent them. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).byteLength;
}
