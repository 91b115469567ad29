/**
 * What a 5.0 client says it can take, and the keep-alive the relay allows,
 * over real sockets: the client's Maximum Packet Size (a PUBLISH larger is
 * never sent to it, live, retained or replayed, and does not hold up what
 * follows), and MQTT_MAX_KEEPALIVE_SECONDS (CONNACK Server Keep Alive, and
 * the relay holds the client to it). Plain and sharded rooms.
 */
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";

const relay = useRelay({ vars: { SHARDS: "sharded*=3", MQTT_MAX_KEEPALIVE_SECONDS: "2" } });
const url = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;

for (const kind of ["plain", "sharded"] as const) {
  const roomFor = (p: string) => uniqueRoom(kind === "plain" ? p : `sharded-${p}`);

  describe(`the client's Maximum Packet Size (${kind} room)`, () => {
    it("a PUBLISH larger than the client takes is not sent to it; the ones after it are", async () => {
      const room = roomFor("mps");
      const small = await connectCollecting(url(room), { protocolVersion: 5, properties: { maximumPacketSize: 64 }, keepalive: 0 });
      await small.client.subscribeAsync("t/#", { qos: 1 });
      const big = await connectCollecting(url(room), { protocolVersion: 5, keepalive: 0 });
      await big.client.subscribeAsync("t/#", { qos: 1 });
      const pub = await connectCollecting(url(room), { protocolVersion: 5, keepalive: 0 });
      await pub.client.publishAsync("t/a", "fits", { qos: 1 });
      await pub.client.publishAsync("t/a", "x".repeat(100), { qos: 1 });
      await pub.client.publishAsync("t/a", "fits too", { qos: 1 });
      await until(() => big.got.length === 3 && small.got.length === 2);
      await sleep(200);
      expect(small.got.map((g) => g.payload)).toEqual(["fits", "fits too"]);
      expect(big.got.map((g) => g.payload)).toEqual(["fits", "x".repeat(100), "fits too"]);
      await Promise.all([small.client.endAsync(), big.client.endAsync(), pub.client.endAsync()]);
    });

    it("nor a retained value, nor a replay to a returning session, which goes on past it", async () => {
      const room = roomFor("mps-replay");
      const options = { protocolVersion: 5 as const, clientId: "mps", clean: false, keepalive: 0, properties: { sessionExpiryInterval: 600, maximumPacketSize: 64 } };
      const first = await connectCollecting(url(room), options);
      await first.client.subscribeAsync("r/#", { qos: 1 });
      await first.client.endAsync();
      const pub = await connectCollecting(url(room), { protocolVersion: 5, keepalive: 0 });
      await pub.client.publishAsync("r/big", "y".repeat(200), { qos: 1, retain: true });
      await pub.client.publishAsync("r/small", "ok", { qos: 1 });
      const back = await connectCollecting(url(room), options);
      await until(() => back.got.length >= 1);
      await sleep(300);
      expect(back.got.map((g) => g.payload)).toEqual(["ok"]);
      // A new subscription's retained values: the big one is not sent either.
      await back.client.subscribeAsync("r/big", { qos: 1 });
      await sleep(300);
      expect(back.got.map((g) => g.payload)).toEqual(["ok"]);
      await Promise.all([back.client.endAsync(), pub.client.endAsync()]);
    });
  });
}

describe("MQTT_MAX_KEEPALIVE_SECONDS", () => {
  it("caps what a 5.0 client asks for (or asks none) in CONNACK's Server Keep Alive; a shorter one stands", async () => {
    const at = async (keepalive: number) => {
      const raw = await RawMqtt.open(url(uniqueRoom("ka")), 5);
      raw.connect({ clientId: `ka-${keepalive}`, keepalive });
      const connack = (await raw.next("connack")) as mqttPacket.IConnackPacket;
      raw.close();
      return connack.properties?.serverKeepAlive;
    };
    expect(await at(120)).toBe(2);
    expect(await at(0)).toBe(2);
    expect(await at(1)).toBeUndefined();
  });

  it("holds the client to it: silent past 1.5 x the cap, the connection is closed", async () => {
    const raw = await RawMqtt.open(url(uniqueRoom("ka-silent")), 5);
    raw.connect({ clientId: "silent", keepalive: 120 });
    await raw.next("connack");
    const closed = await raw.waitClosed(15_000);
    expect(closed.code).not.toBe(1000);
  });
});

describe("the relay's Receive Maximum", () => {
  it("a 5.0 client that opens more QoS 2 exchanges than CONNACK's Receive Maximum is disconnected 0x93", async () => {
    const raw = await RawMqtt.open(url(uniqueRoom("rm-exceeded")), 5);
    raw.connect({ clientId: "rm" });
    const connack = (await raw.next("connack")) as mqttPacket.IConnackPacket;
    const max = connack.properties!.receiveMaximum!;
    expect(max).toBeGreaterThan(0);
    // QoS 2 PUBLISHes, never released (no PUBREL): the one past the maximum breaks it.
    for (let i = 1; i <= max + 1; i++) {
      raw.send({ cmd: "publish", topic: "q2/x", payload: Buffer.from(`m${i}`), qos: 2, messageId: i, dup: false, retain: false } as never);
      if (i <= max) await raw.next("pubrec");
    }
    expect((await raw.next("disconnect")).reasonCode).toBe(0x93);
    await raw.waitClosed();
  });
});

for (const kind of ["plain", "sharded"] as const) {
  describe(`topic aliases to the client (${kind} room)`, () => {
    it("a client that allows aliases gets the topic once with an alias, then the alias alone; one that does not gets names", async () => {
      const room = uniqueRoom(kind === "plain" ? "alias" : "sharded-alias");
      const raw = await RawMqtt.open(url(room), 5);
      raw.connect({ clientId: "alias", properties: { topicAliasMaximum: 2 } });
      await raw.next("connack");
      raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "s/#", qos: 0 }] } as never);
      await raw.next("suback");
      const plain = await connectCollecting(url(room), { protocolVersion: 5, keepalive: 0 });
      await plain.client.subscribeAsync("s/#", { qos: 0 });
      const pub = await connectCollecting(url(room), { protocolVersion: 5, keepalive: 0 });
      for (const t of ["s/a", "s/a", "s/b", "s/c", "s/b"]) await pub.client.publishAsync(t, t, { qos: 1 });
      const got: mqttPacket.IPublishPacket[] = [];
      for (let i = 0; i < 5; i++) got.push((await raw.next("publish")) as mqttPacket.IPublishPacket);
      expect(got.map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()])).toEqual([
        ["s/a", 1, "s/a"],
        ["", 1, "s/a"],
        ["s/b", 2, "s/b"],
        ["s/c", undefined, "s/c"], // past the client's maximum (2): the name
        ["", 2, "s/b"],
      ]);
      await until(() => plain.got.length === 5);
      expect(plain.got.map((g) => [g.topic, g.properties?.topicAlias])).toEqual([
        ["s/a", undefined],
        ["s/a", undefined],
        ["s/b", undefined],
        ["s/c", undefined],
        ["s/b", undefined],
      ]);
      raw.close();
      await Promise.all([plain.client.endAsync(), pub.client.endAsync()]);
    });
  });
}
