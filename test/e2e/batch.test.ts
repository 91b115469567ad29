/**
 * Busy readers over real sockets (docs/protocol.md, "Batch frames",
 * "Conflation"): batch frames hold every message once in seq order, live,
 * in replays larger than one frame and across a resume; a conflating reader
 * gets the latest value of every topic and never an older one after a newer.
 */
import { describe, expect, it } from "vitest";
import { readSse } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom, type Frame } from "../support/socket";

const relay = useRelay({
  vars: {
    RATE_LIMIT_PER_SECOND: "100000",
    RATE_LIMIT_BURST: "100000",
    // A replay stops past this many bytes and continues on the next connection: a replay of ~400 KB takes several.
    SLOW_CONSUMER_BYTES: "150000",
  },
});

const MAX_FRAME = 64 * 1024;

/** Every envelope a socket got, in arrival order, whether alone or in batch frames. */
function envelopes(frames: Frame[]): any[] {
  return frames.flatMap((f) => (f.json?.type === "message" ? [f.json] : f.json?.type === "batch" ? f.json.messages : []));
}

async function envelopesUntil(s: TestSocket, count: number, timeoutMs = 15_000): Promise<any[]> {
  return s.until((fs) => envelopes(fs).length >= count && envelopes(fs), `${count} envelopes`, timeoutMs);
}

const seqsOf = (ms: any[]) => ms.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const utf8 = (f: Frame) => Buffer.byteLength(f.text ?? "", "utf8");

/** Waits until a replay page is over: the socket closed, the last seq came, or its frames stopped for 300 ms. */
async function pageOver(s: TestSocket, last: number): Promise<void> {
  for (let polls = 0; polls < 50; polls++) {
    const count = s.frames.length;
    await sleep(300);
    if (s.closed !== null || envelopes(s.frames).at(-1)?.seq === last || (count > 1 && s.frames.length === count)) return;
  }
  throw new Error("a replay page never ended");
}

async function open(room: string, query = ""): Promise<TestSocket> {
  const s = await TestSocket.open(`${relay.wsUrl}/rooms/${room}${query}`);
  await s.next("welcome");
  return s;
}

describe("batch frames", () => {
  it("live: a burst reaches batch readers in fewer frames, every seq once and in order; filtered and own messages as for plain readers", async () => {
    const room = uniqueRoom("batch-live");
    const plain = await open(room);
    const batched = await open(room, "?batch=1");
    const filtered = await open(room, `?batch=1&topics=${encodeURIComponent("a/#")}`);
    const pub = await open(room, "?batch=1");
    const n = 300;
    for (let i = 1; i <= n; i++) pub.send({ type: "publish", data: i, ...(i % 3 === 0 ? { topic: "a/x" } : {}) });
    const got = await envelopesUntil(batched, n);
    expect(seqsOf(got)).toEqual(range(1, n));
    expect(got.map((m) => m.data)).toEqual(range(1, n));
    expect(batched.frames.filter((f) => f.json?.type === "batch").length).toBeGreaterThan(0);
    expect(batched.frames.filter((f) => f.json?.type === "batch" || f.json?.type === "message").length).toBeLessThan(n);
    expect(seqsOf(await plain.messagesUntil(n))).toEqual(range(1, n));
    expect(plain.all("batch")).toEqual([]); // a reader that did not ask gets none
    const topical = await envelopesUntil(filtered, n / 3);
    expect(seqsOf(topical)).toEqual(range(1, n).filter((i) => i % 3 === 0));
    await sleep(200);
    expect(envelopes(pub.frames)).toEqual([]); // echo off: its own messages are not sent back, batched or not
    expect(envelopes(filtered.frames)).toHaveLength(n / 3);
    for (const f of batched.frames) expect(utf8(f)).toBeLessThanOrEqual(MAX_FRAME);
    [plain, batched, filtered, pub].forEach((s) => s.close());
  });

  it("a replay larger than one frame comes in frames of at most 64 KiB, every seq once in order, across the pages of a resume", async () => {
    const room = uniqueRoom("batch-replay");
    const pub = await open(room);
    const n = 400;
    const pad = "x".repeat(1000);
    for (let i = 1; i <= n; i++) pub.send({ type: "publish", data: { i, pad }, id: `p${i}` });
    await pub.until((fs) => fs.filter((f) => f.json?.type === "ack").length >= n, "every ack"); // all committed
    let last = 0;
    let epoch: string | undefined;
    const all: any[] = [];
    let connections = 0;
    let frames = 0;
    for (; last < n && connections < 20; connections++) {
      const s = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?batch=1&since=${last}${epoch ? `&epoch=${epoch}` : ""}`);
      const welcome = await s.next("welcome");
      epoch = welcome.epoch;
      // The replay goes out in one go; a page that did not finish it is closed by the room (4008), which
      // the client need not wait for: once its frames stop, it resumes from the last seq it got (even
      // if it left early, nothing is lost: the next page starts there).
      await pageOver(s, n);
      for (const f of s.frames) expect(utf8(f)).toBeLessThanOrEqual(MAX_FRAME);
      const got = envelopes(s.frames);
      // ~1 KB envelopes, 64 KiB frames: dozens to a frame.
      if (got.length > 100) expect(s.frames.filter((f) => f.json?.type === "batch").length).toBeGreaterThan(1);
      frames += s.frames.filter((f) => f.json?.type === "batch" || f.json?.type === "message").length;
      all.push(...got);
      last = got.at(-1)?.seq ?? last;
      s.close();
    }
    expect(connections).toBeGreaterThan(1); // the replay did not fit one connection's budget: it was resumed
    expect(seqsOf(all)).toEqual(range(1, n));
    expect(all.map((m) => m.data.i)).toEqual(range(1, n));
    expect(frames).toBeLessThan(n / 20);
    pub.close();
  });

  it("resumes a batch reader after a gap: the messages it missed in batch frames, then live, no repeat", async () => {
    const room = uniqueRoom("batch-resume");
    const pub = await open(room);
    const first = await open(room, "?batch=1");
    for (let i = 1; i <= 50; i++) pub.send({ type: "publish", data: i });
    const before = await envelopesUntil(first, 50);
    const welcome = first.all("welcome")[0];
    first.close();
    for (let i = 51; i <= 150; i++) pub.send({ type: "publish", data: i });
    await sleep(300);
    const again = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?batch=1&since=${before.at(-1).seq}&epoch=${welcome.epoch}`);
    expect((await again.next("welcome")).recovered).toBe(true);
    for (let i = 151; i <= 200; i++) pub.send({ type: "publish", data: i });
    const after = await envelopesUntil(again, 150);
    expect(seqsOf([...before, ...after])).toEqual(range(1, 200));
    await sleep(200);
    expect(envelopes(again.frames)).toHaveLength(150);
    [pub, again].forEach((s) => s.close());
  });
});

describe("conflation", () => {
  /** Publishes `rounds` values on each topic, then a last one, interleaved with messages without a topic. */
  async function storm(pub: TestSocket, topics: string[], rounds: number): Promise<{ sent: number; untopiced: number[] }> {
    let sent = 0;
    const untopiced: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      for (const topic of topics) {
        pub.send({ type: "publish", data: { v: r }, topic });
        sent++;
      }
      if (r % 10 === 0) {
        pub.send({ type: "publish", data: { plain: r } });
        untopiced.push(r);
        sent++;
      }
      if (r % 20 === 0) await sleep(30); // spread over several intervals
    }
    return { sent, untopiced };
  }

  function checkConflated(got: any[], topics: string[], rounds: number, untopiced: number[]): void {
    const seqs = seqsOf(got);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // seq only grows: a correct resume point
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const topic of topics) {
      const values = got.filter((m) => m.topic === topic).map((m) => m.data.v);
      expect(values).toEqual([...values].sort((a, b) => a - b)); // never an older value after a newer
      expect(values.at(-1)).toBe(rounds); // the latest arrives
    }
    expect(got.filter((m) => m.topic === undefined).map((m) => m.data.plain)).toEqual(untopiced); // not conflated
  }

  it("a conflating WebSocket gets the latest of every topic, never an older after a newer, all messages without a topic", async () => {
    const room = uniqueRoom("conflate");
    const topics = ["s/1", "s/2", "s/3"];
    const reader = await open(room, "?conflate=100");
    const batchReader = await open(room, "?conflate=100&batch=1");
    const pub = await open(room);
    const rounds = 100;
    const { sent, untopiced } = await storm(pub, topics, rounds);
    const done = (fs: Frame[]) => topics.every((t) => envelopes(fs).some((m) => m.topic === t && m.data.v === rounds));
    await reader.until(done, "the latest of every topic");
    await batchReader.until(done, "the latest of every topic");
    await sleep(300); // nothing else is due: anything that still comes would be an older value
    for (const s of [reader, batchReader]) {
      const got = envelopes(s.frames);
      checkConflated(got, topics, rounds, untopiced);
      expect(got.length).toBeLessThan(sent); // conflated away
    }
    [reader, batchReader, pub].forEach((s) => s.close());
  });

  it("conflates a resume's replay and an SSE stream the same way", async () => {
    const room = uniqueRoom("conflate-replay");
    const topics = ["t/a", "t/b"];
    const pub = await open(room);
    const rounds = 40;
    const { untopiced } = await storm(pub, topics, rounds);
    const plain = await open(room, "?since=0");
    await envelopesUntil(plain, rounds * 2 + untopiced.length); // all committed
    const replayed = await open(room, "?since=0&conflate=1000");
    await sleep(200);
    const got = envelopes(replayed.frames);
    checkConflated(got, topics, rounds, untopiced);
    expect(got.filter((m) => m.topic !== undefined)).toHaveLength(topics.length); // one interval's worth: the latest per topic
    const sse = await readSse(`${relay.url}/rooms/${room}/events?since=0&conflate=1000`, {}, (evs) => evs.filter((e) => e.event === "message").length >= got.length, 5000);
    const streamed = sse.events.filter((e) => e.event === "message").map((e) => JSON.parse(e.data));
    expect(seqsOf(streamed)).toEqual(seqsOf(got));
    [pub, plain, replayed].forEach((s) => s.close());
  });

  it("refuses a conflate interval out of bounds with 400", async () => {
    const room = uniqueRoom("conflate-bad");
    for (const bad of ["5", "abc", "600000", "-1"]) {
      await expect(TestSocket.open(`${relay.wsUrl}/rooms/${room}?conflate=${bad}`)).rejects.toMatchObject({ status: 400 });
    }
  });
});

describe("publishes that skip history", () => {
  it("reach live readers at once with the seq they follow, are absent from history and replays, and move no seq", async () => {
    const room = uniqueRoom("live");
    const plain = await open(room);
    const batched = await open(room, "?batch=1");
    const pub = await open(room);
    pub.send({ type: "publish", data: "stored-1", id: "a" });
    await pub.next("ack", (a) => a.id === "a");
    pub.send({ type: "publish", data: "live-1", history: false, id: "b" });
    expect(await pub.next("ack", (a) => a.id === "b")).toMatchObject({ seq: 1 }); // the stored seq it follows
    // A burst: stored and live interleaved leave in order, a live one never ahead of a stored one before it.
    pub.send({ type: "publish", data: "stored-2" });
    pub.send({ type: "publish", data: "live-2", history: false, topic: "t/x" });
    pub.send({ type: "publish", data: "stored-3", id: "s3" });
    await pub.next("ack", (a) => a.id === "s3"); // another connection's publish has no order with these
    const http = await fetch(`${relay.url}/rooms/${room}/messages?history=0`, { method: "POST", body: JSON.stringify({ data: "live-http" }), headers: { "content-type": "application/json" } });
    expect(http.status).toBe(201);
    const expected = [
      ["stored-1", 1, undefined],
      ["live-1", 1, true],
      ["stored-2", 2, undefined],
      ["live-2", 2, true],
      ["stored-3", 3, undefined],
      ["live-http", 3, true],
    ];
    for (const s of [plain, batched]) {
      const got = await envelopesUntil(s, expected.length);
      expect(got.map((m) => [m.data, m.seq, m.live])).toEqual(expected);
    }
    const history = await (await fetch(`${relay.url}/rooms/${room}/messages?after=0`)).json();
    expect(history.messages.map((m: any) => m.data)).toEqual(["stored-1", "stored-2", "stored-3"]);
    expect(history.seq).toBe(3);
    const replay = await open(room, "?since=0&batch=1");
    await envelopesUntil(replay, 3);
    await sleep(200);
    expect(envelopes(replay.frames).map((m) => m.data)).toEqual(["stored-1", "stored-2", "stored-3"]);
    // Next stored message: the next seq, as if the live ones were not there.
    pub.send({ type: "publish", data: "stored-4", id: "c" });
    expect(await pub.next("ack", (a) => a.id === "c")).toMatchObject({ seq: 4 });
    [plain, batched, pub, replay].forEach((s) => s.close());
  });

  it("refuses a history-less publish that asks to be retained", async () => {
    const room = uniqueRoom("live-retain");
    const pub = await open(room);
    pub.send({ type: "publish", data: 1, topic: "a", retain: true, history: false });
    expect(await pub.next("error")).toMatchObject({ code: "bad_frame" });
    const http = await fetch(`${relay.url}/rooms/${room}/messages?history=0&retain=1&topic=a`, { method: "POST", body: "x", headers: { "content-type": "text/plain" } });
    expect(http.status).toBe(400);
    pub.close();
  });
});
