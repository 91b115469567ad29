/**
 * The room's lifecycle events (`$events/connected`, `disconnected`,
 * `occupied`, `vacated`; on when the relay's EVENTS var names them), read by
 * a second RoomcastClient of the page with `topics=$events/#`.
 *
 * Why a second connection: the room sends `$events/...` only to readers
 * whose filter names `$events`, and a filter on the page's own WebSocket
 * would also drop every message without a topic. Why a WebSocket and not
 * SSE: a WebSocket lets the room hibernate, an open SSE stream keeps it in
 * memory (and a stream the relay cuts is logged by the browser as a network
 * error). The price is that it is a member of the room: the device list
 * hides it and does not count it (PresenceView.hide). It is opened after the
 * page's first welcome, so that welcome's count never includes it. A room
 * without EVENTS sends nothing on it, and the view stays hidden: the page
 * learns that events are on when the first one arrives.
 */
import { RoomcastClient } from "../client/index.js";

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

/** Connects the helper; `close` ends it, `id` is its connection id while it is connected (to hide it). */
export function followLifecycle(
  origin: string,
  room: string,
  token: string | undefined,
  onEvent: (event: LifecycleEvent) => void,
  from?: { since: number; epoch: string },
): { close(): void; id(): string | undefined } {
  // It resumes from where the page was welcomed: an event of a device that
  // came while this second connection was still opening is not missed.
  const helper = new RoomcastClient({ url: origin, room, token, topics: ["$events/#"], ...(from ?? {}) });
  helper.on("message", (envelope) => {
    const event = lifecycleEventOf(envelope);
    if (event) onEvent(event);
  });
  return { close: () => helper.close(), id: () => helper.id };
}
