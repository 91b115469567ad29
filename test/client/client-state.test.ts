/**
 * The client's state machine, driven through a scripted socket under fake
 * timers: states, reconnect and resume, dedupe, stale sockets, close codes,
 * heartbeat and backoff reset.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RoomcastClient, type ClientState, type RoomcastClientOptions } from "../../client/index";
import { FakeSocket } from "./fake-socket";

const settle = () => vi.advanceTimersByTimeAsync(0);

function makeClient(extra: Partial<RoomcastClientOptions> = {}) {
  const client = new RoomcastClient({ url: "ws://relay.test", room: "kitchen", WebSocket: FakeSocket, ...extra });
  const states: ClientState[] = [];
  const messages: number[] = [];
  client.on("state", (s) => states.push(s));
  client.on("message", (m) => messages.push(m.seq));
  return { client, states, messages };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
  // Deterministic backoff: always the cap.
  vi.spyOn(Math, "random").mockReturnValue(0.999999);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("states", () => {
  it("starts connecting, opens on the welcome, reconnects after a drop, closes for good", async () => {
    const { client, states } = makeClient();
    expect(client.state).toBe("connecting");
    await settle();
    const first = FakeSocket.last;
    expect(first.url).toBe("ws://relay.test/rooms/kitchen?batch=1"); // batch frames asked for by default
    first.serverOpen();
    expect(client.state).toBe("connecting"); // open means welcomed, not merely connected
    first.welcome({ seq: 7, epoch: "e1" });
    expect(client.state).toBe("open");
    expect(client.seq).toBe(7);
    expect(client.epoch).toBe("e1");
    expect(client.id).toBe("conn-1");

    first.serverClose(1006);
    expect(client.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.welcome({ seq: 7, recovered: true });
    client.close();
    expect(states).toEqual(["open", "reconnecting", "open", "closed"]);
    expect(FakeSocket.last.closedWith?.code).toBe(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("returns an unsubscribe function from on()", async () => {
    const { client } = makeClient();
    const seen: number[] = [];
    const off = client.on("message", (m) => seen.push(m.seq));
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    FakeSocket.last.message(1);
    off();
    FakeSocket.last.message(2);
    expect(seen).toEqual([1]);
    client.close();
  });

  it("rejects a bad room name at once", () => {
    expect(() => new RoomcastClient({ url: "ws://x", room: "no spaces", WebSocket: FakeSocket })).toThrow(/room name/);
  });
});

describe("resume", () => {
  it("reconnects with since and epoch, and takes replayed messages once, in order", async () => {
    const { client, messages } = makeClient();
    await settle();
    FakeSocket.last.welcome({ seq: 2, epoch: "e9" });
    FakeSocket.last.message(3);
    FakeSocket.last.message(4);
    FakeSocket.last.serverClose(1001);
    // After a restart (1001) the first reconnect is spread over up to 3 s.
    await vi.advanceTimersByTimeAsync(3000);
    const again = FakeSocket.last;
    expect(again.query.get("since")).toBe("4");
    expect(again.query.get("epoch")).toBe("e9");
    again.welcome({ seq: 6, epoch: "e9", recovered: true });
    again.message(4); // a duplicate: dropped
    again.message(5);
    again.message(6);
    again.message(5); // out of date: dropped
    expect(messages).toEqual([3, 4, 5, 6]);
    expect(client.seq).toBe(6);
    client.close();
  });

  it("starts over from the welcome's seq when the gap could not be recovered", async () => {
    const { client, messages } = makeClient();
    await settle();
    FakeSocket.last.welcome({ seq: 100, epoch: "old" });
    FakeSocket.last.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    FakeSocket.last.welcome({ seq: 3, epoch: "new", recovered: false });
    FakeSocket.last.message(4);
    expect(messages).toEqual([4]);
    expect(client.epoch).toBe("new");
    client.close();
  });

  it("honours a starting since (tail --since)", async () => {
    const { client, messages } = makeClient({ since: 0 });
    await settle();
    expect(FakeSocket.last.query.get("since")).toBe("0");
    expect(FakeSocket.last.query.has("epoch")).toBe(false);
    FakeSocket.last.welcome({ seq: 2, recovered: true });
    FakeSocket.last.message(1);
    FakeSocket.last.message(2);
    expect(messages).toEqual([1, 2]);
    client.close();
  });

  it("ignores every event of a socket it already gave up on", async () => {
    const { client, messages, states } = makeClient({ pingInterval: 1000, pongTimeout: 500 });
    await settle();
    const old = FakeSocket.last;
    old.welcome({ seq: 0 });
    await vi.advanceTimersByTimeAsync(1500); // ping unanswered: link declared dead
    expect(old.closedWith?.code).toBe(4000);
    expect(client.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1000);
    const current = FakeSocket.last;
    expect(current).not.toBe(old);
    current.welcome({ seq: 0, recovered: true });
    old.message(1); // late frames and close from the dead socket
    old.welcome({ seq: 50, epoch: "zzz" });
    old.serverClose(4403);
    expect(messages).toEqual([]);
    expect(client.state).toBe("open");
    expect(client.epoch).toBe("e1");
    expect(states).toEqual(["open", "reconnecting", "open"]);
    client.close();
  });
});

describe("publish queue", () => {
  it("queues while not open, sends after the welcome with an id, resolves on the ack", async () => {
    const { client } = makeClient();
    const p1 = client.publish({ t: 1 });
    const p2 = client.publish("two");
    expect(client.queued).toBe(2);
    await settle();
    const ws = FakeSocket.last;
    ws.serverOpen();
    expect(ws.sent).toEqual([]); // nothing before the welcome
    ws.welcome({ seq: 0 });
    const [a, b] = ws.publishes;
    expect(a).toMatchObject({ type: "publish", data: { t: 1 } });
    expect(b).toMatchObject({ type: "publish", data: "two" });
    expect(a!.id).not.toBe(b!.id);
    ws.serverSend({ type: "ack", id: b!.id, seq: 2 });
    ws.serverSend({ type: "ack", id: a!.id, seq: 1 });
    await expect(p1).resolves.toEqual({ seq: 1 });
    await expect(p2).resolves.toEqual({ seq: 2 });
    expect(client.queued).toBe(0);
    client.close();
  });

  it("resends unacked publishes with the same id after a reconnect", async () => {
    const { client } = makeClient();
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    const p = client.publish({ x: 1 });
    const id = FakeSocket.last.publishes[0]!.id;
    FakeSocket.last.serverClose(1006); // dropped before the ack
    const offline = client.publish({ x: 2 });
    await vi.advanceTimersByTimeAsync(500);
    const ws = FakeSocket.last;
    ws.welcome({ seq: 1, recovered: true });
    expect(ws.publishes.map((f) => f.data)).toEqual([{ x: 1 }, { x: 2 }]);
    expect(ws.publishes[0]!.id).toBe(id);
    ws.serverSend({ type: "ack", id, seq: 1 }); // the relay had it: original seq
    ws.serverSend({ type: "ack", id: ws.publishes[1]!.id, seq: 2 });
    await expect(p).resolves.toEqual({ seq: 1 });
    await expect(offline).resolves.toEqual({ seq: 2 });
    client.close();
  });

  it("resends on the same socket when an ack does not come (the relay dropped it)", async () => {
    const { client } = makeClient({ resendAfter: 2000, pingInterval: 60_000 });
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    void client.publish(1);
    await vi.advanceTimersByTimeAsync(2000);
    const sent = FakeSocket.last.publishes;
    expect(sent).toHaveLength(2);
    expect(sent[0]!.id).toBe(sent[1]!.id);
    FakeSocket.last.serverSend({ type: "ack", id: sent[0]!.id, seq: 1 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.last.publishes).toHaveLength(2);
    client.close();
  });

  it("rejects when the queue is full, and every pending publish on close", async () => {
    const { client } = makeClient({ maxQueue: 2 });
    const a = client.publish(1);
    const b = client.publish(2);
    await expect(client.publish(3)).rejects.toMatchObject({ code: "queue_full", message: expect.stringMatching(/queue is full/) });
    client.close();
    await expect(a).rejects.toMatchObject({ code: "client_closed" });
    await expect(b).rejects.toMatchObject({ code: "client_closed" });
    await expect(client.publish(4)).rejects.toThrow(/client is closed/);
  });

  it("rejects data that is not JSON", async () => {
    const { client } = makeClient();
    await expect(client.publish(undefined)).rejects.toThrow(TypeError);
    await expect(client.publish({ n: 1n })).rejects.toThrow(/JSON/);
    client.close();
  });

  it("paces a long queue below the relay's rate limit", async () => {
    const { client } = makeClient({ publishRate: { perSecond: 40, burst: 80 } });
    for (let i = 0; i < 200; i++) void client.publish(i).catch(() => {});
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    expect(FakeSocket.last.publishes).toHaveLength(80);
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.last.publishes.length).toBeGreaterThanOrEqual(118);
    expect(FakeSocket.last.publishes.length).toBeLessThanOrEqual(122);
    await vi.advanceTimersByTimeAsync(3000);
    expect(FakeSocket.last.publishes.map((f) => f.data)).toEqual([...Array(200).keys()]);
    client.close();
  });

  it("does not show our own message again when a resume replays it (echo off)", async () => {
    const { client, messages } = makeClient();
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    void client.publish("mine");
    FakeSocket.last.serverSend({ type: "ack", id: FakeSocket.last.publishes[0]!.id, seq: 1 });
    FakeSocket.last.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.last.query.get("since")).toBe("0");
    FakeSocket.last.welcome({ seq: 2, recovered: true });
    FakeSocket.last.message(1, "mine", "old-conn");
    FakeSocket.last.message(2, "theirs");
    expect(messages).toEqual([2]);
    expect(client.seq).toBe(2);
    client.close();
  });
});

describe("close codes", () => {
  for (const code of [4403, 1008]) {
    it(`stops after ${code} and rejects what is pending`, async () => {
      const { client, states } = makeClient();
      const errors: string[] = [];
      client.on("error", (e) => errors.push(e.code));
      await settle();
      FakeSocket.last.welcome({ seq: 0 });
      const p = client.publish(1);
      FakeSocket.last.serverClose(code, "no");
      expect(client.state).toBe("closed");
      expect(states).toEqual(["open", "closed"]);
      expect(errors).toEqual([code === 4403 ? "forbidden" : "policy"]);
      await expect(p).rejects.toMatchObject({ status: code });
      await vi.advanceTimersByTimeAsync(120_000);
      expect(FakeSocket.all).toHaveLength(1);
    });
  }

  it("asks the token function again after 4401, and only then", async () => {
    let n = 0;
    const token = vi.fn(async () => `t${++n}`);
    const { client } = makeClient({ token });
    await settle();
    expect(FakeSocket.last.query.get("token")).toBe("t1");
    FakeSocket.last.welcome({ seq: 0 });
    FakeSocket.last.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.last.query.get("token")).toBe("t1"); // a plain drop keeps the token
    FakeSocket.last.welcome({ seq: 0, recovered: true });
    const before = FakeSocket.all.length;
    FakeSocket.last.serverClose(4401, "token expired");
    expect(client.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(30_000);
    expect(FakeSocket.all[before]!.query.get("token")).toBe("t2"); // the first attempt after 4401
    client.close();
  });

  it("asks the token function again when a connect attempt never opens (a browser cannot see a 401)", async () => {
    let n = 0;
    const token = vi.fn(async () => `t${++n}`);
    const { client } = makeClient({ token });
    await settle();
    expect(FakeSocket.last.query.get("token")).toBe("t1");
    FakeSocket.last.serverClose(1006); // refused before any welcome
    await vi.advanceTimersByTimeAsync(2_000);
    expect(FakeSocket.last.query.get("token")).toBe("t2");
    FakeSocket.last.welcome({ seq: 0 });
    expect(client.state).toBe("open");
    client.close();
  });

  it("stops after 4401 when the token is a fixed string (nothing to refresh)", async () => {
    const { client } = makeClient({ token: "fixed" });
    await settle();
    FakeSocket.last.serverClose(4401);
    expect(client.state).toBe("closed");
  });

  it("retries with backoff when the token function fails", async () => {
    let fail = true;
    const { client } = makeClient({ token: () => (fail ? Promise.reject(new Error("auth server down")) : "ok") });
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.message));
    await settle();
    expect(FakeSocket.all).toHaveLength(0);
    expect(client.state).toBe("reconnecting");
    expect(errors[0]).toMatch(/token function failed: auth server down/);
    fail = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.last.query.get("token")).toBe("ok");
    client.close();
  });

  it("reports server error frames without closing", async () => {
    const { client } = makeClient();
    const errors: Array<[string, string]> = [];
    client.on("error", (e) => errors.push([e.code, e.message]));
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    FakeSocket.last.serverSend({ type: "error", code: "rate_limited", message: "slow down" });
    FakeSocket.last.serverSend("not json");
    expect(errors).toEqual([
      ["rate_limited", "roomcast: slow down"],
      ["bad_frame", expect.stringMatching(/unreadable frame/)],
    ]);
    expect(client.state).toBe("open");
    client.close();
  });
});

describe("heartbeat", () => {
  it("pings periodically and keeps a link that answers", async () => {
    const { client } = makeClient({ pingInterval: 1000, pongTimeout: 500 });
    await settle();
    const ws = FakeSocket.last;
    ws.welcome({ seq: 0 });
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      expect(ws.sent.at(-1)).toBe("ping");
      ws.serverSend("pong");
    }
    expect(ws.sent.filter((s) => s === "ping")).toHaveLength(5);
    expect(client.state).toBe("open");
    client.close();
  });

  it("declares the link dead when no pong comes back in time", async () => {
    const { client } = makeClient({ pingInterval: 1000, pongTimeout: 500 });
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    await vi.advanceTimersByTimeAsync(1499);
    expect(client.state).toBe("open");
    await vi.advanceTimersByTimeAsync(1);
    expect(client.state).toBe("reconnecting");
    expect(FakeSocket.last.closedWith?.code).toBe(4000);
    client.close();
  });

  it("gives up on a connection attempt that is never welcomed", async () => {
    const { client } = makeClient({ connectTimeout: 3000 });
    await settle();
    FakeSocket.last.serverOpen();
    await vi.advanceTimersByTimeAsync(3000);
    expect(client.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(2);
    client.close();
  });
});

describe("backoff in the client", () => {
  it("grows while the link keeps failing and resets only after it stayed up", async () => {
    const delays: number[] = [];
    const { client } = makeClient({ stableAfter: 5000, backoff: { min: 100, max: 10_000, factor: 2 } });
    client.on("disconnect", (d) => d.delay !== undefined && delays.push(d.delay));
    await settle();
    for (let i = 0; i < 4; i++) {
      FakeSocket.last.welcome({ seq: 0, recovered: true });
      await vi.advanceTimersByTimeAsync(1000); // up, but not for long
      FakeSocket.last.serverClose(1006);
      await vi.advanceTimersByTimeAsync(delays.at(-1)!);
    }
    FakeSocket.last.welcome({ seq: 0, recovered: true });
    await vi.advanceTimersByTimeAsync(6000); // stayed up: the next drop starts over
    FakeSocket.last.serverClose(1006);
    expect(delays).toEqual([99, 199, 399, 799, 99]);
    client.close();
  });
});
