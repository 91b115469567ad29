/**
 * The Room's SQLite storage: the room's identity (name, epoch) and its message
 * history. Every statement the Room runs lives here.
 *
 * Migrations: `MIGRATIONS[i]` takes the schema from version i to i + 1. The
 * applied version is kept in `meta.schema_version`; `migrate()` runs the
 * missing steps once, inside `blockConcurrencyWhile`, so a later release adds a
 * step at the end and never edits an old one.
 */

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS messages (
     seq INTEGER PRIMARY KEY,
     pub_id TEXT,
     envelope TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS messages_pub_id ON messages (pub_id) WHERE pub_id IS NOT NULL;`,
];

/** Trim history once per this many messages rather than on every write. */
const TRIM_EVERY = 64;

export interface StoredMessage {
  seq: number;
  envelope: string;
}

export class RoomStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    let version = Number(this.getMeta("schema_version") ?? "0");
    for (; version < MIGRATIONS.length; version++) {
      this.sql.exec(MIGRATIONS[version]!);
      this.setMeta("schema_version", String(version + 1));
    }
  }

  getMeta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0];
    return row ? row.value : null;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }

  /** The latest sequence number ever accepted (history always keeps the newest). */
  latestSeq(): number {
    const row = this.sql.exec<{ seq: number | null }>(`SELECT max(seq) AS seq FROM messages`).one();
    return row.seq ?? 0;
  }

  /** The seq already given to a publish with this id, if it is still in history. */
  seqForPublishId(pubId: string, oldestSeq: number): number | null {
    const row = this.sql
      .exec<{ seq: number }>(`SELECT seq FROM messages WHERE pub_id = ? AND seq >= ? LIMIT 1`, pubId, oldestSeq)
      .toArray()[0];
    return row ? row.seq : null;
  }

  append(seq: number, pubId: string | null, envelope: string, historyLimit: number): void {
    this.sql.exec(`INSERT INTO messages (seq, pub_id, envelope) VALUES (?, ?, ?)`, seq, pubId, envelope);
    if (seq % TRIM_EVERY === 0) {
      this.sql.exec(`DELETE FROM messages WHERE seq <= ?`, seq - historyLimit);
    }
  }

  /** Messages with `after < seq`, from `oldestSeq` on, oldest first. */
  range(after: number, oldestSeq: number, limit: number): StoredMessage[] {
    return this.sql
      .exec<{ seq: number; envelope: string }>(
        `SELECT seq, envelope FROM messages WHERE seq > ? AND seq >= ? ORDER BY seq LIMIT ?`,
        after,
        oldestSeq,
        limit,
      )
      .toArray();
  }
}
