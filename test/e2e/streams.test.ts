/**
 * SSE, presence (including after the room hibernated) and a restart of the
 * local server with its persisted state.
 */
import { describe, expect, it } from "vitest";
import { getJson, postJson, readSse, roomInstance } from "../support/http";
import { startRelay, useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const relay = useRelay({ diagnostics: true });

const ws = (room: string, query = "") => `${relay.wsUrl}/rooms/${room}${query}`;

describe("SSE", () => {
  it("streams id/event/data envelopes and resumes from Last-Event-ID", async () => {
    const room = uniqueRoom("sse");
    for (let i = 1; i <= 5; i++) await postJson(relay.url, room, { i });

    const resumed = await readSse(`${relay.url}/rooms/${room}/events`, { "last-event-id": "2" }, (evs) => evs.length >= 3);
    expect(resumed.status).toBe(200);
    expect(resumed.contentType).toContain("text/event-stream");
    expect(resumed.comments).toBeGreaterThanOrEqual(1);
    expect(resumed.events.map((e) => e.id)).toEqual(["3", "4", "5"]);
    expect(resumed.events.every((e) => e.event === "message")).toBe(true);
    expect(JSON.parse(resumed.events[0]!.data)).toMatchObject({ type: "message", room, seq: 3, data: { i: 3 } });

    const viaQuery = await readSse(`${relay.url}/rooms/${room}/events?since=4`, {}, (evs) => evs.length >= 1);
    expect(viaQuery.events.map((e) => e.id)).toEqual(["5"]);
  });

  it("delivers live messages and presence events", async () => {
    const room = uniqueRoom("sse-live");
    const reading = readSse(`${relay.url}/rooms/${room}/events`, {}, (evs) => evs.filter((e) => e.event === "message").length >= 2);
    await sleep(300);
    const sock = await TestSocket.open(ws(room));
    await sock.next("welcome");
    await postJson(relay.url, room, "one");
    sock.publish("two");
    const { events } = await reading;
    const presence = events.filter((e) => e.event === "presence");
    expect(presence.length).toBeGreaterThanOrEqual(1);
    expect(presence[0]!.id).toBeNull(); // presence carries no id, so Last-Event-ID stays a seq
    expect(JSON.parse(presence[0]!.data)).toMatchObject({ type: "presence", event: "join" });
    const messages = events.filter((e) => e.event === "message");
    expect(messages.map((e) => JSON.parse(e.data).data)).toEqual(["one", "two"]);
    sock.close();
  });
});

describe("presence", () => {
  it("announces join and leave with counts, and lists clients even after hibernation", async () => {
    const room = uniqueRoom("presence");
    const a = await TestSocket.open(ws(room));
    const wa = await a.next("welcome");
    const b = await TestSocket.open(ws(room));
    const wb = await b.next("welcome");
    expect(await a.next("presence")).toEqual({ type: "presence", event: "join", id: wb.id, meta: {}, count: 2 });

    const instance = await roomInstance(relay.url, room);
    // Idle long enough for workerd to evict the room.
    await sleep(13_000);
    expect(await roomInstance(relay.url, room)).not.toBe(instance);

    const list = await getJson(`${relay.url}/rooms/${room}/presence`);
    expect(list.status).toBe(200);
    expect(list.json.count).toBe(2);
    expect(list.json.clients.map((c: any) => c.id).sort()).toEqual([wa.id, wb.id].sort());
    for (const c of list.json.clients) expect(c).toEqual({ id: expect.any(String), meta: {}, connectedAt: expect.any(Number) });

    b.close();
    expect(await a.next("presence", (p) => p.event === "leave")).toEqual({ type: "presence", event: "leave", id: wb.id, meta: {}, count: 1 });
    const after = await getJson(`${relay.url}/rooms/${room}/presence`);
    expect(after.json.count).toBe(1);
    a.close();
  }, 40_000);
});

describe("presence opt-out", () => {
  it("presence=0 gets messages but no presence frames, and still counts", async () => {
    const room = uniqueRoom("quiet");
    const quiet = await TestSocket.open(ws(room, "?presence=0"));
    expect((await quiet.next("welcome")).count).toBe(1);
    const loud = await TestSocket.open(ws(room));
    expect((await loud.next("welcome")).count).toBe(2);
    loud.publish("hi");
    await quiet.messagesUntil(1);
    loud.close();
    await loud.waitClosed();
    const other = await TestSocket.open(ws(room));
    await other.next("welcome");
    await postJson(relay.url, room, "after");
    await quiet.messagesUntil(2);
    expect(quiet.all("presence")).toEqual([]);
    expect((await getJson(`${relay.url}/rooms/${room}/presence`)).json.count).toBe(2);
    quiet.close();
    other.close();
  });
});

describe("restart", () => {
  it("keeps history, seq and epoch across a restart of the local server", async () => {
    const own = await startRelay();
    try {
      const room = uniqueRoom("restart");
      let epoch = "";
      for (let i = 1; i <= 12; i++) epoch = (await postJson(own.url, room, { i }, `k-${i}`)).json.epoch;
      const sub = await TestSocket.open(`${own.wsUrl}/rooms/${room}`);
      await sub.next("welcome");

      await own.restart();
      await sub.waitClosed(); // the old server went away with its socket

      const desc = await getJson(`${own.url}/rooms/${room}`);
      expect(desc.json).toMatchObject({ seq: 12, epoch });
      const history = await getJson(`${own.url}/rooms/${room}/messages`);
      expect(history.json.messages.map((m: any) => m.data.i)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      // Idempotency survives too: a retried key is not published again.
      expect((await postJson(own.url, room, { i: 12 }, "k-12")).json).toEqual({ seq: 12, epoch });
      const next = await postJson(own.url, room, { i: 13 });
      expect(next.json).toEqual({ seq: 13, epoch });

      const back = await TestSocket.open(`${own.wsUrl}/rooms/${room}?since=10&epoch=${epoch}`);
      expect(await back.next("welcome")).toMatchObject({ recovered: true, seq: 13, epoch });
      expect((await back.messagesUntil(3)).map((m) => m.seq)).toEqual([11, 12, 13]);
      back.close();
    } finally {
      await own.stop();
    }
  });
});
