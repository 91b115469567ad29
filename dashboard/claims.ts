/**
 * What the page's token lets it do, read from the token's claims without
 * verifying them (the relay does that). It only shapes the page: it spares
 * requests the relay would refuse (which the browser would log as console
 * errors) and tells the user beforehand what the relay would answer.
 */
import { hasScope, type Scope } from "../client/jwt.js";
import { filterAllowed, topicMatches } from "../protocol/topics.js";

interface Claims {
  scope?: unknown;
  acl?: { pub?: unknown; sub?: unknown };
}

/** The token's claims, or null when there is no token or it cannot be read (the relay will say why). */
function claimsOf(token: string | undefined): Claims | null {
  if (!token) return null;
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as unknown;
    return typeof claims === "object" && claims !== null ? (claims as Claims) : null;
  } catch {
    return null;
  }
}

function filters(list: unknown): string[] | undefined {
  return Array.isArray(list) ? list.filter((f): f is string => typeof f === "string") : undefined;
}

/** Whether the page's token grants `scope` (no token: open mode, or the relay will say why not). */
export function tokenAllows(token: string | undefined, scope: Scope): boolean {
  const claims = claimsOf(token);
  if (claims === null) return true;
  return typeof claims.scope === "string" && hasScope(claims.scope, scope);
}

/** The token's `acl.pub` filters; undefined when publishing is not bounded by topic. */
export function publishFilters(token: string | undefined): string[] | undefined {
  return filters(claimsOf(token)?.acl?.pub);
}

/**
 * Whether the token may ask for `filter` as a reader: the subscribe scope,
 * and, with an `acl.sub`, a filter of it that covers `filter` whole (the
 * relay's own rule, so `$events/#` needs `$events/#` or wider in the ACL).
 */
export function mayRead(token: string | undefined, filter: string): boolean {
  if (!tokenAllows(token, "subscribe")) return false;
  const sub = filters(claimsOf(token)?.acl?.sub);
  return sub === undefined || filterAllowed(filter, sub);
}

/** Whether `topic` is one the `pub` filters allow (undefined: all are). */
export function mayPublishOn(pub: readonly string[] | undefined, topic: string): boolean {
  return pub === undefined || pub.some((filter) => topicMatches(filter, topic));
}
