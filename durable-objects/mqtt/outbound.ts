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
import { expiryLeft } from "../../protocol/properties";
import { envelopeMeta, type EnvelopeMeta } from "./payloads";
import { publishProperties, type PublishProperties } from "./properties";
import { isShared } from "./shared";
import { outboundPayload, outboundPublish, type GrantedSubscription } from "./protocol";

export function packetIdFor(seq: number): number {
  return ((seq - 1) % 65535) + 1;
}

export interface Delivery {
  qos: 0 | 1 | 2;
  /** 5.0 Retain As Published on a matching subscription: the live delivery keeps the retain flag. */
  retainAsPublished: boolean;
  /** 5.0 Subscription Identifiers of the matching subscriptions that have one, in subscription order. */
  ids?: number[];
}

/**
 * How `topic` reaches a client with `subs`: the highest QoS among its
 * matching subscriptions (MQTT sends one copy for overlapping ones), or null
 * when none matches. `own`: the client published it (5.0 No Local skips it).
 */
export function deliveryFor(subs: readonly GrantedSubscription[], topic: string, own: boolean): Delivery | null {
  let qos: 0 | 1 | 2 | null = null;
  let retainAsPublished = false;
  let ids: number[] | undefined;
  for (const s of subs) {
    // A shared subscription's messages go to one member of its group (shared.ts), not through here.
    if ((own && s.noLocal) || isShared(s) || !topicMatches(s.filter, topic)) continue;
    if (qos === null || s.qos > qos) qos = s.qos;
    retainAsPublished ||= s.retainAsPublished;
    if (s.id !== undefined) (ids ??= []).push(s.id);
  }
  if (qos === null) return null;
  return ids === undefined ? { qos, retainAsPublished } : { qos, retainAsPublished, ids };
}

/**
 * A delivery of one message: at most the QoS it was published at ([MQTT-3.8.4-8]:
 * the minimum of the subscription's and the publish's; a message from another
 * door counts as QoS 2, the room having stored it before its ack). Null when
 * the message has expired (its Message Expiry Interval is over): it is not sent.
 */
export function forMessage(d: Delivery, meta: EnvelopeMeta, now: number): { delivery: Delivery; expiryLeft: number | null } | null {
  const left = expiryLeft(meta.properties, meta.ts, now);
  if (left === 0) return null;
  const qos = Math.min(d.qos, meta.qos) as 0 | 1 | 2;
  return { delivery: qos === d.qos ? d : { ...d, qos }, expiryLeft: left };
}

/** A PUBLISH's properties for a 5.0 client (none for 3.1.1): the message's, and the delivery's Subscription Identifiers. */
export function propertiesFor(version: MqttVersion, meta: EnvelopeMeta, left: number | null, ids?: readonly number[]): PublishProperties | undefined {
  if (version !== 5) return undefined;
  const props = publishProperties(meta.properties, left);
  if (ids === undefined || ids.length === 0) return props;
  return { ...props, subscriptionIdentifier: ids.length === 1 ? ids[0]! : [...ids] } as PublishProperties;
}

/** The bytes of one PUBLISH. Messages from the room count as QoS 2 (the room has stored them under their seq). */
export function publishBytes(version: MqttVersion, topic: string, payload: Uint8Array, qos: 0 | 1 | 2, seq: number, retain: boolean, dup = false, properties?: PublishProperties): Uint8Array {
  const packet = outboundPublish(topic, payload, qos, qos > 0 ? packetIdFor(seq) : null, retain, properties);
  packet.dup = dup;
  return mqtt.generate(packet, { protocolVersion: version });
}

/** Each live message's packets, per (version, qos, retain): built for the first socket that needs one. */
const built = new WeakMap<OutboundMessage, Map<string, Uint8Array>>();

/** Each live message's meta (publish QoS, properties), read from its envelope once. */
const metas = new WeakMap<OutboundMessage, EnvelopeMeta>();

export function liveMeta(m: OutboundMessage): EnvelopeMeta {
  let meta = metas.get(m);
  if (meta === undefined) metas.set(m, (meta = envelopeMeta(m.envelope)));
  return meta;
}

/** `d` is the delivery after forMessage (its QoS capped); `left` the expiry left, as forMessage said. */
export function liveFrame(m: OutboundMessage, version: MqttVersion, d: Delivery, left: number | null = null): Uint8Array {
  const retain = d.retainAsPublished && m.retain;
  // Subscription identifiers make the bytes per subscriber: they are part of the variant (most deliveries have none).
  const key = `${version}${d.qos}${retain ? 1 : 0}${d.ids === undefined ? "" : d.ids.join(",")}`;
  let variants = built.get(m);
  if (variants === undefined) built.set(m, (variants = new Map()));
  let bytes = variants.get(key);
  if (bytes === undefined) {
    bytes = publishBytes(version, m.topic!, outboundPayload(m.payload), d.qos, m.seq, retain, false, propertiesFor(version, liveMeta(m), left, d.ids));
    variants.set(key, bytes);
  }
  return bytes;
}

/** Topic aliases given per connection at most (the client may allow more): a few hot topics are where they pay. */
export const MAX_TOPIC_ALIASES = 16;

/**
 * A live PUBLISH for a connection that takes topic aliases: the first time a
 * topic goes out it carries its name and a new alias, later ones the alias
 * and an empty name. Built for this socket alone (the shared bytes of
 * `liveFrame` carry the name); past the aliases it may give, the name as usual.
 */
export function aliasedFrame(aliases: Map<string, number>, allowed: number, m: OutboundMessage, version: MqttVersion, d: Delivery, left: number | null): Uint8Array {
  const topic = m.topic!;
  let alias = aliases.get(topic);
  let name = "";
  if (alias === undefined) {
    if (aliases.size >= Math.min(allowed, MAX_TOPIC_ALIASES)) return liveFrame(m, version, d, left);
    alias = aliases.size + 1;
    aliases.set(topic, alias);
    name = topic;
  }
  const properties = { ...propertiesFor(version, liveMeta(m), left, d.ids), topicAlias: alias } as PublishProperties;
  return publishBytes(version, name, outboundPayload(m.payload), d.qos, m.seq, d.retainAsPublished && m.retain, false, properties);
}
