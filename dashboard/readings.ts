/**
 * What a tile shows of a message: its numeric fields (for the big figure, the
 * sparkline and the chart) and a one-line text for everything else. Pure
 * functions, no DOM.
 */
import type { MessageEnvelope } from "../protocol/index.js";
import { showPayload } from "./format.js";

/** Numeric fields kept per message: a tile stays readable, a series stays small. */
export const MAX_FIELDS = 6;
/** Longest text a tile shows; the log view has the whole payload. */
const MAX_TILE_TEXT = 160;

/** A message's numbers by field name; a bare number is the field "value". */
export type Fields = Map<string, number>;

export interface Reading {
  fields: Fields;
  /** One line for a person: "21.5", "t 21.5 · rh 41", "door opened". */
  text: string;
}

export function readingOf(envelope: Pick<MessageEnvelope, "data" | "binary">): Reading {
  const fields: Fields = new Map();
  if (envelope.binary) return { fields, text: showPayload(envelope).label };
  let data = envelope.data;
  // A device that sends JSON as a text payload (MQTT, raw sockets) is read as that JSON.
  if (typeof data === "string") {
    const trimmed = data.trim();
    if (trimmed !== "" && /^[[{\d-]/.test(trimmed)) {
      try {
        data = JSON.parse(trimmed) as unknown;
      } catch {
        // plain text
      }
    }
  }
  if (typeof data === "number" && Number.isFinite(data)) {
    fields.set("value", data);
    return { fields, text: formatNumber(data) };
  }
  if (typeof data === "boolean") {
    fields.set("value", data ? 1 : 0);
    return { fields, text: String(data) };
  }
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    collect(data as Record<string, unknown>, "", fields);
    if (fields.size > 0) return { fields, text: [...fields].map(([k, v]) => `${k} ${formatNumber(v)}`).join(" · ") };
  }
  const text = typeof data === "string" ? data : (JSON.stringify(data) ?? String(data));
  return { fields, text: clipLine(text) };
}

/** Field names devices use for their own clock; with a millisecond epoch value they are a time, not a reading. */
const TIME_FIELDS = new Set(["t", "ts", "time", "timestamp"]);
const EPOCH_MS_FROM = 1e11;

/**
 * Numeric fields, one level of nesting deep (`{"env":{"t":1}}` gives
 * `env.t`), leaving out a device's own timestamp (`"ts": 1764640000000`):
 * charted next to a temperature it would flatten it.
 */
function collect(object: Record<string, unknown>, prefix: string, into: Fields): void {
  for (const [key, value] of Object.entries(object)) {
    if (into.size >= MAX_FIELDS) return;
    const name = prefix + key;
    if (typeof value === "number" && Number.isFinite(value)) {
      if (!(TIME_FIELDS.has(key) && value >= EPOCH_MS_FROM)) into.set(name, value);
    }
    else if (prefix === "" && typeof value === "object" && value !== null && !Array.isArray(value)) collect(value as Record<string, unknown>, `${name}.`, into);
  }
}

/** Up to 6 significant digits, no trailing zeros: 19.25, 0.000123, 1234567. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(6)));
}

function clipLine(text: string): string {
  const line = text.replace(/\s+/g, " ");
  return line.length > MAX_TILE_TEXT ? `${line.slice(0, MAX_TILE_TEXT)}…` : line;
}

/** "now", "4 s ago", "3 min ago", "2 h ago". */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 1) return "now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}
