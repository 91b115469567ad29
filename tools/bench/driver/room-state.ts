/**
 * What the load process reads of a room over plain HTTP, the same way for
 * every system: its open connections and its wake-up counters (how often its
 * object was constructed, how many frames reached its message handler).
 * Reading them wakes a hibernated object, which the idle scenario allows for.
 */
import { speaksRoomcast, type SystemEndpoint } from "../systems/system.js";
import { counterUrl } from "./wire.js";
import { sleep, waitFor } from "../../load/wait.js";

export interface RoomCounters {
  connections: number;
  constructed: number;
  messages: number;
}

export async function roomCounters(endpoint: SystemEndpoint, room: string): Promise<RoomCounters> {
  // A relay with AUTH_SECRET (the bench's token and acl variants) reads its rooms to the run's token.
  const init = endpoint.token ? { headers: { authorization: `Bearer ${endpoint.token}` } } : {};
  const res = await fetch(counterUrl(endpoint, room), init);
  const body = (await res.json()) as Partial<RoomCounters>;
  if (!res.ok) throw new Error(`GET ${counterUrl(endpoint, room)}: HTTP ${res.status}`);
  if (speaksRoomcast(endpoint.name)) {
    // Roomcast's public answer is {room, seq, epoch, connections}; the counters
    // come from its diagnostics route (the relay runs with DIAGNOSTICS on).
    const diag = await fetch(`${counterUrl(endpoint, room)}/diagnostics`, init);
    if (!diag.ok) throw new Error(`GET ${counterUrl(endpoint, room)}/diagnostics: HTTP ${diag.status} (is DIAGNOSTICS on?)`);
    const { constructed, messages } = (await diag.json()) as { constructed: number; messages: number };
    return { connections: body.connections ?? 0, constructed, messages };
  }
  return { connections: body.connections ?? 0, constructed: body.constructed ?? 0, messages: body.messages ?? 0 };
}

/**
 * Waits until the room has no connections left, so the next measurement
 * starts on a calm server. A server busy closing thousands of sockets may
 * refuse a read for a while; that counts as not calm yet.
 */
export async function settle(endpoint: SystemEndpoint, room: string, timeoutMs = 30_000): Promise<void> {
  const calm = async () => {
    try {
      return (await roomCounters(endpoint, room)).connections === 0;
    } catch {
      return false;
    }
  };
  await waitFor(calm, timeoutMs, 250);
}

/** Waits until no frame has arrived for `quietMs` (`lastFrameAt` is read each time). */
export async function quiet(lastFrameAt: () => number, quietMs = 300, timeoutMs = 60_000): Promise<void> {
  await waitFor(() => Date.now() - lastFrameAt() >= quietMs, timeoutMs, 50);
}

