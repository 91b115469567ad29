/**
 * Revoked tokens (docs/security.md, Revocation): what a revocation says and
 * the one rule that decides whether a token is revoked, for the Worker (new
 * requests) and the Room (open connections, on its sweep).
 */

/**
 * How old the list an isolate matches against may be. New requests in an
 * isolate that did not take the revocation see it within this; open
 * connections are checked by their room's sweep every REVOCATION_SWEEP_SECONDS
 * (protocol/limits.ts, default 30 s): a revoked connection is closed within
 * the sum of the two.
 */
export const REVOCATION_CACHE_MS = 5_000;

/** A token by its `jti`, or every token of a `sub` issued (`iat`) before `before` (seconds since the epoch). */
export type Revocation = { jti: string } | { sub: string; before: number };

/** The whole list as the revocation object answers it: small enough to hold in every isolate. */
export interface RevocationSet {
  jtis: string[];
  /** sub → before (seconds): the latest revocation of each sub wins. */
  subs: Record<string, number>;
}

/** What of a token a revocation can match. */
export interface Revocable {
  sub: string | null;
  jti?: string;
  iat?: number;
}

/** A set read once and matched many times: lookups are a Set and a Map. */
export class RevokedTokens {
  private readonly jtis: ReadonlySet<string>;
  private readonly subs: ReadonlyMap<string, number>;

  constructor(set: RevocationSet) {
    this.jtis = new Set(set.jtis);
    this.subs = new Map(Object.entries(set.subs));
  }

  get empty(): boolean {
    return this.jtis.size === 0 && this.subs.size === 0;
  }

  /**
   * Revoked by its jti, or by its sub with an `iat` before the sub's time. A
   * token with no `iat` cannot show it was issued after: a revocation of its
   * sub covers it.
   */
  covers(token: Revocable): boolean {
    if (token.jti !== undefined && this.jtis.has(token.jti)) return true;
    if (token.sub === null) return false;
    const before = this.subs.get(token.sub);
    return before !== undefined && (token.iat === undefined || token.iat < before);
  }
}
