/**
 * MQTT over WebSocket with a real MQTT client (mqtt.js 5), 3.1.1 and 5.0:
 * connect, publish QoS 0 and 1, wildcard subscriptions, retained values on
 * subscribe, the will on a dropped link, and the interop with JSON
 * WebSockets, SSE and HTTP (one seq order for everybody).
 */
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { getJson, readSse } from "../support/http";
import { RawMqtt } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const relay = useRelay();
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
});

function mqttUrl(room: string): string {
  return `${relay.wsUrl}/rooms/${room}/mqtt`;
}

async function connect(room: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(mqttUrl(room), { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(c);
  return c;
}

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
}

function collect(c: MqttClient): Received[] {
  const got: Received[] = [];
  c.on("message", (topic, payload, packet) => got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup }));
  return got;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(20);
  }
}

for (const protocolVersion of [4, 5] as const) {
  describe(`MQTT ${protocolVersion === 4 ? "3.1.1" : "5.0"}`, () => {
    it("publishes QoS 0 and 1 to wildcard subscribers, in the room's seq order", async () => {
      const room = uniqueRoom("mqtt");
      const sub = await connect(room, { protocolVersion });
      const got = collect(sub);
      const granted = await sub.subscribeAsync({ "sensors/+/temp": { qos: 1 }, "cmd/#": { qos: 0 }, "q2/#": { qos: 2 } });
      expect(granted.map((g) => g.qos)).toEqual([1, 0, 2]);
      const pub = await connect(room, { protocolVersion });
      await pub.publishAsync("sensors/t1/temp", "21.5", { qos: 1 });
      await pub.publishAsync("sensors/t1/hum", "40", { qos: 1 });
      await pub.publishAsync("cmd", "bare", { qos: 0 });
      await pub.publishAsync("cmd/t1/reboot", Buffer.from([0xff, 0x00, 0x01]), { qos: 1 });
      await pub.publishAsync("q2/x", "two", { qos: 1 });
      await until(() => got.length === 4);
      expect(got.map((g) => [g.topic, g.qos])).toEqual([
        ["sensors/t1/temp", 1],
        ["cmd", 0],
        ["cmd/t1/reboot", 0],
        ["q2/x", 1], // the lower of the publish's QoS (1) and the subscription's (2)
      ]);
      expect(got[0]!.payload).toBe("21.5");
      const history = await getJson(`${relay.url}/rooms/${room}/messages`);
      expect(history.json.messages.map((m: any) => [m.seq, m.topic])).toEqual([
        [1, "sensors/t1/temp"],
        [2, "sensors/t1/hum"],
        [3, "cmd"],
        [4, "cmd/t1/reboot"],
        [5, "q2/x"],
      ]);
      expect(history.json.messages[3]).toMatchObject({ binary: true, data: Buffer.from([0xff, 0x00, 0x01]).toString("base64") });
      expect(history.json.messages[0].data).toBe("21.5");
    });

    it("sends the matching retained values on SUBSCRIBE with the retain flag, live ones without", async () => {
      const room = uniqueRoom("mqtt-ret");
      const pub = await connect(room, { protocolVersion });
      await pub.publishAsync("dev/a/status", "online", { qos: 1, retain: true });
      await pub.publishAsync("dev/b/status", "offline", { qos: 1, retain: true });
      await pub.publishAsync("other/x", "nope", { qos: 1, retain: true });
      await pub.publishAsync("dev/b/status", "", { qos: 1, retain: true }); // clears b
      const sub = await connect(room, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync("dev/+/status", { qos: 1 });
      await until(() => got.length === 1);
      expect(got[0]).toMatchObject({ topic: "dev/a/status", payload: "online", retain: true, qos: 1 });
      await pub.publishAsync("dev/c/status", "live", { qos: 1, retain: true });
      await until(() => got.length === 2);
      expect(got[1]).toMatchObject({ topic: "dev/c/status", payload: "live", retain: false });
      const retained = await getJson(`${relay.url}/rooms/${room}/retained`);
      expect(retained.json.messages.map((m: any) => m.topic)).toEqual(["dev/a/status", "other/x", "dev/c/status"]);
    });

    it("publishes the will when the link drops without DISCONNECT, not after a DISCONNECT", async () => {
      const room = uniqueRoom("mqtt-will");
      const watcher = await connect(room, { protocolVersion });
      const got = collect(watcher);
      await watcher.subscribeAsync("dev/+/status", { qos: 1 });
      const polite = await connect(room, { protocolVersion, will: { topic: "dev/polite/status", payload: Buffer.from("gone"), qos: 1, retain: false } });
      await polite.endAsync();
      const dropped = await connect(room, { protocolVersion, will: { topic: "dev/dropped/status", payload: Buffer.from("offline"), qos: 1, retain: true } });
      (dropped.stream as any).socket?.terminate?.() ?? dropped.stream.destroy();
      await until(() => got.length >= 1);
      await sleep(300);
      expect(got).toEqual([expect.objectContaining({ topic: "dev/dropped/status", payload: "offline" })]);
      const retained = await getJson(`${relay.url}/rooms/${room}/retained?topics=dev/%2B/status`);
      expect(retained.json.messages).toEqual([expect.objectContaining({ topic: "dev/dropped/status", data: "offline", retain: true })]);
    });

    it("disconnects a client silent for 1.5 × its Keep Alive and publishes its will; a client that pings stays", async () => {
      const room = uniqueRoom("mqtt-keepalive");
      const watcher = await connect(room, { protocolVersion });
      const got = collect(watcher);
      await watcher.subscribeAsync("dev/+/status", { qos: 1 });
      // mqtt.js sends PINGREQ every Keep Alive when it has nothing else to send.
      const pinger = await connect(room, { protocolVersion, keepalive: 1, will: { topic: "dev/pinger/status", payload: Buffer.from("lost"), qos: 0, retain: false } });
      // A device whose link died without a FIN: connected, then never a byte again.
      const silent = await RawMqtt.open(mqttUrl(room), protocolVersion);
      silent.connect({ keepalive: 1, will: { topic: "dev/silent/status", payload: Buffer.from("lost"), qos: 0, retain: false } } as never);
      await silent.next("connack");
      const connackAt = Date.now();
      await until(() => got.length >= 1, 8000);
      const silentFor = Date.now() - connackAt;
      expect(got[0]).toMatchObject({ topic: "dev/silent/status", payload: "lost" });
      expect(silentFor).toBeGreaterThanOrEqual(1300); // not before 1.5 × Keep Alive (less the connack's trip)
      await until(() => silent.closed !== null);
      expect(silent.closed!.code).toBe(1008);
      if (protocolVersion === 5) expect(silent.packets).toContainEqual(expect.objectContaining({ cmd: "disconnect", reasonCode: 0x8d }));
      // Three more Keep Alive periods: the pinging client is still there, its will unsent.
      await sleep(3000);
      expect(pinger.connected).toBe(true);
      expect(got.map((m) => m.topic)).toEqual(["dev/silent/status"]);
    }, 20_000);
  });
}

describe("MQTT subscriptions and client ids", () => {
  it("UNSUBSCRIBE stops delivery (5.0 UNSUBACK says which existed); PINGREQ gets PINGRESP", async () => {
    const room = uniqueRoom("mqtt-unsub");
    const raw = await RawMqtt.open(mqttUrl(room), 5);
    raw.connect({ clientId: "u1" });
    await raw.next("connack");
    raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "a/#", qos: 0 }, { topic: "b", qos: 1 }] } as any);
    expect((await raw.next("suback")).granted).toEqual([0, 1]);
    raw.send({ cmd: "unsubscribe", messageId: 2, unsubscriptions: ["a/#", "never"] } as any);
    expect((await raw.next("unsuback")).granted).toEqual([0x00, 0x11]);
    const pub = await connect(room, { protocolVersion: 4 });
    await pub.publishAsync("a/x", "gone", { qos: 1 });
    await pub.publishAsync("b", "kept", { qos: 1 });
    const p = await raw.next("publish");
    expect([p.topic, p.payload.toString(), p.qos]).toEqual(["b", "kept", 1]);
    raw.send({ cmd: "pingreq" });
    await raw.next("pingresp");
    expect(raw.packets.filter((x) => x.cmd === "publish")).toEqual([]);
    raw.close();
  });

  it("a second connection with a persistent session's client id takes it over (5.0: DISCONNECT 0x8E to the first)", async () => {
    const room = uniqueRoom("mqtt-takeover");
    const first = await RawMqtt.open(mqttUrl(room), 5);
    first.connect({ clientId: "same", clean: false, properties: { sessionExpiryInterval: 600 } } as any);
    await first.next("connack");
    first.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "t", qos: 1 }] } as any);
    await first.next("suback");
    const second = await RawMqtt.open(mqttUrl(room), 5);
    second.connect({ clientId: "same", clean: false, properties: { sessionExpiryInterval: 600 } } as any);
    expect((await second.next("connack")).sessionPresent).toBe(true);
    expect((await first.next("disconnect")).reasonCode).toBe(0x8e);
    await first.waitClosed();
    const pub = await connect(room, { protocolVersion: 4 });
    await pub.publishAsync("t", "to the new one", { qos: 1 });
    expect((await second.next("publish")).payload.toString()).toBe("to the new one");
    second.close();
  });
});

describe("MQTT and the other clients of a room", () => {
  it("an MQTT publish reaches a JSON WebSocket, SSE and GET /messages with its topic and seq; JSON and HTTP publishes reach MQTT", async () => {
    const room = uniqueRoom("mqtt-interop");
    const ws = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?topics=${encodeURIComponent("a/#")}`);
    await ws.next("welcome");
    const sse = readSse(`${relay.url}/rooms/${room}/events?topics=a/%23`, {}, (events) => events.filter((e) => e.event === "message").length >= 3);
    await sleep(200);
    const sub = await connect(room, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync("a/#", { qos: 1 });
    const pub = await connect(room, { protocolVersion: 4 });
    await pub.publishAsync("a/mqtt", "from mqtt", { qos: 1 });
    ws.send({ type: "publish", topic: "a/json", data: { t: 21.5 } });
    await until(() => got.length >= 2);
    const res = await fetch(`${relay.url}/rooms/${room}/messages?topic=a/http`, { method: "POST", body: "from http", headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(201);
    await until(() => got.length >= 3);
    expect(got.map((g) => [g.topic, g.payload])).toEqual([
      ["a/mqtt", "from mqtt"],
      ["a/json", '{"t":21.5}'],
      ["a/http", "from http"],
    ]);
    const first = await ws.next("message");
    expect(first).toMatchObject({ seq: 1, topic: "a/mqtt", data: "from mqtt" });
    const events = (await sse).events.filter((e) => e.event === "message");
    expect(events.map((e) => [e.id, JSON.parse(e.data).topic])).toEqual([
      ["1", "a/mqtt"],
      ["2", "a/json"],
      ["3", "a/http"],
    ]);
    const history = await getJson(`${relay.url}/rooms/${room}/messages`);
    expect(history.json.messages.map((m: any) => [m.seq, m.topic])).toEqual([
      [1, "a/mqtt"],
      [2, "a/json"],
      [3, "a/http"],
    ]);
  });

  it("answers the 101 with the subprotocol offered; refuses an upgrade without an MQTT subprotocol (400) and a plain GET (426)", async () => {
    const room = uniqueRoom("mqtt-http");
    const plain = await fetch(`${relay.url}/rooms/${room}/mqtt`);
    expect(plain.status).toBe(426);
    expect((await plain.json()).error.code).toBe("upgrade_required");
    const noProto = await TestSocket.open(`${relay.wsUrl}/rooms/${room}/mqtt`).then(
      () => null,
      (e: { status?: number }) => e.status,
    );
    expect(noProto).toBe(400);
    for (const proto of ["mqtt", "mqttv3.1", "mqtt-v5"]) {
      const { default: WebSocket } = await import("ws");
      const s = new WebSocket(`${relay.wsUrl}/rooms/${room}/mqtt`, ["other", proto]);
      await new Promise((resolve, reject) => {
        s.once("open", resolve);
        s.once("error", reject);
      });
      expect(s.protocol).toBe(proto);
      s.terminate();
    }
  });
});
