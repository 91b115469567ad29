/**
 * Joins at scale: presence switches from per-member frames to coalesced
 * counts past PRESENCE_EVENTS_MAX and back, stays right across hibernation,
 * pages; a room that cannot take more upgrades right now answers
 * `503 room_busy` with Retry-After, and the client library then gets in and
 * resumes with nothing lost.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { RoomcastClient, type MessageEnvelope } from "../../client";
import { PRESENCE_EVENTS_MAX } from "../../protocol/limits";
import { getJson, postJson, roomInstance } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

/** Opens `n` sockets, `inFlight` handshakes at a time. */
async function openMany(url: string, n: number, inFlight = 25): Promise<TestSocket[]> {
  const sockets: TestSocket[] = [];
  for (let i = 0; i < n; i += inFlight) {
    const batch = await Promise.all(Array.from({ length: Math.min(inFlight, n - i) }, () => TestSocket.open(url)));
    sockets.push(...batch);
  }
  return sockets;
}

describe("presence in a room that grows", () => {
  const relay = useRelay({ diagnostics: true });

  it("sends join/leave frames up to the threshold, coalesced counts past it, and frames again below it", async () => {
    const room = uniqueRoom("grow");
    const url = `${relay.wsUrl}/rooms/${room}`;
    const observer = await TestSocket.open(url);
    await observer.next("welcome");
    // Everybody else asks for no presence frames: the observer alone counts them.
    const crowd = await openMany(`${url}?presence=0`, PRESENCE_EVENTS_MAX + 20);
    const total = PRESENCE_EVENTS_MAX + 21;
    const counted = await observer.until(
      (fs) => fs.map((f) => f.json).find((j) => j?.type === "presence" && j.event === "count" && j.count === total),
      `a count frame of ${total}`,
    );
    expect(counted).toEqual({ type: "presence", event: "count", count: total });
    const presence = observer.all("presence");
    const joins = presence.filter((p) => p.event === "join");
    const counts = presence.filter((p) => p.event === "count");
    // Per-member frames while the room had at most the threshold, none after it.
    expect(joins.length).toBe(PRESENCE_EVENTS_MAX - 1);
    expect(Math.max(...joins.map((j) => j.count))).toBe(PRESENCE_EVENTS_MAX);
    expect(joins.every((j) => typeof j.id === "string" && j.meta !== undefined)).toBe(true);
    // 21 joins past the threshold, but counts are coalesced and only sent when the count moved.
    expect(counts.length).toBeGreaterThanOrEqual(1);
    expect(counts.length).toBeLessThan(21);
    const seen = counts.map((c) => c.count);
    expect(new Set(seen).size).toBe(seen.length);

    // Back below the threshold: per-member leave frames again.
    const leaving = crowd.splice(0, 30);
    for (const s of leaving) s.close();
    await observer.until(
      (fs) => fs.some((f) => f.json?.type === "presence" && f.json.event === "leave" && f.json.count === total - 30),
      "a leave frame below the threshold",
    );
    const after = await getJson(`${relay.url}/rooms/${room}/presence?limit=1000`);
    expect(after.json.count).toBe(total - 30);
    expect(after.json.clients).toHaveLength(total - 30);
    [observer, ...crowd].forEach((s) => s.close());
  }, 90_000);

  it("pages GET /presence: every member exactly once, cursor null at the end", async () => {
    const room = uniqueRoom("pages");
    const sockets = await openMany(`${relay.wsUrl}/rooms/${room}?presence=0`, 23);
    const ids = new Set<string>();
    for (const s of sockets) ids.add((await s.next("welcome")).id);
    const listed: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `limit=5${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await getJson(`${relay.url}/rooms/${room}/presence?${query}`);
      expect(page.status).toBe(200);
      expect(page.json.count).toBe(23);
      expect(page.json.clients.length).toBeLessThanOrEqual(5);
      listed.push(...page.json.clients.map((c: { id: string }) => c.id));
      cursor = page.json.cursor;
      pages++;
    } while (cursor !== null && pages < 20);
    expect(pages).toBe(5);
    expect(listed).toHaveLength(23);
    expect(new Set(listed)).toEqual(ids);
    // Without limit: the first page of the default size, here all of them.
    const first = await getJson(`${relay.url}/rooms/${room}/presence`);
    expect(first.json).toMatchObject({ room, count: 23, cursor: null });
    expect(first.json.clients).toHaveLength(23);
    expect((await getJson(`${relay.url}/rooms/${room}/presence?cursor=%22x`)).status).toBe(400);
    sockets.forEach((s) => s.close());
  });

  it("keeps the count right across hibernation", async () => {
    const room = uniqueRoom("hib");
    const url = `${relay.wsUrl}/rooms/${room}`;
    const a = await TestSocket.open(url);
    const b = await TestSocket.open(url);
    const c = await TestSocket.open(url);
    await Promise.all([a.next("welcome"), b.next("welcome"), c.next("welcome")]);
    const before = await roomInstance(relay.url, room);
    await sleep(13_000); // workerd evicts an idle room after ~10 s
    expect(await roomInstance(relay.url, room)).not.toBe(before);
    expect((await getJson(`${relay.url}/rooms/${room}/presence`)).json.count).toBe(3);
    const d = await TestSocket.open(url);
    const dw = await d.next("welcome");
    expect(dw.count).toBe(4);
    expect(await a.next("presence", (p) => p.event === "join" && p.id === dw.id)).toMatchObject({ count: 4 });
    const bId = b.all("welcome")[0].id;
    b.close();
    expect(await a.next("presence", (p) => p.event === "leave" && p.id === bId)).toMatchObject({ count: 3 });
    expect((await getJson(`${relay.url}/rooms/${room}`)).json.connections).toBe(3);
    [a, c, d].forEach((s) => s.close());
  }, 60_000);
});

describe("a room held busy", () => {
  // Two joins a second after a burst of three: a wave of twelve must queue.
  const relay = useRelay({ vars: { JOIN_RATE_PER_SECOND: "4", JOIN_RATE_BURST: "3" } });

  /** One raw upgrade attempt: the status and Retry-After of a refusal, or the open socket. */
  function attempt(url: string): Promise<{ status: number; retryAfter: string | null; body: string } | { ws: WebSocket }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once("open", () => resolve({ ws }));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers["retry-after"] as string) ?? null, body }));
      });
      ws.once("error", reject);
    });
  }

  it("answers a wave at once with 503 room_busy and Retry-After", async () => {
    const room = uniqueRoom("busy");
    const results = await Promise.all(Array.from({ length: 12 }, () => attempt(`${relay.wsUrl}/rooms/${room}`)));
    const refused = results.filter((r): r is { status: number; retryAfter: string | null; body: string } => "status" in r);
    const opened = results.filter((r): r is { ws: WebSocket } => "ws" in r);
    expect(opened.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).error.code).toBe("room_busy");
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    opened.forEach((o) => o.ws.close());
  });

  it("counts a resume with much to replay as more than one join", async () => {
    const room = uniqueRoom("heavy");
    for (let i = 1; i <= 80; i++) await postJson(relay.url, room, { i });
    await sleep(1500); // the bucket is full again (3 tokens)
    const { json } = await getJson(`${relay.url}/rooms/${room}`);
    // Replaying 80 messages takes 1 + ceil(80 / REPLAY_MESSAGES_PER_JOIN_TOKEN) = 3 tokens: the whole burst ...
    const heavy = await attempt(`${relay.wsUrl}/rooms/${room}?since=0&epoch=${json.epoch}`);
    expect("ws" in heavy).toBe(true);
    // ... so the next resume of as much is refused, while a join with nothing to replay
    // would have fitted three times into the same burst.
    const second = await attempt(`${relay.wsUrl}/rooms/${room}?since=0&epoch=${json.epoch}`);
    expect("status" in second && second.status).toBe(503);
    expect("status" in second && JSON.parse(second.body).error.code).toBe("room_busy");
    if ("ws" in heavy) heavy.ws.close();
  });

  it("the client library waits as told, gets in, and resumes with nothing lost", async () => {
    const room = uniqueRoom("wave");
    for (let i = 1; i <= 5; i++) await postJson(relay.url, room, { i });
    await sleep(2000); // the bucket refills
    const clients = Array.from({ length: 10 }, () => new RoomcastClient({ url: relay.url, room, WebSocket: WebSocket as never }));
    const got = clients.map(() => [] as MessageEnvelope[]);
    const refusals: number[] = [];
    clients.forEach((c, i) => {
      c.on("message", (m) => got[i]!.push(m));
      c.on("disconnect", (d) => refusals.push(d.delay ?? -1));
    });
    // Each client saw the room's first seq 0 only if it got in before the posts below.
    const deadline = Date.now() + 60_000;
    while (clients.some((c) => c.state !== "open") && Date.now() < deadline) await sleep(200);
    expect(clients.map((c) => c.state)).toEqual(clients.map(() => "open"));
    expect(refusals.length).toBeGreaterThan(0); // some were told to wait
    // Retry-After is at least 1 s: the library waited that long, not its 0.5 s backoff.
    expect(Math.min(...refusals)).toBeGreaterThanOrEqual(1000);
    for (let i = 6; i <= 10; i++) await postJson(relay.url, room, { i });
    const until = Date.now() + 20_000;
    while (got.some((g) => g.length < 5) && Date.now() < until) await sleep(100);
    for (const g of got) expect(g.map((m) => (m.data as { i: number }).i)).toEqual([6, 7, 8, 9, 10]);

    // Dropped together and back: every client resumes from its last seq, once each.
    const deadline2 = Date.now() + 60_000;
    for (const c of clients) (c as unknown as { ws: { terminate(): void } | null }).ws?.terminate();
    await sleep(100);
    for (let i = 11; i <= 15; i++) await postJson(relay.url, room, { i });
    while ((clients.some((c) => c.state !== "open") || got.some((g) => g.length < 10)) && Date.now() < deadline2) await sleep(200);
    for (const g of got) expect(g.map((m) => m.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    clients.forEach((c) => c.close());
  }, 120_000);
});
