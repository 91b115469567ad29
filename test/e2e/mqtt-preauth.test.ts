/**
 * MQTT sockets before their CONNECT is accepted (third security review,
 * findings 2 and 6), over real sockets against the embedded relay:
 * - a socket with no token on the upgrade holds no slot of
 *   MAX_CONNECTIONS_PER_ROOM and is not in presence until its CONNECT is
 *   accepted; no MQTT socket is sent anything (retained, replay) before it;
 *   one that sends no CONNECT is closed after MQTT_CONNECT_TIMEOUT_SECONDS,
 *   by the room's alarm, across a hibernation too;
 * - a SUBSCRIBE whose filters would not fit the socket's state is refused
 *   filter by filter (SUBACK 0x80 / 5.0 0x97) and the connection goes on; a
 *   connection the room has to close for any reason leaves presence once.
 */
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { signJwt } from "../../client/jwt";
import { getJson, roomInstance } from "../support/http";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const SECRET = "mqtt-preauth-secret-that-is-long-enough-0123456789";
const CAP = 4;
const nowS = () => Math.floor(Date.now() / 1000);

function token(room: string, scope: string, sub = "device-1"): Promise<string> {
  return signJwt({ sub, rooms: [room], scope, exp: nowS() + 3600 }, SECRET);
}

/** Opens an MQTT WebSocket and counts every frame it gets (empty ones too, which the packet parser would not show). */
async function openCounting(url: string, version: 4 | 5 = 4): Promise<{ raw: RawMqtt; frames: () => number }> {
  const raw = await RawMqtt.open(url, version);
  let n = 0;
  raw.ws.on("message", () => n++);
  return { raw, frames: () => n };
}

/** The HTTP status of an upgrade the room refuses (or 101). */
function upgradeStatus(url: string, protocols: string[] = []): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once("open", () => resolve({ status: 101, ws }));
    ws.once("error", reject);
  });
}

/**
 * Waits for the server's close frame and returns the close. On the local
 * runtime a close sent from an alarm handler reaches the client at once but
 * the server does not end the TCP connection (as test/e2e/auth.test.ts notes),
 * so the client's close event would wait out its own close timeout.
 */
async function serverClosed(raw: RawMqtt, ms: number): Promise<{ code: number; reason: string }> {
  await until(() => raw.closed !== null || raw.ws.readyState === WebSocket.CLOSING, ms);
  raw.close(); // terminate: keeps the code and reason the server's close frame carried
  return raw.waitClosed();
}

describe("MQTT before CONNECT (AUTH_SECRET set)", () => {
  const relay = useRelay({ vars: { AUTH_SECRET: SECRET, MAX_CONNECTIONS_PER_ROOM: String(CAP), MQTT_CONNECT_TIMEOUT_SECONDS: "2" } });
  const mqttUrl = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;
  const describeRoom = async (room: string) => (await getJson(`${relay.url}/rooms/${room}`, { authorization: `Bearer ${await token(room, "subscribe presence")}` })).json;
  const presence = async (room: string) => (await getJson(`${relay.url}/rooms/${room}/presence`, { authorization: `Bearer ${await token(room, "presence")}` })).json;

  it("token-less sockets hold no slot and are not in presence; each joins when its CONNECT is accepted, while the room has room", async () => {
    const room = uniqueRoom("mqtt-pre-cap");
    // As many token-less sockets as the cap, no CONNECT.
    const idle = await Promise.all(Array.from({ length: CAP }, () => RawMqtt.open(mqttUrl(room), 5)));
    expect((await describeRoom(room)).connections).toBe(0);
    expect((await presence(room)).count).toBe(0);
    // A token holder still gets in (before the fix: 503 room_full).
    const watcher = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token(room, "subscribe presence", "watcher")}`);
    expect((await watcher.next("welcome")).count).toBe(1);

    // A CONNECT with a good password: the socket joins presence now.
    const a = idle[0]!;
    a.connect({ clientId: "a", username: "d", password: Buffer.from(await token(room, "subscribe publish", "a")) });
    expect((await a.next("connack")).reasonCode).toBe(0);
    const joined = await watcher.next("presence", (f) => f.event === "join");
    expect(joined.count).toBe(2);
    expect((await describeRoom(room)).connections).toBe(2);
    const list = await presence(room);
    expect(list.count).toBe(2);
    expect(list.clients).toHaveLength(2);

    // Fill the room to its cap with token holders; a pending socket's CONNECT then finds it full.
    const more = await Promise.all(
      Array.from({ length: CAP - 2 }, async (_, i) => TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token(room, "subscribe", `m${i}`)}`)),
    );
    for (const m of more) await m.next("welcome");
    expect((await describeRoom(room)).connections).toBe(CAP);
    const late = idle[1]!;
    late.connect({ clientId: "late", username: "d", password: Buffer.from(await token(room, "subscribe", "late")) });
    expect((await late.next("connack")).reasonCode).toBe(0x88); // server unavailable
    await late.waitClosed();
    expect((await describeRoom(room)).connections).toBe(CAP);

    // The member that leaves frees its slot; a pending CONNECT takes it.
    more[0]!.close();
    await until(() => watcher.all("presence").some((f) => f.event === "leave"));
    const next = idle[2]!;
    next.connect({ clientId: "next", username: "d", password: Buffer.from(await token(room, "subscribe", "next")) });
    expect((await next.next("connack")).reasonCode).toBe(0);
    expect((await describeRoom(room)).connections).toBe(CAP);
    for (const s of [...idle]) s.close();
    watcher.close();
    for (const m of more) m.close();
  }, 20_000);

  it("a socket that sends no CONNECT is closed after the deadline; one that left before it is not counted twice", async () => {
    const room = uniqueRoom("mqtt-pre-deadline");
    const started = Date.now();
    const silent = await Promise.all(Array.from({ length: 3 }, () => RawMqtt.open(mqttUrl(room), 4)));
    // Token on the upgrade: authenticated, but without CONNECT it is closed all the same.
    const tokened = await RawMqtt.open(`${mqttUrl(room)}?token=${await token(room, "subscribe")}`, 4);
    silent[2]!.close(); // gone before the deadline
    for (const s of [...silent.slice(0, 2), tokened]) {
      const closed = await serverClosed(s, 8000);
      expect(closed.code).toBe(1008);
      expect(closed.reason).toMatch(/CONNECT/);
    }
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(6000);
    expect((await describeRoom(room)).connections).toBe(0);
    // The room is not left thinking it is full.
    const member = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token(room, "subscribe presence", "w")}`);
    expect((await member.next("welcome")).count).toBe(1);
    member.close();
  }, 15_000);

  it("no MQTT socket is sent anything before its CONNECT, whatever the upgrade asks (since=0&retained=1)", async () => {
    const room = uniqueRoom("mqtt-pre-quiet");
    const pub = await token(room, "publish");
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${relay.url}/rooms/${room}/messages?topic=r/${i}&retain=1`, { method: "POST", body: `v${i}`, headers: { "content-type": "text/plain", authorization: `Bearer ${pub}` } });
      expect(res.status).toBe(201);
    }
    const noToken = await openCounting(`${mqttUrl(room)}?since=0&retained=1`);
    const withToken = await openCounting(`${mqttUrl(room)}?since=0&retained=1&token=${await token(room, "subscribe history")}`);
    await sleep(500);
    expect(noToken.frames()).toBe(0);
    expect(withToken.frames()).toBe(0);
    // After CONNECT: the CONNACK, and the retained values only for a SUBSCRIBE.
    noToken.raw.connect({ clientId: "q", username: "d", password: Buffer.from(await token(room, "subscribe", "q")) });
    await noToken.raw.next("connack");
    withToken.raw.connect({ clientId: "q2" });
    await withToken.raw.next("connack");
    await sleep(300);
    expect(noToken.frames()).toBe(1);
    expect(withToken.frames()).toBe(1);
    noToken.raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "r/+", qos: 0 }] });
    await noToken.raw.next("suback");
    const got = [await noToken.raw.next("publish"), await noToken.raw.next("publish"), await noToken.raw.next("publish")];
    expect(got.map((p) => p.payload.toString())).toEqual(["v0", "v1", "v2"]);
    noToken.raw.close();
    withToken.raw.close();
  });

  it("a bad CONNECT password leaves no trace in the count", async () => {
    const room = uniqueRoom("mqtt-pre-bad");
    for (let i = 0; i < CAP + 2; i++) {
      const raw = await RawMqtt.open(mqttUrl(room), 5);
      raw.connect({ clientId: `b${i}`, username: "d", password: Buffer.from("not-a-token") });
      expect((await raw.next("connack")).reasonCode).toBe(0x87);
      expect((await raw.waitClosed()).code).toBe(1008);
    }
    expect((await describeRoom(room)).connections).toBe(0);
    const ok = await connectCollecting(mqttUrl(room), { protocolVersion: 4, username: "d", password: await token(room, "subscribe") });
    expect((await describeRoom(room)).connections).toBe(1);
    await ok.client.endAsync();
  });

  it.each([4, 5] as const)("v%i: a SUBSCRIBE of 32 filters of 250 bytes is answered, filter by filter, and the connection goes on", async (version) => {
    const room = uniqueRoom("mqtt-big-sub");
    const raw = await RawMqtt.open(mqttUrl(room), version);
    raw.connect({ clientId: `big${version}`, username: "d", password: Buffer.from(await token(room, "subscribe publish", "big")) });
    await raw.next("connack");
    const filters = Array.from({ length: 32 }, (_, i) => `f${String(i).padStart(2, "0")}/${"x".repeat(246)}`);
    expect(filters.every((f) => f.length === 250)).toBe(true);
    raw.send({ cmd: "subscribe", messageId: 7, subscriptions: filters.map((topic) => ({ topic, qos: 1 })) } as never);
    const suback = await raw.next("suback");
    expect(suback.granted).toHaveLength(32);
    const granted = suback.granted.map((g) => (typeof g === "number" ? g : (g as { qos: number }).qos));
    const refusedCode = version === 5 ? 0x97 : 0x80;
    // Granted first, then refused: what fits is taken in packet order.
    const firstRefused = granted.indexOf(refusedCode);
    expect(firstRefused).toBeGreaterThan(8);
    expect(granted.slice(0, firstRefused).every((g) => g === 1)).toBe(true);
    expect(granted.slice(firstRefused).every((g) => g === refusedCode)).toBe(true);
    // The connection goes on: a granted filter delivers, a refused one does not.
    raw.send({ cmd: "publish", topic: filters[0]!, payload: Buffer.from("in"), qos: 0, dup: false, retain: false } as never);
    raw.send({ cmd: "publish", topic: filters[31]!, payload: Buffer.from("out"), qos: 0, dup: false, retain: false } as never);
    raw.send({ cmd: "pingreq" });
    await raw.next("pingresp");
    const p = await raw.next("publish");
    expect(p.payload.toString()).toBe("in");
    await sleep(200);
    expect(raw.packets.filter((x) => x.cmd === "publish")).toEqual([]);
    expect(raw.closed).toBeNull();
    expect((await describeRoom(room)).connections).toBe(1);
    // With its state near full, 6 KB of a split PUBLISH (within the 8 KiB a
    // split packet may carry) cannot be kept either: refused as too large.
    const packet = mqttPacket.generate({ cmd: "publish", topic: "t", payload: Buffer.alloc(7000, 0x62), qos: 0, dup: false, retain: false }, { protocolVersion: version });
    raw.sendBytes(packet.subarray(0, 6000));
    expect((await raw.waitClosed()).code).toBe(1009);
    // The room counts nobody once it is gone, and so it is never "full" of ghosts.
    await sleep(200);
    expect((await describeRoom(room)).connections).toBe(0);
  });

  it("a connection the room ends because its state cannot be kept leaves presence once", async () => {
    const room = uniqueRoom("mqtt-fail-presence");
    const watcher = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token(room, "subscribe presence", "watcher")}`);
    await watcher.next("welcome");
    for (let i = 0; i < CAP; i++) {
      const raw = await RawMqtt.open(mqttUrl(room), 4);
      raw.connect({ clientId: `split${i}`, username: "d", password: Buffer.from(await token(room, "subscribe publish", `s${i}`)) });
      await raw.next("connack");
      // The first 40 KB of a 60 KB PUBLISH: more than a socket's state can carry to the next frame.
      const packet = mqttPacket.generate({ cmd: "publish", topic: "big", payload: Buffer.alloc(60_000, 0x61), qos: 0, dup: false, retain: false }, { protocolVersion: 4 });
      raw.sendBytes(packet.subarray(0, 40_000));
      const closed = await raw.waitClosed();
      expect([1002, 1009]).toContain(closed.code);
    }
    await sleep(200);
    expect((await describeRoom(room)).connections).toBe(1);
    const leaves = watcher.all("presence").filter((f) => f.event === "leave");
    expect(leaves).toHaveLength(CAP);
    expect(leaves.at(-1).count).toBe(1);
    watcher.close();
  });
});

describe("the CONNECT deadline across a hibernation", () => {
  const relay = useRelay({ diagnostics: true, vars: { AUTH_SECRET: SECRET, MQTT_CONNECT_TIMEOUT_SECONDS: "14" } });
  it("a socket that never sends CONNECT is closed by the room's alarm after the room hibernated", async () => {
    const room = uniqueRoom("mqtt-pre-hib");
    const before = await roomInstance(relay.url, room, { authorization: `Bearer ${await token(room, "subscribe")}` });
    const silent = await RawMqtt.open(`${relay.wsUrl}/rooms/${room}/mqtt`, 4);
    const started = Date.now();
    const closed = await serverClosed(silent, 25_000);
    expect(closed.code).toBe(1008);
    expect(Date.now() - started).toBeGreaterThanOrEqual(13_000);
    expect(await roomInstance(relay.url, room, { authorization: `Bearer ${await token(room, "subscribe")}` })).not.toBe(before);
  }, 35_000);
});
