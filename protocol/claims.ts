/**
 * What a Roomcast token's claims mean (docs/security.md, Tokens): the
 * scopes, the `scope` claim's words, and the `rooms` patterns. The Worker
 * enforces them, the client package signs and reads them, the dashboard
 * checks them; all three import this module.
 */
import { filterAllowed, MAX_TOPIC_FILTERS, validFilter, type Parsed } from "./topics.js";

/**
 * Shortest HS256 secret worth having. RFC 7518 asks for a key as long as the
 * hash (32 bytes); below 16 characters a secret is within reach of an offline
 * guess from one captured token. The CLI refuses to sign with a shorter one,
 * the Worker warns when AUTH_SECRET is. Use `openssl rand -base64 32`.
 */
export const MIN_SECRET_LENGTH = 16;

/**
 * `admin`: operator control of the token's rooms (list and kick connections)
 * and, with `rooms: ["*"]`, revocation (docs/security.md, Operator control).
 */
export const SCOPES = ["subscribe", "publish", "presence", "history", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** The known scopes in a space-separated `scope` claim, each once; unknown words are ignored (a newer signer may know more). */
export function scopesOf(scope: string): Scope[] {
  const words = new Set(scope.split(/\s+/));
  return SCOPES.filter((s) => words.has(s));
}

/** Whether a token's `rooms` claim covers `room`: exact names, or a trailing `*` for a prefix. */
/** Whether `granted` holds `needed`: the one scope check of the Worker, the Room, the client and the dashboard. */
export function grants(granted: readonly Scope[], needed: Scope): boolean {
  return granted.includes(needed);
}

/**
 * Largest `meta` object a token may carry, serialized (it is shown in
 * presence and kept in every socket's attachment, which holds 16 KiB).
 */
export const MAX_META_BYTES = 1024;

export function roomAllowed(patterns: readonly string[], room: string): boolean {
  return patterns.some((p) => (p.endsWith("*") ? room.startsWith(p.slice(0, -1)) : p === room));
}

/**
 * The `acl` claim: topic filters bounding what a token may publish (`pub`)
 * and receive (`sub`). A list that is absent bounds nothing; a list that is
 * present, even empty, allows only what its filters match (an empty `pub`:
 * publish nothing). docs/security.md has the threat model, docs/protocol.md
 * the answers.
 */
export interface Acl {
  pub?: string[];
  sub?: string[];
}

/**
 * Largest `acl` claim, serialized: it rides in every socket's attachment
 * (16 KiB in all, shared with MQTT subscriptions) and is compiled once per
 * connection, so a device token's handful of filters fits with room to spare.
 */
export const MAX_ACL_BYTES = 1024;

/**
 * The `acl` claim checked: an object with only `pub` and `sub`, each an array
 * of at most MAX_TOPIC_FILTERS valid topic filters (duplicates dropped), the
 * whole at most MAX_ACL_BYTES. Unknown keys are refused rather than ignored:
 * a signer that means a restriction this relay does not know must not get a
 * token that is wider than it meant. `undefined` when the token has none.
 */
export function parseAclClaim(value: unknown): Parsed<Acl | undefined> {
  if (value === undefined) return { ok: true, value: undefined };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, message: "token acl claim must be an object" };
  if (new TextEncoder().encode(JSON.stringify(value)).byteLength > MAX_ACL_BYTES) return { ok: false, message: `token acl claim is larger than ${MAX_ACL_BYTES} bytes` };
  const acl: Acl = {};
  for (const [key, list] of Object.entries(value)) {
    if (key !== "pub" && key !== "sub") return { ok: false, message: `token acl claim has an unknown key ${JSON.stringify(key.slice(0, 32))} (only pub and sub)` };
    if (!Array.isArray(list) || !list.every(validFilter)) return { ok: false, message: `token acl.${key} must be an array of topic filters` };
    const filters = [...new Set(list as string[])];
    if (filters.length > MAX_TOPIC_FILTERS) return { ok: false, message: `token acl.${key} has more than ${MAX_TOPIC_FILTERS} filters` };
    acl[key] = filters;
  }
  return { ok: true, value: acl };
}

/**
 * What a reader with `acl` receives when it asks for `requested` filters
 * (null: none asked): without `acl.sub`, what it asked; with it, what it
 * asked if every filter fits inside the ACL (filterAllowed), else the first
 * that does not; and the ACL's own filters when it asked for none. The
 * answer is the reader's whole filter, so the fan-out, replays, retained
 * values and history reads need no second check.
 */
export function readableFilters(acl: Acl | undefined, requested: string[] | null): { ok: true; value: string[] | null } | { ok: false; outside: string } {
  const allowed = acl?.sub;
  if (allowed === undefined) return { ok: true, value: requested };
  if (requested === null) return { ok: true, value: [...allowed] };
  for (const f of requested) if (!filterAllowed(f, allowed)) return { ok: false, outside: f };
  return { ok: true, value: requested };
}
