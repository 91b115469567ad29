/**
 * Parsing of the options a client puts on an upgrade, an SSE request or a
 * paged read. The Worker calls it to refuse bad input with a 400 before any
 * Room is touched, and hands the parsed values on (handoff/request.ts).
 */

export interface StreamOptions {
  /** Last seq the client saw; null when it does not resume. */
  since: number | null;
  /** Epoch of that seq; null when not given (the room's current epoch is assumed). */
  epoch: string | null;
  mode: "json" | "raw";
  echo: boolean;
  /** Receive presence frames (default); `presence=0` spares a device every join and leave. */
  presence: boolean;
  /** `topics=F1,F2`: only messages whose topic matches one of these filters; null: every message. */
  topics: string[] | null;
  /** `retained=1`: the matching retained values first, after the welcome. */
  retained: boolean;
  /** `batch=1` (JSON WebSocket only; ignored elsewhere): messages due at once in `batch` frames. */
  batch: boolean;
  /** `conflate=<ms>` (WebSocket and SSE): per topic, the latest message per interval; null: every message. */
  conflate: number | null;
}

import { MAX_CONFLATE_MS, MIN_CONFLATE_MS } from "../protocol";
import { parseTopicList, validTopic, type Parsed } from "../protocol/topics";

export type { Parsed };

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;

/** A seq as a client sends it: a non-negative safe integer in decimal. */
export function parseSeq(raw: string | null | undefined, name: string): Parsed<number | null> {
  if (raw === null || raw === undefined || raw === "") return { ok: true, value: null };
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    return { ok: false, message: `${name} must be a non-negative integer, got ${JSON.stringify(raw.slice(0, 32))}` };
  }
  return { ok: true, value: Number(raw) };
}

export function parseStreamOptions(url: URL, lastEventId: string | null = null): Parsed<StreamOptions> {
  const q = url.searchParams;
  const since = parseSeq(q.get("since") ?? lastEventId, q.has("since") ? "since" : "Last-Event-ID");
  if (!since.ok) return since;
  const epoch = q.get("epoch");
  if (epoch !== null && !EPOCH.test(epoch)) return { ok: false, message: "epoch is not a valid epoch" };
  const mode = q.get("mode") ?? "json";
  if (mode !== "json" && mode !== "raw") return { ok: false, message: `mode must be "json" or "raw", got ${JSON.stringify(mode.slice(0, 32))}` };
  const topics = parseTopicsParam(q.get("topics"));
  if (!topics.ok) return topics;
  const conflate = parseConflate(q.get("conflate"));
  if (!conflate.ok) return conflate;
  return {
    ok: true,
    value: {
      since: since.value,
      epoch,
      mode,
      echo: isOn(q.get("echo")),
      presence: q.get("presence") !== "0" && q.get("presence") !== "false",
      topics: topics.value,
      retained: isOn(q.get("retained")),
      batch: isOn(q.get("batch")),
      conflate: conflate.value,
    },
  };
}

/** `conflate=<ms>`: an integer in [MIN_CONFLATE_MS, MAX_CONFLATE_MS]; absent or 0: off. */
function parseConflate(raw: string | null): Parsed<number | null> {
  if (raw === null || raw === "" || raw === "0") return { ok: true, value: null };
  const ms = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(ms >= MIN_CONFLATE_MS && ms <= MAX_CONFLATE_MS)) {
    return { ok: false, message: `conflate must be 0 or ${MIN_CONFLATE_MS} to ${MAX_CONFLATE_MS} ms, got ${JSON.stringify(raw.slice(0, 32))}` };
  }
  return { ok: true, value: ms };
}

/** A presence page cursor: the last connection id of the previous page. */
export function parseCursor(raw: string | undefined): Parsed<string | null> {
  if (raw === undefined || raw === "") return { ok: true, value: null };
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) return { ok: false, message: "cursor is not one this relay gave out" };
  return { ok: true, value: raw };
}

const isOn = (v: string | null) => v === "1" || v === "true";

/** The `topics=` filter list of a stream or a history read; null when absent. */
export function parseTopicsParam(raw: string | null | undefined): Parsed<string[] | null> {
  if (raw === null || raw === undefined) return { ok: true, value: null };
  return parseTopicList(raw);
}

/** A publish's `topic` (body field or `?topic=`) and `retain`; the topic must be a valid topic. */
export function parseTopic(raw: unknown): Parsed<string | null> {
  if (raw === undefined || raw === null) return { ok: true, value: null };
  if (!validTopic(raw)) {
    return { ok: false, message: "topic must be 1 to 256 UTF-8 bytes, levels separated by /, with no +, # or NUL" };
  }
  return { ok: true, value: raw };
}
