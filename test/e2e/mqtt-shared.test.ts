/**
 * Shared subscriptions (`$share/<group>/<filter>`) over real sockets with
 * mqtt.js: each message to exactly one member of each group, beside plain
 * subscribers who get every message; a member that leaves stops getting
 * them; no retained values for a group; malformed share names and No Local
 * refused. Plain and sharded rooms (a sharded room's MQTT connections are
 * the sequencer's, so a group spans the room).
 */
import { describe, expect, it } from "vitest";
import { connectCollecting, RawMqtt, until, type Received } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";

const relay = useRelay({ vars: { SHARDS: "sharded*=3" } });
const url = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;
const payloads = (got: Received[]) => got.map((g) => g.payload);

for (const kind of ["plain", "sharded"] as const) {
  const roomFor = (p: string) => uniqueRoom(kind === "plain" ? p : `sharded-${p}`);

  describe(`shared subscriptions (${kind} room)`, () => {
    it("each message goes to exactly one member of each group; a plain subscriber gets them all", async () => {
      const room = roomFor("share");
      const a1 = await connectCollecting(url(room), { protocolVersion: 5 });
      const a2 = await connectCollecting(url(room), { protocolVersion: 4 });
      const a3 = await connectCollecting(url(room), { protocolVersion: 5 });
      const b1 = await connectCollecting(url(room), { protocolVersion: 5 });
      const plain = await connectCollecting(url(room), { protocolVersion: 5 });
      for (const m of [a1, a2, a3]) await m.client.subscribeAsync("$share/workers/jobs/#", { qos: 1 });
      await b1.client.subscribeAsync("$share/audit/jobs/+", { qos: 0 });
      await plain.client.subscribeAsync("jobs/#", { qos: 1 });
      const pub = await connectCollecting(url(room), { protocolVersion: 5 });
      const sent = Array.from({ length: 30 }, (_, i) => `job ${i}`);
      for (const p of sent) await pub.client.publishAsync("jobs/x", p, { qos: 1 });
      await until(() => plain.got.length === 30 && a1.got.length + a2.got.length + a3.got.length === 30 && b1.got.length === 30);
      await sleep(300);
      const workers = [...payloads(a1.got), ...payloads(a2.got), ...payloads(a3.got)];
      expect(workers.sort()).toEqual([...sent].sort()); // each exactly once across the group
      for (const m of [a1, a2, a3]) expect(m.got.length).toBeGreaterThan(0); // spread over the members
      expect(payloads(b1.got)).toEqual(sent); // the only member of its group gets everything, in order
      expect(payloads(plain.got)).toEqual(sent);
      await Promise.all([a1, a2, a3, b1, plain, pub].map((m) => m.client.endAsync()));
    });

    it("a member that leaves gets nothing more; the others share on; a group gets no retained values on subscribe", async () => {
      const room = roomFor("share-leave");
      const pub = await connectCollecting(url(room), { protocolVersion: 5 });
      await pub.client.publishAsync("t/state", "retained", { qos: 1, retain: true });
      const m1 = await connectCollecting(url(room), { protocolVersion: 5 });
      const m2 = await connectCollecting(url(room), { protocolVersion: 5 });
      await m1.client.subscribeAsync("$share/g/t/#", { qos: 1 });
      await m2.client.subscribeAsync("$share/g/t/#", { qos: 1 });
      await sleep(200);
      expect(m1.got.length + m2.got.length).toBe(0);
      await m1.client.endAsync();
      for (let i = 0; i < 5; i++) await pub.client.publishAsync("t/x", `after ${i}`, { qos: 1 });
      await until(() => m2.got.length === 5);
      expect(payloads(m2.got)).toEqual(["after 0", "after 1", "after 2", "after 3", "after 4"]);
      // Unsubscribing by the share name leaves the group.
      await m2.client.unsubscribeAsync("$share/g/t/#");
      await pub.client.publishAsync("t/x", "nobody", { qos: 1 });
      await sleep(300);
      expect(m2.got.length).toBe(5);
      await Promise.all([m2.client.endAsync(), pub.client.endAsync()]);
    });
  });
}

describe("shared subscription names and options", () => {
  it("a malformed share name is refused 0x8F; No Local on a shared subscription is a protocol error", async () => {
    // Raw packets: mqtt.js refuses some of these names itself.
    const bad = await RawMqtt.open(url(uniqueRoom("share-bad")), 5);
    bad.connect({ clientId: "bad" });
    await bad.next("connack");
    const topics = ["$share//t", "$share/g+/t", "$share/g/t/#/x", "$share/g", "$share/ok/t"];
    bad.send({ cmd: "subscribe", messageId: 1, subscriptions: topics.map((topic) => ({ topic, qos: 1 })) } as never);
    expect((await bad.next("suback")).granted).toEqual([0x8f, 0x8f, 0x8f, 0x8f, 1]);
    bad.close();

    const raw = await RawMqtt.open(url(uniqueRoom("share-nl")), 5);
    raw.connect({ clientId: "nl" });
    await raw.next("connack");
    raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "$share/g/t", qos: 1, nl: true }] } as never);
    expect((await raw.next("disconnect")).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });
});
