/**
 * The room's lifecycle events (`$events/connected`, `disconnected`,
 * `occupied`, `vacated`; on when the relay's EVENTS var names them), read on
 * an SSE stream of their own with `topics=$events/#`.
 *
 * Why a second stream: the room sends `$events/...` only to readers whose
 * filter names `$events`, and a filter on the page's WebSocket would also
 * drop every message without a topic. Why SSE rather than a second
 * WebSocket: an SSE stream is not a member of the room, so the device list
 * and the connection count stay what they are without the page's helper in
 * them; EventSource resumes by itself (Last-Event-ID), so events that happen
 * while the link is down still arrive. A room without EVENTS sends nothing
 * on it, and the view stays hidden: the page learns that events are on when
 * the first one arrives.
 */
import { roomHttpUrl } from "../protocol/index.js";

export type LifecycleKind = "connected" | "disconnected" | "occupied" | "vacated";

export interface LifecycleEvent {
  kind: LifecycleKind;
  seq: number;
  id: string;
  sub: string | null;
  /** The connection's wire format: json, raw, sse, mqtt. */
  wire: string;
  at: number;
  code: number | null;
  reason: string | null;
}

const KINDS: readonly string[] = ["connected", "disconnected", "occupied", "vacated"];

/** An `$events/...` envelope as a LifecycleEvent; null for anything else (a sink's overflow, a kind this page does not know). */
export function lifecycleEventOf(envelope: { seq?: unknown; topic?: unknown; data?: unknown }): LifecycleEvent | null {
  const kind = typeof envelope.topic === "string" ? envelope.topic.replace(/^\$events\//, "") : "";
  const d = envelope.data as Record<string, unknown> | null;
  if (!KINDS.includes(kind) || typeof d !== "object" || d === null || typeof d.id !== "string") return null;
  return {
    kind: kind as LifecycleKind,
    seq: typeof envelope.seq === "number" ? envelope.seq : 0,
    id: d.id,
    sub: typeof d.sub === "string" ? d.sub : null,
    wire: typeof d.kind === "string" ? d.kind : "?",
    at: typeof d.at === "number" ? d.at : Date.now(),
    code: typeof d.code === "number" ? d.code : null,
    reason: typeof d.reason === "string" && d.reason !== "" ? d.reason : null,
  };
}

/** Opens the stream; returns a function that closes it. */
export function followLifecycle(origin: string, room: string, token: string | undefined, onEvent: (event: LifecycleEvent) => void): () => void {
  const query = new URLSearchParams({ topics: "$events/#", presence: "0" });
  // EventSource cannot set Authorization; the relay takes `token=` for such clients.
  if (token) query.set("token", token);
  const source = new EventSource(`${roomHttpUrl(origin, room, "/events")}?${query}`);
  source.addEventListener("message", (message: MessageEvent<string>) => {
    let envelope: unknown;
    try {
      envelope = JSON.parse(message.data);
    } catch {
      return; // not an envelope: nothing to show
    }
    const event = typeof envelope === "object" && envelope !== null ? lifecycleEventOf(envelope) : null;
    if (event) onEvent(event);
  });
  return () => source.close();
}
