/**
 * What a CONNECT may ask and what the CONNACK answers: protocol level,
 * client id, will, session expiry, receive maximum. 3.1.1 and 5.0 refuse in
 * different codes, so each refusal is named once and mapped per version.
 */
import type { MessageProperties } from "../../protocol/properties";
import { messageProperties } from "./properties";
import type { IConnackPacket, IConnectPacket } from "mqtt-packet";
import { Buffer } from "node:buffer";
import { validTopic } from "../../protocol/topics";
import type { Payload } from "../payload";
import type { MqttVersion } from "./codec";
import { inboundPayload, utf8Length } from "./payloads";
import { Reason } from "./reasons";

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
/** Inbound QoS 1 PUBLISHes a client may have unacknowledged: our Receive Maximum in the 5.0 CONNACK. */
export const MAX_INFLIGHT = 32;
/** We serve QoS 0, 1 and 2 both ways (5.0: CONNACK leaves Maximum QoS out, which means 2). */
export const MAX_QOS = 2;

export interface Will {
  topic: string;
  payload: Payload;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** 5.0 will properties, published with it like a PUBLISH's. */
  properties?: MessageProperties;
  /** 5.0 Will Delay Interval, seconds (absent: none). */
  delay?: number;
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
  /** The 5.0 client's Receive Maximum (QoS 1 PUBLISHes it takes unacknowledged); null: it set none (3.1.1, or 5.0 without the property). */
  receiveMaximum: number | null;
  /** The 5.0 client's Maximum Packet Size in bytes; null: none of its own. */
  maximumPacketSize: number | null;
  /** The 5.0 client's Topic Alias Maximum (0: it takes none). */
  topicAliasMaximum: number;
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
    // Every will QoS is served (MAX_QOS is 2); a QoS 3 will is malformed and the codec refuses it first.
    const willQos = Math.min(packet.will.qos ?? 0, MAX_QOS) as 0 | 1 | 2;
    will = { topic: packet.will.topic, payload: inboundPayload(packet.will.payload), qos: willQos, retain: !!packet.will.retain };
    const properties = version === 5 ? messageProperties(packet.will.properties) : undefined;
    if (properties !== undefined) will.properties = properties;
    const delay = version === 5 ? packet.will.properties?.willDelayInterval : undefined;
    if (typeof delay === "number" && delay > 0) will.delay = delay;
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

  const receiveMaximum = version === 5 ? (packet.properties?.receiveMaximum ?? null) : null;
  const maximumPacketSize = version === 5 ? (packet.properties?.maximumPacketSize ?? null) : null;
  const topicAliasMaximum = version === 5 ? (packet.properties?.topicAliasMaximum ?? 0) : 0;
  return {
    ok: true,
    version,
    clientId,
    assignedClientId: assigned,
    cleanStart: clean,
    sessionExpirySeconds: expiry,
    expiryCapped: capped,
    keepaliveSeconds: packet.keepalive ?? 0,
    receiveMaximum: receiveMaximum === null ? null : Math.max(1, receiveMaximum),
    maximumPacketSize: maximumPacketSize === null || maximumPacketSize < 1 ? null : maximumPacketSize,
    topicAliasMaximum,
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
export function acceptedConnack(c: AcceptedConnect, sessionPresent: boolean, maxPacketBytes?: number, serverKeepAlive?: number): IConnackPacket {
  const packet = connack(c.version, sessionPresent, 0);
  if (c.version === 5) {
    // No maximumQoS: absent means 2, and 5.0 allows only 0 or 1 there [MQTT-3.2.2-9].
    packet.properties = {
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      sharedSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      topicAliasMaximum: 0,
      receiveMaximum: MAX_INFLIGHT,
    };
    if (maxPacketBytes !== undefined) packet.properties.maximumPacketSize = maxPacketBytes;
    if (c.assignedClientId) packet.properties.assignedClientIdentifier = c.clientId;
    if (c.expiryCapped) packet.properties.sessionExpiryInterval = c.sessionExpirySeconds;
    if (serverKeepAlive !== undefined) packet.properties.serverKeepAlive = serverKeepAlive;
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

/**
 * The keep-alive a connection is held to: its own, or MQTT_MAX_KEEPALIVE_SECONDS
 * when that is set and the client asked for more or for none. Only 5.0 can be
 * told (CONNACK Server Keep Alive); a 3.1.1 client keeps its own.
 */
export function keepAliveFor(v: MqttVersion, asked: number, max: number): number {
  if (v !== 5 || max === 0) return asked;
  return asked === 0 || asked > max ? max : asked;
}
