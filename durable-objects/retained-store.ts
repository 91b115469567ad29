/**
 * Retained values: the latest retained message per topic of a room, in the
 * room's SQLite storage, next to (and independent of) its history.
 *
 * A row holds the message's envelope as it was delivered (with `topic`,
 * `retain: true` and its original `seq`): JSON readers get it as it is, MQTT
 * readers get the payload from it (`outboundPayloadOfEnvelope`), so the
 * payload is kept once.
 *
 * Bound: MAX_RETAINED_TOPICS per room. When full, a retained publish to a
 * topic that has no value yet is refused (`set` answers "full"); updating or
 * clearing an existing topic always works. Retained values are state that
 * devices rely on (last known status, config), so silently evicting the oldest
 * would surprise Mosquitto users more than a refusal they can see.
 */
import { envelopeExpired } from "../protocol/properties";
import { TopicMatcher, validFilter } from "../protocol/topics";
import { SqlTables } from "./sql-tables";

export const MAX_RETAINED_TOPICS = 10_000;

/** Additive to the room's schema: own tables, created if missing. */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS retained (
    topic TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    envelope TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS retained_seq ON retained (seq);`;

export interface RetainedMessage {
  topic: string;
  seq: number;
  envelope: string;
}

export type RetainResult = "stored" | "full";

export class RetainedStore extends SqlTables {
  constructor(
    sql: SqlStorage,
    private readonly maxTopics: number = MAX_RETAINED_TOPICS,
  ) {
    super(sql, SCHEMA);
  }

  /** Sets `topic`'s retained value, unless it is a new topic and the room is full. */
  set(topic: string, seq: number, envelope: string): RetainResult {
    const updated = this.sql.exec(`UPDATE retained SET seq = ?, envelope = ? WHERE topic = ?`, seq, envelope, topic).rowsWritten;
    if (updated > 0) return "stored";
    if (this.count() >= this.maxTopics) return "full";
    this.sql.exec(`INSERT INTO retained (topic, seq, envelope) VALUES (?, ?, ?)`, topic, seq, envelope);
    return "stored";
  }

  /** Clears `topic`'s retained value (a retained publish with an empty payload). */
  delete(topic: string): boolean {
    return this.sql.exec(`DELETE FROM retained WHERE topic = ?`, topic).rowsWritten > 0;
  }

  count(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM retained`).one().n;
  }

  /** Every retained message matching `filters` (every one for null), oldest seq first: a page without bounds. */
  matching(filters: readonly string[] | null): RetainedMessage[] {
    return this.page(filters, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).rows;
  }

  /**
   * A page of the retained values matching `filters` (every one for null):
   * seq after `after`, oldest first, at most `limit` of them and `maxBytes`
   * of envelopes (at least one). `more` says whether any is left after it.
   * Read row by row, so a large room is never held in memory at once.
   */
  page(filters: readonly string[] | null, after: number, limit: number, maxBytes: number): { rows: RetainedMessage[]; more: boolean } {
    const valid = filters === null ? null : filters.filter((f) => validFilter(f));
    if (valid !== null && valid.length === 0) return { rows: [], more: false };
    // Exact topics are looked up by key; a wildcard walks the table once (bounded by MAX_RETAINED_TOPICS).
    const exact = valid !== null && valid.every((f) => !f.includes("+") && !f.includes("#"));
    const matcher = valid === null || exact ? null : new TopicMatcher(valid);
    const cursor = exact
      ? this.sql.exec<{ topic: string; seq: number; envelope: string }>(
          `SELECT topic, seq, envelope FROM retained WHERE seq > ? AND topic IN (${valid.map(() => "?").join(",")}) ORDER BY seq`,
          after,
          ...valid,
        )
      : this.sql.exec<{ topic: string; seq: number; envelope: string }>(`SELECT topic, seq, envelope FROM retained WHERE seq > ? ORDER BY seq`, after);
    const rows: RetainedMessage[] = [];
    let bytes = 0;
    const now = Date.now();
    for (const row of cursor) {
      if (matcher !== null && !matcher.matches(row.topic)) continue;
      // A retained value past its message expiry is gone for every reader (as a broker drops it).
      if (envelopeExpired(row.envelope, now)) continue;
      if (rows.length >= limit || (rows.length > 0 && bytes + row.envelope.length > maxBytes)) return { rows, more: true };
      rows.push(row);
      bytes += row.envelope.length;
    }
    return { rows, more: false };
  }
}
