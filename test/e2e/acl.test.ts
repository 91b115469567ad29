/**
 * Topic ACLs (the token's `acl` claim) over real sockets: a device token
 * that may publish only `tel/d1/#` and receive only `cmd/d1` and `cfg/#`
 * publishes and receives exactly that on every path (JSON and raw
 * WebSocket, HTTP, MQTT PUBLISH, SUBSCRIBE, retained values and wills,
 * replays, GET /messages, /retained, SSE, sharded rooms), and is refused
 * the rest with the contract's answer. An operator token (no acl) publishes
 * the room's traffic and sees everything.
 */
import { describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import { getJson, readSse } from "../support/http";
import { RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const SECRET = "acl-test-secret-7c41e09b2d5f8a36";
const ALL = "subscribe publish presence history";
const SHARDS = 3;
const relay = useRelay({ vars: { AUTH_SECRET: SECRET, SHARDS: `aclwide*=${SHARDS}` } });

const nowS = () => Math.floor(Date.now() / 1000);
const DEVICE_ACL = { pub: ["tel/d1/#"], sub: ["cmd/d1", "cfg/#"] };

function token(room: string, extra: Record<string, unknown> = {}): Promise<string> {
  return signJwt({ sub: "operator", rooms: [room], scope: ALL, exp: nowS() + 3600, ...extra }, SECRET);
}
const deviceToken = (room: string, acl: object = DEVICE_ACL) => token(room, { sub: "d1", acl });

const ws = (room: string, tok: string, query = "") => `${relay.wsUrl}/rooms/${room}?token=${tok}${query}`;
const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });

/** The room's traffic, published by the operator over HTTP: every topic the device may and may not read, and one without a topic. */
const TRAFFIC: Array<{ topic?: string; data: string; retain?: boolean }> = [
  { topic: "cmd/d1", data: "mine" },
  { topic: "cmd/d2", data: "not mine" },
  { topic: "cfg/rate", data: "cfg for all" },
  { topic: "tel/d2/temp", data: "another device" },
  { data: "no topic" },
  { topic: "$SYS/x", data: "dollar" },
];
const READABLE = ["mine", "cfg for all"];

async function post(room: string, tok: string, body: object): Promise<{ status: number; json: any }> {
  const res = await fetch(`${relay.url}/rooms/${room}/messages`, { method: "POST", headers: { ...bearer(tok), "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function publishTraffic(room: string, op: string, retain = false): Promise<number> {
  let seq = 0;
  for (const m of TRAFFIC) {
    const r = await post(room, op, { ...m, ...(retain && m.topic ? { retain: true } : {}) });
    expect(r.status).toBe(201);
    seq = r.json.seq;
  }
  return seq;
}

async function refusedUpgrade(url: string): Promise<{ status: number; code: string }> {
  const err: any = await TestSocket.open(url).then(
    (s) => {
      s.close();
      throw new Error("the upgrade was accepted");
    },
    (e) => e,
  );
  return { status: err.status, code: JSON.parse(err.body).error.code };
}

const datas = (envelopes: any[]) => envelopes.map((e) => e.data);

describe("acl.pub: what a device may publish", () => {
  it("JSON WebSocket: a topic outside acl.pub, or none, gets an error frame forbidden and the socket stays open", async () => {
    const room = uniqueRoom("acl");
    const watcher = await TestSocket.open(ws(room, await token(room)));
    const device = await TestSocket.open(ws(room, await deviceToken(room)));
    device.send({ type: "publish", topic: "tel/d2/temp", data: 1, id: "a" });
    expect(await device.next("error")).toMatchObject({ code: "forbidden" });
    device.send({ type: "publish", data: 2, id: "b" });
    await device.until((fs) => fs.filter((f) => f.json?.type === "error").length === 2, "a second error");
    expect(device.all("error").map((e) => e.code)).toEqual(["forbidden", "forbidden"]);
    device.send({ type: "publish", topic: "tel/d1/temp", data: 3, id: "c" });
    const ack = await device.next("ack", (a) => a.id === "c");
    expect(device.closed).toBeNull();
    const got = await watcher.messagesUntil(1);
    await sleep(200);
    expect(watcher.messages()).toEqual([expect.objectContaining({ seq: ack.seq, topic: "tel/d1/temp", data: 3 })]);
    expect(got[0].seq).toBe(1); // nothing refused took a seq
    device.close();
    watcher.close();
  });

  it("raw WebSocket: a raw frame has no topic, so a token with acl.pub publishes nothing that way", async () => {
    const room = uniqueRoom("acl");
    const watcher = await TestSocket.open(ws(room, await token(room)));
    const device = await TestSocket.open(ws(room, await deviceToken(room), "&mode=raw"));
    device.send("reading 1");
    device.send(Buffer.from([1, 2, 3]));
    await sleep(400);
    expect(watcher.messages()).toEqual([]);
    expect((await getJson(`${relay.url}/rooms/${room}`, bearer(await token(room)))).json.seq).toBe(0);
    expect(device.closed).toBeNull();
    // A token with acl.sub only publishes raw frames as before.
    const reader = await TestSocket.open(ws(room, await deviceToken(room, { sub: ["cmd/d1"] }), "&mode=raw"));
    reader.send("reading 2");
    await watcher.messagesUntil(1);
    expect(datas(watcher.messages())).toEqual(["reading 2"]);
    for (const s of [watcher, device, reader]) s.close();
  });

  it("HTTP: 201 on an allowed topic, 403 forbidden outside it or without a topic", async () => {
    const room = uniqueRoom("acl");
    const dev = await deviceToken(room);
    expect((await post(room, dev, { topic: "tel/d1/temp", data: 1 })).status).toBe(201);
    expect((await post(room, dev, { topic: "tel/d1", data: 2 })).status).toBe(201); // `#` matches the parent level
    for (const body of [{ topic: "tel/d2/temp", data: 3 }, { topic: "cmd/d1", data: 4 }, { data: 5 }]) {
      const r = await post(room, dev, body);
      expect([r.status, r.json.error?.code]).toEqual([403, "forbidden"]);
    }
    // A text body with ?topic= meets the same rule.
    const text = await fetch(`${relay.url}/rooms/${room}/messages?topic=cmd/d2`, { method: "POST", headers: { ...bearer(dev), "content-type": "text/plain" }, body: "x" });
    expect(text.status).toBe(403);
    const all = await getJson(`${relay.url}/rooms/${room}/messages`, bearer(await token(room)));
    expect(datas(all.json.messages)).toEqual([1, 2]);
  });

  it("an empty acl.pub publishes nothing at all", async () => {
    const room = uniqueRoom("acl");
    const r = await post(room, await deviceToken(room, { pub: [] }), { topic: "tel/d1", data: 1 });
    expect([r.status, r.json.error.code]).toEqual([403, "forbidden"]);
  });
});

describe("acl.sub: what a device receives", () => {
  it("live on a JSON WebSocket that asked for no filter: only its ACL's topics; a filter inside the ACL narrows it", async () => {
    const room = uniqueRoom("acl");
    const op = await token(room);
    const device = await TestSocket.open(ws(room, await deviceToken(room)));
    const narrow = await TestSocket.open(ws(room, await deviceToken(room), "&topics=cfg/%2B"));
    await device.next("welcome");
    await publishTraffic(room, op);
    await device.messagesUntil(2);
    await narrow.messagesUntil(1);
    await sleep(300);
    expect(datas(device.messages())).toEqual(READABLE);
    expect(datas(narrow.messages())).toEqual(["cfg for all"]);
    device.close();
    narrow.close();
  });

  it("asking for a filter that reaches outside the ACL is 403 forbidden, on the upgrade and on /events", async () => {
    const room = uniqueRoom("acl");
    const dev = await deviceToken(room);
    for (const topics of ["cmd/%2B", "%23", "cmd/d1,tel/%23", "%2B/d1", "cmd"]) {
      expect(await refusedUpgrade(ws(room, dev, `&topics=${topics}`))).toEqual({ status: 403, code: "forbidden" });
      const sse = await fetch(`${relay.url}/rooms/${room}/events?topics=${topics}`, { headers: bearer(dev) });
      expect([sse.status, ((await sse.json()) as any).error.code]).toEqual([403, "forbidden"]);
    }
    // `$` topics only for a filter that names them: `cfg/#` does not reach `$SYS`.
    const dollar = await deviceToken(room, { sub: ["$SYS/#"] });
    expect(await refusedUpgrade(ws(room, dollar, "&topics=%23"))).toEqual({ status: 403, code: "forbidden" });
  });

  it("replay and resume: only the ACL's topics, gaps in seq as with any filter", async () => {
    const room = uniqueRoom("acl");
    const last = await publishTraffic(room, await token(room));
    const device = await TestSocket.open(ws(room, await deviceToken(room), "&since=0"));
    const welcome = await device.next("welcome");
    expect(welcome).toMatchObject({ seq: last, recovered: true });
    await device.messagesUntil(2);
    await sleep(300);
    expect(device.messages().map((m) => [m.seq, m.data])).toEqual([
      [1, "mine"],
      [3, "cfg for all"],
    ]);
    device.close();
    // Raw mode replays payloads only, the same ones.
    const raw = await TestSocket.open(ws(room, await deviceToken(room), "&since=0&mode=raw"));
    await raw.until((fs) => fs.length >= 2, "two raw frames");
    await sleep(300);
    expect(raw.frames.map((f) => f.text)).toEqual(READABLE);
    raw.close();
  });

  it("retained values on the upgrade and GET /retained: only the ACL's; a wider filter is 403", async () => {
    const room = uniqueRoom("acl");
    await publishTraffic(room, await token(room), true);
    const dev = await deviceToken(room);
    const device = await TestSocket.open(ws(room, dev, "&retained=1"));
    await device.messagesUntil(2);
    await sleep(300);
    expect(device.messages().map((m) => [m.topic, m.retain])).toEqual([
      ["cmd/d1", true],
      ["cfg/rate", true],
    ]);
    device.close();
    const got = await getJson(`${relay.url}/rooms/${room}/retained`, bearer(dev));
    expect(got.json.messages.map((m: any) => m.topic)).toEqual(["cmd/d1", "cfg/rate"]);
    const wide = await getJson(`${relay.url}/rooms/${room}/retained?topics=cmd/%2B`, bearer(dev));
    expect([wide.status, wide.json.error.code]).toEqual([403, "forbidden"]);
    // The operator still sees every retained value.
    expect((await getJson(`${relay.url}/rooms/${room}/retained`, bearer(await token(room)))).json.messages).toHaveLength(5);
  });

  it("GET /messages: only the ACL's topics; a filter inside narrows, one outside is 403", async () => {
    const room = uniqueRoom("acl");
    await publishTraffic(room, await token(room));
    const dev = await deviceToken(room);
    expect(datas((await getJson(`${relay.url}/rooms/${room}/messages`, bearer(dev))).json.messages)).toEqual(READABLE);
    expect(datas((await getJson(`${relay.url}/rooms/${room}/messages?topics=cmd/d1`, bearer(dev))).json.messages)).toEqual(["mine"]);
    const wide = await getJson(`${relay.url}/rooms/${room}/messages?topics=cmd/%2B`, bearer(dev));
    expect([wide.status, wide.json.error.code]).toEqual([403, "forbidden"]);
  });

  it("SSE: replay and live, only the ACL's topics", async () => {
    const room = uniqueRoom("acl");
    const op = await token(room);
    await publishTraffic(room, op);
    const reading = readSse(`${relay.url}/rooms/${room}/events?since=0&presence=0`, bearer(await deviceToken(room)), (evs) => evs.filter((e) => e.event === "message").length >= 4);
    await sleep(300);
    await publishTraffic(room, op);
    const { status, events } = await reading;
    expect(status).toBe(200);
    const got = events.filter((e) => e.event === "message").map((e) => JSON.parse(e.data).data);
    expect(got).toEqual([...READABLE, ...READABLE]);
  });
});

describe("MQTT", () => {
  const mqttUrl = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;

  async function connectDevice(room: string, v: 4 | 5, extra: object = {}): Promise<RawMqtt> {
    const raw = await RawMqtt.open(mqttUrl(room), v);
    raw.connect({ clientId: `d1-${v}`, username: "d1", password: Buffer.from(await deviceToken(room)), ...extra });
    const ack = await raw.next("connack");
    expect(v === 5 ? ack.reasonCode : ack.returnCode).toBe(0);
    return raw;
  }

  it.each([4, 5] as const)("v%i: SUBACK refuses filters outside acl.sub (0x80 / 0x87); retained and live only inside", async (v) => {
    const room = uniqueRoom("acl");
    const op = await token(room);
    await publishTraffic(room, op, true);
    const raw = await connectDevice(room, v);
    raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "cmd/d1", qos: 1 }, { topic: "cmd/+", qos: 1 }, { topic: "#", qos: 0 }, { topic: "cfg/#", qos: 0 }] } as never);
    const suback = await raw.next("suback");
    const no = v === 5 ? 0x87 : 0x80;
    expect(suback.granted).toEqual([1, no, no, 0]);
    await until(() => raw.packets.filter((p) => p.cmd === "publish").length >= 2);
    await publishTraffic(room, op);
    await until(() => raw.packets.filter((p) => p.cmd === "publish").length >= 4);
    await sleep(300);
    const got = raw.packets.filter((p) => p.cmd === "publish").map((p: any) => [p.topic, p.payload.toString(), p.retain]);
    expect(got).toEqual([
      ["cmd/d1", "mine", true],
      ["cfg/rate", "cfg for all", true],
      ["cmd/d1", "mine", false],
      ["cfg/rate", "cfg for all", false],
    ]);
    raw.close();
  });

  it.each([4, 5] as const)("v%i: PUBLISH outside acl.pub is refused (5.0 PUBACK 0x87, 3.1.1 acked) and never delivered", async (v) => {
    const room = uniqueRoom("acl");
    const watcher = await TestSocket.open(ws(room, await token(room)));
    const raw = await connectDevice(room, v);
    raw.send({ cmd: "publish", topic: "cmd/d2", payload: Buffer.from("sneaky"), qos: 1, messageId: 7, retain: false, dup: false } as never);
    const refusedAck = await raw.next("puback");
    expect(refusedAck.messageId).toBe(7);
    if (v === 5) expect(refusedAck.reasonCode).toBe(0x87);
    raw.send({ cmd: "publish", topic: "tel/d1/temp", payload: Buffer.from("21.5"), qos: 1, messageId: 8, retain: false, dup: false } as never);
    const okAck = await raw.next("puback");
    expect(okAck.messageId).toBe(8);
    if (v === 5) expect(okAck.reasonCode ?? 0).toBe(0);
    await watcher.messagesUntil(1);
    await sleep(300);
    expect(watcher.messages().map((m) => [m.topic, m.data])).toEqual([["tel/d1/temp", "21.5"]]);
    raw.close();
    watcher.close();
  });

  it("wills meet acl.pub: one outside it is not published, one inside it is", async () => {
    const room = uniqueRoom("acl");
    const watcher = await TestSocket.open(ws(room, await token(room)));
    const outside = await connectDevice(room, 5, { clientId: "w1", will: { topic: "cmd/all", payload: Buffer.from("bad will"), qos: 0, retain: false } });
    const inside = await connectDevice(room, 5, { clientId: "w2", will: { topic: "tel/d1/status", payload: Buffer.from("offline"), qos: 0, retain: false } });
    outside.close();
    inside.close();
    await watcher.messagesUntil(1);
    await sleep(500);
    expect(watcher.messages().map((m) => [m.topic, m.data])).toEqual([["tel/d1/status", "offline"]]);
    watcher.close();
  });

  it("a stored session's subscriptions made with a wider token are not served under a narrower one", async () => {
    const room = uniqueRoom("acl");
    const op = await token(room);
    // The same sub, first with a token that may read cmd/#, subscribing to it.
    const wide = await RawMqtt.open(mqttUrl(room), 5);
    wide.connect({ clientId: "keeper", username: "d1", clean: false, properties: { sessionExpiryInterval: 600 }, password: Buffer.from(await deviceToken(room, { sub: ["cmd/#"] })) } as never);
    await wide.next("connack");
    wide.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "cmd/#", qos: 1 }, { topic: "cmd/d1", qos: 1 }] } as never);
    expect((await wide.next("suback")).granted).toEqual([1, 1]);
    wide.send({ cmd: "disconnect" } as never);
    await wide.waitClosed();
    await post(room, op, { topic: "cmd/d2", data: "for d2" });
    await post(room, op, { topic: "cmd/d1", data: "for d1" });
    // Back with the device token (acl.sub cmd/d1, cfg/#): the session resumes with cmd/d1 only.
    const narrow = await RawMqtt.open(mqttUrl(room), 5);
    narrow.connect({ clientId: "keeper", username: "d1", clean: false, properties: { sessionExpiryInterval: 600 }, password: Buffer.from(await deviceToken(room)) } as never);
    expect((await narrow.next("connack")).sessionPresent).toBe(true);
    await until(() => narrow.packets.some((p) => p.cmd === "publish"));
    await post(room, op, { topic: "cmd/d2", data: "live for d2" });
    await post(room, op, { topic: "cmd/d1", data: "live for d1" });
    await until(() => narrow.packets.filter((p) => p.cmd === "publish").length >= 2);
    await sleep(300);
    const got = narrow.packets.filter((p) => p.cmd === "publish").map((p: any) => p.payload.toString());
    expect(got).toEqual(["for d1", "live for d1"]);
    narrow.close();
  });
});

describe("sharded rooms", () => {
  it("streams on the shards receive only the ACL's topics, publishes entering a shard meet acl.pub, wide filters are 403", async () => {
    const room = uniqueRoom("aclwide");
    const op = await token(room);
    const dev = await deviceToken(room);
    const devices = await Promise.all(Array.from({ length: SHARDS * 2 }, () => TestSocket.open(ws(room, dev, "&presence=0"))));
    const watcher = await TestSocket.open(ws(room, op, "&presence=0"));
    for (const d of devices) await d.next("welcome");
    await publishTraffic(room, op);
    devices[0]!.send({ type: "publish", topic: "tel/d2/x", data: "not mine to send", id: "no" });
    expect(await devices[0]!.next("error")).toMatchObject({ code: "forbidden" });
    devices[1]!.send({ type: "publish", topic: "tel/d1/x", data: "mine to send", id: "yes" });
    await devices[1]!.next("ack");
    await watcher.messagesUntil(TRAFFIC.length + 1);
    for (const d of devices) await d.messagesUntil(2);
    await sleep(300);
    for (const d of devices) expect(datas(d.messages())).toEqual(READABLE);
    expect(datas(watcher.messages())).toEqual([...TRAFFIC.map((m) => m.data), "mine to send"]);
    // A resume on a shard replays only the ACL's topics.
    const resumed = await TestSocket.open(ws(room, dev, "&since=0&presence=0"));
    await resumed.messagesUntil(2);
    await sleep(300);
    expect(datas(resumed.messages())).toEqual(READABLE);
    expect(await refusedUpgrade(ws(room, dev, "&topics=%23"))).toEqual({ status: 403, code: "forbidden" });
    for (const s of [...devices, watcher, resumed]) s.close();
  });
});

describe("the claim itself", () => {
  it.each([
    ["not an object", ["tel/#"]],
    ["a bad filter", { pub: ["tel/#/x"] }],
    ["an unknown key", { pub: ["a"], deny: ["b"] }],
  ])("an acl that is %s is 401 unauthorized", async (_what, acl) => {
    const room = uniqueRoom("acl");
    const res = await fetch(`${relay.url}/rooms/${room}/messages`, { headers: bearer(await deviceToken(room, acl as object)) });
    expect([res.status, ((await res.json()) as any).error.code]).toEqual([401, "unauthorized"]);
  });
});
