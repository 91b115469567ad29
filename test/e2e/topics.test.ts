/**
 * Topics and retained values over real sockets: publish with a topic from a
 * WebSocket and over HTTP, filter with MQTT wildcards on the WebSocket, SSE
 * and history, resume a filtered reader by seq, keep the latest retained
 * value per topic and hand it first to a reader that asks (`retained=1`).
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { RoomcastClient, type MessageEnvelope } from "../../client";
import { getJson, readSse } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const relay = useRelay();

/** POST to /rooms/:room/messages with optional query string. */
async function publish(room: string, body: BodyInit, query = "", type = "application/json") {
  const res = await fetch(`${relay.url}/rooms/${room}/messages${query}`, { method: "POST", body, headers: { "content-type": type } });
  return { status: res.status, json: (await res.json()) as any };
}

describe("topics", () => {
  it("delivers by filter: + one level, # the rest, $-topics only to filters that name them", async () => {
    const room = uniqueRoom("topics");
    const url = `${relay.wsUrl}/rooms/${room}`;
    const all = await TestSocket.open(url);
    const temps = await TestSocket.open(`${url}?topics=${encodeURIComponent("sensors/+/temp")}`);
    const cmds = await TestSocket.open(`${url}?topics=${encodeURIComponent("cmd/#,$SYS/#")}`);
    const pub = await TestSocket.open(url);
    await Promise.all([all, temps, cmds, pub].map((s) => s.next("welcome")));
    const sent: Array<[string | undefined, unknown]> = [
      ["sensors/t1/temp", 21.5],
      ["sensors/t1/hum", 40],
      [undefined, "no topic"],
      ["cmd", "bare cmd"],
      ["cmd/t1/reboot", true],
      ["$SYS/uptime", 7],
      ["sensors/t2/temp", 19],
    ];
    for (const [topic, data] of sent) pub.send({ type: "publish", data, ...(topic ? { topic } : {}) });
    const everything = await all.messagesUntil(7);
    expect(everything.map((m) => m.topic)).toEqual(sent.map(([t]) => t));
    expect(everything.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const t = await temps.messagesUntil(2);
    expect(t.map((m) => [m.seq, m.topic, m.data])).toEqual([
      [1, "sensors/t1/temp", 21.5],
      [7, "sensors/t2/temp", 19],
    ]);
    const c = await cmds.messagesUntil(3);
    expect(c.map((m) => m.topic)).toEqual(["cmd", "cmd/t1/reboot", "$SYS/uptime"]);
    await sleep(200);
    expect(temps.messages()).toHaveLength(2);
    expect(cmds.messages()).toHaveLength(3);
    [all, temps, cmds, pub].forEach((s) => s.close());
  });

  it("refuses bad topics and filters: error frame, 400 bad_topic", async () => {
    const room = uniqueRoom("bad-topic");
    const s = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await s.next("welcome");
    for (const topic of ["a/+/b", "a/#", "", "x".repeat(257), 42]) {
      s.send({ type: "publish", data: 1, topic });
      expect(await s.next("error", (e) => e.code === "bad_topic")).toMatchObject({ code: "bad_topic" });
      s.frames.length = 0;
    }
    expect((await publish(room, JSON.stringify({ data: 1, topic: "a/#" }))).json.error.code).toBe("bad_topic");
    expect((await publish(room, "hi", "?topic=a%2B", "text/plain")).json.error.code).toBe("bad_topic");
    expect((await getJson(`${relay.url}/rooms/${room}/messages?topics=a/%23/b`)).json.error.code).toBe("bad_topic");
    await expect(TestSocket.open(`${relay.wsUrl}/rooms/${room}?topics=a/b%23`)).rejects.toMatchObject({ status: 400 });
    s.close();
  });

  it("takes a topic over HTTP (JSON field or ?topic=), filters SSE and history, and resumes a filtered reader by seq", async () => {
    const room = uniqueRoom("http-topic");
    expect((await publish(room, JSON.stringify({ data: { t: 1 }, topic: "sensors/a/temp" }))).status).toBe(201);
    expect((await publish(room, "off", "?topic=cmd%2Fa", "text/plain")).status).toBe(201);
    expect((await publish(room, new Uint8Array([1, 2]), "?topic=sensors%2Fb%2Ftemp", "application/octet-stream")).status).toBe(201);
    const history = await getJson(`${relay.url}/rooms/${room}/messages?topics=${encodeURIComponent("sensors/+/temp")}`);
    expect(history.json.messages.map((m: MessageEnvelope) => [m.seq, m.topic, m.binary ?? false])).toEqual([
      [1, "sensors/a/temp", false],
      [3, "sensors/b/temp", true],
    ]);
    const sse = await readSse(`${relay.url}/rooms/${room}/events?since=0&topics=cmd/%23`, {}, (evs) => evs.length >= 1, 3000);
    expect(sse.events.map((e) => [e.id, JSON.parse(e.data).topic])).toEqual([["2", "cmd/a"]]);
    // A filtered resume: only the matching messages it missed, by room-wide seq.
    const { epoch } = history.json;
    await publish(room, JSON.stringify({ data: 2, topic: "sensors/c/temp" }));
    await publish(room, JSON.stringify({ data: 3, topic: "cmd/b" }));
    const back = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?since=3&epoch=${epoch}&topics=sensors/%23`);
    expect(await back.next("welcome")).toMatchObject({ recovered: true, seq: 5 });
    expect((await back.messagesUntil(1)).map((m) => m.seq)).toEqual([4]);
    await sleep(200);
    expect(back.messages()).toHaveLength(1);
    back.close();
  });
});

describe("retained values", () => {
  it("keeps the latest per topic, hands them first (oldest seq first) to retained=1, and an empty one clears it", async () => {
    const room = uniqueRoom("retained");
    const live = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await live.next("welcome");
    await publish(room, JSON.stringify({ data: 20, topic: "t/1", retain: true }));
    await publish(room, JSON.stringify({ data: 30, topic: "t/2", retain: true }));
    await publish(room, JSON.stringify({ data: "not retained", topic: "t/3" }));
    await publish(room, JSON.stringify({ data: 21, topic: "t/1", retain: true })); // replaces t/1's
    await publish(room, "on", "?topic=u%2F1&retain=1", "text/plain");
    const got = await live.messagesUntil(5);
    expect(got.map((m) => [m.seq, m.retain ?? false])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, true],
      [5, true],
    ]);
    const retained = await getJson(`${relay.url}/rooms/${room}/retained`);
    expect(retained.json.messages.map((m: MessageEnvelope) => [m.topic, m.seq, m.data])).toEqual([
      ["t/2", 2, 30],
      ["t/1", 4, 21],
      ["u/1", 5, "on"],
    ]);
    const filtered = await getJson(`${relay.url}/rooms/${room}/retained?topics=t/%2B`);
    expect(filtered.json.messages.map((m: MessageEnvelope) => m.topic)).toEqual(["t/2", "t/1"]);

    // A reader that asks gets them after the welcome and before anything else.
    const fresh = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?retained=1&topics=t/%23`);
    await fresh.next("welcome");
    await publish(room, JSON.stringify({ data: 22, topic: "t/1" }));
    const first = await fresh.messagesUntil(3);
    expect(first.map((m) => [m.seq, m.topic, m.retain ?? false])).toEqual([
      [2, "t/2", true],
      [4, "t/1", true],
      [6, "t/1", false],
    ]);
    const types = fresh.frames.map((f) => f.json?.type);
    expect(types[0]).toBe("welcome");

    // An empty retained publish clears the value and is not delivered.
    expect((await publish(room, JSON.stringify({ data: "", topic: "t/2", retain: true }))).status).toBe(201);
    expect((await publish(room, "", "?topic=u%2F1&retain=1", "text/plain")).status).toBe(400); // an empty body is still a 400
    await publish(room, JSON.stringify({ data: "", topic: "u/1", retain: true }));
    await publish(room, JSON.stringify({ data: "after", topic: "t/9" }));
    const after = await live.messagesUntil(7);
    expect(after.slice(5).map((m) => [m.seq, m.data])).toEqual([
      [6, 22],
      [7, "after"],
    ]);
    const left = await getJson(`${relay.url}/rooms/${room}/retained`);
    expect(left.json.messages.map((m: MessageEnvelope) => m.topic)).toEqual(["t/1"]);

    const sse = await readSse(`${relay.url}/rooms/${room}/events?retained=1`, {}, (evs) => evs.length >= 1, 3000);
    expect(sse.events.map((e) => [e.id, JSON.parse(e.data).retain])).toEqual([["4", true]]);
    [live, fresh].forEach((s) => s.close());
  });

  it("the client library subscribes by topic, gets retained values, and publishes with a topic", async () => {
    const room = uniqueRoom("client-topics");
    await publish(room, JSON.stringify({ data: 5, topic: "dev/1/temp", retain: true }));
    const sub = new RoomcastClient({ url: relay.url, room, WebSocket: WebSocket as never, topics: ["dev/+/temp"], retained: true });
    const pub = new RoomcastClient({ url: relay.url, room, WebSocket: WebSocket as never });
    const got: MessageEnvelope[] = [];
    sub.on("message", (m) => got.push(m));
    while (sub.state !== "open" || pub.state !== "open") await sleep(50);
    await pub.publish(6, { topic: "dev/1/temp" });
    await pub.publish("x", { topic: "dev/1/hum" });
    await pub.publish(7, { topic: "dev/2/temp", retain: true });
    while (got.length < 3) await sleep(50);
    expect(got.map((m) => [m.seq, m.data, m.retain ?? false])).toEqual([
      [1, 5, true],
      [2, 6, false],
      [4, 7, true],
    ]);
    sub.close();
    pub.close();
  });
});
