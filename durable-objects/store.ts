/**
 * The Room's SQLite storage: the room's epoch and its message history. Every
 * statement the Room runs on them lives here.
 *
 * Nothing is written until the room has something to keep (a message, or a
 * socket that will resume against its epoch): reading a room that was never
 * used (`GET /rooms/:room`, `/messages`, `/presence`) leaves no storage
 * behind. `open()` tells whether the schema exists; `create()` makes it.
 *
 * Migrations: `MIGRATIONS[i]` takes the schema from version i to i + 1. The
 * applied version is kept in `meta.schema_version`; the missing steps run
 * once, inside `blockConcurrencyWhile`, so a later release adds a step at the
 * end and never edits an old one.
 */

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS messages (
     seq INTEGER PRIMARY KEY,
     pub_id TEXT,
     envelope TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS messages_pub_id ON messages (pub_id) WHERE pub_id IS NOT NULL;`,
  // When each message was accepted: resume with `subscribe` alone is bounded in time.
  `ALTER TABLE messages ADD COLUMN ts INTEGER NOT NULL DEFAULT 0;`,
  // Each message's topic, so a filtered resume or history read needs no parse.
  `ALTER TABLE messages ADD COLUMN topic TEXT;`,
];

/** Trim history once per this many messages rather than on every write. */
const TRIM_EVERY = 64;

export type StoredMessage = {
  seq: number;
  envelope: string;
  topic: string | null;
  /**
   * The envelope's UTF-8 length, set by the first batch-frame replay that
   * measured it: the recent ring's rows are shared by every replay of a
   * reconnect wave, so each is measured once, not once per socket.
   */
  bytes?: number;
};

export class RoomStore {
  private created = false;

  constructor(private readonly sql: SqlStorage) {}

  /** Whether the room has storage; brings its schema up to date if it has. */
  open(): boolean {
    const row = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).one();
    this.created = row.n > 0;
    if (this.created) this.migrate();
    return this.created;
  }

  /** Creates the schema (once). */
  create(): void {
    if (this.created) return;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.created = true;
    this.migrate();
  }

  private migrate(): void {
    let version = Number(this.getMeta("schema_version") ?? "0");
    for (; version < MIGRATIONS.length; version++) {
      this.sql.exec(MIGRATIONS[version]!);
      this.setMeta("schema_version", String(version + 1));
    }
  }

  getMeta(key: string): string | null {
    if (!this.created) return null;
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0];
    return row ? row.value : null;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }

  /** The latest sequence number ever accepted (history always keeps the newest). */
  latestSeq(): number {
    if (!this.created) return 0;
    const row = this.sql.exec<{ seq: number | null }>(`SELECT max(seq) AS seq FROM messages`).one();
    return row.seq ?? 0;
  }

  /** The seq already given to a publish with this key, if it is still in history. */
  seqForPublishId(pubId: string, oldestSeq: number): number | null {
    if (!this.created) return null;
    const row = this.sql
      .exec<{ seq: number }>(`SELECT seq FROM messages WHERE pub_id = ? AND seq >= ? LIMIT 1`, pubId, oldestSeq)
      .toArray()[0];
    return row ? row.seq : null;
  }

  append(seq: number, pubId: string | null, envelope: string, ts: number, topic: string | null, historyLimit: number): void {
    this.sql.exec(`INSERT INTO messages (seq, pub_id, envelope, ts, topic) VALUES (?, ?, ?, ?, ?)`, seq, pubId, envelope, ts, topic);
    if (seq % TRIM_EVERY === 0) {
      this.sql.exec(`DELETE FROM messages WHERE seq <= ?`, seq - historyLimit);
    }
  }

  /** Messages with `after < seq`, from `oldestSeq` on, oldest first. */
  range(after: number, oldestSeq: number, limit: number): StoredMessage[] {
    if (!this.created) return [];
    return this.sql
      .exec<StoredMessage>(
        `SELECT seq, envelope, topic FROM messages WHERE seq > ? AND seq >= ? ORDER BY seq LIMIT ?`,
        after,
        oldestSeq,
        limit,
      )
      .toArray();
  }

  /** The oldest seq after `after` accepted at or after `ts` (ms); null when none is. */
  firstSeqSince(after: number, ts: number): number | null {
    if (!this.created) return null;
    const row = this.sql.exec<{ seq: number | null }>(`SELECT min(seq) AS seq FROM messages WHERE seq > ? AND ts >= ?`, after, ts).one();
    return row.seq;
  }
}

/**
 * The object's name as a request last gave it: an object woken by its alarm
 * is not told its name (ctx.id.name is unset), yet its role, envelopes and
 * sinks need it. Null for an object that never stored anything.
 */
export function storedObjectName(sql: SqlStorage): string | null {
  const exists = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).one();
  if (exists.n === 0) return null;
  const row = sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'name'`).toArray()[0];
  return row ? row.value : null;
}
