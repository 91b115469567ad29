/** Small HTTP helpers for tests against a relay. */

export async function postMessage(
  base: string,
  room: string,
  body: BodyInit,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/rooms/${room}/messages`, { method: "POST", body, headers });
  return { status: res.status, json: await res.json() };
}

export function postJson(base: string, room: string, data: unknown, idempotencyKey?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
  return postMessage(base, room, JSON.stringify({ data }), headers);
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { headers });
  return { status: res.status, json: await res.json() };
}

/** A parsed Server-Sent Event. */
export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/**
 * Reads an SSE stream until `done(events)` says so (or the timeout), then
 * cancels it. Comments are counted in `comments`.
 */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  done: (events: SseEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ status: number; contentType: string | null; events: SseEvent[]; comments: number }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const res = await fetch(url, { headers, signal: controller.signal });
  const events: SseEvent[] = [];
  let comments = 0;
  let buffer = "";
  const decoder = new TextDecoder();
  try {
    const reader = res.body!.getReader();
    while (!done(events)) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const ev: SseEvent = { id: null, event: "message", data: "" };
        let isEvent = false;
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) comments++;
          else if (line.startsWith("id: ")) ev.id = line.slice(4);
          else if (line.startsWith("event: ")) ev.event = line.slice(7);
          else if (line.startsWith("data: ")) {
            ev.data += line.slice(6);
            isEvent = true;
          }
        }
        if (isEvent) events.push(ev);
      }
    }
    await reader.cancel().catch(() => {});
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  return { status: res.status, contentType: res.headers.get("content-type"), events, comments };
}

/**
 * Which instance of the room's object answers (it changes each time the
 * constructor runs, so a change means the room was evicted), from
 * `GET /rooms/:room/diagnostics`: the relay must run with `diagnostics: true`.
 */
export async function roomInstance(base: string, room: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${base}/rooms/${room}/diagnostics`, { headers });
  if (res.status !== 200) throw new Error(`GET /rooms/${room}/diagnostics: HTTP ${res.status} (start the relay with diagnostics: true)`);
  return ((await res.json()) as { instance: string }).instance;
}
