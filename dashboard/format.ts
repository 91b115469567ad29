/**
 * How payloads and times are shown. Pure functions, no DOM: the message list
 * and the presence list both use them.
 */
import { base64ToBytes } from "../protocol/base64.js";
import type { MessageEnvelope } from "../protocol/index.js";

/** Bytes shown in a binary payload's hex preview. */
const HEX_PREVIEW_BYTES = 32;
/** Longest text kept per message; a 64 KiB JSON document is unreadable in a list anyway. */
const MAX_SHOWN_CHARS = 4_000;

export interface ShownPayload {
  kind: "json" | "text" | "binary";
  /** Short description: "binary · 12 B", "text", "object". */
  label: string;
  body: string;
}

export function showPayload(envelope: Pick<MessageEnvelope, "data" | "binary">): ShownPayload {
  if (envelope.binary && typeof envelope.data === "string") {
    let bytes: Uint8Array;
    try {
      bytes = base64ToBytes(envelope.data);
    } catch {
      return { kind: "binary", label: "binary · unreadable base64", body: envelope.data.slice(0, MAX_SHOWN_CHARS) };
    }
    return { kind: "binary", label: `binary · ${formatBytes(bytes.length)}`, body: hexPreview(bytes) };
  }
  if (typeof envelope.data === "string") return { kind: "text", label: "text", body: clip(envelope.data) };
  const label = envelope.data === null ? "null" : Array.isArray(envelope.data) ? "array" : typeof envelope.data;
  return { kind: "json", label, body: clip(JSON.stringify(envelope.data, null, 2) ?? String(envelope.data)) };
}

/** "0a 1b ff …" for the first bytes, with an ellipsis when there are more. */
export function hexPreview(bytes: Uint8Array, max = HEX_PREVIEW_BYTES): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, "0")).join(" ");
  if (bytes.length === 0) return "(empty)";
  return bytes.length > max ? `${shown} …` : shown;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
}

function clip(text: string): string {
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}\n… (${text.length - MAX_SHOWN_CHARS} more characters)` : text;
}

/** One formatter for every time shown: toLocaleTimeString builds a new one per call, which is slow at hundreds a second. */
let clock: Intl.DateTimeFormat | undefined;

/** Local wall-clock time with seconds, e.g. "14:03:07". */
export function clockTime(ms: number): string {
  clock ??= new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return clock.format(ms);
}

/** What the publish box sends: JSON when the text parses as JSON, the text itself otherwise. */
export function parseInput(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
