/**
 * HS256 JSON Web Tokens with Web Crypto only (`crypto.subtle`: browsers,
 * Workers, Node 20+), so the same code signs in the CLI and can verify in the
 * Worker. Tokens are standard: Hono's `jwt` helper verifies them too.
 */

/** The claims a Roomcast token carries (see docs/security.md, Tokens). */
export interface RoomcastClaims {
  /** Client id, shown in presence. */
  sub: string;
  /** Room names; a trailing `*` matches a prefix. */
  rooms: string[];
  /** Space-separated: subscribe publish presence history admin. */
  scope: string;
  /** Expiry, seconds since the Unix epoch. */
  exp: number;
  nbf?: number;
  /** Issued at, seconds: `POST /admin/revoke {"sub","before"}` revokes a sub's tokens issued before a time. */
  iat?: number;
  /** Token id (1 to 128 characters): `POST /admin/revoke {"jti"}` revokes this token alone. */
  jti?: string;
  /** Shown in presence; at most 1 KiB as JSON. */
  meta?: Record<string, unknown>;
  /** Topic filters the token may publish on (`pub`) and receive (`sub`); at most 1 KiB as JSON. */
  acl?: Acl;
}

import { bytesToBase64Url, base64UrlToBytes } from "./base64.js";
import { grants, scopesOf, type Acl, type Scope } from "./claims.js";

export { MIN_SECRET_LENGTH, SCOPES, scopesOf, roomAllowed, type Acl, type Scope } from "./claims.js";

/** Longest token lifetime the CLI issues: revocation (docs/security.md) is the remedy before it, not a reason for longer ones. */
export const MAX_TTL_SECONDS = 366 * 86400;

export class JwtError extends Error {
  override name = "JwtError";
  constructor(
    /** `malformed`, `bad_signature`, `expired` or `not_yet_valid`. */
    readonly code: "malformed" | "bad_signature" | "expired" | "not_yet_valid",
    message: string,
  ) {
    super(message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function signJwt(claims: object, secret: string): Promise<string> {
  const header = bytesToBase64Url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const payload = bytesToBase64Url(encoder.encode(JSON.stringify(claims)));
  const signingInput = `${header}.${payload}`;
  const key = await hmacKey(secret);
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(signingInput));
  return `${signingInput}.${bytesToBase64Url(new Uint8Array(signature))}`;
}

export interface VerifyOptions {
  /** Seconds since the Unix epoch to check `exp`/`nbf` against; default: now. */
  now?: number;
  /**
   * Accept a token without `exp` (it would never expire). Off by default, as
   * in the relay, which refuses such a token.
   */
  allowMissingExp?: boolean;
}

/**
 * Checks the signature (HS256 only: the header's `alg` must say so, which
 * shuts out `none` and algorithm-confusion tokens), then `exp` (required
 * unless `allowMissingExp`) and `nbf` against `now` (seconds). Returns the
 * claims; throws `JwtError` otherwise. The third argument may be `now` itself
 * (a number), as in earlier versions.
 */
export async function verifyJwt<T extends object = RoomcastClaims>(
  token: string,
  /** The shared secret, or its HMAC key imported once (`hmacKey`), as the relay keeps it. */
  secret: string | CryptoKey,
  options: VerifyOptions | number = {},
): Promise<T> {
  const { now = Math.floor(Date.now() / 1000), allowMissingExp = false } = typeof options === "number" ? { now: options } : options;
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("malformed", "token is not a JWT");
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: unknown };
  let claims: { exp?: unknown; nbf?: unknown };
  let signature: Uint8Array;
  try {
    header = JSON.parse(decoder.decode(base64UrlToBytes(h)));
    claims = JSON.parse(decoder.decode(base64UrlToBytes(p)));
    signature = base64UrlToBytes(s);
  } catch {
    throw new JwtError("malformed", "token is not a JWT");
  }
  if (header?.alg !== "HS256") throw new JwtError("malformed", "token algorithm must be HS256");
  if (typeof claims !== "object" || claims === null) throw new JwtError("malformed", "token claims must be an object");
  const key = typeof secret === "string" ? await hmacKey(secret) : secret;
  // subtle.verify compares in constant time.
  const ok = await crypto.subtle.verify("HMAC", key, signature as BufferSource, encoder.encode(`${h}.${p}`));
  if (!ok) throw new JwtError("bad_signature", "token signature does not match");
  if (claims.exp === undefined) {
    if (!allowMissingExp) throw new JwtError("malformed", "token has no exp claim");
  } else if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) {
    throw new JwtError("malformed", "token exp claim is not a number");
  } else if (now >= claims.exp) {
    throw new JwtError("expired", "token expired");
  }
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || !Number.isFinite(claims.nbf))) {
    throw new JwtError("malformed", "token nbf claim is not a number");
  }
  if (typeof claims.nbf === "number" && now < claims.nbf) throw new JwtError("not_yet_valid", "token not valid yet");
  return claims as T;
}

/** Whether a space-separated `scope` claim grants `needed`. */
export function hasScope(scope: string, needed: Scope): boolean {
  return grants(scopesOf(scope), needed);
}

/** The HS256 key of `secret`, for signing and verifying. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}
