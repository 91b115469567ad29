/** The Worker and the Room inside workerd, through the pool's SELF binding. */
import { OPEN_IDENTITY } from "../../handoff/identity";
import type { PublishResult } from "../../protocol";
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { isValidRoomName } from "../../protocol";

describe("room names", () => {
  it.each([
    ["a", true],
    ["kitchen", true],
    ["Sensor.01:temp_2-b", true],
    ["0", true],
    ["a".repeat(128), true],
    ["a".repeat(129), false],
    ["", false],
    ["-a", false],
    [".hidden", false],
    ["a/b", false],
    ["a b", false],
    ["ünïcode", false],
    ["a%2Fb", false],
  ])("%s → %s", (name, ok) => {
    expect(isValidRoomName(name)).toBe(ok);
  });

  it("a bad name is a 400 JSON error from the Worker", async () => {
    const res = await SELF.fetch("http://relay.localhost/rooms/%E2%80%AE");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "bad_room_name" } });
  });
});

describe("Room object", () => {
  it("publishes with consecutive seqs, the same epoch, and returns the original seq for a repeated id", async () => {
    const stub = env.ROOM.get(env.ROOM.idFromName("unit-seq"));
    const first = (await stub.publishMessage({ payload: { kind: "json", value: 1 }, from: "t", publisher: null, topic: null, retain: false, publishId: "a" }, OPEN_IDENTITY)) as PublishResult;
    const second = (await stub.publishMessage({ payload: { kind: "text", value: "two" }, from: "t", publisher: null, topic: null, retain: false, publishId: null }, OPEN_IDENTITY)) as PublishResult;
    const again = (await stub.publishMessage({ payload: { kind: "json", value: 1 }, from: "t", publisher: null, topic: null, retain: false, publishId: "a" }, OPEN_IDENTITY)) as PublishResult;
    expect(first.seq).toBe(1);
    expect(second).toEqual({ seq: 2, epoch: first.epoch });
    expect(again.seq).toBe(1);
    const d = await stub.describe();
    expect(d).toMatchObject({ room: "unit-seq", seq: 2, epoch: first.epoch });
  });

  it("keeps seq and epoch in SQLite storage", async () => {
    const stub = env.ROOM.get(env.ROOM.idFromName("unit-storage"));
    const { epoch } = (await stub.publishMessage({ payload: { kind: "json", value: "x" }, from: "t", publisher: null, topic: null, retain: false, publishId: null }, OPEN_IDENTITY)) as PublishResult;
    await runInDurableObject(stub, async (_instance, state) => {
      const meta = state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'epoch'").one();
      expect(meta.value).toBe(epoch);
      const row = state.storage.sql.exec<{ seq: number }>("SELECT max(seq) AS seq FROM messages").one();
      expect(row.seq).toBe(1);
    });
  });

  it("welcomes a WebSocket and acks a publish", async () => {
    const res = await SELF.fetch("http://relay.localhost/rooms/unit-ws", { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const socket = res.webSocket!;
    const frames: any[] = [];
    const got = new Promise<void>((resolve) => {
      socket.addEventListener("message", (e) => {
        frames.push(JSON.parse(e.data as string));
        if (frames.length === 2) resolve();
      });
    });
    socket.accept();
    socket.send(JSON.stringify({ type: "publish", data: { a: 1 }, id: "u1" }));
    await got;
    expect(frames[0]).toMatchObject({ type: "welcome", room: "unit-ws", seq: 0, recovered: false, count: 1 });
    expect(frames[1]).toEqual({ type: "ack", id: "u1", seq: 1 });
    socket.close(1000);
  });
});
