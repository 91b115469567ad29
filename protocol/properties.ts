/**
 * A message's properties: MQTT 5's PUBLISH properties, in the envelope's
 * `properties` field, so that they reach every reader (MQTT, JSON, SSE,
 * history, sinks) and request/response works across MQTT and JSON: an MQTT 5
 * requester's response topic and correlation data reach a JSON responder,
 * whose publish with `properties` reaches the MQTT requester as PUBLISH
 * properties. One module: the shape, its bounds, and the check of a JSON
 * publisher's `properties` (the MQTT wire maps its packet in mqtt/).
 */
import { validTopic } from "./topics.js";

export interface MessageProperties {
  /** 1: the payload is UTF-8 text (MQTT Payload Format Indicator); 0 or absent: unspecified bytes. */
  payloadFormat?: 0 | 1;
  /** A MIME type, as the publisher said it. */
  contentType?: string;
  /** Where a response goes (a topic name, no wildcards). */
  responseTopic?: string;
  /** Ties a response to its request: base64 of the bytes. */
  correlationData?: string;
  /** Name/value pairs in the order published; a name may repeat. */
  userProperties?: Array<[string, string]>;
  /** Seconds the message lives after the room accepted it (its `ts`): past it, it is no longer delivered. */
  messageExpiry?: number;
}

/** Bounds on a publish's properties: all together are small next to a message. */
export const MAX_PROPERTY_STRING = 1024;
export const MAX_USER_PROPERTIES = 32;
/** Longest correlation data, in base64 characters (768 bytes). */
export const MAX_CORRELATION_BASE64 = 1024;
/** MQTT's own bound on Message Expiry Interval (a four-byte integer). */
export const MAX_MESSAGE_EXPIRY = 0xffffffff;

export type PropertiesCheck = { ok: true; value: MessageProperties | undefined } | { ok: false; message: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const str = (v: unknown) => typeof v === "string" && v.length <= MAX_PROPERTY_STRING;

/** A JSON publisher's `properties` (WebSocket frame or HTTP body): checked, and kept only for known names. */
export function parseProperties(raw: unknown): PropertiesCheck {
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  if (typeof raw !== "object" || Array.isArray(raw)) return { ok: false, message: "properties must be an object" };
  const p = raw as Record<string, unknown>;
  for (const name of Object.keys(p)) {
    if (!KNOWN.has(name)) return { ok: false, message: `unknown property ${JSON.stringify(name)} (known: ${[...KNOWN].join(", ")})` };
  }
  const out: MessageProperties = {};
  if (p.payloadFormat !== undefined) {
    if (p.payloadFormat !== 0 && p.payloadFormat !== 1) return { ok: false, message: "properties.payloadFormat must be 0 or 1" };
    out.payloadFormat = p.payloadFormat;
  }
  if (p.contentType !== undefined) {
    if (!str(p.contentType)) return { ok: false, message: `properties.contentType must be a string of at most ${MAX_PROPERTY_STRING} characters` };
    out.contentType = p.contentType as string;
  }
  if (p.responseTopic !== undefined) {
    if (!str(p.responseTopic) || !validTopic(p.responseTopic as string)) return { ok: false, message: "properties.responseTopic must be a topic name (no wildcards)" };
    out.responseTopic = p.responseTopic as string;
  }
  if (p.correlationData !== undefined) {
    const c = p.correlationData;
    if (typeof c !== "string" || c.length > MAX_CORRELATION_BASE64 || c.length % 4 !== 0 || !BASE64.test(c)) {
      return { ok: false, message: `properties.correlationData must be base64 of at most ${MAX_CORRELATION_BASE64} characters` };
    }
    out.correlationData = c;
  }
  if (p.userProperties !== undefined) {
    const pairs = userPairs(p.userProperties);
    if (pairs === null) {
      return { ok: false, message: `properties.userProperties must be an object of strings (or arrays of strings) or a list of [name, value] pairs, at most ${MAX_USER_PROPERTIES}` };
    }
    if (pairs.length > 0) out.userProperties = pairs;
  }
  if (p.messageExpiry !== undefined) {
    const e = p.messageExpiry;
    if (typeof e !== "number" || !Number.isInteger(e) || e < 1 || e > MAX_MESSAGE_EXPIRY) return { ok: false, message: "properties.messageExpiry must be a whole number of seconds, at least 1" };
    out.messageExpiry = e;
  }
  return { ok: true, value: Object.keys(out).length === 0 ? undefined : out };
}

const KNOWN = new Set(["payloadFormat", "contentType", "responseTopic", "correlationData", "userProperties", "messageExpiry"]);

/** `{"a":"1","b":["2","3"]}` (mqtt.js's shape) or `[["a","1"],["b","2"]]`, as ordered pairs; null when malformed or too many. */
export function userPairs(raw: unknown): Array<[string, string]> | null {
  const pairs: Array<[string, string]> = [];
  if (Array.isArray(raw)) {
    for (const pair of raw) {
      if (!Array.isArray(pair) || pair.length !== 2 || !str(pair[0]) || !str(pair[1])) return null;
      pairs.push([pair[0], pair[1]]);
    }
  } else if (typeof raw === "object" && raw !== null) {
    for (const [name, value] of Object.entries(raw)) {
      if (!str(name)) return null;
      for (const v of Array.isArray(value) ? value : [value]) {
        if (!str(v)) return null;
        pairs.push([name, v as string]);
      }
    }
  } else {
    return null;
  }
  return pairs.length > MAX_USER_PROPERTIES ? null : pairs;
}

/** Seconds a message with `properties` published at `ts` has left at `now`; null when it does not expire, 0 when it has expired. */
export function expiryLeft(properties: MessageProperties | undefined, ts: number, now: number): number | null {
  if (properties?.messageExpiry === undefined) return null;
  const left = properties.messageExpiry - Math.floor(Math.max(0, now - ts) / 1000);
  return Math.max(0, left);
}

/** Whether a stored envelope's message has expired at `now` (parsed only when it may carry an expiry). */
export function envelopeExpired(envelope: string, now: number): boolean {
  if (!envelope.includes('"messageExpiry":')) return false;
  const e = JSON.parse(envelope) as { ts?: number; properties?: MessageProperties };
  return expiryLeft(e.properties, e.ts ?? 0, now) === 0;
}
