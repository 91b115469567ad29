/**
 * MQTT persistent sessions of a room, in its SQLite storage, per owner and
 * client id.
 *
 * Owner: the `sub` of the token that made the session ('' for none: open
 * mode, or tokens without `sub`). A session is found by (owner, client id),
 * so another sub using the same client id has a session of its own and
 * never reads, resumes, takes over or evicts this one (as brokers that
 * namespace client ids per user do). The session quota is per owner too: a
 * new session only ever makes room by evicting one of its own owner's.
 *
 * A session is what outlives a connection made with clean session 0 (3.1.1)
 * or a Session Expiry Interval (5.0): its subscriptions, and where its QoS 1
 * delivery stands —
 * - `delivered_through`: every message with seq <= it has been handled for
 *   this session (sent, or skipped: no matching subscription, or QoS 0);
 * - in-flight rows: QoS 1 messages sent but not yet PUBACKed, seq -> packet id.
 * On return, the adapter resends the in-flight ones (same packet id, DUP) in
 * seq order, then every matching message of history after
 * `delivered_through`: every QoS 1 message missed, in seq order, once each if
 * the client acknowledges. (History keeps HISTORY_LIMIT messages: a session
 * away for longer than that gets what history still has.)
 *
 * Expiry: `expires_at` is null while a connection holds the session, and set
 * to leave time + its expiry when it goes. Expired sessions are purged on the
 * next `open` (and by `purgeExpired`, for an alarm). Bounds: MAX_SESSIONS_PER_OWNER
 * per owner and MAX_SESSIONS per room; a new session past either evicts its
 * own owner's disconnected session that expires soonest, or is refused when
 * its owner has none to give up (never another owner's).
 *
 * Also here, not tied to sessions: the inbound QoS 1 dedupe (owner, client id,
 * packet id -> seq and a fingerprint) so that a PUBLISH retried with DUP, on
 * the same or a new connection, clean or not, is not published twice. Kept
 * for the INBOUND_DEDUPE_PER_CLIENT latest ids of a client (a client has at
 * most our Receive Maximum unacknowledged) and INBOUND_DEDUPE_SECONDS.
 */
import { MAX_INFLIGHT, MAX_SESSION_EXPIRY_SECONDS } from "./protocol";
import type { GrantedSubscription } from "./protocol";
import { SqlTables } from "../sql-tables";

/** Sessions one owner (sub) may keep in a room: open mode's whole room, as before owners. */
export const MAX_SESSIONS_PER_OWNER = 1_000;
/** Sessions a room keeps in all (what bounds its storage whatever the number of subs). */
export const MAX_SESSIONS = 10_000;
export const INBOUND_DEDUPE_PER_CLIENT = MAX_INFLIGHT;
export const INBOUND_DEDUPE_SECONDS = 24 * 60 * 60;
/**
 * An inbound QoS 2 packet id awaiting PUBREL is kept as long as the longest
 * session may wait for its client (a clean session's are dropped at its
 * client id's next CONNECT, which discards them as the spec says).
 */
export const QOS2_INBOUND_SECONDS = MAX_SESSION_EXPIRY_SECONDS;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS mqtt_sessions (
    owner TEXT NOT NULL,
    client_id TEXT NOT NULL,
    expiry_s INTEGER NOT NULL,
    expires_at INTEGER,
    delivered_through INTEGER NOT NULL,
    last_packet_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, client_id)
  );
  CREATE INDEX IF NOT EXISTS mqtt_sessions_expires ON mqtt_sessions (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE IF NOT EXISTS mqtt_subscriptions (
    owner TEXT NOT NULL,
    client_id TEXT NOT NULL,
    filter TEXT NOT NULL,
    qos INTEGER NOT NULL,
    options INTEGER NOT NULL,
    PRIMARY KEY (owner, client_id, filter)
  );
  CREATE TABLE IF NOT EXISTS mqtt_inflight (
    owner TEXT NOT NULL,
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    packet_id INTEGER NOT NULL,
    PRIMARY KEY (owner, client_id, seq)
  );
  CREATE UNIQUE INDEX IF NOT EXISTS mqtt_inflight_packet ON mqtt_inflight (owner, client_id, packet_id);
  CREATE TABLE IF NOT EXISTS mqtt_inbound (
    owner TEXT NOT NULL,
    client_id TEXT NOT NULL,
    packet_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (owner, client_id, packet_id)
  );
  CREATE INDEX IF NOT EXISTS mqtt_inbound_at ON mqtt_inbound (at);
  -- QoS 2 (see "QoS 2" below): inbound packet ids PUBREC'd and awaiting PUBREL;
  -- outbound QoS 2 messages in flight to a persistent session (released: PUBREC came, PUBREL sent).
  CREATE TABLE IF NOT EXISTS mqtt_qos2_in (
    owner TEXT NOT NULL,
    client_id TEXT NOT NULL,
    packet_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (owner, client_id, packet_id)
  );
  CREATE TABLE IF NOT EXISTS mqtt_qos2_out (
    owner TEXT NOT NULL,
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    packet_id INTEGER NOT NULL,
    released INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, client_id, seq)
  );
  CREATE UNIQUE INDEX IF NOT EXISTS mqtt_qos2_out_packet ON mqtt_qos2_out (owner, client_id, packet_id);`;

/** Which session: its owner (the token's `sub`, '' for none) and the client id. */
export interface SessionId {
  owner: string;
  clientId: string;
}

/** The one place a session's owner is derived: a token's `sub`, or '' (never a sub: a sub has 1 character or more). */
export function sessionId(sub: string | null, clientId: string): SessionId {
  return { owner: sub ?? "", clientId };
}

export interface SessionState extends SessionId {
  expirySeconds: number;
  deliveredThrough: number;
  lastPacketId: number;
  subscriptions: GrantedSubscription[];
  inflight: InflightMessage[];
}

export interface InflightMessage {
  seq: number;
  packetId: number;
}

export type OpenResult = { ok: true; sessionPresent: boolean; session: SessionState } | { ok: false; reason: "full" };

export interface OpenOptions {
  cleanStart: boolean;
  expirySeconds: number;
  /** The room's latest seq: a new session starts after it (no replay of the past). */
  latestSeq: number;
  now: number;
}

// Subscription options packed in one column: bit 0 No Local, bit 1 Retain As Published, bits 2-3 Retain Handling,
// and from bit 4 up the 5.0 Subscription Identifier (0: none; at most 2^28 - 1, so the column stays an exact integer).
const ID_UNIT = 16;
const packOptions = (s: GrantedSubscription) => ((s.noLocal ? 1 : 0) | (s.retainAsPublished ? 2 : 0) | (s.retainHandling << 2)) + (s.id ?? 0) * ID_UNIT;

const TABLES = ["mqtt_sessions", "mqtt_subscriptions", "mqtt_inflight", "mqtt_inbound"];

export class SessionStore extends SqlTables {
  constructor(
    sql: SqlStorage,
    private readonly maxSessions: number = MAX_SESSIONS,
    private readonly maxPerOwner: number = MAX_SESSIONS_PER_OWNER,
  ) {
    super(sql, SCHEMA);
  }

  /**
   * Tables from before sessions had owners were keyed by client id alone, so
   * who made each session is unknown: they are dropped rather than handed to
   * any owner (a client that had one gets session present 0 and subscribes
   * again, as after an expiry).
   */
  override migrate(): void {
    const old = this.sql.exec<{ sql: string }>(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'mqtt_sessions'`).toArray()[0];
    if (old !== undefined && !old.sql.includes("owner")) for (const t of TABLES) this.sql.exec(`DROP TABLE IF EXISTS ${t}`);
    super.migrate();
  }

  /**
   * A CONNECT takes its session: resumes it (session present) unless clean
   * start, or begins a new one. Call inside `transactionSync`.
   */
  open(id: SessionId, o: OpenOptions): OpenResult {
    this.purgeExpired(o.now);
    if (o.cleanStart) this.drop(id);
    if (this.exists(id)) {
      this.sql.exec(`UPDATE mqtt_sessions SET expiry_s = ?, expires_at = NULL WHERE owner = ? AND client_id = ?`, o.expirySeconds, id.owner, id.clientId);
      return { ok: true, sessionPresent: true, session: this.load(id)! };
    }
    // Room is made only at the expense of this owner's own sessions.
    const full = this.countOf(id.owner) >= this.maxPerOwner || this.count() >= this.maxSessions;
    if (full && !this.evictOne(id.owner)) return { ok: false, reason: "full" };
    this.sql.exec(
      `INSERT INTO mqtt_sessions (owner, client_id, expiry_s, expires_at, delivered_through, last_packet_id) VALUES (?, ?, ?, NULL, ?, 0)`,
      id.owner,
      id.clientId,
      o.expirySeconds,
      o.latestSeq,
    );
    return { ok: true, sessionPresent: false, session: this.load(id)! };
  }

  /** The connection ended: the session ends too (expiry 0) or waits until its expiry. */
  close(id: SessionId, now: number): void {
    const row = this.sql
      .exec<{ expiry_s: number }>(`SELECT expiry_s FROM mqtt_sessions WHERE owner = ? AND client_id = ?`, id.owner, id.clientId)
      .toArray()[0];
    if (!row) return;
    if (row.expiry_s <= 0) this.drop(id);
    else this.sql.exec(`UPDATE mqtt_sessions SET expires_at = ? WHERE owner = ? AND client_id = ?`, now + row.expiry_s * 1000, id.owner, id.clientId);
  }

  /** A 5.0 DISCONNECT may change the Session Expiry Interval (not from 0 to more: the adapter checks). */
  setExpiry(id: SessionId, expirySeconds: number): void {
    this.sql.exec(`UPDATE mqtt_sessions SET expiry_s = ? WHERE owner = ? AND client_id = ?`, expirySeconds, id.owner, id.clientId);
  }

  load(id: SessionId): SessionState | null {
    const row = this.sql
      .exec<{ expiry_s: number; delivered_through: number; last_packet_id: number }>(
        `SELECT expiry_s, delivered_through, last_packet_id FROM mqtt_sessions WHERE owner = ? AND client_id = ?`,
        id.owner,
        id.clientId,
      )
      .toArray()[0];
    if (!row) return null;
    return {
      owner: id.owner,
      clientId: id.clientId,
      expirySeconds: row.expiry_s,
      deliveredThrough: row.delivered_through,
      lastPacketId: row.last_packet_id,
      subscriptions: this.subscriptions(id),
      inflight: this.inflight(id),
    };
  }

  subscriptions(id: SessionId): GrantedSubscription[] {
    return this.sql
      .exec<{ filter: string; qos: number; options: number }>(
        `SELECT filter, qos, options FROM mqtt_subscriptions WHERE owner = ? AND client_id = ? ORDER BY filter`,
        id.owner,
        id.clientId,
      )
      .toArray()
      .map((r) => ({
        filter: r.filter,
        qos: Math.min(Math.max(r.qos, 0), 2) as 0 | 1 | 2,
        noLocal: (r.options & 1) !== 0,
        retainAsPublished: (r.options & 2) !== 0,
        retainHandling: ((r.options >> 2) & 3) as 0 | 1 | 2,
        ...(r.options >= ID_UNIT ? { id: Math.floor(r.options / ID_UNIT) } : {}),
      }));
  }

  /** Adds or replaces (same filter) subscriptions. */
  subscribe(id: SessionId, granted: readonly GrantedSubscription[]): void {
    for (const s of granted) {
      this.sql.exec(
        `INSERT INTO mqtt_subscriptions (owner, client_id, filter, qos, options) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (owner, client_id, filter) DO UPDATE SET qos = excluded.qos, options = excluded.options`,
        id.owner,
        id.clientId,
        s.filter,
        s.qos,
        packOptions(s),
      );
    }
  }

  unsubscribe(id: SessionId, filters: readonly string[]): void {
    for (const f of filters) this.sql.exec(`DELETE FROM mqtt_subscriptions WHERE owner = ? AND client_id = ? AND filter = ?`, id.owner, id.clientId, f);
  }

  /** Messages through `seq` are handled for this session (never moves back). */
  advance(id: SessionId, seq: number): void {
    this.sql.exec(
      `UPDATE mqtt_sessions SET delivered_through = max(delivered_through, ?) WHERE owner = ? AND client_id = ?`,
      seq,
      id.owner,
      id.clientId,
    );
  }

  /** A QoS 1 message was sent with `packetId`: in flight until its PUBACK; also advances past it. */
  sent(id: SessionId, seq: number, packetId: number): void {
    this.sql.exec(
      `INSERT INTO mqtt_inflight (owner, client_id, seq, packet_id) VALUES (?, ?, ?, ?) ON CONFLICT (owner, client_id, seq) DO UPDATE SET packet_id = excluded.packet_id`,
      id.owner,
      id.clientId,
      seq,
      packetId,
    );
    this.sql.exec(
      `UPDATE mqtt_sessions SET delivered_through = max(delivered_through, ?), last_packet_id = ? WHERE owner = ? AND client_id = ?`,
      seq,
      packetId,
      id.owner,
      id.clientId,
    );
  }

  /**
   * One batch's worth of deliveries to a session, in one go: QoS 1 messages
   * sent (in flight until PUBACK) and how far the session has been served.
   * A packet id still held by a much older message (ids cycle every 65535
   * seqs) is replaced, not refused.
   */
  sentBatch(id: SessionId, sent: readonly InflightMessage[], through: number): void {
    for (const m of sent) {
      this.sql.exec(`INSERT OR REPLACE INTO mqtt_inflight (owner, client_id, seq, packet_id) VALUES (?, ?, ?, ?)`, id.owner, id.clientId, m.seq, m.packetId);
    }
    this.advance(id, through);
  }

  /** Whether a connection holds this session now (or held it when the room last stopped). */
  held(id: SessionId): boolean {
    return (
      this.sql.exec(`SELECT 1 FROM mqtt_sessions WHERE owner = ? AND client_id = ? AND expires_at IS NULL`, id.owner, id.clientId).toArray().length > 0
    );
  }

  /** PUBACK: the seq it acknowledged, or null for an unknown packet id (ignored, as the spec allows). */
  acked(id: SessionId, packetId: number): number | null {
    const row = this.sql
      .exec<{ seq: number }>(
        `DELETE FROM mqtt_inflight WHERE owner = ? AND client_id = ? AND packet_id = ? RETURNING seq`,
        id.owner,
        id.clientId,
        packetId,
      )
      .toArray()[0];
    return row ? row.seq : null;
  }

  inflight(id: SessionId): InflightMessage[] {
    return this.sql
      .exec<{ seq: number; packet_id: number }>(
        `SELECT seq, packet_id FROM mqtt_inflight WHERE owner = ? AND client_id = ? ORDER BY seq`,
        id.owner,
        id.clientId,
      )
      .toArray()
      .map((r) => ({ seq: r.seq, packetId: r.packet_id }));
  }

  count(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM mqtt_sessions`).one().n;
  }

  /** Sessions of one owner. */
  countOf(owner: string): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM mqtt_sessions WHERE owner = ?`, owner).one().n;
  }

  /** Drops every session whose expiry has passed; returns how many. */
  purgeExpired(now: number): number {
    const gone = this.sql
      .exec<{ owner: string; client_id: string }>(`SELECT owner, client_id FROM mqtt_sessions WHERE expires_at IS NOT NULL AND expires_at <= ?`, now)
      .toArray();
    for (const g of gone) this.drop({ owner: g.owner, clientId: g.client_id });
    this.sql.exec(`DELETE FROM mqtt_inbound WHERE at <= ?`, now - INBOUND_DEDUPE_SECONDS * 1000);
    this.sql.exec(`DELETE FROM mqtt_qos2_in WHERE at <= ?`, now - QOS2_INBOUND_SECONDS * 1000);
    return gone.length;
  }

  /** When the next session expiry falls (for an alarm), or null. */
  nextExpiry(): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT min(expires_at) AS at FROM mqtt_sessions`).one().at;
  }

  drop(id: SessionId): void {
    for (const t of ["mqtt_sessions", "mqtt_subscriptions", "mqtt_inflight", "mqtt_qos2_in", "mqtt_qos2_out"]) {
      this.sql.exec(`DELETE FROM ${t} WHERE owner = ? AND client_id = ?`, id.owner, id.clientId);
    }
  }

  private exists(id: SessionId): boolean {
    return this.sql.exec(`SELECT 1 FROM mqtt_sessions WHERE owner = ? AND client_id = ?`, id.owner, id.clientId).toArray().length > 0;
  }

  /** Evicts `owner`'s disconnected session that expires soonest; false when it has none (all connected, or no session). */
  private evictOne(owner: string): boolean {
    const row = this.sql
      .exec<{ client_id: string }>(`SELECT client_id FROM mqtt_sessions WHERE owner = ? AND expires_at IS NOT NULL ORDER BY expires_at LIMIT 1`, owner)
      .toArray()[0];
    if (!row) return false;
    this.drop({ owner, clientId: row.client_id });
    return true;
  }

  // ---- inbound QoS 1 dedupe --------------------------------------------------

  /** What this client's `packetId` was last published as, if still kept. */
  inbound(id: SessionId, packetId: number): { seq: number; fingerprint: string } | null {
    return (
      this.sql
        .exec<{ seq: number; fingerprint: string }>(
          `SELECT seq, fingerprint FROM mqtt_inbound WHERE owner = ? AND client_id = ? AND packet_id = ?`,
          id.owner,
          id.clientId,
          packetId,
        )
        .toArray()[0] ?? null
    );
  }

  /** Remembers an inbound QoS 1 PUBLISH, keeping only the client's latest INBOUND_DEDUPE_PER_CLIENT. */
  recordInbound(id: SessionId, packetId: number, seq: number, fingerprint: string, now: number): void {
    this.sql.exec(
      `INSERT INTO mqtt_inbound (owner, client_id, packet_id, seq, fingerprint, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (owner, client_id, packet_id) DO UPDATE SET seq = excluded.seq, fingerprint = excluded.fingerprint, at = excluded.at`,
      id.owner,
      id.clientId,
      packetId,
      seq,
      fingerprint,
      now,
    );
    this.sql.exec(
      `DELETE FROM mqtt_inbound WHERE owner = ? AND client_id = ? AND packet_id NOT IN
         (SELECT packet_id FROM mqtt_inbound WHERE owner = ? AND client_id = ? ORDER BY seq DESC LIMIT ?)`,
      id.owner,
      id.clientId,
      id.owner,
      id.clientId,
      INBOUND_DEDUPE_PER_CLIENT,
    );
  }

  // ---- QoS 2 -----------------------------------------------------------------
  // Inbound: a QoS 2 PUBLISH published once is remembered by packet id until
  // its PUBREL, so a retry (DUP or not, on this or a later connection, after
  // an eviction) is answered PUBREC without a second message. Outbound: QoS 2
  // messages sent to a persistent session, resent on its return as PUBLISH
  // (DUP) until PUBREC, then as PUBREL until PUBCOMP.

  /** The seq an inbound QoS 2 packet id was published as, while it awaits PUBREL. */
  qos2Received(id: SessionId, packetId: number): number | null {
    const row = this.sql
      .exec<{ seq: number }>(`SELECT seq FROM mqtt_qos2_in WHERE owner = ? AND client_id = ? AND packet_id = ?`, id.owner, id.clientId, packetId)
      .toArray()[0];
    return row ? row.seq : null;
  }

  /** An inbound QoS 2 PUBLISH was published (PUBREC follows): later copies of `packetId` are not, until PUBREL. */
  /** Inbound QoS 2 exchanges of this client still open (PUBREC sent, no PUBREL yet): they count against our Receive Maximum. */
  qos2Open(id: SessionId): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM mqtt_qos2_in WHERE owner = ? AND client_id = ?`, id.owner, id.clientId).one().n;
  }

  recordQos2Received(id: SessionId, packetId: number, seq: number, now: number): void {
    this.sql.exec(`INSERT OR REPLACE INTO mqtt_qos2_in (owner, client_id, packet_id, seq, at) VALUES (?, ?, ?, ?, ?)`, id.owner, id.clientId, packetId, seq, now);
  }

  /** PUBREL: the packet id is free again. */
  qos2Released(id: SessionId, packetId: number): void {
    this.sql.exec(`DELETE FROM mqtt_qos2_in WHERE owner = ? AND client_id = ? AND packet_id = ?`, id.owner, id.clientId, packetId);
  }

  /** Outbound QoS 2 messages sent to a persistent session (in flight until PUBCOMP). */
  sentQos2(id: SessionId, sent: readonly InflightMessage[]): void {
    for (const m of sent) {
      this.sql.exec(
        `INSERT OR REPLACE INTO mqtt_qos2_out (owner, client_id, seq, packet_id, released) VALUES (?, ?, ?, ?, 0)`,
        id.owner,
        id.clientId,
        m.seq,
        m.packetId,
      );
    }
  }

  /** PUBREC for an outbound QoS 2 message: from now on the session owes a PUBREL, not the message. */
  qos2Recorded(id: SessionId, packetId: number): void {
    this.sql.exec(`UPDATE mqtt_qos2_out SET released = 1 WHERE owner = ? AND client_id = ? AND packet_id = ?`, id.owner, id.clientId, packetId);
  }

  /** PUBCOMP: the outbound QoS 2 exchange is complete. */
  qos2Completed(id: SessionId, packetId: number): void {
    this.sql.exec(`DELETE FROM mqtt_qos2_out WHERE owner = ? AND client_id = ? AND packet_id = ?`, id.owner, id.clientId, packetId);
  }

  /** Outbound QoS 2 in flight, in seq order: `released` ones await PUBCOMP, the others PUBREC. */
  qos2InFlight(id: SessionId): Array<InflightMessage & { released: boolean }> {
    return this.sql
      .exec<{ seq: number; packet_id: number; released: number }>(
        `SELECT seq, packet_id, released FROM mqtt_qos2_out WHERE owner = ? AND client_id = ? ORDER BY seq`,
        id.owner,
        id.clientId,
      )
      .toArray()
      .map((r) => ({ seq: r.seq, packetId: r.packet_id, released: r.released !== 0 }));
  }
}
