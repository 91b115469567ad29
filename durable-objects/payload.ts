/**
 * A published payload in the three shapes it can arrive in, and the two ways
 * it leaves: inside a JSON envelope, or bare for raw-mode sockets.
 */
import { base64ToBytes, bytesToBase64 } from "../protocol/base64";
import type { MessageEnvelope, MessageProperties } from "../protocol";

export type Payload =
  | { kind: "json"; value: unknown }
  | { kind: "text"; value: string }
  | { kind: "binary"; value: Uint8Array };

/** Whether a text frame is longer than `limit` UTF-8 bytes, encoding only when it must. */
export function textExceeds(text: string, limit: number): boolean {
  if (text.length > limit) return true; // every UTF-16 code unit is at least one byte
  if (text.length * 3 <= limit) return false; // and at most three
  return new TextEncoder().encode(text).length > limit;
}

/** Where a message goes: its topic (null: none) and whether it is the topic's retained value. */
export interface Routing {
  topic: string | null;
  retain: boolean;
}

/** A publish as it enters the Room core, from any wire format or the Worker. */
export interface PublishInput extends Routing {
  payload: Payload;
  /** The publisher's id as shown in `from`. */
  from: string;
  /** Whose idempotency keys these are: the token's `sub`; null in open mode (keys are shared). */
  publisher: string | null;
  /** Idempotency key; null when the publish has none. */
  publishId: string | null;
  /** Skips history: delivered live, not stored, no seq of its own (docs/protocol.md, "Publishes that skip history"). */
  live?: true;
  /** Its properties (protocol/properties.ts), shown in the envelope. */
  properties?: MessageProperties;
  /** An MQTT publish's QoS when below 2 (what its MQTT subscribers get at most). */
  qos?: 0 | 1;
}

/** What an envelope carries besides the payload and its place. */
export interface EnvelopeExtras extends Routing {
  live?: true;
  properties?: MessageProperties;
  qos?: 0 | 1;
}

export function buildEnvelope(room: string, seq: number, from: string, ts: number, payload: Payload, routing: EnvelopeExtras): string {
  const envelope: MessageEnvelope = { type: "message", room, seq, from, ts, data: null };
  if (routing.topic !== null) envelope.topic = routing.topic;
  if (payload.kind === "binary") {
    envelope.data = bytesToBase64(payload.value);
    envelope.binary = true;
  } else {
    envelope.data = payload.value;
  }
  if (routing.retain) envelope.retain = true;
  if (routing.live) envelope.live = true;
  if (routing.qos !== undefined) envelope.qos = routing.qos;
  if (routing.properties !== undefined) envelope.properties = routing.properties;
  return JSON.stringify(envelope);
}

/** The empty payload that, published with `retain`, clears a topic's retained value (as MQTT does). */
export function isEmptyPayload(payload: Payload): boolean {
  if (payload.kind === "binary") return payload.value.byteLength === 0;
  return payload.value === "";
}

/** What a raw-mode socket receives: the payload as it was sent. */
export function rawForm(payload: Payload): string | Uint8Array {
  if (payload.kind === "binary" || payload.kind === "text") return payload.value;
  return typeof payload.value === "string" ? payload.value : JSON.stringify(payload.value);
}

/** The payload back from a stored envelope (a shard catching up from history has only those). */
export function payloadOfEnvelope(envelope: string): Payload {
  const parsed = JSON.parse(envelope) as MessageEnvelope;
  if (parsed.binary) return { kind: "binary", value: base64ToBytes(parsed.data as string) };
  return typeof parsed.data === "string" ? { kind: "text", value: parsed.data } : { kind: "json", value: parsed.data };
}

/** A payload's weight as an RPC carries it, closely enough for bounding a call (UTF-16 units for text). */
export function payloadWeight(payload: Payload): number {
  if (payload.kind === "binary") return payload.value.byteLength;
  if (payload.kind === "text") return payload.value.length;
  return JSON.stringify(payload.value)?.length ?? 4;
}
