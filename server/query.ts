/**
 * Parsing of the options a client puts on an upgrade, an SSE request or a
 * paged read. The Worker calls it to refuse bad input with a 400 before any
 * Room is touched, and hands the parsed values on (server/handoff.ts).
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
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

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
  const echo = q.get("echo");
  const presence = q.get("presence");
  return {
    ok: true,
    value: { since: since.value, epoch, mode, echo: echo === "1" || echo === "true", presence: presence !== "0" && presence !== "false" },
  };
}

/** A presence page cursor: the last connection id of the previous page. */
export function parseCursor(raw: string | undefined): Parsed<string | null> {
  if (raw === undefined || raw === "") return { ok: true, value: null };
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) return { ok: false, message: "cursor is not one this relay gave out" };
  return { ok: true, value: raw };
}
