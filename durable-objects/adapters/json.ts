/**
 * The default wire format: one JSON object per text frame, both ways
 * (docs/protocol.md). A binary frame is published as a binary message.
 */
import { MAX_PUBLISH_ID_LENGTH, type AckFrame, type ErrorFrame } from "../../protocol";
import { jsonDepthExceeds } from "../../protocol/json-depth";
import { MAX_JSON_DEPTH } from "../../protocol/limits";
import { parseTopic } from "../../handoff/options";
import { parseProperties } from "../../protocol/properties";
import type { Inbound, SocketAdapter } from "./adapter";

function parse(frame: string | ArrayBuffer): Inbound {
  if (typeof frame !== "string") {
    return { publish: { payload: { kind: "binary", value: new Uint8Array(frame) }, publishId: null, topic: null, retain: false } };
  }
  // The frame wrapper is one level more than its `data`; deeper is refused before parsing.
  if (jsonDepthExceeds(frame, MAX_JSON_DEPTH + 1)) {
    return { error: "bad_frame", message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    return { error: "bad_json", message: "frame is not valid JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { error: "bad_frame", message: 'frame must be a JSON object like {"type":"publish","data":…}' };
  }
  const { type, data, id, topic, retain, history, properties } = parsed as Record<string, unknown>;
  if (type !== "publish") return { error: "unknown_type", message: `unknown frame type ${JSON.stringify(type)}` };
  if (data === undefined) return { error: "bad_frame", message: "publish frame has no data" };
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > MAX_PUBLISH_ID_LENGTH)) {
    return { error: "bad_frame", message: `publish id must be a string of 1 to ${MAX_PUBLISH_ID_LENGTH} characters` };
  }
  const routed = parseTopic(topic);
  if (!routed.ok) return { error: "bad_topic", message: routed.message };
  if (retain !== undefined && typeof retain !== "boolean") return { error: "bad_frame", message: "retain must be true or false" };
  if (retain === true && routed.value === null) return { error: "bad_topic", message: "a retained publish needs a topic" };
  if (history !== undefined && typeof history !== "boolean") return { error: "bad_frame", message: "history must be true or false" };
  if (history === false && retain === true) return { error: "bad_frame", message: "a publish that skips history cannot be retained" };
  const props = parseProperties(properties);
  if (!props.ok) return { error: "bad_frame", message: props.message };
  const live = history === false ? { live: true as const } : {};
  const withProps = props.value === undefined ? {} : { properties: props.value };
  return { publish: { payload: { kind: "json", value: data }, publishId: id ?? null, topic: routed.value, retain: retain === true, ...live, ...withProps } };
}

export const jsonAdapter: SocketAdapter = {
  kind: "json",
  control: true,
  parse,
  message: (m) => m.envelope,
  replayed: (envelope) => envelope,
  welcome: (frame) => JSON.stringify(frame),
  presence: (event) => JSON.stringify(event),
  ack(id, seq) {
    const frame: AckFrame = { type: "ack", id, seq };
    return JSON.stringify(frame);
  },
  error(code, message) {
    const frame: ErrorFrame = { type: "error", code, message };
    return JSON.stringify(frame);
  },
};
