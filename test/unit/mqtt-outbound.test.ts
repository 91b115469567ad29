/** Outbound MQTT packets: which QoS a socket gets, packet ids from seq, one build per message and variant. */
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import type { OutboundMessage } from "../../durable-objects/adapters/adapter";
import { deliveryFor, liveFrame, packetIdFor } from "../../durable-objects/mqtt/outbound";
import type { GrantedSubscription } from "../../durable-objects/mqtt/protocol";

const sub = (filter: string, qos: 0 | 1, extra: Partial<GrantedSubscription> = {}): GrantedSubscription => ({
  filter,
  qos,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0,
  ...extra,
});

function parse(bytes: Uint8Array, protocolVersion: 4 | 5) {
  const parser = mqttPacket.parser({ protocolVersion });
  const out: mqttPacket.Packet[] = [];
  parser.on("packet", (p) => out.push(p));
  parser.parse(bytes as Buffer);
  return out;
}

describe("MQTT outbound", () => {
  it("delivers at the highest QoS of the matching subscriptions, none when nothing matches", () => {
    const subs = [sub("a/#", 0), sub("a/+/c", 1), sub("x", 1)];
    expect(deliveryFor(subs, "a/b/c", false)).toEqual({ qos: 1, retainAsPublished: false });
    expect(deliveryFor(subs, "a/b", false)).toEqual({ qos: 0, retainAsPublished: false });
    expect(deliveryFor(subs, "b", false)).toBeNull();
    expect(deliveryFor([sub("#", 1)], "$SYS/x", false)).toBeNull();
  });

  it("skips a client's own message under No Local only", () => {
    expect(deliveryFor([sub("a", 1, { noLocal: true })], "a", true)).toBeNull();
    expect(deliveryFor([sub("a", 1, { noLocal: true }), sub("#", 0)], "a", true)).toEqual({ qos: 0, retainAsPublished: false });
    expect(deliveryFor([sub("a", 1, { noLocal: true })], "a", false)?.qos).toBe(1);
  });

  it("derives packet ids 1..65535 from seq", () => {
    expect([1, 2, 65535, 65536, 65537].map(packetIdFor)).toEqual([1, 2, 65535, 1, 2]);
  });

  it("builds each message's packet once per (version, QoS, retain) and maps the payload", () => {
    const m: OutboundMessage = { seq: 70000, envelope: "", payload: { kind: "json", value: { t: 21.5 } }, topic: "a/b", retain: true };
    const q1 = liveFrame(m, 4, { qos: 1, retainAsPublished: false });
    expect(liveFrame(m, 4, { qos: 1, retainAsPublished: false })).toBe(q1);
    expect(liveFrame(m, 5, { qos: 1, retainAsPublished: false })).not.toBe(q1);
    const [p] = parse(q1, 4) as mqttPacket.IPublishPacket[];
    expect([p!.topic, p!.payload.toString(), p!.qos, p!.messageId, p!.retain]).toEqual(["a/b", '{"t":21.5}', 1, packetIdFor(70000), false]);
    const [kept] = parse(liveFrame(m, 5, { qos: 0, retainAsPublished: true }), 5) as mqttPacket.IPublishPacket[];
    expect([kept!.qos, kept!.retain, kept!.messageId]).toEqual([0, true, undefined]);
  });
});
