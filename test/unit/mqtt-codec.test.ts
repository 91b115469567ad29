/** The MQTT codec inside workerd: framing of whole packets, partial packets, limits. */
import mqtt from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { MAX_PENDING_BYTES, MqttCodec } from "../../durable-objects/mqtt/codec";

const connect5 = { cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: false, clientId: "dev-1", keepalive: 30, properties: { sessionExpiryInterval: 60 } } as Packet;
const connect4 = { cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId: "dev-2", keepalive: 30 } as Packet;
const publish = (topic: string, payload: string, version = 4) =>
  new Uint8Array(mqtt.generate({ cmd: "publish", topic, payload, qos: 1, messageId: 7, dup: false, retain: false } as Packet, { protocolVersion: version }));
const bytes = (p: Packet, version = 4) => new Uint8Array(mqtt.generate(p, { protocolVersion: version }));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};

describe("MqttCodec", () => {
  it("decodes a 5.0 CONNECT with properties", () => {
    const codec = new MqttCodec(65536);
    const { packets, error } = codec.decode(bytes(connect5, 5));
    expect(error).toBeUndefined();
    expect(packets).toHaveLength(1);
    expect(packets[0]).toMatchObject({ cmd: "connect", protocolVersion: 5, clientId: "dev-1", clean: false, properties: { sessionExpiryInterval: 60 } });
  });

  it("decodes several packets in one frame, in order", () => {
    const codec = new MqttCodec(65536);
    const frame = concat(bytes(connect4), publish("a/b", "one"), publish("a/c", "two"), bytes({ cmd: "pingreq" } as Packet));
    codec.setVersion(4);
    const { packets } = codec.decode(frame);
    expect(packets.map((p) => p.cmd)).toEqual(["connect", "publish", "publish", "pingreq"]);
    expect((packets[2] as any).topic).toBe("a/c");
    expect(Buffer.from((packets[1] as any).payload).toString()).toBe("one");
  });

  it("keeps part of a packet until the rest arrives, byte by byte too", () => {
    const codec = new MqttCodec(65536);
    codec.setVersion(4);
    const whole = publish("sensors/t", "21.5");
    const got: Packet[] = [];
    for (const b of whole) got.push(...codec.decode(new Uint8Array([b])).packets);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ cmd: "publish", topic: "sensors/t", qos: 1, messageId: 7 });
    expect(codec.state().pending.length).toBe(0);
  });

  it("a partial packet survives through state(), as it would in an attachment", () => {
    const first = new MqttCodec(65536);
    first.setVersion(5);
    const whole = publish("x/y", "hello", 5);
    expect(first.decode(whole.subarray(0, 5)).packets).toHaveLength(0);
    const saved = first.state();
    expect(saved).toMatchObject({ version: 5 });
    expect(saved.pending.length).toBe(5);
    const revived = new MqttCodec(65536, saved);
    const { packets } = revived.decode(whole.subarray(5));
    expect(packets[0]).toMatchObject({ cmd: "publish", topic: "x/y" });
  });

  it("decodes 5.0 packets after setVersion(5) in a fresh codec (after hibernation)", () => {
    const codec = new MqttCodec(65536, { version: 5, pending: new Uint8Array(0) });
    const sub = bytes({ cmd: "subscribe", messageId: 3, subscriptions: [{ topic: "a/#", qos: 1, nl: true, rap: false, rh: 2 }] } as Packet, 5);
    const { packets, error } = codec.decode(sub);
    expect(error).toBeUndefined();
    expect(packets[0]).toMatchObject({ cmd: "subscribe", messageId: 3, subscriptions: [{ topic: "a/#", qos: 1, nl: true, rh: 2 }] });
  });

  it("refuses a packet over the size limit from its header, before its body arrives", () => {
    const codec = new MqttCodec(100);
    codec.setVersion(4);
    const big = publish("t", "x".repeat(200));
    const { packets, error } = codec.decode(big.subarray(0, 4));
    expect(packets).toHaveLength(0);
    expect(error?.kind).toBe("too_large");
  });

  it("refuses more than MAX_PENDING_BYTES of one packet split across frames", () => {
    const codec = new MqttCodec(1 << 20);
    codec.setVersion(4);
    const big = publish("t", "x".repeat(MAX_PENDING_BYTES + 100));
    expect(codec.decode(big.subarray(0, 1000)).error).toBeUndefined();
    expect(codec.decode(big.subarray(1000, MAX_PENDING_BYTES + 10)).error?.kind).toBe("too_large");
  });

  it("reports a malformed packet after the good ones before it", () => {
    const codec = new MqttCodec(65536);
    codec.setVersion(4);
    // PUBREL must have flags 0b0010; 0x60 has 0.
    const { packets, error } = codec.decode(concat(bytes({ cmd: "pingreq" } as Packet), new Uint8Array([0x60, 0x02, 0x00, 0x01])));
    expect(packets.map((p) => p.cmd)).toEqual(["pingreq"]);
    expect(error?.kind).toBe("malformed");
  });

  it("reports a Remaining Length of more than four bytes as malformed", () => {
    const codec = new MqttCodec(65536);
    expect(codec.decode(new Uint8Array([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])).error?.kind).toBe("malformed");
  });

  it("tells an unknown CONNECT protocol level apart, with the level", () => {
    const codec = new MqttCodec(65536);
    const good = bytes(connect4);
    const bad = good.slice();
    bad[8] = 6; // fixed header 2 bytes, name length 2, "MQTT" 4: the level is byte 8
    const { error } = codec.decode(bad);
    expect(error).toMatchObject({ kind: "bad_protocol_level", level: 6 });
  });

  it("accepts a 3.1 (MQIsdp, level 3) CONNECT so the protocol layer can refuse it with a CONNACK", () => {
    const codec = new MqttCodec(65536);
    const { packets } = codec.decode(bytes({ cmd: "connect", protocolId: "MQIsdp", protocolVersion: 3, clean: true, clientId: "old", keepalive: 10 } as Packet, 3));
    expect(packets[0]).toMatchObject({ cmd: "connect", protocolVersion: 3 });
  });

  it("encodes in the agreed version", () => {
    const codec = new MqttCodec(65536);
    codec.setVersion(5);
    const out = codec.encode({ cmd: "puback", messageId: 9, reasonCode: 0x87 } as Packet);
    const back = new MqttCodec(65536, { version: 5, pending: new Uint8Array(0) });
    // A server never decodes PUBACK from itself, but the parser reads it fine: a round trip.
    expect(back.decode(out).packets[0]).toMatchObject({ cmd: "puback", messageId: 9, reasonCode: 0x87 });
  });
});
