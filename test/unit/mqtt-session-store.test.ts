/** MQTT sessions and the inbound DUP dedupe in a room's SQLite storage (durable-objects/mqtt/session-store.ts). */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { GrantedSubscription } from "../../durable-objects/mqtt/protocol";
import { INBOUND_DEDUPE_PER_CLIENT, INBOUND_DEDUPE_SECONDS, sessionId, SessionStore } from "../../durable-objects/mqtt/session-store";

/** A session of the open-mode owner (no sub). */
const sid = (clientId: string) => sessionId(null, clientId);

const sub = (filter: string, qos: 0 | 1, more: Partial<GrantedSubscription> = {}): GrantedSubscription => ({
  filter,
  qos,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0,
  ...more,
});

async function withStore(
  name: string,
  max: number | undefined,
  fn: (store: SessionStore, storage: DurableObjectStorage) => void,
  perOwner?: number,
): Promise<void> {
  const stub = env.ROOM.get(env.ROOM.idFromName(name));
  await runInDurableObject(stub, async (_room, state) => {
    const store = new SessionStore(state.storage.sql, max, perOwner);
    store.migrate();
    store.migrate();
    fn(store, state.storage);
  });
}

const T0 = 1_700_000_000_000;

describe("SessionStore", () => {
  it("a new session starts after the room's latest seq, with no session present", async () => {
    await withStore("unit-sess-new", undefined, (store) => {
      const r = store.open(sid("dev"), { cleanStart: false, expirySeconds: 60, latestSeq: 41, now: T0 });
      expect(r).toMatchObject({ ok: true, sessionPresent: false, session: { clientId: "dev", deliveredThrough: 41, subscriptions: [], inflight: [] } });
    });
  });

  it("keeps subscriptions, delivery point and in-flight messages across a disconnect, and resumes them", async () => {
    await withStore("unit-sess-resume", undefined, (store, storage) => {
      storage.transactionSync(() => store.open(sid("dev"), { cleanStart: false, expirySeconds: 60, latestSeq: 0, now: T0 }));
      store.subscribe(sid("dev"), [sub("a/+", 1), sub("b/#", 0, { noLocal: true, retainAsPublished: true, retainHandling: 2 })]);
      store.subscribe(sid("dev"), [sub("a/+", 0)]); // replaces
      store.sent(sid("dev"), 3, 1);
      store.sent(sid("dev"), 5, 2);
      store.advance(sid("dev"), 7); // 6 and 7 matched nothing
      expect(store.acked(sid("dev"), 1)).toBe(3);
      expect(store.acked(sid("dev"), 1)).toBeNull(); // an unknown id is ignored
      store.close(sid("dev"), T0 + 1000);

      const back = store.open(sid("dev"), { cleanStart: false, expirySeconds: 60, latestSeq: 20, now: T0 + 30_000 });
      expect(back).toMatchObject({ ok: true, sessionPresent: true });
      if (!back.ok) throw new Error("refused");
      expect(back.session.deliveredThrough).toBe(7);
      expect(back.session.lastPacketId).toBe(2);
      expect(back.session.inflight).toEqual([{ seq: 5, packetId: 2 }]);
      expect(back.session.subscriptions).toEqual([sub("a/+", 0), sub("b/#", 0, { noLocal: true, retainAsPublished: true, retainHandling: 2 })]);
    });
  });

  it("advance never moves the delivery point back", async () => {
    await withStore("unit-sess-advance", undefined, (store) => {
      store.open(sid("dev"), { cleanStart: false, expirySeconds: 60, latestSeq: 10, now: T0 });
      store.advance(sid("dev"), 4);
      expect(store.load(sid("dev"))!.deliveredThrough).toBe(10);
    });
  });

  it("clean start drops the stored session", async () => {
    await withStore("unit-sess-clean", undefined, (store) => {
      store.open(sid("dev"), { cleanStart: false, expirySeconds: 60, latestSeq: 0, now: T0 });
      store.subscribe(sid("dev"), [sub("x", 1)]);
      store.sent(sid("dev"), 1, 1);
      store.close(sid("dev"), T0);
      const r = store.open(sid("dev"), { cleanStart: true, expirySeconds: 60, latestSeq: 9, now: T0 + 1 });
      expect(r).toMatchObject({ ok: true, sessionPresent: false, session: { deliveredThrough: 9, subscriptions: [], inflight: [] } });
    });
  });

  it("a session with expiry 0 ends with its connection", async () => {
    await withStore("unit-sess-zero", undefined, (store) => {
      store.open(sid("dev"), { cleanStart: true, expirySeconds: 0, latestSeq: 0, now: T0 });
      store.subscribe(sid("dev"), [sub("x", 1)]);
      store.close(sid("dev"), T0);
      expect(store.load(sid("dev"))).toBeNull();
      expect(store.subscriptions(sid("dev"))).toEqual([]);
    });
  });

  it("expires a disconnected session after its expiry, not while connected", async () => {
    await withStore("unit-sess-expiry", undefined, (store) => {
      store.open(sid("gone"), { cleanStart: false, expirySeconds: 10, latestSeq: 0, now: T0 });
      store.open(sid("here"), { cleanStart: false, expirySeconds: 10, latestSeq: 0, now: T0 });
      store.subscribe(sid("gone"), [sub("x", 1)]);
      store.close(sid("gone"), T0);
      expect(store.nextExpiry()).toBe(T0 + 10_000);
      expect(store.purgeExpired(T0 + 9_999)).toBe(0);
      expect(store.purgeExpired(T0 + 10_000)).toBe(1);
      expect(store.load(sid("gone"))).toBeNull();
      expect(store.subscriptions(sid("gone"))).toEqual([]);
      expect(store.purgeExpired(T0 + 10 ** 9)).toBe(0); // "here" is connected
      const again = store.open(sid("gone"), { cleanStart: false, expirySeconds: 10, latestSeq: 3, now: T0 + 20_000 });
      expect(again).toMatchObject({ ok: true, sessionPresent: false });
    });
  });

  it("past MAX_SESSIONS evicts the disconnected session expiring soonest; refuses when all are connected", async () => {
    await withStore("unit-sess-cap", 2, (store) => {
      store.open(sid("a"), { cleanStart: false, expirySeconds: 100, latestSeq: 0, now: T0 });
      store.open(sid("b"), { cleanStart: false, expirySeconds: 50, latestSeq: 0, now: T0 });
      expect(store.open(sid("c"), { cleanStart: false, expirySeconds: 10, latestSeq: 0, now: T0 })).toEqual({ ok: false, reason: "full" });
      store.close(sid("a"), T0);
      store.close(sid("b"), T0);
      expect(store.open(sid("c"), { cleanStart: false, expirySeconds: 10, latestSeq: 0, now: T0 + 1 })).toMatchObject({ ok: true });
      expect(store.load(sid("b"))).toBeNull(); // expired soonest
      expect(store.load(sid("a"))).not.toBeNull();
      expect(store.count()).toBe(2);
    });
  });
});

describe("sessions per owner (the token's sub)", () => {
  const open = { cleanStart: false, expirySeconds: 100, latestSeq: 0, now: T0 };

  it("one client id names one session per owner: another owner neither sees nor resumes it", async () => {
    await withStore("unit-sess-owner", undefined, (store) => {
      const victim = sessionId("alice", "dev");
      const other = sessionId("mallory", "dev");
      store.open(victim, open);
      store.subscribe(victim, [sub("a/#", 1)]);
      store.sent(victim, 3, 3);
      store.close(victim, T0);
      expect(store.held(other)).toBe(false);
      const theirs = store.open(other, { ...open, now: T0 + 1 });
      expect(theirs).toMatchObject({ ok: true, sessionPresent: false, session: { owner: "mallory", subscriptions: [], inflight: [] } });
      expect(store.acked(other, 3)).toBeNull();
      store.open(other, { ...open, cleanStart: true, now: T0 + 2 }); // clean start drops only its own
      expect(store.load(victim)).toMatchObject({ owner: "alice", subscriptions: [sub("a/#", 1)], inflight: [{ seq: 3, packetId: 3 }] });
      expect(store.load(sessionId(null, "dev"))).toBeNull();
    });
  });

  it("a new session past the quota evicts only its own owner's; refused when its owner has none disconnected", async () => {
    await withStore(
      "unit-sess-owner-cap",
      3,
      (store) => {
        store.open(sessionId("alice", "a1"), open);
        store.close(sessionId("alice", "a1"), T0); // disconnected, expires soonest of all
        store.open(sessionId("bob", "b1"), open);
        store.open(sessionId("bob", "b2"), open);
        // bob is at his quota (2): his third evicts nothing of alice's, and is refused while both of his are connected.
        expect(store.open(sessionId("bob", "b3"), open)).toEqual({ ok: false, reason: "full" });
        store.close(sessionId("bob", "b1"), T0 + 5);
        expect(store.open(sessionId("bob", "b3"), open)).toMatchObject({ ok: true });
        expect(store.load(sessionId("bob", "b1"))).toBeNull();
        expect(store.load(sessionId("alice", "a1"))).not.toBeNull();
        // The room is full (3): carol has no session to give up, so she is refused; alice's stays.
        expect(store.open(sessionId("carol", "c1"), open)).toEqual({ ok: false, reason: "full" });
        expect(store.load(sessionId("alice", "a1"))).not.toBeNull();
        expect(store.countOf("bob")).toBe(2);
      },
      2,
    );
  });

  it("drops session tables from before owners (keyed by client id alone) instead of guessing whose they were", async () => {
    const stub = env.ROOM.get(env.ROOM.idFromName("unit-sess-legacy"));
    await runInDurableObject(stub, async (_room, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE mqtt_sessions (client_id TEXT PRIMARY KEY, expiry_s INTEGER NOT NULL, expires_at INTEGER, delivered_through INTEGER NOT NULL, last_packet_id INTEGER NOT NULL DEFAULT 0)`);
      sql.exec(`CREATE TABLE mqtt_inflight (client_id TEXT NOT NULL, seq INTEGER NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client_id, seq))`);
      sql.exec(`CREATE UNIQUE INDEX mqtt_inflight_packet ON mqtt_inflight (client_id, packet_id)`);
      sql.exec(`INSERT INTO mqtt_sessions VALUES ('dev', 60, NULL, 5, 0)`);
      const store = new SessionStore(sql);
      store.migrate();
      store.migrate();
      expect(store.count()).toBe(0);
      expect(store.open(sid("dev"), open)).toMatchObject({ ok: true, sessionPresent: false });
    });
  });
});

describe("inbound QoS 1 dedupe", () => {
  it("remembers packet id -> seq and fingerprint per client", async () => {
    await withStore("unit-inbound", undefined, (store) => {
      store.recordInbound(sid("dev"), 7, 100, "fp-a", T0);
      store.recordInbound(sid("other"), 7, 101, "fp-b", T0);
      expect(store.inbound(sid("dev"), 7)).toEqual({ seq: 100, fingerprint: "fp-a" });
      expect(store.inbound(sid("other"), 7)).toEqual({ seq: 101, fingerprint: "fp-b" });
      store.recordInbound(sid("dev"), 7, 102, "fp-c", T0); // the id reused for a new message
      expect(store.inbound(sid("dev"), 7)).toEqual({ seq: 102, fingerprint: "fp-c" });
      expect(store.inbound(sid("dev"), 8)).toBeNull();
    });
  });

  it(`keeps a client's latest ${INBOUND_DEDUPE_PER_CLIENT} ids, and none past ${INBOUND_DEDUPE_SECONDS} s`, async () => {
    await withStore("unit-inbound-bound", undefined, (store) => {
      for (let id = 1; id <= INBOUND_DEDUPE_PER_CLIENT + 5; id++) store.recordInbound(sid("dev"), id, id, `fp${id}`, T0);
      expect(store.inbound(sid("dev"), 5)).toBeNull();
      expect(store.inbound(sid("dev"), 6)).not.toBeNull();
      expect(store.inbound(sid("dev"), INBOUND_DEDUPE_PER_CLIENT + 5)).not.toBeNull();
      store.purgeExpired(T0 + INBOUND_DEDUPE_SECONDS * 1000);
      expect(store.inbound(sid("dev"), 6)).toBeNull();
    });
  });

  it("survives a clean start of the client's session (a clean client's DUP retry is still caught)", async () => {
    await withStore("unit-inbound-clean", undefined, (store) => {
      store.recordInbound(sid("dev"), 3, 9, "fp", T0);
      store.open(sid("dev"), { cleanStart: true, expirySeconds: 0, latestSeq: 9, now: T0 + 1 });
      expect(store.inbound(sid("dev"), 3)).toEqual({ seq: 9, fingerprint: "fp" });
    });
  });
});
