/**
 * MQTT 5 Will Delay Interval (§3.1.3.2.2): a will with a delay is not
 * published when its connection ends, but when the delay is over or the
 * session ends, whichever comes first; a connection that takes the session
 * back before then cancels it. The pending will is kept in SQLite and timed
 * by the room's one alarm (the sweep of expiry.ts asks `sweepRoom`), so it
 * survives the room hibernating or being evicted.
 */
import type { Identity } from "../../handoff/identity";
import { base64ToBytes as fromBase64, bytesToBase64 as toBase64 } from "../../protocol/base64";
import type { RoomPort } from "../adapters/adapter";
import { SqlTables, storeOf } from "../sql-tables";
import type { Will } from "./connect-rules";
import type { SessionId } from "./session-store";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS mqtt_delayed_wills (
    owner TEXT NOT NULL,
    client_id TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    connection TEXT NOT NULL,
    will TEXT NOT NULL,
    identity TEXT NOT NULL,
    PRIMARY KEY (owner, client_id)
  );
  CREATE INDEX IF NOT EXISTS mqtt_delayed_wills_due ON mqtt_delayed_wills (due_at);`;

/** A will as stored: its payload in JSON's reach (bytes as base64). */
interface StoredWill extends Omit<Will, "payload"> {
  payload: { kind: "json"; value: unknown } | { kind: "text"; value: string } | { kind: "binary"; value: string };
}

export class DelayedWills extends SqlTables {
  constructor(sql: SqlStorage) {
    super(sql, SCHEMA);
  }

  /** Keeps `will` of connection `connection` to go out at `dueAt` (replacing one the session had pending). */
  hold(id: SessionId, dueAt: number, connection: string, will: Will, identity: Identity): void {
    const stored: StoredWill = {
      ...will,
      payload: will.payload.kind === "binary" ? { kind: "binary", value: toBase64(will.payload.value) } : will.payload,
    };
    this.sql.exec(
      `INSERT OR REPLACE INTO mqtt_delayed_wills (owner, client_id, due_at, connection, will, identity) VALUES (?, ?, ?, ?, ?, ?)`,
      id.owner,
      id.clientId,
      dueAt,
      connection,
      JSON.stringify(stored),
      JSON.stringify(identityOf(identity)),
    );
  }

  /** Takes the session's pending will out of the table, if it has one. */
  take(id: SessionId): { connection: string; will: Will; identity: Identity } | null {
    const row = this.sql
      .exec<{ connection: string; will: string; identity: string }>(`SELECT connection, will, identity FROM mqtt_delayed_wills WHERE owner = ? AND client_id = ?`, id.owner, id.clientId)
      .toArray()[0];
    if (row === undefined) return null;
    this.sql.exec(`DELETE FROM mqtt_delayed_wills WHERE owner = ? AND client_id = ?`, id.owner, id.clientId);
    return parseRow(row);
  }

  /** Takes the wills due at `now` out of the table; answers them and when the next one is due (null: none). */
  takeDue(now: number): { due: Array<{ connection: string; will: Will; identity: Identity }>; next: number | null } {
    const rows = this.sql
      .exec<{ owner: string; client_id: string; connection: string; will: string; identity: string }>(
        `SELECT owner, client_id, connection, will, identity FROM mqtt_delayed_wills WHERE due_at <= ? ORDER BY due_at`,
        now,
      )
      .toArray();
    this.sql.exec(`DELETE FROM mqtt_delayed_wills WHERE due_at <= ?`, now);
    const next = this.sql.exec<{ at: number | null }>(`SELECT min(due_at) AS at FROM mqtt_delayed_wills`).one().at;
    return { due: rows.map(parseRow), next };
  }
}

function parseRow(r: { connection: string; will: string; identity: string }): { connection: string; will: Will; identity: Identity } {
  const stored = JSON.parse(r.will) as StoredWill;
  const payload = stored.payload.kind === "binary" ? { kind: "binary" as const, value: fromBase64(stored.payload.value) } : stored.payload;
  return { connection: r.connection, will: { ...stored, payload }, identity: JSON.parse(r.identity) as Identity };
}

/** Only what a publish is checked against (not the rest of a socket's attachment). */
export function identityOf(i: Identity): Identity {
  const { sub, scopes, meta, exp, acl, jti, iat } = i;
  return { sub, scopes, meta, exp, ...(acl ? { acl } : {}), ...(jti !== undefined ? { jti } : {}), ...(iat !== undefined ? { iat } : {}) };
}

const stores = new WeakMap<SqlStorage, DelayedWills>();

/** The room's delayed wills, migrated on first use in each wake. */
export function delayedWillsOf(port: RoomPort): DelayedWills {
  return storeOf(stores, port.sql, (sql) => new DelayedWills(sql));
}

/** When a will with `delaySeconds` is due for a session that lives `sessionSeconds` after its connection ends. */
export function willDueAt(now: number, delaySeconds: number, sessionSeconds: number): number {
  return now + Math.min(delaySeconds, sessionSeconds) * 1000;
}

/** Publishes a will through the room's pipeline like any publish (scope, ACL, the deployer's hook); nobody is left to answer. */
export function publishWill(port: RoomPort, connection: string, will: Will, identity: Identity): void {
  void port.publish({
    by: { kind: "mqtt", id: connection, identity, bucket: null },
    size: will.payload.kind === "binary" ? will.payload.value.byteLength : 0,
    read: () => ({
      payload: will.payload,
      from: connection,
      publisher: identity.sub,
      publishId: null,
      topic: will.topic,
      retain: will.retain,
      ...(will.properties ? { properties: will.properties } : {}),
      ...(will.qos < 2 ? { qos: will.qos as 0 | 1 } : {}),
    }),
    sender: null,
    echo: true,
    origin: connection,
    answer: () => undefined,
  });
}

/** The room's delayed wills if it ever held one (a room no delayed will reached gets no table from a look). */
function existingWills(port: RoomPort): DelayedWills | null {
  if (stores.has(port.sql)) return stores.get(port.sql)!;
  const n = port.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'mqtt_delayed_wills'`).one().n;
  return n > 0 ? delayedWillsOf(port) : null;
}

/**
 * A connection took session `id`: a will it had pending does not go out if
 * the session is resumed; with a clean start the old session has ended, and
 * so its will goes out now ([MQTT-3.1.3-9]).
 */
export function sessionTaken(port: RoomPort, id: SessionId, cleanStart: boolean): void {
  const pending = existingWills(port)?.take(id) ?? null;
  if (pending !== null && cleanStart) publishWill(port, pending.connection, pending.will, pending.identity);
}

/** The alarm's look at the room: publishes the wills that are due; answers when to look again. */
export function sweepWills(port: RoomPort, now: number): number | null {
  const wills = existingWills(port);
  if (wills === null) return null;
  const { due, next } = wills.takeDue(now);
  for (const d of due) publishWill(port, d.connection, d.will, d.identity);
  return next;
}
