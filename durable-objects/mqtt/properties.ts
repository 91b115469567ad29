/**
 * MQTT 5 PUBLISH (and will) properties to a message's properties and back
 * (protocol/properties.ts has the shape every reader sees). In: what a
 * PUBLISH or a will says, bounded like a JSON publisher's. Out: the PUBLISH
 * properties of a delivery, with the Message Expiry Interval counted down
 * to what is left ([MQTT-3.3.2-6]). 3.1.1 has no properties: its clients
 * get none, and nothing they publish has any.
 */
import { Buffer } from "node:buffer";
import type { IPublishPacket } from "mqtt-packet";
import { base64ToBytes, bytesToBase64 } from "../../protocol/base64";
import { MAX_CORRELATION_BASE64, MAX_PROPERTY_STRING, userPairs, type MessageProperties } from "../../protocol/properties";

/** The properties a PUBLISH and a will share (mqtt-packet's names). */
export interface WireMessageProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

export type PublishProperties = NonNullable<IPublishPacket["properties"]>;

/** A message's properties from a PUBLISH or a will; undefined when it has none we keep. Over-long values are dropped (bounded like a JSON publish's). */
export function messageProperties(wire: WireMessageProperties | undefined): MessageProperties | undefined {
  if (wire === undefined) return undefined;
  const out: MessageProperties = {};
  if (wire.payloadFormatIndicator !== undefined) out.payloadFormat = wire.payloadFormatIndicator ? 1 : 0;
  if (typeof wire.contentType === "string" && wire.contentType.length <= MAX_PROPERTY_STRING) out.contentType = wire.contentType;
  if (typeof wire.responseTopic === "string" && wire.responseTopic.length <= MAX_PROPERTY_STRING) out.responseTopic = wire.responseTopic;
  if (wire.correlationData !== undefined) {
    const b64 = bytesToBase64(new Uint8Array(wire.correlationData.buffer, wire.correlationData.byteOffset, wire.correlationData.byteLength));
    if (b64.length <= MAX_CORRELATION_BASE64) out.correlationData = b64;
  }
  if (wire.userProperties !== undefined) {
    const pairs = userPairs(wire.userProperties);
    if (pairs !== null && pairs.length > 0) out.userProperties = pairs;
  }
  if (typeof wire.messageExpiryInterval === "number" && wire.messageExpiryInterval > 0) out.messageExpiry = wire.messageExpiryInterval;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The PUBLISH properties of a delivery: `expiryLeft` is what remains of the Message Expiry Interval (null: none). */
export function publishProperties(p: MessageProperties | undefined, expiryLeft: number | null): PublishProperties | undefined {
  if (p === undefined) return undefined;
  const out: PublishProperties = {};
  if (p.payloadFormat !== undefined) out.payloadFormatIndicator = p.payloadFormat === 1;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = Buffer.from(base64ToBytes(p.correlationData));
  if (p.userProperties !== undefined) out.userProperties = userObject(p.userProperties);
  if (expiryLeft !== null) out.messageExpiryInterval = expiryLeft;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Pairs as mqtt-packet writes them: one value, or a list for a repeated name (its order kept per name). */
function userObject(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}
