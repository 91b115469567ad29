/**
 * Nothing lost: one order for everybody, resume, idempotent publish, HTTP
 * publish and history, raw mode. Real sockets against the built bundle.
 */
import { describe, expect, it } from "vitest";
import { getJson, postJson, postMessage } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const relay = useRelay();

const ws = (room: string, query = "") => `${relay.wsUrl}/rooms/${room}${query}`;
const seqs = (msgs: any[]) => msgs.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("ordering", () => {
  it("200 messages from 2 concurrent publishers reach 3 subscribers as seq 1..200 in one order", async () => {
    const room = uniqueRoom("order");
    const subs = await Promise.all([1, 2, 3].map(() => TestSocket.open(ws(room))));
    const pubs = await Promise.all([1, 2].map(() => TestSocket.open(ws(room))));
    await Promise.all([...subs, ...pubs].map((s) => s.next("welcome")));
    // Interleave the two publishers; stay under the rate limit's burst.
    for (let i = 0; i < 100; i++) {
      pubs[0]!.publish({ p: 0, i }, `a-${i}`);
      pubs[1]!.publish({ p: 1, i }, `b-${i}`);
      if (i % 20 === 19) await sleep(500);
    }
    const received = await Promise.all(subs.map((s) => s.messagesUntil(200, 30_000)));
    for (const msgs of received) {
      expect(seqs(msgs)).toEqual(range(1, 200));
      // Each publisher's own messages keep their order.
      for (const p of [0, 1]) {
        const mine = msgs.filter((m) => m.data.p === p).map((m) => m.data.i);
        expect(mine).toEqual(range(0, 99));
      }
    }
    const order = (msgs: any[]) => msgs.map((m) => `${m.data.p}:${m.data.i}`).join(",");
    expect(order(received[1]!)).toBe(order(received[0]!));
    expect(order(received[2]!)).toBe(order(received[0]!));
    // Each publisher got 100 acks with distinct seqs.
    await Promise.all(pubs.map((p) => p.until((fs) => fs.filter((f) => f.json?.type === "ack").length >= 100, "100 acks")));
    const acks = pubs.flatMap((p) => p.all("ack").map((a) => a.seq));
    expect(new Set(acks).size).toBe(200);
    [...subs, ...pubs].forEach((s) => s.close());
  }, 60_000);
});

describe("resume", () => {
  it("replays 20 missed messages after welcome, then live ones, each once", async () => {
    const room = uniqueRoom("resume");
    const pub = await TestSocket.open(ws(room));
    const sub = await TestSocket.open(ws(room));
    const welcome = await sub.next("welcome");
    await pub.next("welcome");
    for (let i = 1; i <= 5; i++) pub.publish(i, `r-${i}`);
    await sub.messagesUntil(5);
    sub.close();
    await sub.waitClosed();

    for (let i = 6; i <= 25; i++) pub.publish(i, `r-${i}`);
    await pub.until((fs) => fs.filter((f) => f.json?.type === "ack").length >= 25, "25 acks");

    const back = await TestSocket.open(ws(room, `?since=5&epoch=${welcome.epoch}`));
    const w2 = await back.next("welcome");
    expect(w2).toMatchObject({ seq: 25, epoch: welcome.epoch, recovered: true });
    expect(back.frames[0]!.json.type).toBe("welcome"); // welcome first
    const replayed = await back.messagesUntil(20);
    expect(seqs(replayed)).toEqual(range(6, 25));
    expect(replayed.map((m) => m.data)).toEqual(range(6, 25));

    pub.publish(26, "r-26");
    const all = await back.messagesUntil(21);
    expect(seqs(all)).toEqual(range(6, 26));
    pub.close();
    back.close();
  });

  it("loses nothing and repeats nothing when resuming while messages keep coming", async () => {
    const room = uniqueRoom("race");
    const pub = await TestSocket.open(ws(room));
    await pub.next("welcome");
    let sent = 0;
    const publishing = (async () => {
      while (sent < 60) {
        pub.publish(++sent);
        await sleep(25);
      }
    })();
    await sleep(300);
    const sub = await TestSocket.open(ws(room, "?since=0"));
    const welcome = await sub.next("welcome");
    expect(welcome.recovered).toBe(true);
    await publishing;
    const msgs = await sub.messagesUntil(60);
    expect(seqs(msgs)).toEqual(range(1, 60));
    pub.close();
    sub.close();
  });

  it("since without epoch resumes in the room's current epoch", async () => {
    const room = uniqueRoom("noepoch");
    for (let i = 1; i <= 3; i++) await postJson(relay.url, room, i);
    const sub = await TestSocket.open(ws(room, "?since=1"));
    expect((await sub.next("welcome")).recovered).toBe(true);
    expect(seqs(await sub.messagesUntil(2))).toEqual([2, 3]);
    sub.close();
  });

  it("a different epoch gets recovered:false and no replay", async () => {
    const room = uniqueRoom("epoch");
    for (let i = 1; i <= 3; i++) await postJson(relay.url, room, i);
    const sub = await TestSocket.open(ws(room, "?since=1&epoch=not-this-one"));
    const welcome = await sub.next("welcome");
    expect(welcome).toMatchObject({ recovered: false, seq: 3 });
    await sleep(300);
    expect(sub.messages()).toEqual([]);
    sub.close();
  });

  it("a since beyond the room's seq gets recovered:false", async () => {
    const room = uniqueRoom("ahead");
    await postJson(relay.url, room, 1);
    const sub = await TestSocket.open(ws(room, "?since=99"));
    expect(await sub.next("welcome")).toMatchObject({ recovered: false, seq: 1 });
    sub.close();
  });

  it("refuses a malformed since with 400 before upgrading", async () => {
    for (const since of ["-1", "abc", "1e3", "99999999999999999999"]) {
      await expect(TestSocket.open(ws(uniqueRoom(), `?since=${since}`))).rejects.toMatchObject({ status: 400 });
    }
  });
});

describe("resume past history", () => {
  const small = useRelay({ vars: { HISTORY_LIMIT: "10" } });

  it("keeps the latest HISTORY_LIMIT messages and refuses a resume from before them", async () => {
    const room = uniqueRoom("trim");
    let epoch = "";
    for (let i = 1; i <= 30; i++) epoch = (await postJson(small.url, room, i)).json.epoch;

    const page = await getJson(`${small.url}/rooms/${room}/messages?after=0&limit=1000`);
    expect(seqs(page.json.messages)).toEqual(range(21, 30));

    const gone = await TestSocket.open(`${small.wsUrl}/rooms/${room}?since=5&epoch=${epoch}`);
    expect(await gone.next("welcome")).toMatchObject({ recovered: false, seq: 30 });
    await sleep(300);
    expect(gone.messages()).toEqual([]);
    gone.close();

    // The oldest still-held gap is served in full.
    const edge = await TestSocket.open(`${small.wsUrl}/rooms/${room}?since=20&epoch=${epoch}`);
    expect(await edge.next("welcome")).toMatchObject({ recovered: true });
    expect(seqs(await edge.messagesUntil(10))).toEqual(range(21, 30));
    edge.close();
  });
});

describe("idempotent publish", () => {
  it("a retried WebSocket publish id is acked with the original seq and not published again", async () => {
    const room = uniqueRoom("idem");
    const pub = await TestSocket.open(ws(room));
    const sub = await TestSocket.open(ws(room));
    await Promise.all([pub.next("welcome"), sub.next("welcome")]);
    pub.publish({ v: 1 }, "once");
    expect(await pub.next("ack")).toEqual({ type: "ack", id: "once", seq: 1 });
    pub.close();

    // The "same client" after a dropped connection retries with the same id.
    const retry = await TestSocket.open(ws(room));
    await retry.next("welcome");
    retry.publish({ v: 1 }, "once");
    expect(await retry.next("ack")).toEqual({ type: "ack", id: "once", seq: 1 });
    retry.publish({ v: 2 }, "twice");
    expect((await retry.next("ack", (a) => a.id === "twice")).seq).toBe(2);
    await sub.messagesUntil(2);
    await sleep(200);
    expect(seqs(sub.messages())).toEqual([1, 2]);
    retry.close();
    sub.close();
  });

  it("an HTTP Idempotency-Key is published once and answers the original seq", async () => {
    const room = uniqueRoom("idem-http");
    const first = await postJson(relay.url, room, { reading: 7 }, "key-1");
    const again = await postJson(relay.url, room, { reading: 7 }, "key-1");
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.json).toEqual(first.json);
    const page = await getJson(`${relay.url}/rooms/${room}/messages`);
    expect(page.json.messages).toHaveLength(1);
  });
});

describe("HTTP publish and history", () => {
  it("takes JSON, text and bytes, and serves them oldest first with after and limit", async () => {
    const room = uniqueRoom("http");
    const sub = await TestSocket.open(ws(room));
    const raw = await TestSocket.open(ws(room, "?mode=raw"));
    await sub.next("welcome");

    const a = await postJson(relay.url, room, { t: 1 });
    expect(a).toEqual({ status: 201, json: { seq: 1, epoch: expect.any(String) } });
    const b = await postMessage(relay.url, room, "plain text", { "content-type": "text/plain" });
    expect(b.json.seq).toBe(2);
    const c = await postMessage(relay.url, room, new Uint8Array([0, 1, 2, 255]), { "content-type": "application/octet-stream" });
    expect(c.json.seq).toBe(3);

    const live = await sub.messagesUntil(3);
    expect(live.map((m) => m.data)).toEqual([{ t: 1 }, "plain text", "AAEC/w=="]);
    expect(live[2].binary).toBe(true);
    expect(live[0].binary).toBeUndefined();

    await raw.until((fs) => fs.length >= 3, "3 raw frames");
    expect(raw.frames[0]!.text).toBe('{"t":1}');
    expect(raw.frames[1]!.text).toBe("plain text");
    expect([...raw.frames[2]!.binary!]).toEqual([0, 1, 2, 255]);

    const all = await getJson(`${relay.url}/rooms/${room}/messages`);
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ room, seq: 3, epoch: a.json.epoch });
    expect(all.json.messages).toEqual(live);
    const page = await getJson(`${relay.url}/rooms/${room}/messages?after=1&limit=1`);
    expect(seqs(page.json.messages)).toEqual([2]);
    sub.close();
    raw.close();
  });

  it("refuses bad history queries and bad bodies with 400", async () => {
    const room = uniqueRoom("bad");
    expect((await getJson(`${relay.url}/rooms/${room}/messages?after=-4`)).status).toBe(400);
    expect((await getJson(`${relay.url}/rooms/${room}/messages?limit=lots`)).status).toBe(400);
    expect((await postMessage(relay.url, room, "{not json")).json.error.code).toBe("bad_json");
    expect((await postMessage(relay.url, room, JSON.stringify({ nodata: 1 }))).status).toBe(400);
    expect((await postMessage(relay.url, room, "")).status).toBe(400);
  });
});

describe("raw mode", () => {
  it("sends bare payloads both ways with no welcome or presence", async () => {
    const room = uniqueRoom("raw");
    const device = await TestSocket.open(ws(room, "?mode=raw"));
    const dash = await TestSocket.open(ws(room));
    await dash.next("welcome");
    await sleep(200);
    expect(device.frames).toEqual([]); // no welcome, no presence

    device.send("21.5");
    device.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const msgs = await dash.messagesUntil(2);
    expect(msgs[0]).toMatchObject({ seq: 1, data: "21.5" });
    expect(msgs[1]).toMatchObject({ seq: 2, data: "3q2+7w==", binary: true });

    dash.publish({ cmd: "reboot" });
    dash.publish("text command");
    await device.until((fs) => fs.length >= 2, "2 raw frames");
    expect(device.frames.map((f) => f.text)).toEqual(['{"cmd":"reboot"}', "text command"]);
    expect(device.frames.every((f) => f.binary === null)).toBe(true);

    // A raw device resumes too: bare payloads after `since`.
    const again = await TestSocket.open(ws(room, "?mode=raw&since=2"));
    await again.until((fs) => fs.length >= 2, "2 replayed frames");
    expect(again.frames.map((f) => f.text)).toEqual(['{"cmd":"reboot"}', "text command"]);
    [device, dash, again].forEach((s) => s.close());
  });
});
