/** MQTT sessions and the inbound DUP dedupe in a room's SQLite storage (durable-objects/mqtt/session-store.ts). */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { GrantedSubscription } from "../../durable-objects/mqtt/protocol";
import { INBOUND_DEDUPE_PER_CLIENT, INBOUND_DEDUPE_SECONDS, SessionStore } from "../../durable-objects/mqtt/session-store";

const sub = (filter: string, qos: 0 | 1, more: Partial<GrantedSubscription> = {}): GrantedSubscription => ({
  filter,
  qos,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0,
  ...more,
});

async function withStore(name: string, max: number | undefined, fn: (store: SessionStore, storage: DurableObjectStorage) => void): Promise<void> {
  const stub = env.ROOM.get(env.ROOM.idFromName(name));
  await runInDurableObject(stub, async (_room, state) => {
    const store = new SessionStore(state.storage.sql, max);
    store.migrate();
    store.migrate();
    fn(store, state.storage);
  });
}

const T0 = 1_700_000_000_000;

describe("SessionStore", () => {
  it("a new session starts after the room's latest seq, with no session present", async () => {
    await withStore("unit-sess-new", undefined, (store) => {
      const r = store.open("dev", { cleanStart: false, expirySeconds: 60, latestSeq: 41, now: T0 });
      expect(r).toMatchObject({ ok: true, sessionPresent: false, session: { clientId: "dev", deliveredThrough: 41, subscriptions: [], inflight: [] } });
    });
  });

  it("keeps subscriptions, delivery point and in-flight messages across a disconnect, and resumes them", async () => {
    await withStore("unit-sess-resume", undefined, (store, storage) => {
      storage.transactionSync(() => store.open("dev", { cleanStart: false, expirySeconds: 60, latestSeq: 0, now: T0 }));
      store.subscribe("dev", [sub("a/+", 1), sub("b/#", 0, { noLocal: true, retainAsPublished: true, retainHandling: 2 })]);
      store.subscribe("dev", [sub("a/+", 0)]); // replaces
      store.sent("dev", 3, 1);
      store.sent("dev", 5, 2);
      store.advance("dev", 7); // 6 and 7 matched nothing
      expect(store.acked("dev", 1)).toBe(3);
      expect(store.acked("dev", 1)).toBeNull(); // an unknown id is ignored
      store.close("dev", T0 + 1000);

      const back = store.open("dev", { cleanStart: false, expirySeconds: 60, latestSeq: 20, now: T0 + 30_000 });
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
      store.open("dev", { cleanStart: false, expirySeconds: 60, latestSeq: 10, now: T0 });
      store.advance("dev", 4);
      expect(store.load("dev")!.deliveredThrough).toBe(10);
    });
  });

  it("clean start drops the stored session", async () => {
    await withStore("unit-sess-clean", undefined, (store) => {
      store.open("dev", { cleanStart: false, expirySeconds: 60, latestSeq: 0, now: T0 });
      store.subscribe("dev", [sub("x", 1)]);
      store.sent("dev", 1, 1);
      store.close("dev", T0);
      const r = store.open("dev", { cleanStart: true, expirySeconds: 60, latestSeq: 9, now: T0 + 1 });
      expect(r).toMatchObject({ ok: true, sessionPresent: false, session: { deliveredThrough: 9, subscriptions: [], inflight: [] } });
    });
  });

  it("a session with expiry 0 ends with its connection", async () => {
    await withStore("unit-sess-zero", undefined, (store) => {
      store.open("dev", { cleanStart: true, expirySeconds: 0, latestSeq: 0, now: T0 });
      store.subscribe("dev", [sub("x", 1)]);
      store.close("dev", T0);
      expect(store.load("dev")).toBeNull();
      expect(store.subscriptions("dev")).toEqual([]);
    });
  });

  it("expires a disconnected session after its expiry, not while connected", async () => {
    await withStore("unit-sess-expiry", undefined, (store) => {
      store.open("gone", { cleanStart: false, expirySeconds: 10, latestSeq: 0, now: T0 });
      store.open("here", { cleanStart: false, expirySeconds: 10, latestSeq: 0, now: T0 });
      store.subscribe("gone", [sub("x", 1)]);
      store.close("gone", T0);
      expect(store.nextExpiry()).toBe(T0 + 10_000);
      expect(store.purgeExpired(T0 + 9_999)).toBe(0);
      expect(store.purgeExpired(T0 + 10_000)).toBe(1);
      expect(store.load("gone")).toBeNull();
      expect(store.subscriptions("gone")).toEqual([]);
      expect(store.purgeExpired(T0 + 10 ** 9)).toBe(0); // "here" is connected
      const again = store.open("gone", { cleanStart: false, expirySeconds: 10, latestSeq: 3, now: T0 + 20_000 });
      expect(again).toMatchObject({ ok: true, sessionPresent: false });
    });
  });

  it("past MAX_SESSIONS evicts the disconnected session expiring soonest; refuses when all are connected", async () => {
    await withStore("unit-sess-cap", 2, (store) => {
      store.open("a", { cleanStart: false, expirySeconds: 100, latestSeq: 0, now: T0 });
      store.open("b", { cleanStart: false, expirySeconds: 50, latestSeq: 0, now: T0 });
      expect(store.open("c", { cleanStart: false, expirySeconds: 10, latestSeq: 0, now: T0 })).toEqual({ ok: false, reason: "full" });
      store.close("a", T0);
      store.close("b", T0);
      expect(store.open("c", { cleanStart: false, expirySeconds: 10, latestSeq: 0, now: T0 + 1 })).toMatchObject({ ok: true });
      expect(store.load("b")).toBeNull(); // expired soonest
      expect(store.load("a")).not.toBeNull();
      expect(store.count()).toBe(2);
    });
  });
});

describe("inbound QoS 1 dedupe", () => {
  it("remembers packet id -> seq and fingerprint per client", async () => {
    await withStore("unit-inbound", undefined, (store) => {
      store.recordInbound("dev", 7, 100, "fp-a", T0);
      store.recordInbound("other", 7, 101, "fp-b", T0);
      expect(store.inbound("dev", 7)).toEqual({ seq: 100, fingerprint: "fp-a" });
      expect(store.inbound("other", 7)).toEqual({ seq: 101, fingerprint: "fp-b" });
      store.recordInbound("dev", 7, 102, "fp-c", T0); // the id reused for a new message
      expect(store.inbound("dev", 7)).toEqual({ seq: 102, fingerprint: "fp-c" });
      expect(store.inbound("dev", 8)).toBeNull();
    });
  });

  it(`keeps a client's latest ${INBOUND_DEDUPE_PER_CLIENT} ids, and none past ${INBOUND_DEDUPE_SECONDS} s`, async () => {
    await withStore("unit-inbound-bound", undefined, (store) => {
      for (let id = 1; id <= INBOUND_DEDUPE_PER_CLIENT + 5; id++) store.recordInbound("dev", id, id, `fp${id}`, T0);
      expect(store.inbound("dev", 5)).toBeNull();
      expect(store.inbound("dev", 6)).not.toBeNull();
      expect(store.inbound("dev", INBOUND_DEDUPE_PER_CLIENT + 5)).not.toBeNull();
      store.purgeExpired(T0 + INBOUND_DEDUPE_SECONDS * 1000);
      expect(store.inbound("dev", 6)).toBeNull();
    });
  });

  it("survives a clean start of the client's session (a clean client's DUP retry is still caught)", async () => {
    await withStore("unit-inbound-clean", undefined, (store) => {
      store.recordInbound("dev", 3, 9, "fp", T0);
      store.open("dev", { cleanStart: true, expirySeconds: 0, latestSeq: 9, now: T0 + 1 });
      expect(store.inbound("dev", 3)).toEqual({ seq: 9, fingerprint: "fp" });
    });
  });
});
