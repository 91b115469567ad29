/**
 * What a Roomcast token's claims mean (docs/security.md, Tokens): the
 * scopes, the `scope` claim's words, and the `rooms` patterns. The Worker
 * enforces them, the client package signs and reads them, the dashboard
 * checks them; all three import this module.
 */

/**
 * Shortest HS256 secret worth having. RFC 7518 asks for a key as long as the
 * hash (32 bytes); below 16 characters a secret is within reach of an offline
 * guess from one captured token. The CLI refuses to sign with a shorter one,
 * the Worker warns when AUTH_SECRET is. Use `openssl rand -base64 32`.
 */
export const MIN_SECRET_LENGTH = 16;

export const SCOPES = ["subscribe", "publish", "presence", "history"] as const;
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
