/**
 * PUBLISH both ways: whether an inbound one is published, dropped or ends
 * the connection; its PUBACK (QoS 1) or PUBREC/PUBREL/PUBCOMP (QoS 2); the
 * QoS and packet of an outbound one; and how a retry is told from a new
 * message.
 */
import type { IDisconnectPacket, IPubackPacket, IPubcompPacket, IPublishPacket, IPubrecPacket, IPubrelPacket, QoS } from "mqtt-packet";
import { Buffer } from "node:buffer";
import { validTopic } from "../../protocol/topics";
import type { Payload } from "../payload";
import type { MessageProperties } from "../../protocol/properties";
import { messageProperties } from "./properties";
import type { MqttVersion } from "./codec";
import { encoder, inboundPayload, outboundPayload } from "./payloads";
import { closeWith, Reason } from "./reasons";

export type PublishDecision =
  | {
      kind: "publish";
      topic: string;
      payload: Payload;
      /** retain and an empty payload: delete the topic's retained value, deliver nothing. */
      retain: boolean;
      clearsRetained: boolean;
      qos: 0 | 1 | 2;
      /** Its MQTT 5 properties, as every reader sees them (none from 3.1.1). */
      properties: MessageProperties | undefined;
      /** QoS 1: the id to PUBACK, and the key of the DUP dedupe; QoS 2: the id to PUBREC, held until PUBREL. */
      packetId: number | null;
      dup: boolean;
    }
  /** Not published; send `ack` (if any) and go on. */
  | { kind: "drop"; ack: IPubackPacket | null }
  /** A protocol violation: send `disconnect` (5.0) if set, then close. */
  | { kind: "close"; reason: number; message: string; disconnect: IDisconnectPacket | null };

/** The protocol's own rules for an inbound PUBLISH; the room's (size, rate, scope, hooks) follow in its pipeline. */
export function decidePublish(version: MqttVersion, packet: IPublishPacket): PublishDecision {
  if (packet.qos > 2) return closeWith(version, Reason.MalformedPacket, "PUBLISH QoS 3 is malformed");
  if (packet.properties?.topicAlias !== undefined) return closeWith(version, Reason.TopicAliasInvalid, "topic aliases are not supported (Topic Alias Maximum is 0)");
  if (!validTopic(packet.topic)) return closeWith(version, Reason.TopicNameInvalid, "PUBLISH topic is not a valid topic name");
  const packetId = packet.qos > 0 ? (packet.messageId ?? null) : null;
  const payload = inboundPayload(packet.payload);
  const empty = payload.kind === "text" ? payload.value === "" : payload.kind === "binary" && payload.value.length === 0;
  return {
    kind: "publish",
    topic: packet.topic,
    payload,
    retain: packet.retain,
    clearsRetained: packet.retain && empty,
    qos: packet.qos,
    properties: version === 5 ? messageProperties(packet.properties) : undefined,
    packetId,
    dup: packet.dup,
  };
}

export function puback(version: MqttVersion, packetId: number, reasonCode: number = Reason.Success): IPubackPacket {
  return version === 5 && reasonCode !== Reason.Success ? { cmd: "puback", messageId: packetId, reasonCode } : { cmd: "puback", messageId: packetId };
}

/**
 * QoS 2's other packets. A refused QoS 2 PUBLISH gets a 5.0 PUBREC with the
 * reason and no state (the exchange ends there: the client may reuse the
 * id at once); PUBREL is always answered PUBCOMP success: one
 * for an id we no longer hold is a retry whose PUBCOMP was lost, and the
 * client only needs the id back.
 */
export function pubrec(version: MqttVersion, packetId: number, reasonCode: number = Reason.Success): IPubrecPacket {
  return version === 5 && reasonCode !== Reason.Success ? { cmd: "pubrec", messageId: packetId, reasonCode } : { cmd: "pubrec", messageId: packetId };
}

export function pubrel(packetId: number): IPubrelPacket {
  return { cmd: "pubrel", messageId: packetId };
}

export function pubcomp(packetId: number): IPubcompPacket {
  return { cmd: "pubcomp", messageId: packetId };
}

export function outboundPublish(
  topic: string,
  payload: Uint8Array,
  qos: 0 | 1 | 2,
  packetId: number | null,
  retain: boolean,
  properties?: IPublishPacket["properties"],
): IPublishPacket {
  const packet: IPublishPacket = { cmd: "publish", topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: qos as QoS, dup: false, retain };
  if (qos > 0) packet.messageId = packetId!;
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/**
 * Retransmission: only when a session resumes (5.0 forbids it otherwise
 * [MQTT-4.4.0-1]; 3.1.1 allows it but brokers do it on reconnect too). Every
 * in-flight QoS 1 message is sent again, in seq order, with the same packet
 * id and DUP set, before any new message.
 */
export function retransmission(packet: IPublishPacket): IPublishPacket {
  return { ...packet, dup: true };
}

/**
 * The next free outbound packet id after `last`: 1..65535 cycling, skipping
 * ids still in flight. Null when all are in flight (never with MAX_INFLIGHT).
 */
export function nextPacketId(last: number, inFlight: (id: number) => boolean): number | null {
  for (let i = 1; i <= 65535; i++) {
    const id = ((last + i - 1) % 65535) + 1;
    if (!inFlight(id)) return id;
  }
  return null;
}

/**
 * A short fingerprint of an inbound PUBLISH, kept with its packet id so that
 * a DUP retry is recognised as the same message and not a new one that
 * reuses the id after the old one was acknowledged (FNV-1a over topic and payload).
 */
export function publishFingerprint(topic: string, payload: Payload): string {
  let h = 0x811c9dc5;
  const mix = (bytes: Uint8Array) => {
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  };
  mix(encoder.encode(topic));
  mix(new Uint8Array([0]));
  const body = outboundPayload(payload);
  mix(body);
  return `${body.length}:${h.toString(16)}`;
}

/**
 * Whether an inbound QoS 1 PUBLISH is a retry of one already published: DUP
 * set, and the same packet id was last used for the same topic and payload.
 * A DUP 0 PUBLISH is always new (a client reuses an id once it was PUBACKed).
 */
export function isRetriedPublish(dup: boolean, fingerprint: string, previous: { fingerprint: string } | null): boolean {
  return dup && previous !== null && previous.fingerprint === fingerprint;
}
