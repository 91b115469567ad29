/**
 * The room has one alarm and several things that want it: token expiry and
 * MQTT keep-alive (expiry.ts, the sweep in room.ts) and the sinks' retries
 * (sinks/). Each asks for a time; the alarm handler asks each for its next
 * one and sets the earliest. Asking is cheap to repeat: an earlier alarm is
 * left as it is.
 */

/** Makes sure the alarm fires no later than `atMs`, leaving an earlier one as it is. */
export async function alarmNoLaterThan(storage: DurableObjectStorage, atMs: number): Promise<void> {
  const current = await storage.getAlarm();
  if (current === null || current > atMs) await storage.setAlarm(atMs);
}

/** The earliest of the times asked for; null when nobody asked. */
export function earliest(...times: Array<number | null>): number | null {
  let next: number | null = null;
  for (const t of times) if (t !== null && (next === null || t < next)) next = t;
  return next;
}
