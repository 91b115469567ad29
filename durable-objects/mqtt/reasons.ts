/**
 * The reason codes we send, and the two rules every packet after CONNECT
 * shares: which packets a client may send at all, and how a violation closes
 * the connection in each version.
 */
import type { IDisconnectPacket } from "mqtt-packet";
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
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  ReceiveMaximumExceeded: 0x93,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  QoSNotSupported: 0x9b,
  TopicAliasInvalid: 0x94,
  SharedSubscriptionsNotSupported: 0x9e,
  SubscriptionIdentifiersNotSupported: 0xa1,
} as const;

/** The close for a protocol violation: 5.0 sends DISCONNECT with the reason first; 3.1.1 just closes. */
export function closeWith(version: MqttVersion, reason: number, message: string): { kind: "close"; reason: number; message: string; disconnect: IDisconnectPacket | null } {
  return { kind: "close", reason, message, disconnect: version === 5 ? { cmd: "disconnect", reasonCode: reason } : null };
}

/**
 * Which packets a server accepts after CONNECT. CONNACK, SUBACK, UNSUBACK,
 * PINGRESP from a client and a second CONNECT are protocol errors; AUTH
 * (enhanced auth) is not supported. PUBREC/PUBREL/PUBCOMP are QoS 2's.
 */
export function unexpectedPacket(version: MqttVersion, cmd: string): ReturnType<typeof closeWith> | null {
  switch (cmd) {
    case "publish":
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "subscribe":
    case "unsubscribe":
    case "pingreq":
    case "disconnect":
      return null;
    default:
      return closeWith(version, Reason.ProtocolError, `unexpected ${cmd.toUpperCase()} from a client`);
  }
}
