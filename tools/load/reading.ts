/**
 * The payload every simulated device publishes: a message id that stays the
 * same across retries (so a message accepted twice is visible), the time it
 * was first published (so a subscriber can measure latency from the payload,
 * not from the relay's clock), and a value to look like a sensor reading.
 */
export interface Reading {
  /** `<device>:<n>`: unique per message, repeated by every retry of it. */
  id: string;
  /** Milliseconds since the Unix epoch when the device first published it. */
  t: number;
  v: number;
}

export function newReading(device: string, n: number, now = Date.now()): Reading {
  return { id: `${device}:${n}`, t: now, v: Math.round(Math.random() * 1000) / 10 };
}

/**
 * A reading from an envelope's `data`: an object (JSON and HTTP devices) or
 * the JSON text a raw device sent. Null for anything else (e.g. messages
 * published into the room by someone other than the fleet).
 */
export function readingOf(data: unknown): Reading | null {
  let value = data;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (typeof value !== "object" || value === null) return null;
  const r = value as Partial<Reading>;
  return typeof r.id === "string" && typeof r.t === "number" ? (r as Reading) : null;
}
