/**
 * The revocation list (docs/security.md, Revocation): kept by one object per
 * deployment, the Room class under a name no room can take (room names start
 * with a letter or digit, so `.revocations` is never a room's nor a shard's),
 * in its SQLite. It is the one consistent copy; everyone else reads it
 * through `revokedTokens`, an isolate-level cache that is at most
 * REVOCATION_CACHE_MS old, so a check costs a Set and a Map lookup almost always.
 */
import { REVOCATION_CACHE_MS, RevokedTokens, type Revocable, type Revocation, type RevocationSet } from "../protocol/revocation";
import { alarmNoLaterThan } from "./alarm";
import { SqlTables } from "./sql-tables";

/** The revocation object's name: not a valid room name (protocol/index.ts isValidRoomName). */
export const REVOCATIONS_OBJECT = ".revocations";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS revoked_jti (jti TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS revoked_sub (sub TEXT PRIMARY KEY, before INTEGER NOT NULL, at INTEGER NOT NULL);
`;

/** The table side, in the revocation object only. */
export class RevocationStore extends SqlTables {
  constructor(sql: SqlStorage) {
    super(sql, SCHEMA);
    this.migrate();
  }

  /** A sub's time only moves later: revoking "before an older time" never un-revokes a token. */
  add(r: Revocation, now: number): void {
    if ("jti" in r) this.sql.exec("INSERT OR IGNORE INTO revoked_jti (jti, at) VALUES (?, ?)", r.jti, now);
    else this.sql.exec("INSERT INTO revoked_sub (sub, before, at) VALUES (?, ?, ?) ON CONFLICT (sub) DO UPDATE SET before = max(before, excluded.before), at = excluded.at", r.sub, r.before, now);
  }

  list(): RevocationSet {
    const jtis = this.sql.exec<{ jti: string }>("SELECT jti FROM revoked_jti").toArray().map((r) => r.jti);
    const subs: Record<string, number> = {};
    for (const r of this.sql.exec<{ sub: string; before: number }>("SELECT sub, before FROM revoked_sub")) subs[r.sub] = r.before;
    return { jtis, subs };
  }
}

function revocationObject(env: Env) {
  return env.ROOM.get(env.ROOM.idFromName(REVOCATIONS_OBJECT));
}

// One cache per isolate: the Worker's requests and every Room it hosts share it.
let cached: { tokens: RevokedTokens; at: number } | null = null;
let reading: Promise<RevokedTokens> | null = null;

/** The list, at most REVOCATION_CACHE_MS old: one RPC per isolate per interval, however many requests. */
export async function revokedTokens(env: Env, now = Date.now()): Promise<RevokedTokens> {
  if (cached !== null && now - cached.at < REVOCATION_CACHE_MS) return cached.tokens;
  reading ??= (async () => {
    try {
      const tokens = new RevokedTokens(await revocationObject(env).revocationList());
      cached = { tokens, at: Date.now() };
      return tokens;
    } finally {
      reading = null;
    }
  })();
  return reading;
}

/** Revokes, and refreshes this isolate's copy at once: the caller's own next request already sees it. */
export async function revoke(env: Env, r: Revocation): Promise<void> {
  const set = await revocationObject(env).revocationAdd(r);
  cached = { tokens: new RevokedTokens(set), at: Date.now() };
}

/** A connection whose token a revocation could match keeps its room's sweep coming (the room's one alarm: alarm.ts). */
export function scheduleRevocationSweep(storage: DurableObjectStorage, who: Revocable, sweepMs: number): Promise<void> | undefined {
  if (!isRevocable(who)) return undefined;
  return alarmNoLaterThan(storage, Date.now() + sweepMs);
}

/** Open mode has no token and so nothing to revoke: its identities have no sub and no jti. */
export function isRevocable(who: Revocable): boolean {
  return who.jti !== undefined || who.sub !== null;
}
