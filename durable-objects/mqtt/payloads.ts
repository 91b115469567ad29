/**
 * MQTT payloads are bytes; room payloads are text, JSON data or binary. One
 * mapping each way, so a live delivery and a replay from the stored envelope
 * send the same bytes.
 */
import { base64ToBytes } from "../../protocol/base64";
import type { MessageEnvelope, MessageProperties } from "../../protocol";
import { rawForm, type Payload } from "../payload";

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

export const encoder = new TextEncoder();

export function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

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
export function outboundPayloadOfEnvelope(envelope: string | MessageEnvelope): { topic: string | null; bytes: Uint8Array; meta: EnvelopeMeta } {
  const e = typeof envelope === "string" ? (JSON.parse(envelope) as MessageEnvelope & { topic?: string }) : (envelope as MessageEnvelope & { topic?: string });
  const bytes = e.binary ? base64ToBytes(e.data as string) : encoder.encode(typeof e.data === "string" ? e.data : JSON.stringify(e.data));
  return { topic: typeof e.topic === "string" ? e.topic : null, bytes, meta: metaOf(e) };
}

/** What a delivery to an MQTT client needs of an envelope besides its payload: the publish QoS (2 unless an MQTT client published below it), properties, and when it was accepted (for the expiry). */
export interface EnvelopeMeta {
  qos: 0 | 1 | 2;
  properties: MessageProperties | undefined;
  ts: number;
}

const PLAIN: EnvelopeMeta = { qos: 2, properties: undefined, ts: 0 };

export function metaOf(e: MessageEnvelope): EnvelopeMeta {
  if (e.qos === undefined && e.properties === undefined) return PLAIN;
  return { qos: e.qos ?? 2, properties: e.properties, ts: e.ts };
}

/** The same for a live message's envelope text: parsed only when it may carry either (most messages do not). */
export function envelopeMeta(envelope: string): EnvelopeMeta {
  if (!envelope.includes('"qos":') && !envelope.includes('"properties":')) return PLAIN;
  return metaOf(JSON.parse(envelope) as MessageEnvelope);
}
