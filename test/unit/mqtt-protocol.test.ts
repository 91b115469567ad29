/** The MQTT rules (durable-objects/mqtt/protocol.ts), through packets encoded and decoded by the real codec. */
import mqtt from "mqtt-packet";
import type { IConnackPacket, IConnectPacket, IPublishPacket, ISubscribePacket, Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { MqttCodec } from "../../durable-objects/mqtt/codec";
import {
  DEFAULT_V4_SESSION_EXPIRY_SECONDS,
  MAX_SESSION_EXPIRY_SECONDS,
  Reason,
  acceptConnect,
  acceptedConnack,
  closeWith,
  decidePublish,
  decideSubscribe,
  decideUnsubscribe,
  inboundPayload,
  isRetriedPublish,
  nextPacketId,
  outboundPayload,
  outboundPayloadOfEnvelope,
  outboundPublish,
  publishFingerprint,
  pubcomp,
  pubrec,
  pubrel,
  refuseConnect,
  retransmission,
  unexpectedPacket,
} from "../../durable-objects/mqtt/protocol";

/** Encode then decode, so each test sees a packet as the parser hands it over. */
function wire<T extends Packet>(p: Packet, version: 3 | 4 | 5): T {
  const codec = new MqttCodec(1 << 20);
  if (p.cmd !== "connect") codec.setVersion(version === 5 ? 5 : 4);
  const { packets, error } = codec.decode(new Uint8Array(mqtt.generate(p, { protocolVersion: version })));
  expect(error).toBeUndefined();
  return packets[0] as T;
}
/** A server packet as a client would read it. */
function asClientReads<T extends Packet>(p: Packet, version: 4 | 5): T {
  const parser = mqtt.parser({ protocolVersion: version });
  const got: Packet[] = [];
  parser.on("packet", (x: Packet) => got.push(x));
  parser.on("error", (e: Error) => {
    throw e;
  });
  parser.parse(mqtt.generate(p, { protocolVersion: version }));
  return got[0] as T;
}

const connect = (over: Partial<IConnectPacket>, version: 3 | 4 | 5 = 4) =>
  wire<IConnectPacket>({ cmd: "connect", protocolId: version === 3 ? "MQIsdp" : "MQTT", protocolVersion: version, clean: true, clientId: "dev", keepalive: 30, ...over } as IConnectPacket, version);

describe("CONNECT", () => {
  it("accepts 3.1.1 with clean session: no session kept", () => {
    const c = acceptConnect(connect({}), "gen");
    expect(c).toMatchObject({ ok: true, version: 4, clientId: "dev", cleanStart: true, sessionExpirySeconds: 0, keepaliveSeconds: 30, will: null });
  });

  it("3.1.1 clean session 0 keeps the session for the documented default", () => {
    expect(acceptConnect(connect({ clean: false }), "gen")).toMatchObject({ ok: true, cleanStart: false, sessionExpirySeconds: DEFAULT_V4_SESSION_EXPIRY_SECONDS });
  });

  it("5.0 uses Session Expiry Interval, capped; the CONNACK returns the cap", () => {
    const kept = acceptConnect(connect({ clean: false, properties: { sessionExpiryInterval: 300 } }, 5), "gen");
    expect(kept).toMatchObject({ ok: true, version: 5, sessionExpirySeconds: 300, expiryCapped: false });
    const forever = acceptConnect(connect({ clean: false, properties: { sessionExpiryInterval: 0xffffffff } }, 5), "gen");
    expect(forever).toMatchObject({ ok: true, sessionExpirySeconds: MAX_SESSION_EXPIRY_SECONDS, expiryCapped: true });
    if (!forever.ok) throw new Error("refused");
    const ack = asClientReads<IConnackPacket>(acceptedConnack(forever, true), 5);
    expect(ack.sessionPresent).toBe(true);
    expect(ack.properties?.sessionExpiryInterval).toBe(MAX_SESSION_EXPIRY_SECONDS);
    const none = acceptConnect(connect({ clean: false }, 5), "gen");
    expect(none).toMatchObject({ ok: true, sessionExpirySeconds: 0 });
  });

  it("a 5.0 CONNACK leaves Maximum QoS out (QoS 2 served), announces retain, wildcards, no shared subscriptions, no topic aliases", () => {
    const c = acceptConnect(connect({}, 5), "gen");
    if (!c.ok) throw new Error("refused");
    const ack = asClientReads<IConnackPacket>(acceptedConnack(c, false, 66_000), 5);
    expect(ack).toMatchObject({ cmd: "connack", sessionPresent: false, reasonCode: 0 });
    expect(ack.properties?.maximumPacketSize).toBe(66_000);
    // Absent means 2; 5.0 allows only 0 or 1 in the property.
    expect(ack.properties?.maximumQoS).toBeUndefined();
    expect(ack.properties).toMatchObject({
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      sharedSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      topicAliasMaximum: 0,
    });
  });

  it("an empty client id gets one assigned (3.1.1 clean; 5.0 always, said in CONNACK)", () => {
    expect(acceptConnect(connect({ clientId: "" }), "gen-1")).toMatchObject({ ok: true, clientId: "gen-1", assignedClientId: true });
    // mqtt-packet's generator will not write an empty id with clean 0; its parser reads one fine.
    const c = acceptConnect({ ...connect({}, 5), clientId: "", clean: false }, "gen-2");
    if (!c.ok) throw new Error("refused");
    expect(asClientReads<IConnackPacket>(acceptedConnack(c, false), 5).properties?.assignedClientIdentifier).toBe("gen-2");
  });

  it("3.1.1 refuses an empty client id with clean session 0 (0x02)", () => {
    const r = acceptConnect({ ...connect({}), clientId: "", clean: false }, "gen");
    expect(r).toMatchObject({ ok: false, refusal: "bad_client_id" });
    if (r.ok) throw new Error("accepted");
    expect(asClientReads<IConnackPacket>(r.connack, 4)).toMatchObject({ returnCode: 2, sessionPresent: false });
  });

  it("refuses MQTT 3.1 (MQIsdp, level 3) with a 3.1.1 CONNACK 0x01", () => {
    const r = acceptConnect(connect({}, 3), "gen");
    expect(r).toMatchObject({ ok: false, refusal: "bad_version", version: 4 });
    if (r.ok) throw new Error("accepted");
    expect(asClientReads<IConnackPacket>(r.connack, 4).returnCode).toBe(0x01);
  });

  it("refusals carry the version's code: not authorized is 5 in 3.1.1, 0x87 in 5.0; bad version 0x84 in 5.0", () => {
    expect(asClientReads<IConnackPacket>(refuseConnect(4, "not_authorized").connack, 4).returnCode).toBe(5);
    expect(asClientReads<IConnackPacket>(refuseConnect(5, "not_authorized").connack, 5).reasonCode).toBe(0x87);
    expect(asClientReads<IConnackPacket>(refuseConnect(5, "bad_version").connack, 5).reasonCode).toBe(0x84);
    expect(asClientReads<IConnackPacket>(refuseConnect(4, "bad_credentials").connack, 4).returnCode).toBe(4);
  });

  it("captures the will: topic, payload as text or binary, QoS up to 2, retain", () => {
    const c = acceptConnect(connect({ will: { topic: "dev/status", payload: Buffer.from("offline"), qos: 1, retain: true } }), "gen");
    expect(c).toMatchObject({ ok: true, will: { topic: "dev/status", payload: { kind: "text", value: "offline" }, qos: 1, retain: true } });
    const bin = acceptConnect(connect({ will: { topic: "dev/raw", payload: Buffer.from([0xff, 0x00]), qos: 2, retain: false } }), "gen");
    expect(bin).toMatchObject({ ok: true, will: { payload: { kind: "binary" }, qos: 2 } });
  });

  it("refuses a will with a bad topic; accepts a 5.0 will at QoS 2", () => {
    expect(acceptConnect(connect({ will: { topic: "a/+", payload: Buffer.from("x"), qos: 0, retain: false } }), "gen")).toMatchObject({ ok: false, refusal: "bad_will" });
    const r = acceptConnect(connect({ will: { topic: "a", payload: Buffer.from("x"), qos: 2, retain: false } }, 5), "gen");
    expect(r).toMatchObject({ ok: true, will: { qos: 2 } });
  });

  it("reads the token from the password, and the client's Receive Maximum (none for 3.1.1 or when not set)", () => {
    const c = acceptConnect(connect({ username: "any", password: Buffer.from("eyJ.token.sig"), properties: { receiveMaximum: 5 } }, 5), "gen");
    expect(c).toMatchObject({ ok: true, username: "any", password: "eyJ.token.sig", receiveMaximum: 5 });
    expect(acceptConnect(connect({ properties: { receiveMaximum: 500 } }, 5), "gen")).toMatchObject({ receiveMaximum: 500 });
    expect(acceptConnect(connect({}, 5), "gen")).toMatchObject({ receiveMaximum: null });
    expect(acceptConnect(connect({}), "gen")).toMatchObject({ receiveMaximum: null });
  });
});

describe("SUBSCRIBE / UNSUBSCRIBE", () => {
  const sub = (subscriptions: ISubscribePacket["subscriptions"], version: 4 | 5) =>
    wire<ISubscribePacket>({ cmd: "subscribe", messageId: 11, subscriptions } as ISubscribePacket, version);

  it("grants the QoS asked, 2 included", () => {
    const d = decideSubscribe(4, sub([{ topic: "a/+", qos: 0 }, { topic: "b/#", qos: 1 }, { topic: "c", qos: 2 }], 4), true);
    expect(d.suback).toMatchObject({ messageId: 11, granted: [0, 1, 2] });
    expect(d.granted.map((g) => [g.filter, g.qos])).toEqual([["a/+", 0], ["b/#", 1], ["c", 2]]);
    expect(asClientReads<any>(d.suback, 4).granted).toEqual([0, 1, 2]);
  });

  it("refuses a bad filter: 0x80 in 3.1.1, 0x8F in 5.0; the others are still granted", () => {
    expect(decideSubscribe(4, sub([{ topic: "a/#/b", qos: 1 }, { topic: "ok", qos: 1 }], 4), true).suback.granted).toEqual([0x80, 1]);
    const d = decideSubscribe(5, sub([{ topic: "a#", qos: 1 }, { topic: "ok", qos: 1 }], 5), true);
    expect(d.suback.granted).toEqual([0x8f, 1]);
    expect(d.granted.map((g) => g.filter)).toEqual(["ok"]);
  });

  it("refuses without the subscribe scope: 0x80 / 0x87", () => {
    expect(decideSubscribe(4, sub([{ topic: "a", qos: 1 }], 4), false).suback.granted).toEqual([0x80]);
    expect(decideSubscribe(5, sub([{ topic: "a", qos: 1 }], 5), false)).toMatchObject({ granted: [], suback: { granted: [0x87] } });
  });

  it("refuses a filter reaching outside the token's acl.sub: 0x80 / 0x87, the filters inside it granted", () => {
    const acl = ["cmd/d1", "cfg/#"];
    const asked = [{ topic: "cmd/d1", qos: 1 as const }, { topic: "cmd/+", qos: 1 as const }, { topic: "cfg/x", qos: 0 as const }, { topic: "#", qos: 0 as const }];
    expect(decideSubscribe(4, sub(asked, 4), true, new Set(), undefined, acl).suback.granted).toEqual([1, 0x80, 0, 0x80]);
    const d = decideSubscribe(5, sub(asked, 5), true, new Set(), undefined, acl);
    expect(d.suback.granted).toEqual([1, 0x87, 0, 0x87]);
    expect(d.granted.map((g) => g.filter)).toEqual(["cmd/d1", "cfg/x"]);
  });

  it("grants shared subscriptions under their share name, and refuses malformed ones 0x8F (5.0) / 0x80", () => {
    const asked = ["$share/g/a/+", "$share//a", "$share/g+/a", "$share/g", "$share/g/a/#/b"].map((topic) => ({ topic, qos: 1 as const }));
    const d = decideSubscribe(5, sub(asked, 5), true);
    expect(d.suback.granted).toEqual([1, 0x8f, 0x8f, 0x8f, 0x8f]);
    expect(d.granted.map((g) => g.filter)).toEqual(["$share/g/a/+"]);
    expect(decideSubscribe(4, sub(asked, 4), true).suback.granted).toEqual([1, 0x80, 0x80, 0x80, 0x80]);
    // The token's acl.sub is checked on the inner filter.
    expect(decideSubscribe(5, sub([{ topic: "$share/g/cmd/#", qos: 0 }], 5), true, new Set(), undefined, ["cfg/#"]).suback.granted).toEqual([0x87]);
  });

  it("caps the filters per client: a new one past the cap is 0x97 (5.0) / 0x80, a re-subscribe still passes", () => {
    const existing = new Set(Array.from({ length: 32 }, (_, i) => `f/${i}`));
    const d = decideSubscribe(5, sub([{ topic: "f/0", qos: 1 }, { topic: "new", qos: 1 }], 5), true, existing);
    expect(d.suback.granted).toEqual([1, 0x97]);
    expect(decideSubscribe(4, sub([{ topic: "new", qos: 0 }], 4), true, existing).suback.granted).toEqual([0x80]);
    const fresh = decideSubscribe(4, sub(Array.from({ length: 33 }, (_, i) => ({ topic: `g/${i}`, qos: 0 as const })), 4), true);
    expect(fresh.granted).toHaveLength(32);
    expect(fresh.suback.granted.at(-1)).toBe(0x80);
  });

  it("keeps the 5.0 subscription options", () => {
    const d = decideSubscribe(5, sub([{ topic: "a", qos: 1, nl: true, rap: true, rh: 1 }], 5), true);
    expect(d.granted[0]).toEqual({ filter: "a", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 1 });
  });

  it("UNSUBACK: 5.0 says which filters existed", () => {
    const u = wire<any>({ cmd: "unsubscribe", messageId: 4, unsubscriptions: ["a", "b"] } as Packet, 5);
    expect(asClientReads<any>(decideUnsubscribe(5, u, new Set(["a"])), 5)).toMatchObject({ messageId: 4, granted: [0, 0x11] });
    expect(asClientReads<any>(decideUnsubscribe(4, u, new Set()), 4)).toMatchObject({ cmd: "unsuback", messageId: 4 });
  });
});

describe("PUBLISH", () => {
  const pub = (over: Partial<IPublishPacket>, version: 4 | 5 = 4) =>
    wire<IPublishPacket>({ cmd: "publish", topic: "a/b", payload: Buffer.from("hi"), qos: 1, messageId: 5, dup: false, retain: false, ...over } as IPublishPacket, version);

  it("publishes a UTF-8 payload as text, anything else as binary", () => {
    expect(decidePublish(4, pub({}))).toMatchObject({ kind: "publish", topic: "a/b", payload: { kind: "text", value: "hi" }, qos: 1, packetId: 5, retain: false, clearsRetained: false });
    const d = decidePublish(4, pub({ payload: Buffer.from([0xc3, 0x28]), qos: 0, messageId: undefined }));
    expect(d).toMatchObject({ kind: "publish", payload: { kind: "binary" }, packetId: null });
    if (d.kind === "publish" && d.payload.kind === "binary") expect([...d.payload.value]).toEqual([0xc3, 0x28]);
  });

  it("retain with an empty payload clears the retained value", () => {
    expect(decidePublish(4, pub({ retain: true, payload: Buffer.alloc(0) }))).toMatchObject({ kind: "publish", retain: true, clearsRetained: true });
    expect(decidePublish(4, pub({ retain: true }))).toMatchObject({ retain: true, clearsRetained: false });
  });

  it("QoS 2 is published with its packet id (held until PUBREL), in both versions", () => {
    expect(decidePublish(5, pub({ qos: 2 }, 5))).toMatchObject({ kind: "publish", qos: 2, packetId: 5 });
    expect(decidePublish(4, pub({ qos: 2, dup: true }))).toMatchObject({ kind: "publish", qos: 2, packetId: 5, dup: true });
  });

  it("a wildcard topic is a protocol error close (5.0: Topic Name invalid)", () => {
    // The generator refuses to write a wildcard topic; build the packet as the parser would hand it over.
    const packet: IPublishPacket = { cmd: "publish", topic: "a/+", payload: Buffer.from("x"), qos: 0, dup: false, retain: false };
    expect(decidePublish(5, packet)).toMatchObject({ kind: "close", reason: 0x90 });
    expect(decidePublish(4, { ...packet, topic: "a/#" })).toMatchObject({ kind: "close", disconnect: null });
  });

  it("a topic alias is refused (Topic Alias Maximum is 0)", () => {
    expect(decidePublish(5, pub({ properties: { topicAlias: 1 } }, 5))).toMatchObject({ kind: "close", reason: Reason.TopicAliasInvalid });
  });

  it("a DUP retry of the same packet id, topic and payload is recognised; a reused id for a new message is not", () => {
    const fp = publishFingerprint("a/b", { kind: "text", value: "hi" });
    expect(isRetriedPublish(true, fp, { fingerprint: fp })).toBe(true);
    expect(isRetriedPublish(false, fp, { fingerprint: fp })).toBe(false);
    expect(isRetriedPublish(true, fp, null)).toBe(false);
    expect(isRetriedPublish(true, publishFingerprint("a/b", { kind: "text", value: "other" }), { fingerprint: fp })).toBe(false);
    expect(publishFingerprint("a/b", { kind: "text", value: "hi" })).toBe(fp);
  });

  it("only PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT are expected after CONNECT", () => {
    for (const ok of ["publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe", "unsubscribe", "pingreq", "disconnect"]) expect(unexpectedPacket(5, ok)).toBeNull();
    expect(unexpectedPacket(5, "connect")).toMatchObject({ kind: "close", reason: 0x82 });
    expect(unexpectedPacket(4, "suback")).toMatchObject({ kind: "close", disconnect: null });
  });
});

describe("every refusal we send encodes", () => {
  it("SUBACK refusal codes, 3.1.1 and 5.0", () => {
    const s = (topic: string, version: 4 | 5) => ({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 1 }] }) as ISubscribePacket;
    expect(asClientReads<any>(decideSubscribe(4, s("a/#/b", 4), true).suback, 4).granted).toEqual([0x80]);
    for (const [topic, can, code] of [["a#", true, 0x8f], ["$share/g/a#", true, 0x8f], ["a", false, 0x87]] as const) {
      expect(asClientReads<any>(decideSubscribe(5, s(topic, 5), can).suback, 5).granted).toEqual([code]);
    }
    const full = new Set(Array.from({ length: 32 }, (_, i) => `f/${i}`));
    expect(asClientReads<any>(decideSubscribe(5, s("new", 5), true, full).suback, 5).granted).toEqual([0x97]);
  });

  it("5.0 DISCONNECT reason codes", () => {
    for (const reason of [0x81, 0x82, 0x8e, 0x90, 0x94, 0x95, 0x9b]) {
      const close = closeWith(5, reason, "x");
      expect(asClientReads<any>(close.disconnect!, 5)).toMatchObject({ cmd: "disconnect", reasonCode: reason });
      expect(closeWith(4, reason, "x").disconnect).toBeNull();
    }
  });

  it("CONNACK refusals in both versions", () => {
    for (const refusal of ["bad_version", "bad_client_id", "bad_credentials", "not_authorized", "unavailable", "bad_will"] as const) {
      expect(asClientReads<IConnackPacket>(refuseConnect(4, refusal).connack, 4).returnCode).toBeGreaterThan(0);
      expect(asClientReads<IConnackPacket>(refuseConnect(5, refusal).connack, 5).reasonCode).toBeGreaterThanOrEqual(0x80);
    }
  });
});

describe("payload mapping and outbound PUBLISH", () => {
  it("JSON data leaves as its JSON text, text as UTF-8, binary as is", () => {
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    expect(text(outboundPayload({ kind: "json", value: { t: 21.5 } }))).toBe('{"t":21.5}');
    expect(text(outboundPayload({ kind: "text", value: "héllo" }))).toBe("héllo");
    // A JSON string as its text, the same bytes a replay from the envelope gives.
    expect(text(outboundPayload({ kind: "json", value: "on" }))).toBe("on");
    expect([...outboundPayload({ kind: "binary", value: new Uint8Array([1, 2, 255]) })]).toEqual([1, 2, 255]);
    expect(inboundPayload(new TextEncoder().encode("héllo"))).toEqual({ kind: "text", value: "héllo" });
  });

  it("reads a stored envelope back into topic and bytes", () => {
    const json = outboundPayloadOfEnvelope(JSON.stringify({ type: "message", room: "r", seq: 1, from: "x", ts: 0, topic: "a", data: { on: true } }));
    expect(json.topic).toBe("a");
    expect(new TextDecoder().decode(json.bytes)).toBe('{"on":true}');
    const bin = outboundPayloadOfEnvelope({ type: "message", room: "r", seq: 2, from: "x", ts: 0, data: "AQL/", binary: true });
    expect(bin.topic).toBeNull();
    expect([...bin.bytes]).toEqual([1, 2, 255]);
  });

  it("builds a QoS 1 PUBLISH a client decodes, and its DUP retransmission with the same id", () => {
    const p = outboundPublish("a/b", new TextEncoder().encode("v"), 1, 42, true);
    const read = asClientReads<IPublishPacket>(p, 4);
    expect(read).toMatchObject({ topic: "a/b", qos: 1, messageId: 42, retain: true, dup: false });
    expect(asClientReads<IPublishPacket>(retransmission(p), 4)).toMatchObject({ messageId: 42, dup: true });
    expect(asClientReads<IPublishPacket>(outboundPublish("a", new Uint8Array([1]), 0, null, false), 5)).toMatchObject({ qos: 0, dup: false });
  });

  it("builds QoS 2 PUBLISH, PUBREC (5.0 with a refusal's reason), PUBREL and PUBCOMP a client decodes", () => {
    expect(asClientReads<IPublishPacket>(outboundPublish("a", new Uint8Array([1]), 2, 9, false), 5)).toMatchObject({ qos: 2, messageId: 9 });
    expect(asClientReads<any>(pubrec(5, 9, Reason.NotAuthorized), 5)).toMatchObject({ cmd: "pubrec", messageId: 9, reasonCode: 0x87 });
    expect(asClientReads<any>(pubrec(4, 9), 4)).toMatchObject({ cmd: "pubrec", messageId: 9 });
    expect(asClientReads<any>(pubrel(9), 5)).toMatchObject({ cmd: "pubrel", messageId: 9 });
    expect(asClientReads<any>(pubcomp(9), 4)).toMatchObject({ cmd: "pubcomp", messageId: 9 });
  });
});

describe("nextPacketId", () => {
  it("counts 1..65535, wraps to 1, skips ids in flight", () => {
    expect(nextPacketId(0, () => false)).toBe(1);
    expect(nextPacketId(65535, () => false)).toBe(1);
    const inFlight = new Set([2, 3]);
    expect(nextPacketId(1, (id) => inFlight.has(id))).toBe(4);
    expect(nextPacketId(65534, (id) => id === 65535 || id === 1)).toBe(2);
    expect(nextPacketId(7, () => true)).toBeNull();
  });
});
