/**
 * The foundation over real sockets: the bundle that deploys, on workerd, on a
 * loopback port, driven by `ws` clients.
 */
import { describe, expect, it } from "vitest";
import { roomInstance } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const relay = useRelay({ diagnostics: true });

const ws = (room: string, query = "") => `${relay.wsUrl}/rooms/${room}${query}`;

describe("HTTP surface", () => {
  it("GET /health reports ok and the version", async () => {
    const res = await fetch(`${relay.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it("GET /rooms/:room describes the room", async () => {
    const room = uniqueRoom();
    const res = await fetch(`${relay.url}/rooms/${room}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ room, seq: 0, epoch: expect.any(String), connections: 0 });
  });

  it.each([
    ["/rooms/bad%2Fname", 400, "bad_room_name"],
    ["/rooms/-leading-dash", 400, "bad_room_name"],
    [`/rooms/${"a".repeat(129)}`, 400, "bad_room_name"],
    ["/rooms/sp%20ace", 400, "bad_room_name"],
    ["/nowhere", 404, "not_found"],
  ])("GET %s is %i %s as JSON", async (path, status, code) => {
    const res = await fetch(`${relay.url}${path}`);
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect((await res.json()).error).toEqual({ code, message: expect.any(String) });
  });

  it("refuses other methods with 405", async () => {
    const res = await fetch(`${relay.url}/rooms/${uniqueRoom()}`, { method: "DELETE" });
    expect(res.status).toBe(405);
    expect((await res.json()).error.code).toBe("method_not_allowed");
  });

  it("refuses a foreign Origin with 403 before any object is reached", async () => {
    const room = uniqueRoom();
    const res = await fetch(`${relay.url}/rooms/${room}`, { headers: { origin: "https://evil.example.com" } });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("origin_forbidden");
    await expect(TestSocket.open(ws(room), { origin: "https://evil.example.com" })).rejects.toMatchObject({ status: 403 });
    // The same room from an allowed origin is served.
    const allowed = await fetch(`${relay.url}/rooms/${room}`, { headers: { origin: "http://localhost:3000" } });
    expect(allowed.status).toBe(200);
  });
});

describe("WebSocket rooms", () => {
  it("welcomes, broadcasts to others but not the sender, and acks", async () => {
    const room = uniqueRoom();
    const a = await TestSocket.open(ws(room));
    const welcomeA = await a.next("welcome");
    expect(welcomeA).toEqual({ type: "welcome", room, id: expect.any(String), seq: 0, epoch: expect.any(String), recovered: false, count: 1 });
    const b = await TestSocket.open(ws(room));
    const welcomeB = await b.next("welcome");
    expect(welcomeB.count).toBe(2);
    expect(welcomeB.id).not.toBe(welcomeA.id);

    a.publish({ t: 21.5 }, "p-1");
    const ack = await a.next("ack");
    expect(ack).toEqual({ type: "ack", id: "p-1", seq: 1 });
    const [msg] = await b.messagesUntil(1);
    expect(msg).toEqual({ type: "message", room, seq: 1, from: welcomeA.id, ts: expect.any(Number), data: { t: 21.5 } });

    b.publish("from b");
    await a.messagesUntil(1);
    await sleep(200);
    expect(a.messages().map((m) => m.seq)).toEqual([2]);
    expect(b.messages().map((m) => m.seq)).toEqual([1]); // b did not get its own message
    a.close();
    b.close();
  });

  it("echo=1 also delivers your own messages", async () => {
    const room = uniqueRoom();
    const a = await TestSocket.open(ws(room, "?echo=1"));
    await a.next("welcome");
    a.publish("hello");
    const [own] = await a.messagesUntil(1);
    expect(own.data).toBe("hello");
    a.close();
  });

  it("keeps rooms isolated", async () => {
    const [r1, r2] = [uniqueRoom(), uniqueRoom()];
    const a = await TestSocket.open(ws(r1));
    const b = await TestSocket.open(ws(r2));
    const c = await TestSocket.open(ws(r1));
    await Promise.all([a.next("welcome"), b.next("welcome"), c.next("welcome")]);
    a.publish("only r1", "x");
    await a.next("ack");
    await c.messagesUntil(1);
    await sleep(200);
    expect(b.messages()).toEqual([]);
    expect(b.all("presence")).toEqual([]);
    [a, b, c].forEach((s) => s.close());
  });

  it("answers error frames for bad frames and keeps the socket open", async () => {
    const room = uniqueRoom();
    const a = await TestSocket.open(ws(room));
    await a.next("welcome");
    a.send("not json");
    expect((await a.next("error")).code).toBe("bad_json");
    a.send({ type: "subscribe" });
    expect((await a.next("error", (e) => e.code !== "bad_json")).code).toBe("unknown_type");
    a.send({ type: "publish" });
    expect((await a.next("error", (e) => e.code === "bad_frame")).message).toMatch(/data/);
    a.publish("still here", "ok-1");
    expect((await a.next("ack")).seq).toBe(1);
    expect(a.closed).toBeNull();
    a.close();
  });

  it("answers ping with pong", async () => {
    const a = await TestSocket.open(ws(uniqueRoom()));
    await a.next("welcome");
    a.send("ping");
    await a.until((fs) => fs.some((f) => f.text === "pong"), "pong");
    a.close();
  });

  it("answers a clean close with the same code", async () => {
    const a = await TestSocket.open(ws(uniqueRoom()));
    await a.next("welcome");
    a.close(4000, "done here");
    expect(await a.waitClosed()).toEqual({ code: 4000, reason: "done here" });
    const b = await TestSocket.open(ws(uniqueRoom()));
    await b.next("welcome");
    b.close(1000);
    expect((await b.waitClosed()).code).toBe(1000);
  });
});

describe("hibernation", () => {
  it("evicts an idle room, and seq, epoch and the sockets carry on", async () => {
    const room = uniqueRoom("hib");
    const a = await TestSocket.open(ws(room));
    const b = await TestSocket.open(ws(room));
    const welcome = await a.next("welcome");
    await b.next("welcome");
    a.publish({ n: 1 }, "h-1");
    await a.next("ack");
    const instanceBefore = await roomInstance(relay.url, room);

    // Idle well past workerd's ~10 s eviction; pings are answered by the
    // runtime without waking the room.
    for (let i = 0; i < 7; i++) {
      await sleep(2000);
      a.send("ping");
    }
    await a.until((fs) => fs.filter((f) => f.text === "pong").length >= 7, "7 pongs");

    // The sockets are still open and still in the room.
    a.publish({ n: 2 }, "h-2");
    expect(await a.next("ack", (f) => f.id === "h-2")).toEqual({ type: "ack", id: "h-2", seq: 2 });
    const msgs = await b.messagesUntil(2);
    expect(msgs.map((m) => m.seq)).toEqual([1, 2]);

    const after = await fetch(`${relay.url}/rooms/${room}`);
    const described = await after.json();
    expect(await roomInstance(relay.url, room)).not.toBe(instanceBefore); // the constructor ran again
    expect(described).toMatchObject({ seq: 2, epoch: welcome.epoch, connections: 2 });
    a.close();
    b.close();
  }, 40_000);
});
