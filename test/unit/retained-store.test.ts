/** Retained values in a room's SQLite storage (durable-objects/retained-store.ts), inside a real Room object. */
import { OPEN_IDENTITY } from "../../handoff/identity";
import type { PublishResult } from "../../protocol";
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RetainedStore } from "../../durable-objects/retained-store";

const envelope = (topic: string, seq: number, data: unknown) => JSON.stringify({ type: "message", room: "r", seq, from: "x", ts: 0, topic, retain: true, data });

async function withStore(name: string, max: number | undefined, fn: (store: RetainedStore, sql: SqlStorage) => void): Promise<void> {
  const stub = env.ROOM.get(env.ROOM.idFromName(name));
  await runInDurableObject(stub, async (_room, state) => {
    const store = new RetainedStore(state.storage.sql, max);
    store.migrate();
    store.migrate(); // idempotent: runs on every wake
    fn(store, state.storage.sql);
  });
}

describe("RetainedStore", () => {
  it("keeps the latest value per topic, with its seq", async () => {
    await withStore("unit-retained-latest", undefined, (store) => {
      expect(store.set("a/b", 1, envelope("a/b", 1, "one"))).toBe("stored");
      expect(store.set("a/c", 2, envelope("a/c", 2, "two"))).toBe("stored");
      expect(store.set("a/b", 3, envelope("a/b", 3, "three"))).toBe("stored");
      expect(store.count()).toBe(2);
      const all = store.matching(null);
      expect(all.map((m) => [m.topic, m.seq])).toEqual([["a/c", 2], ["a/b", 3]]); // oldest seq first
      expect(JSON.parse(all[1]!.envelope).data).toBe("three");
    });
  });

  it("lists only the topics matching the filters, oldest seq first", async () => {
    await withStore("unit-retained-filter", undefined, (store) => {
      store.set("home/kitchen/t", 5, envelope("home/kitchen/t", 5, 21));
      store.set("home/hall/t", 2, envelope("home/hall/t", 2, 19));
      store.set("home/kitchen/h", 7, envelope("home/kitchen/h", 7, 40));
      store.set("$SYS/up", 1, envelope("$SYS/up", 1, true));
      expect(store.matching(["home/+/t"]).map((m) => m.seq)).toEqual([2, 5]);
      expect(store.matching(["home/kitchen/#"]).map((m) => m.topic)).toEqual(["home/kitchen/t", "home/kitchen/h"]);
      expect(store.matching(["#"]).map((m) => m.topic)).not.toContain("$SYS/up");
      expect(store.matching(["$SYS/up", "home/hall/t"]).map((m) => m.seq)).toEqual([1, 2]); // exact lookups
      expect(store.matching(["nothing/here"])).toEqual([]);
      expect(store.matching([])).toEqual([]);
    });
  });

  it("deletes a topic's value (retain with an empty payload)", async () => {
    await withStore("unit-retained-delete", undefined, (store) => {
      store.set("a", 1, envelope("a", 1, "x"));
      expect(store.delete("a")).toBe(true);
      expect(store.delete("a")).toBe(false);
      expect(store.matching(null)).toEqual([]);
    });
  });

  it("when full, refuses a new topic but still updates and clears existing ones", async () => {
    await withStore("unit-retained-full", 3, (store) => {
      for (let i = 1; i <= 3; i++) expect(store.set(`t/${i}`, i, envelope(`t/${i}`, i, i))).toBe("stored");
      expect(store.set("t/4", 4, envelope("t/4", 4, 4))).toBe("full");
      expect(store.set("t/1", 5, envelope("t/1", 5, "new"))).toBe("stored");
      expect(store.count()).toBe(3);
      store.delete("t/2");
      expect(store.set("t/4", 6, envelope("t/4", 6, 4))).toBe("stored");
      expect(store.matching(null).map((m) => m.topic)).toEqual(["t/3", "t/1", "t/4"]);
    });
  });

  it("lives beside the room's own tables without touching them", async () => {
    // The room writes its schema with its first message (reads write nothing).
    const stub = env.ROOM.get(env.ROOM.idFromName("unit-retained-beside"));
    (await stub.publishMessage({ payload: { kind: "json", value: 1 }, from: "t", publisher: null, topic: null, retain: false, publishId: null }, OPEN_IDENTITY)) as PublishResult;
    await withStore("unit-retained-beside", undefined, (store, sql) => {
      store.set("a", 1, envelope("a", 1, 1));
      const tables = sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).toArray().map((r) => r.name);
      expect(tables).toEqual(expect.arrayContaining(["meta", "messages", "retained"]));
      expect(sql.exec<{ n: number }>(`SELECT count(*) AS n FROM messages`).one().n).toBe(1);
    });
  });
});
