/** Parses a TTL such as `90`, `90s`, `15m`, `1h`, `7d` into seconds; undefined when unreadable. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
  const seconds = n * unit;
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : undefined;
}
