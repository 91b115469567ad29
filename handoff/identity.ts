/**
 * The verified identity the Worker hands to a Room: who is calling and what
 * they may do. The Worker works it out (from the token, or open mode); the
 * Room trusts it, because nothing but the Worker can reach a Room.
 */

import { grants, SCOPES, type Acl, type Scope } from "../protocol/claims";

export { SCOPES, type Acl, type Scope };

export interface Identity {
  /** The token's `sub`; null in open mode. */
  sub: string | null;
  scopes: Scope[];
  /** Shown in presence. */
  meta: Record<string, unknown>;
  /** Token expiry, seconds since the Unix epoch; null when it never expires. */
  exp: number | null;
  /**
   * The token's `acl` claim (topic filters it may publish on and receive);
   * absent when it has none, so a connection without one carries nothing more.
   */
  acl?: Acl;
  /**
   * The token's `jti` and `iat` (seconds), when it has them: what a
   * revocation matches (docs/security.md, Revocation). Absent otherwise, so
   * a token without them costs its connections nothing.
   */
  jti?: string;
  iat?: number;
}

/** Open mode (no AUTH_SECRET): everybody may do everything. */
export const OPEN_IDENTITY: Readonly<Identity> = Object.freeze({
  sub: null,
  scopes: [...SCOPES],
  meta: {},
  exp: null,
});

export function hasScope(identity: Pick<Identity, "scopes">, scope: Scope): boolean {
  return grants(identity.scopes, scope);
}
