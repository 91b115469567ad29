/**
 * MQTT persistent sessions over real sockets: a client with clean session 0
 * (3.1.1) or a Session Expiry (5.0) misses QoS 1 messages while away and,
 * on return (session present), gets each exactly once in seq order — across
 * a hibernation (the room evicted, proven by its instance id) and a relay
 * restart. Unacknowledged messages come again with DUP; a QoS 1 PUBLISH
 * retried with DUP is not published twice.
 */
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { getJson, postMessage, roomInstance } from "../support/http";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";

const relay = useRelay({ diagnostics: true });
const url = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;

/** A text message with a topic, over HTTP. */
async function postText(room: string, topic: string, text: string): Promise<void> {
  const res = await fetch(`${relay.url}/rooms/${room}/messages?topic=${encodeURIComponent(topic)}`, { method: "POST", body: text, headers: { "content-type": "text/plain" } });
  expect(res.status).toBe(201);
}

describe("MQTT persistent sessions", () => {
  it.each([4, 5] as const)(
    "v%i: 50 QoS 1 messages missed while away arrive once each, in order, after a hibernation and after a relay restart",
    async (protocolVersion) => {
      const room = uniqueRoom(`mqtt-sess${protocolVersion}`);
      const clientId = `dev-${protocolVersion}-${Math.random().toString(36).slice(2, 8)}`;
      const options = {
        protocolVersion,
        clientId,
        clean: false,
        ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      };
      const first = await connectCollecting(url(room), options);
      expect(first.sessionPresent).toBe(false);
      await first.client.subscribeAsync("s/#", { qos: 1 });
      await first.client.endAsync();

      // Away: 50 messages, 25 from HTTP and 25 from an MQTT publisher, plus one the session did not subscribe to.
      const before = await roomInstance(relay.url, room);
      const pub = await connectCollecting(url(room), { protocolVersion: 4 });
      for (let i = 0; i < 25; i++) await pub.client.publishAsync("s/mqtt", `m${i}`, { qos: 1 });
      await pub.client.publishAsync("elsewhere", "not for it", { qos: 1 });
      await pub.client.endAsync();
      for (let i = 25; i < 50; i++) await postText(room, "s/http", `m${i}`);

      // Hibernation: nothing connected, the room is evicted.
      await sleep(12_000);
      expect(await roomInstance(relay.url, room)).not.toBe(before);

      const back = await connectCollecting(url(room), options);
      expect(back.sessionPresent).toBe(true);
      await until(() => back.got.length >= 50);
      await sleep(500);
      expect(back.got.map((g) => g.payload)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
      expect(back.got.every((g) => g.qos === 1 && !g.dup)).toBe(true);
      await sleep(200); // its PUBACKs reach the room
      await back.client.endAsync();

      // Away again, then the relay restarts with its state.
      for (let i = 50; i < 60; i++) await postText(room, "s/http", `m${i}`);
      await relay.restart();
      const again = await connectCollecting(url(room), options);
      expect(again.sessionPresent).toBe(true);
      await until(() => again.got.length >= 10);
      await sleep(500);
      expect(again.got.map((g) => g.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `m${50 + i}`));
      await again.client.endAsync();
    },
    60_000,
  );

  it("connected MQTT clients go on across a hibernation: subscriptions, version and a half-sent packet survive", async () => {
    const room = uniqueRoom("mqtt-hib");
    const sub = await connectCollecting(url(room), { protocolVersion: 5, clientId: "hib-sub" });
    await sub.client.subscribeAsync("h/+", { qos: 1 });
    const raw = await RawMqtt.open(url(room), 5);
    raw.connect({ clientId: "hib-raw" });
    await raw.next("connack");
    const packet = mqttPacket.generate({ cmd: "publish", topic: "h/split", payload: Buffer.from("across"), qos: 1, messageId: 9, dup: false, retain: false }, { protocolVersion: 5 });
    raw.sendBytes(packet.subarray(0, 5)); // the start of a PUBLISH, the rest after the eviction
    const before = await roomInstance(relay.url, room);
    await sleep(12_000);
    expect(await roomInstance(relay.url, room)).not.toBe(before);
    raw.sendBytes(packet.subarray(5));
    expect((await raw.next("puback")).messageId).toBe(9);
    await until(() => sub.got.length === 1);
    expect(sub.got[0]).toMatchObject({ topic: "h/split", payload: "across", qos: 1 });
    await sub.client.publishAsync("h/own", "mine", { qos: 1 });
    await until(() => sub.got.length === 2);
    raw.close();
    await sub.client.endAsync();
  }, 30_000);

  it("a client silent past 1.5 × its Keep Alive is ended by the room's alarm after a hibernation too, and its will goes out", async () => {
    const room = uniqueRoom("mqtt-ka-hib");
    // The watcher never pings (Keep Alive 0), so nothing but the alarm wakes the room.
    const watcher = await connectCollecting(url(room), { protocolVersion: 4, keepalive: 0 });
    await watcher.client.subscribeAsync("dev/+/status", { qos: 1 });
    const silent = await RawMqtt.open(url(room), 4);
    silent.connect({ keepalive: 10, will: { topic: "dev/quiet/status", payload: Buffer.from("lost"), qos: 1, retain: false } } as never);
    await silent.next("connack");
    const before = await roomInstance(relay.url, room);
    await until(() => watcher.got.length === 1, 25_000);
    expect(watcher.got[0]).toMatchObject({ topic: "dev/quiet/status", payload: "lost" });
    await until(() => silent.closed !== null);
    expect(silent.closed!.code).toBe(1008);
    // The room hibernated (about 10 s idle) before the 15 s deadline: a new instance sent the will.
    expect(await roomInstance(relay.url, room)).not.toBe(before);
    await watcher.client.endAsync();
  }, 40_000);

  it("resends what was not acknowledged, with DUP and the same packet id, and nothing that was", async () => {
    const room = uniqueRoom("mqtt-dup");
    const clientId = "raw-dup";
    const a = await RawMqtt.open(url(room), 4);
    a.connect({ clientId, clean: false });
    expect((await a.next("connack")).sessionPresent).toBe(false);
    a.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "t/#", qos: 1 }] });
    await a.next("suback");
    // A topic-less message reaches no MQTT subscriber.
    await postMessage(relay.url, room, "no topic", { "content-type": "text/plain" });
    for (let i = 1; i <= 3; i++) await postText(room, "t/x", `q${i}`);
    const p1 = await a.next("publish");
    const p2 = await a.next("publish");
    const p3 = await a.next("publish");
    expect([p1, p2, p3].map((p) => p.payload.toString())).toEqual(["q1", "q2", "q3"]);
    a.send({ cmd: "puback", messageId: p2.messageId! }); // only the middle one
    await sleep(200);
    a.close();
    await sleep(300);
    const b = await RawMqtt.open(url(room), 4);
    b.connect({ clientId, clean: false });
    expect((await b.next("connack")).sessionPresent).toBe(true);
    const r1 = await b.next("publish");
    const r3 = await b.next("publish");
    expect([r1, r3].map((p) => [p.payload.toString(), p.dup, p.messageId])).toEqual([
      ["q1", true, p1.messageId],
      ["q3", true, p3.messageId],
    ]);
    b.send({ cmd: "puback", messageId: r1.messageId! });
    b.send({ cmd: "puback", messageId: r3.messageId! });
    await sleep(300);
    expect(b.packets.filter((p) => p.cmd === "publish")).toEqual([]);
    b.close();
  });

  it("a QoS 1 PUBLISH retried with DUP is published once, on the same and on a new connection", async () => {
    const room = uniqueRoom("mqtt-inbound-dup");
    const a = await RawMqtt.open(url(room), 5);
    a.connect({ clientId: "retrier", clean: true });
    await a.next("connack");
    const publish = { cmd: "publish", topic: "x/y", payload: Buffer.from("once"), qos: 1, messageId: 7, dup: false, retain: false } as const;
    a.send(publish);
    await a.next("puback");
    a.send({ ...publish, dup: true });
    await a.next("puback");
    a.close();
    const b = await RawMqtt.open(url(room), 5);
    b.connect({ clientId: "retrier", clean: true });
    await b.next("connack");
    b.send({ ...publish, dup: true });
    expect((await b.next("puback")).messageId).toBe(7);
    // A DUP 0 reuse of the id is a new message.
    b.send(publish);
    await b.next("puback");
    const history = await getJson(`${relay.url}/rooms/${room}/messages`);
    expect(history.json.messages.map((m: any) => m.data)).toEqual(["once", "once"]);
    b.close();
  });
});
