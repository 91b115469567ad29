/**
 * How each system's frames look. Roomcast (with or without hooks) wraps every message in its JSON
 * envelope (the seq comes from the room); the others forward the publisher's
 * frame as it was, so the publisher numbers its messages itself (`n`). Either
 * way a subscriber gets back (seq, reading), which is what the tally counts.
 */
import { newReading, type Reading } from "../../load/index.js";
import { roomPath, speaksRoomcast, type SystemEndpoint } from "../systems/system.js";

/** Milliseconds with sub-millisecond resolution, on one clock for publisher and subscribers (same process). */
export const now = (): number => performance.timeOrigin + performance.now();

export interface Delivered {
  seq: number;
  data: Reading & { n?: number };
}

/** How a Roomcast socket joins: its mode, whether it wants presence frames, and where it resumes from. */
export interface JoinOptions {
  mode?: "json" | "raw";
  presence?: boolean;
  resume?: { since: number; epoch: string };
}

/** The room's WebSocket URL; the join options mean something to Roomcast only (the others ignore the query). */
export function socketUrl(endpoint: SystemEndpoint, room: string, mode: "json" | "raw" | JoinOptions = "json"): string {
  const join: JoinOptions = typeof mode === "string" ? { mode } : mode;
  const url = new URL(roomPath(endpoint, room), endpoint.origin);
  url.protocol = "ws:";
  if (speaksRoomcast(endpoint.name)) {
    if (join.mode === "raw") url.searchParams.set("mode", "raw");
    if (join.presence === false) url.searchParams.set("presence", "0");
    if (endpoint.batch && join.mode !== "raw") url.searchParams.set("batch", "1");
    if (endpoint.token) url.searchParams.set("token", endpoint.token);
    if (endpoint.conflate !== undefined) url.searchParams.set("conflate", String(endpoint.conflate));
    if (join.resume) {
      url.searchParams.set("since", String(join.resume.since));
      url.searchParams.set("epoch", join.resume.epoch);
    }
  }
  return url.toString();
}

export function counterUrl(endpoint: SystemEndpoint, room: string): string {
  return new URL(roomPath(endpoint, room), endpoint.origin).toString();
}

/**
 * The topic of every Roomcast publish of the bench: telemetry has one, and
 * the ACL and sink variants need one (an ACL or a sink matches topics).
 */
export const BENCH_TOPIC = "bench/pub";

/** The frame the publisher sends for its `n`-th message (n from 1). */
export function publishFrame(endpoint: SystemEndpoint, publisher: string, n: number): string {
  const data = { ...newReading(publisher, n, now()), n };
  if (!speaksRoomcast(endpoint.name)) return JSON.stringify(data);
  return JSON.stringify({ type: "publish", topic: BENCH_TOPIC, data, ...(endpoint.live ? { history: false } : {}) });
}

const NONE: readonly Delivered[] = [];

/** A received frame's deliveries, in order: one, several (a Roomcast batch frame), or none (welcome, presence, pong). */
export function decode(endpoint: SystemEndpoint, frame: string | Buffer): readonly Delivered[] {
  if (typeof frame !== "string" || frame === "pong") return NONE;
  type Envelope = { type?: string; seq?: number; live?: boolean; data?: Delivered["data"]; n?: number };
  const parsed = JSON.parse(frame) as Envelope & { messages?: Envelope[] };
  if (speaksRoomcast(endpoint.name)) {
    // A message that skipped history carries the seq of the stored one before it: count it by the publisher's n.
    const delivered = (m: Envelope): Delivered => ({ seq: m.live ? m.data!.n! : m.seq!, data: m.data! });
    if (parsed.type === "batch") return parsed.messages!.map(delivered);
    return parsed.type === "message" ? [delivered(parsed)] : NONE;
  }
  return typeof parsed.n === "number" ? [{ seq: parsed.n, data: parsed as Delivered["data"] }] : NONE;
}
