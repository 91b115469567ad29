/**
 * The name of a shared subscription, `$share/<group>/<filter>` (MQTT 5
 * §4.8.2): parsed where a SUBSCRIBE is checked and where a subscription's
 * topics are matched; what the room does with a group is shared.ts.
 */
import { validFilter } from "../../protocol/topics";

export const SHARE_PREFIX = "$share/";

/** `$share/<group>/<filter>` into its parts; null when `filter` is not a share name. `ok: false` when it is one but malformed. */
export function shareOf(filter: string): { ok: true; group: string; filter: string } | { ok: false } | null {
  if (!filter.startsWith(SHARE_PREFIX)) return null;
  const rest = filter.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return { ok: false };
  const group = rest.slice(0, slash);
  const inner = rest.slice(slash + 1);
  if (group.includes("+") || group.includes("#") || !validFilter(inner)) return { ok: false };
  return { ok: true, group, filter: inner };
}

/** The filter a subscription matches topics with: the inner one of a shared subscription. */
export function matchFilter(filter: string): string {
  const share = shareOf(filter);
  return share !== null && share.ok ? share.filter : filter;
}
