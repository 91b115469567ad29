/**
 * Tokens that expire during a connection. A socket carries its token's `exp`
 * in its attachment; it is closed with 4401 when it next sends after that, and
 * by an alarm set for the earliest `exp` of the room's sockets, so a socket
 * that only listens is closed on time too.
 *
 * The same alarm times MQTT keep-alive (mqtt/keep-alive.ts): it exists only
 * while some socket has an `exp` or an MQTT Keep Alive. A room whose sockets
 * have neither (open mode, JSON only) or that has none never gets one, and
 * the alarm handler reschedules only for sockets still open. An alarm does not keep the
 * Room in memory; it wakes a hibernated Room at that time, once.
 */
import { ADAPTERS } from "./adapters";
import type { RoomPort } from "./adapters/adapter";
import { alarmNoLaterThan, earliest } from "./alarm";
import { attachmentOf, type Attachment } from "./sockets";

/** The alarm looks again no sooner than this after it ran (a stateful adapter's sweep, e.g. MQTT keep-alive). */
export const SWEEP_MIN_GAP_MS = 1000;

/** Whether a token with this `exp` (seconds) has expired at `nowMs`. */
export function isExpired(exp: number | null, nowMs: number): boolean {
  return exp !== null && nowMs >= exp * 1000;
}

/** When the next token among `exps` (seconds, null = never) expires, in ms; null when none does. */
export function earliestExpiry(exps: Iterable<number | null>): number | null {
  let earliest: number | null = null;
  for (const exp of exps) {
    if (exp !== null && (earliest === null || exp * 1000 < earliest)) earliest = exp * 1000;
  }
  return earliest;
}

/** Makes sure the sweep runs no later than `atMs` (the room's one alarm: alarm.ts). */
export function scheduleExpirySweep(storage: DurableObjectStorage, atMs: number): Promise<void> {
  return alarmNoLaterThan(storage, atMs);
}

/**
 * The sweep the alarm runs: closes sockets whose token has expired (4401,
 * through `shed`) and lets a stateful adapter end its overdue ones (MQTT
 * keep-alive, CONNECT deadlines); answers when it wants to look again.
 * Walks every socket: an alarm's work, never a message's.
 */
export function sweepSockets(ctx: DurableObjectState, port: RoomPort, now: number, shed: (ws: WebSocket, att: Attachment) => void): number | null {
  const remaining: Array<number | null> = [];
  let lookAgain: number | null = null;
  for (const ws of ctx.getWebSockets()) {
    if (ws.readyState !== WebSocket.OPEN) continue;
    const att = attachmentOf(ws);
    if (isExpired(att.exp, now)) {
      shed(ws, att);
      continue;
    }
    remaining.push(att.exp);
    const due = ADAPTERS[att.kind].session?.sweep?.(ws, now, port) ?? null;
    if (due !== null && (lookAgain === null || due < lookAgain)) lookAgain = due;
  }
  for (const adapter of Object.values(ADAPTERS)) {
    const due = adapter.session?.sweepRoom?.(now, port) ?? null;
    if (due !== null && (lookAgain === null || due < lookAgain)) lookAgain = due;
  }
  const sweep = lookAgain === null ? null : Math.max(lookAgain, now + SWEEP_MIN_GAP_MS);
  return earliest(earliestExpiry(remaining), sweep);
}
