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
import { alarmNoLaterThan } from "./alarm";

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
