/**
 * The MQTT rules of the /mqtt endpoint as pure functions: parsed packets in,
 * decisions and packets out. No sockets, no storage: the adapter does the
 * I/O and asks these functions what to do, so every rule is unit-tested here.
 *
 * Versions: 4 is MQTT 3.1.1, 5 is MQTT 5.0. Where they differ (reason codes,
 * properties, how a refusal is signalled), each function takes the version.
 */
import type {
  IConnackPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPubackPacket,
  IPublishPacket,
  ISubackPacket,
  ISubscribePacket,
  IUnsubackPacket,
  IUnsubscribePacket,
  QoS,
} from "mqtt-packet";
import { Buffer } from "node:buffer";
import { base64ToBytes } from "../../protocol/base64";
import type { MessageEnvelope } from "../../protocol";
import { MAX_TOPIC_FILTERS, validFilter, validTopic } from "../../protocol/topics";
import { rawForm, type Payload } from "../payload";
import type { MqttVersion } from "./codec";

/** Reason codes we send (MQTT 5.0 numbering; 3.1.1 CONNACK return codes are in `connackCode`). */
export const Reason = {
  Success: 0x00,
  GrantedQoS1: 0x01,
  NoSubscriptionExisted: 0x11,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketTooLarge: 0x95,
  QuotaExceeded: 0x97,
  PayloadFormatInvalid: 0x99,
  QoSNotSupported: 0x9b,
  TopicAliasInvalid: 0x94,
  SharedSubscriptionsNotSupported: 0x9e,
  SubscriptionIdentifiersNotSupported: 0xa1,
} as const;

/** Why a CONNECT is refused; each maps to a 3.1.1 return code and a 5.0 reason code. */
export type ConnectRefusal = "bad_version" | "bad_client_id" | "bad_credentials" | "not_authorized" | "unavailable" | "bad_will";

const CONNACK_CODES: Record<ConnectRefusal, { v4: number; v5: number }> = {
  bad_version: { v4: 0x01, v5: Reason.UnsupportedProtocolVersion },
  bad_client_id: { v4: 0x02, v5: Reason.ClientIdentifierNotValid },
  unavailable: { v4: 0x03, v5: Reason.ServerUnavailable },
  bad_credentials: { v4: 0x04, v5: Reason.BadUserNameOrPassword },
  not_authorized: { v4: 0x05, v5: Reason.NotAuthorized },
  // 3.1.1 has no code for a bad will: the spec says close without CONNACK; we
  // send "server unavailable" first, as several brokers do, so the client logs why.
  bad_will: { v4: 0x03, v5: Reason.TopicNameInvalid },
};

/** The longest client id we keep (bytes of UTF-8); MQTT only promises 23. */
export const MAX_CLIENT_ID_BYTES = 128;
/** A 3.1.1 session with clean session 0 is kept this long after the client leaves. */
export const DEFAULT_V4_SESSION_EXPIRY_SECONDS = 24 * 60 * 60;
/** A 5.0 Session Expiry Interval is capped to this (0xFFFFFFFF "never" included). */
export const MAX_SESSION_EXPIRY_SECONDS = 7 * 24 * 60 * 60;
/** Outbound QoS 1 messages in flight (sent, not yet PUBACKed) per connection; a 5.0 Receive Maximum lowers it. */
export const MAX_INFLIGHT = 32;
/** We serve QoS 0 and 1: QoS 2 subscriptions are granted 1; QoS 2 PUBLISH is refused. */
export const MAX_QOS = 1;

export interface Will {
  topic: string;
  payload: Payload;
  qos: 0 | 1;
  retain: boolean;
}

export interface AcceptedConnect {
  ok: true;
  version: MqttVersion;
  clientId: string;
  /** The server made the id up (empty id in CONNECT): 5.0 says so in CONNACK. */
  assignedClientId: boolean;
  /** Clean session 1 / clean start 1: any stored session is dropped first. */
  cleanStart: boolean;
  /** How long the session outlives the connection; 0 = ends with it. */
  sessionExpirySeconds: number;
  /** The client's own Session Expiry was capped: 5.0 CONNACK returns ours. */
  expiryCapped: boolean;
  keepaliveSeconds: number;
  /** Sent, un-acked QoS 1 at most (5.0 Receive Maximum, capped by MAX_INFLIGHT). */
  inflightLimit: number;
  username: string | undefined;
  /** The CONNECT password as text: where a device puts its token. */
  password: string | undefined;
  will: Will | null;
}

export interface RefusedConnect {
  ok: false;
  refusal: ConnectRefusal;
  /** The CONNACK to send before closing (in the level the client spoke, 4 for an unknown level below 5). */
  connack: IConnackPacket;
  version: MqttVersion;
}

/**
 * Checks a CONNECT. `newClientId` is used when the client sent an empty id
 * (allowed with clean session in 3.1.1; always in 5.0).
 */
export function acceptConnect(packet: IConnectPacket, newClientId: string): AcceptedConnect | RefusedConnect {
  const level = packet.protocolVersion ?? 4;
  const version: MqttVersion = level === 5 ? 5 : 4;
  if (packet.protocolId !== "MQTT" || (level !== 4 && level !== 5)) return refuseConnect(versionForRefusal(level), "bad_version");

  const clean = packet.clean !== false;
  let clientId = packet.clientId ?? "";
  let assigned = false;
  if (clientId === "") {
    // 3.1.1 [MQTT-3.1.3-8]: an empty id with clean session 0 is refused (0x02).
    if (version === 4 && !clean) return refuseConnect(version, "bad_client_id");
    clientId = newClientId;
    assigned = true;
  }
  if (utf8Length(clientId) > MAX_CLIENT_ID_BYTES) return refuseConnect(version, "bad_client_id");

  let will: Will | null = null;
  if (packet.will) {
    if (!validTopic(packet.will.topic)) return refuseConnect(version, "bad_will");
    const willQos = packet.will.qos ?? 0;
    // 5.0 refuses a will above Maximum QoS [MQTT-3.2.2-12]; 3.1.1 has no code, so it is served at QoS 1.
    if (willQos > MAX_QOS && version === 5) {
      return { ok: false, refusal: "bad_will", version, connack: connack(version, false, Reason.QoSNotSupported) };
    }
    will = { topic: packet.will.topic, payload: inboundPayload(packet.will.payload), qos: willQos > 0 ? 1 : 0, retain: !!packet.will.retain };
  }

  let expiry: number;
  let capped = false;
  if (version === 4) {
    expiry = clean ? 0 : DEFAULT_V4_SESSION_EXPIRY_SECONDS;
  } else {
    const asked = packet.properties?.sessionExpiryInterval ?? 0;
    expiry = Math.min(asked, MAX_SESSION_EXPIRY_SECONDS);
    capped = expiry !== asked;
  }

  const receiveMaximum = version === 5 ? packet.properties?.receiveMaximum : undefined;
  return {
    ok: true,
    version,
    clientId,
    assignedClientId: assigned,
    cleanStart: clean,
    sessionExpirySeconds: expiry,
    expiryCapped: capped,
    keepaliveSeconds: packet.keepalive ?? 0,
    inflightLimit: Math.max(1, Math.min(MAX_INFLIGHT, receiveMaximum ?? MAX_INFLIGHT)),
    username: packet.username,
    password: packet.password === undefined ? undefined : Buffer.from(packet.password).toString("utf8"),
    will,
  };
}

/** The level whose CONNACK format a refused client reads: 5.0 format for 5 and above, 3.1.1 below. */
function versionForRefusal(level: number): MqttVersion {
  return level >= 5 ? 5 : 4;
}

export function refuseConnect(version: MqttVersion, refusal: ConnectRefusal): RefusedConnect {
  const code = CONNACK_CODES[refusal];
  return { ok: false, refusal, version, connack: connack(version, false, version === 5 ? code.v5 : code.v4) };
}

/** The CONNACK of an accepted CONNECT; 5.0 also announces `maxPacketBytes`, the codec's limit. */
export function acceptedConnack(c: AcceptedConnect, sessionPresent: boolean, maxPacketBytes?: number): IConnackPacket {
  const packet = connack(c.version, sessionPresent, 0);
  if (c.version === 5) {
    packet.properties = {
      maximumQoS: MAX_QOS,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      sharedSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      topicAliasMaximum: 0,
      receiveMaximum: MAX_INFLIGHT,
    };
    if (maxPacketBytes !== undefined) packet.properties.maximumPacketSize = maxPacketBytes;
    if (c.assignedClientId) packet.properties.assignedClientIdentifier = c.clientId;
    if (c.expiryCapped) packet.properties.sessionExpiryInterval = c.sessionExpirySeconds;
  }
  return packet;
}

function connack(version: MqttVersion, sessionPresent: boolean, code: number): IConnackPacket {
  // [MQTT-3.2.2-4]/[MQTT-3.2.2-6]: a refusing CONNACK has session present 0.
  const present = code === 0 && sessionPresent;
  return version === 5
    ? { cmd: "connack", sessionPresent: present, reasonCode: code }
    : { cmd: "connack", sessionPresent: present, returnCode: code };
}

// ---- SUBSCRIBE / UNSUBSCRIBE -------------------------------------------------

export interface GrantedSubscription {
  filter: string;
  qos: 0 | 1;
  /** 5.0 No Local: do not send this client its own messages. */
  noLocal: boolean;
  /** 5.0 Retain As Published: keep the retain flag on live deliveries. */
  retainAsPublished: boolean;
  /** 5.0 Retain Handling: 0 send retained on subscribe, 1 only if the subscription is new, 2 never. */
  retainHandling: 0 | 1 | 2;
}

export interface SubscribeDecision {
  /** Subscriptions to add (or replace, same filter), in packet order. */
  granted: GrantedSubscription[];
  suback: ISubackPacket;
}

/**
 * Grants each subscription at min(qos, 1), or refuses it: not allowed
 * (`canSubscribe` false: 0x80 / 0x87), an invalid filter (0x80 / 0x8F), a
 * shared subscription (0x80 / 0x9E), a new filter past MAX_TOPIC_FILTERS per
 * client (0x80 / 0x97). `existing` is the client's current filters.
 */
export function decideSubscribe(
  version: MqttVersion,
  packet: ISubscribePacket,
  canSubscribe: boolean,
  existing: ReadonlySet<string> = new Set(),
): SubscribeDecision {
  const granted: GrantedSubscription[] = [];
  const codes: number[] = [];
  const filters = new Set(existing);
  for (const s of packet.subscriptions) {
    const refused = !canSubscribe
      ? Reason.NotAuthorized
      : s.topic.startsWith("$share/")
        ? Reason.SharedSubscriptionsNotSupported
        : !validFilter(s.topic)
          ? Reason.TopicFilterInvalid
          : !filters.has(s.topic) && filters.size >= MAX_TOPIC_FILTERS
            ? Reason.QuotaExceeded
            : null;
    if (refused !== null) {
      codes.push(version === 5 ? refused : 0x80);
      continue;
    }
    const qos: 0 | 1 = s.qos > 0 ? 1 : 0;
    filters.add(s.topic);
    granted.push({
      filter: s.topic,
      qos,
      noLocal: version === 5 && !!s.nl,
      retainAsPublished: version === 5 && !!s.rap,
      retainHandling: version === 5 ? ((s.rh ?? 0) as 0 | 1 | 2) : 0,
    });
    codes.push(qos);
  }
  return { granted, suback: { cmd: "suback", messageId: packet.messageId, granted: codes } };
}

/** UNSUBACK: 3.1.1 has no per-filter codes; 5.0 says whether each existed. */
export function decideUnsubscribe(version: MqttVersion, packet: IUnsubscribePacket, existing: ReadonlySet<string>): IUnsubackPacket {
  const unsuback: IUnsubackPacket = { cmd: "unsuback", messageId: packet.messageId, granted: [] };
  if (version === 5) {
    unsuback.granted = packet.unsubscriptions.map((f) => (existing.has(f) ? Reason.Success : Reason.NoSubscriptionExisted));
  }
  return unsuback;
}

// ---- PUBLISH (inbound) -------------------------------------------------------

export type PublishDecision =
  | {
      kind: "publish";
      topic: string;
      payload: Payload;
      /** retain and an empty payload: delete the topic's retained value, deliver nothing. */
      retain: boolean;
      clearsRetained: boolean;
      qos: 0 | 1;
      /** QoS 1: the id to PUBACK, and the key of the DUP dedupe. */
      packetId: number | null;
      dup: boolean;
    }
  /** Not published; send `ack` (if any) and go on. */
  | { kind: "drop"; ack: IPubackPacket | null }
  /** A protocol violation: send `disconnect` (5.0) if set, then close. */
  | { kind: "close"; reason: number; message: string; disconnect: IDisconnectPacket | null };

export function decidePublish(version: MqttVersion, packet: IPublishPacket, canPublish: boolean): PublishDecision {
  if (packet.qos === 2) return closeWith(version, Reason.QoSNotSupported, "QoS 2 is not supported");
  if (packet.properties?.topicAlias !== undefined) return closeWith(version, Reason.TopicAliasInvalid, "topic aliases are not supported (Topic Alias Maximum is 0)");
  if (!validTopic(packet.topic)) return closeWith(version, Reason.TopicNameInvalid, "PUBLISH topic is not a valid topic name");
  const packetId = packet.qos === 1 ? (packet.messageId ?? null) : null;
  if (!canPublish) {
    // 3.1.1 cannot refuse a PUBLISH: acknowledge and drop (as Mosquitto does). 5.0 says why in the PUBACK.
    return { kind: "drop", ack: packetId === null ? null : puback(version, packetId, Reason.NotAuthorized) };
  }
  const payload = inboundPayload(packet.payload);
  const empty = payload.kind === "text" ? payload.value === "" : payload.kind === "binary" && payload.value.length === 0;
  return {
    kind: "publish",
    topic: packet.topic,
    payload,
    retain: packet.retain,
    clearsRetained: packet.retain && empty,
    qos: packet.qos,
    packetId,
    dup: packet.dup,
  };
}

export function puback(version: MqttVersion, packetId: number, reasonCode: number = Reason.Success): IPubackPacket {
  return version === 5 && reasonCode !== Reason.Success ? { cmd: "puback", messageId: packetId, reasonCode } : { cmd: "puback", messageId: packetId };
}

/** The close for a protocol violation: 5.0 sends DISCONNECT with the reason first; 3.1.1 just closes. */
export function closeWith(version: MqttVersion, reason: number, message: string): { kind: "close"; reason: number; message: string; disconnect: IDisconnectPacket | null } {
  return { kind: "close", reason, message, disconnect: version === 5 ? { cmd: "disconnect", reasonCode: reason } : null };
}

/**
 * Which packets a server accepts after CONNECT. CONNACK, SUBACK, UNSUBACK,
 * PINGRESP from a client, a second CONNECT, and QoS 2 flow packets
 * (PUBREC/PUBREL/PUBCOMP, never started since we refuse QoS 2) are protocol
 * errors; AUTH (enhanced auth) is not supported.
 */
export function unexpectedPacket(version: MqttVersion, cmd: string): ReturnType<typeof closeWith> | null {
  switch (cmd) {
    case "publish":
    case "puback":
    case "subscribe":
    case "unsubscribe":
    case "pingreq":
    case "disconnect":
      return null;
    default:
      return closeWith(version, Reason.ProtocolError, `unexpected ${cmd.toUpperCase()} from a client`);
  }
}

// ---- payloads ----------------------------------------------------------------

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }) // keep a BOM: the text is the payload as sent;

/** An MQTT payload: valid UTF-8 is a text message, anything else binary. */
export function inboundPayload(payload: string | Uint8Array): Payload {
  if (typeof payload === "string") return { kind: "text", value: payload };
  try {
    return { kind: "text", value: strictUtf8.decode(payload) };
  } catch {
    return { kind: "binary", value: new Uint8Array(payload) };
  }
}

const encoder = new TextEncoder();

/**
 * What an MQTT subscriber receives for a payload: JSON data as JSON text,
 * text as UTF-8, binary as is. A JSON string arrives as its text, without
 * quotes, as a raw-mode socket gets it (rawForm) and as a replay from the
 * stored envelope must send it (see outboundPayloadOfEnvelope): live and
 * replayed deliveries are the same bytes.
 */
export function outboundPayload(payload: Payload): Uint8Array {
  const raw = rawForm(payload);
  return typeof raw === "string" ? encoder.encode(raw) : raw;
}

/**
 * The same for a stored envelope (history replay, retained values). A string
 * `data` is sent as that text (an envelope cannot tell a JSON string from a
 * text message; both arrive at a raw-mode socket the same way too).
 */
export function outboundPayloadOfEnvelope(envelope: string | MessageEnvelope): { topic: string | null; bytes: Uint8Array } {
  const e = typeof envelope === "string" ? (JSON.parse(envelope) as MessageEnvelope & { topic?: string }) : (envelope as MessageEnvelope & { topic?: string });
  const bytes = e.binary ? base64ToBytes(e.data as string) : encoder.encode(typeof e.data === "string" ? e.data : JSON.stringify(e.data));
  return { topic: typeof e.topic === "string" ? e.topic : null, bytes };
}

// ---- PUBLISH (outbound) ------------------------------------------------------

/** Delivered QoS: the lower of the subscription's and the message's (messages not from MQTT count as QoS 1). */
export function deliveryQos(subscriptionQos: 0 | 1, messageQos: 0 | 1 = 1): 0 | 1 {
  return subscriptionQos < messageQos ? subscriptionQos : messageQos;
}

export function outboundPublish(
  topic: string,
  payload: Uint8Array,
  qos: 0 | 1,
  packetId: number | null,
  retain: boolean,
): IPublishPacket {
  const packet: IPublishPacket = { cmd: "publish", topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: qos as QoS, dup: false, retain };
  if (qos === 1) packet.messageId = packetId!;
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

function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/**
 * Whether an inbound QoS 1 PUBLISH is a retry of one already published: DUP
 * set, and the same packet id was last used for the same topic and payload.
 * A DUP 0 PUBLISH is always new (a client reuses an id once it was PUBACKed).
 */
export function isRetriedPublish(dup: boolean, fingerprint: string, previous: { fingerprint: string } | null): boolean {
  return dup && previous !== null && previous.fingerprint === fingerprint;
}
