/**
 * The security review's Room-side findings, each over real sockets against a
 * relay with AUTH_SECRET: scopes hold on resume and on presence frames, SSE
 * counts toward the connection cap, idempotency keys belong to their
 * publisher, what one reader can make the room hold is bounded in bytes (and
 * the reader resumes with nothing lost), `events` and `mqtt` are ordinary
 * room names, and reading a room creates no storage.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import { CloseCode } from "../../protocol";
import { getJson, postMessage, readSse } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const SECRET = "test-secret-3f9a0c1d7e5b-room";
const nowS = () => Math.floor(Date.now() / 1000);

function token(scope: string, extra: Record<string, unknown> = {}): Promise<string> {
  return signJwt({ sub: "reader", rooms: ["*"], scope, exp: nowS() + 3600, ...extra }, SECRET);
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function publish(base: string, room: string, tok: string, data: unknown, key?: string) {
  const headers: Record<string, string> = { "content-type": "application/json", ...bearer(tok) };
  if (key !== undefined) headers["idempotency-key"] = key;
  return postMessage(base, room, JSON.stringify({ data }), headers);
}

/** The server sent its close frame (the local runtime may keep the TCP connection a while after). */
const serverClosing = (s: TestSocket) => s.closed !== null || s.ws.readyState >= 2;

/**
 * Resumes from `since` until seq `total` arrived, one connection per replay
 * page (each page ends with 4008 when more remains); the seqs, in order.
 */
async function resumeAll(url: string, since: number, epoch: string, total: number): Promise<number[]> {
  const seen: number[] = [];
  for (let connections = 0; since < total && connections < 20; connections++) {
    const s = await TestSocket.open(`${url}?since=${since}&epoch=${epoch}`);
    expect(await s.next("welcome")).toMatchObject({ recovered: true });
    await s.until((fs) => serverClosing(s) || fs.filter((f) => f.json?.type === "message").length >= total - since, "a replay page", 20_000);
    const page = s.messages().map((m) => m.seq);
    seen.push(...page);
    since = page[page.length - 1] ?? since;
    s.close();
  }
  return seen;
}

describe("scopes on resume and presence", () => {
  const relay = useRelay({ vars: { AUTH_SECRET: SECRET, RESUME_WINDOW_SECONDS: "2" } });

  it("subscribe alone resumes only the resume window; history reaches back", async () => {
    const room = uniqueRoom("window");
    const pub = await token("publish");
    for (let i = 1; i <= 3; i++) expect((await publish(relay.url, room, pub, { i })).status).toBe(201);
    await sleep(3000); // past the 2 s window
    for (let i = 4; i <= 5; i++) await publish(relay.url, room, pub, { i });

    const sub = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?since=0&token=${await token("subscribe")}`);
    const welcome = await sub.next("welcome");
    expect(welcome).toMatchObject({ recovered: false, seq: 5 });
    await sleep(300);
    expect(sub.messages().map((m) => m.seq)).toEqual([4, 5]);

    // Inside the window, subscribe alone is a full resume.
    const recent = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?since=3&epoch=${welcome.epoch}&token=${await token("subscribe")}`);
    expect(await recent.next("welcome")).toMatchObject({ recovered: true });
    expect((await recent.messagesUntil(2)).map((m) => m.seq)).toEqual([4, 5]);

    const hist = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?since=0&token=${await token("subscribe history")}`);
    expect(await hist.next("welcome")).toMatchObject({ recovered: true });
    expect((await hist.messagesUntil(5)).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);

    const sse = await readSse(`${relay.url}/rooms/${room}/events?since=0`, bearer(await token("subscribe")), (evs) => evs.length >= 2, 3000);
    expect(sse.events.filter((e) => e.event === "message").map((e) => Number(e.id))).toEqual([4, 5]);
    const sseHist = await readSse(`${relay.url}/rooms/${room}/events?since=0`, bearer(await token("subscribe history")), (evs) => evs.length >= 5);
    expect(sseHist.events.map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5]);
    [sub, recent, hist].forEach((s) => s.close());
  });

  it("sends presence frames and meta only to connections with the presence scope", async () => {
    const room = uniqueRoom("presence-scope");
    const plain = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token("subscribe")}`);
    const watcher = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token("subscribe presence")}`);
    await Promise.all([plain.next("welcome"), watcher.next("welcome")]);
    const secret = { email: "victim@example.com", name: "Victim" };
    const joiner = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token("subscribe", { sub: "victim", meta: secret })}`);
    await joiner.next("welcome");
    expect(await watcher.next("presence", (p) => p.event === "join")).toMatchObject({ meta: secret });
    // A message after the join: once it arrived, any presence frame would have too.
    await publish(relay.url, room, await token("publish"), "after");
    await plain.messagesUntil(1);
    expect(plain.all("presence")).toEqual([]);
    expect(plain.frames.some((f) => f.text?.includes("victim@example.com"))).toBe(false);
    [plain, watcher, joiner].forEach((s) => s.close());
  });

  it("scopes idempotency keys to the publisher", async () => {
    const room = uniqueRoom("idem");
    const alice = await signJwt({ sub: "alice", rooms: [room], scope: "publish", exp: nowS() + 600 }, SECRET);
    const mallory = await signJwt({ sub: "mallory", rooms: [room], scope: "publish", exp: nowS() + 600 }, SECRET);
    const a = await publish(relay.url, room, alice, "from alice", "order-42");
    const m = await publish(relay.url, room, mallory, "from mallory", "order-42");
    const again = await publish(relay.url, room, alice, "from alice", "order-42");
    expect(a.status).toBe(201);
    expect(m.status).toBe(201);
    expect(m.json.seq).not.toBe(a.json.seq);
    expect(again.json.seq).toBe(a.json.seq);
    const history = await getJson(`${relay.url}/rooms/${room}/messages`, bearer(await token("history")));
    expect(history.json.messages.map((e: { data: string }) => e.data)).toEqual(["from alice", "from mallory"]);
  });
});

describe("SSE counts toward the connection cap", () => {
  const relay = useRelay({ vars: { MAX_CONNECTIONS_PER_ROOM: "2" } });

  it("refuses a third reader, SSE or WebSocket, with 503 room_full", async () => {
    const room = uniqueRoom("cap");
    const controllers = [new AbortController(), new AbortController()];
    const streams = await Promise.all(controllers.map((c) => fetch(`${relay.url}/rooms/${room}/events`, { signal: c.signal })));
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    const third = await fetch(`${relay.url}/rooms/${room}/events`);
    expect(third.status).toBe(503);
    expect((await third.json()).error.code).toBe("room_full");
    await expect(TestSocket.open(`${relay.wsUrl}/rooms/${room}`)).rejects.toMatchObject({ status: 503 });
    controllers.forEach((c) => c.abort());
  });
});

describe("what one reader can make the room hold", () => {
  const BUDGET = 64 * 1024;
  const relay = useRelay({
    vars: { SLOW_CONSUMER_BYTES: String(BUDGET), SLOW_CONSUMER_GRACE_SECONDS: "1", RATE_LIMIT_PER_SECOND: "10000", RATE_LIMIT_BURST: "10000" },
  });
  const filler = "z".repeat(8 * 1024);

  async function fill(room: string, n: number) {
    for (let i = 1; i <= n; i++) expect((await postMessage(relay.url, room, JSON.stringify({ data: { i, filler } }))).status).toBe(201);
  }

  it("pages a WebSocket replay: each connection gets at most the budget, then 4008, and resuming gets the rest once", async () => {
    const room = uniqueRoom("replay");
    await fill(room, 40); // 320 KiB of history: five budgets
    const seen: number[] = [];
    let since = 0;
    let epoch = "";
    let connections = 0;
    while (seen.length < 40 && connections < 20) {
      connections++;
      const s = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?since=${since}${epoch ? `&epoch=${epoch}` : ""}`);
      const w = await s.next("welcome");
      epoch = w.epoch;
      expect(w.recovered).toBe(true);
      await s.until((fs) => serverClosing(s) || fs.filter((f) => f.json?.type === "message").length >= 40 - since, "page", 20_000);
      const page = s.messages().map((m) => m.seq);
      const bytes = s.frames.filter((f) => f.json?.type === "message").reduce((n, f) => n + f.text!.length, 0);
      expect(bytes).toBeLessThanOrEqual(BUDGET);
      if (seen.length + page.length < 40) {
        s.terminate(); // keeps the code of the server's close frame
        expect((await s.waitClosed()).code).toBe(CloseCode.SlowConsumer);
      }
      seen.push(...page);
      since = seen[seen.length - 1] ?? 0;
      s.close();
    }
    expect(connections).toBeGreaterThanOrEqual(5);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("ends an SSE replay past the budget; Last-Event-ID picks up the rest once", async () => {
    const room = uniqueRoom("sse-replay");
    await fill(room, 40);
    const seen: number[] = [];
    let streams = 0;
    while (seen.length < 40 && streams < 20) {
      streams++;
      const last = seen[seen.length - 1] ?? 0;
      const { events } = await readSse(`${relay.url}/rooms/${room}/events`, { "last-event-id": String(last) }, (evs) => evs.length >= 40 - last, 5000);
      seen.push(...events.map((e) => Number(e.id)));
    }
    expect(streams).toBeGreaterThanOrEqual(5);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("sheds a socket that never pings once it was sent past the budget, and it resumes", async () => {
    const room = uniqueRoom("never-pings");
    const quiet = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    const { epoch } = await quiet.next("welcome");
    (quiet.ws as any)._socket.pause(); // stops reading, never pings
    for (let i = 1; i <= 30; i++) {
      await postMessage(relay.url, room, JSON.stringify({ data: { i, filler } }));
      if (i % 10 === 0) await sleep(600); // past the 1 s grace
    }
    (quiet.ws as any)._socket.resume();
    expect((await quiet.waitClosed(15_000)).code).toBe(CloseCode.SlowConsumer);
    const got = quiet.messages().map((m) => m.seq);
    expect(got.length).toBeLessThan(30);
    const rest = await resumeAll(`${relay.wsUrl}/rooms/${room}`, got[got.length - 1] ?? 0, epoch, 30);
    expect([...got, ...rest]).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  }, 60_000);
});

describe("room names and storage", () => {
  const relay = useRelay();

  it.each(["events", "mqtt", "messages", "presence"])("a room named %s takes WebSockets, SSE and history", async (name) => {
    const room = `${name}`;
    const s = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    expect(await s.next("welcome")).toMatchObject({ type: "welcome", room });
    expect((await postMessage(relay.url, room, JSON.stringify({ data: name }))).status).toBe(201);
    expect((await s.messagesUntil(1))[0]).toMatchObject({ room, data: name });
    const sse = await readSse(`${relay.url}/rooms/${room}/events?since=0`, {}, (evs) => evs.length >= 1);
    expect(sse.status).toBe(200);
    s.close();
  });

  it("reading rooms that were never used writes no storage; using one does", async () => {
    // workerd opens an object's SQLite file when the object starts (4 KiB, no
    // tables); what matters is that nothing is ever written to it: its
    // write-ahead log stays empty.
    const dir = join(relay.persistDir, "do");
    const written = async () => {
      const names = ((await readdir(dir, { recursive: true }).catch(() => [])) as string[]).filter((f) => f.endsWith(".sqlite-wal") && !f.includes("metadata"));
      const sizes = await Promise.all(names.map(async (f) => (await stat(join(dir, f))).size));
      return sizes.filter((n) => n > 0).length;
    };
    const before = await written();
    for (let i = 0; i < 3; i++) {
      const room = uniqueRoom("unread");
      expect((await getJson(`${relay.url}/rooms/${room}`)).status).toBe(200);
      expect((await getJson(`${relay.url}/rooms/${room}/messages`)).status).toBe(200);
      expect((await getJson(`${relay.url}/rooms/${room}/presence`)).status).toBe(200);
    }
    expect(await written()).toBe(before);
    expect((await postMessage(relay.url, uniqueRoom("used"), JSON.stringify({ data: 1 }))).status).toBe(201);
    expect(await written()).toBe(before + 1);
  });
});
