/**
 * Room messages leaving as MQTT PUBLISH packets: which QoS a socket gets a
 * message at, the packet bytes (built once per message per variant, shared by
 * every socket of the batch), and the packet id.
 *
 * Packet ids are derived from the message's seq, so every subscriber of a
 * batch gets the very same bytes (no per-socket patching) and a session
 * needs no id counter: seq n travels as id ((n - 1) mod 65535) + 1. Two
 * messages in flight to one client share an id only 65535 seqs apart, far
 * past any in-flight window (and the history a session resumes from).
 */
import mqtt from "mqtt-packet";
import { topicMatches } from "../../protocol/topics";
import type { OutboundMessage } from "../adapters/adapter";
import type { MqttVersion } from "./codec";
import { outboundPayload, outboundPublish, type GrantedSubscription } from "./protocol";

export function packetIdFor(seq: number): number {
  return ((seq - 1) % 65535) + 1;
}

export interface Delivery {
  qos: 0 | 1 | 2;
  /** 5.0 Retain As Published on a matching subscription: the live delivery keeps the retain flag. */
  retainAsPublished: boolean;
}

/**
 * How `topic` reaches a client with `subs`: the highest QoS among its
 * matching subscriptions (MQTT sends one copy for overlapping ones), or null
 * when none matches. `own`: the client published it (5.0 No Local skips it).
 */
export function deliveryFor(subs: readonly GrantedSubscription[], topic: string, own: boolean): Delivery | null {
  let qos: 0 | 1 | 2 | null = null;
  let retainAsPublished = false;
  for (const s of subs) {
    if ((own && s.noLocal) || !topicMatches(s.filter, topic)) continue;
    if (qos === null || s.qos > qos) qos = s.qos;
    retainAsPublished ||= s.retainAsPublished;
  }
  return qos === null ? null : { qos, retainAsPublished };
}

/** The bytes of one PUBLISH. Messages from the room count as QoS 2 (the room has stored them under their seq). */
export function publishBytes(version: MqttVersion, topic: string, payload: Uint8Array, qos: 0 | 1 | 2, seq: number, retain: boolean, dup = false): Uint8Array {
  const packet = outboundPublish(topic, payload, qos, qos > 0 ? packetIdFor(seq) : null, retain);
  packet.dup = dup;
  return mqtt.generate(packet, { protocolVersion: version });
}

/** Each live message's packets, per (version, qos, retain): built for the first socket that needs one. */
const built = new WeakMap<OutboundMessage, Map<string, Uint8Array>>();

export function liveFrame(m: OutboundMessage, version: MqttVersion, d: Delivery): Uint8Array {
  const retain = d.retainAsPublished && m.retain;
  const key = `${version}${d.qos}${retain ? 1 : 0}`;
  let variants = built.get(m);
  if (variants === undefined) built.set(m, (variants = new Map()));
  let bytes = variants.get(key);
  if (bytes === undefined) {
    bytes = publishBytes(version, m.topic!, outboundPayload(m.payload), d.qos, m.seq, retain);
    variants.set(key, bytes);
  }
  return bytes;
}
