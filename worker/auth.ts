/**
 * Token auth, in the style of Hono's own `jwt` middleware.
 *
 * `tokenAuth` verifies the caller's token (HS256, signed with `AUTH_SECRET`)
 * against the room in the path and stores the resulting `Identity` in the
 * context; `requireScope` then guards each route. With no secret configured
 * the relay runs in open mode: everybody gets `OPEN_IDENTITY`, and the log
 * says so once.
 *
 * Errors: 401 `unauthorized` (no token, malformed, bad signature, wrong
 * algorithm, not valid yet, bad claims), 401 `token_expired`, 403
 * `forbidden` (room or scope not granted).
 */
import type { MiddlewareHandler } from "hono";
import { hmacKey, JwtError, verifyJwt } from "../client/jwt";
import { CONNECTION_ID_PREFIX } from "../protocol";
import { MIN_SECRET_LENGTH, roomAllowed, scopesOf } from "../protocol/claims";
import { OPEN_IDENTITY, type Identity, type Scope } from "../handoff/identity";
import { MAX_META_BYTES } from "../protocol/limits";
import { apiError } from "./errors";

/** What the middleware reads from the context: the room (set by the name gate) and where it puts the identity. */
export interface AuthVariables {
  room: string;
  identity: Identity;
  /** Set when `deferrable` let a request through without a token. */
  tokenPending?: boolean;
}

export interface TokenAuthOptions<E extends object> {
  /** The HS256 secret, read from the environment; unset or empty means open mode. */
  secret: (env: E) => string | undefined;
  /** Query parameter that may carry the token (browsers cannot set headers on WebSocket or EventSource). */
  queryParam?: string;
  /**
   * Requests that may come without a token because the protocol carries it
   * later (MQTT: the CONNECT password). Such a request gets `PENDING_IDENTITY`
   * and `tokenPending`; the Room verifies the token with `verifyRoomToken`.
   * A token that is present is still verified here.
   */
  deferrable?: (path: string) => boolean;
}

/** No scopes at all: what a request whose token comes later holds until then. */
export const PENDING_IDENTITY: Readonly<Identity> = Object.freeze({ sub: null, scopes: [], meta: {}, exp: null });

/** Longest `sub` accepted: it is shown as `from` on HTTP publishes. */
const MAX_SUB_LENGTH = 128;

const encoder = new TextEncoder();

const unauthorized = (message: string) =>
  apiError(401, "unauthorized", message, { "www-authenticate": 'Bearer realm="roomcast"' });
const expired = () =>
  apiError(401, "token_expired", "token expired: get a new one", { "www-authenticate": 'Bearer realm="roomcast", error="invalid_token"' });
const forbidden = (message: string) => apiError(403, "forbidden", message);

export function tokenAuth<E extends object>(
  options: TokenAuthOptions<E>,
): MiddlewareHandler<{ Bindings: E; Variables: AuthVariables }> {
  const queryParam = options.queryParam ?? "token";
  let warnedOpen = false;

  return async function tokenAuthMiddleware(c, next) {
    const secret = options.secret(c.env);
    if (!secret) {
      if (!warnedOpen) {
        warnedOpen = true;
        console.warn("roomcast: AUTH_SECRET is not set, running in OPEN MODE: anyone may join, publish and read every room. Set it before exposing the relay (docs/security.md).");
      }
      c.set("identity", OPEN_IDENTITY);
      return next();
    }
    const authorization = c.req.header("authorization");
    const query = c.req.query(queryParam);
    if (authorization === undefined && !query && options.deferrable?.(c.req.path)) {
      c.set("identity", PENDING_IDENTITY);
      c.set("tokenPending", true);
      return next();
    }
    c.set("identity", await verifyRoomToken(tokenOf(authorization, query), secret, c.get("room")));
    return next();
  };
}

// Worked out once per secret, not per request: importing the HMAC key. A
// CryptoKey rather than the string also keeps Hono from reading a secret
// that happens to contain "PUBLIC" or "PRIVATE" as a PEM key.
let keyFor: string | null = null;
let key: Promise<CryptoKey> | null = null;

function cachedKey(secret: string): Promise<CryptoKey> {
  if (secret !== keyFor || key === null) {
    keyFor = secret;
    if (secret.length < MIN_SECRET_LENGTH) {
      console.warn(`roomcast: AUTH_SECRET is shorter than ${MIN_SECRET_LENGTH} characters: tokens signed with it can be forged by guessing it. Use \`openssl rand -base64 32\`.`);
    }
    key = hmacKey(secret);
  }
  return key;
}

/**
 * The one token check: signature, claims, and the room. The Worker uses it
 * for every request; the Room uses it for a token that arrives inside a
 * protocol (the MQTT CONNECT password). Throws the HTTP error it would answer.
 */
export async function verifyRoomToken(token: string, secret: string, room: string): Promise<Identity> {
  const verified = await verifyToken(token, await cachedKey(secret), Math.floor(Date.now() / 1000));
  if (!roomAllowed(verified.rooms, room)) throw forbidden(`this token does not grant room ${JSON.stringify(room)}`);
  return verified.identity;
}

/** Route guard: the verified identity must carry `scope`. */
export function requireScope(scope: Scope): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireScopeMiddleware(c, next) {
    assertScope(c.get("identity"), scope);
    return next();
  };
}

/** The same check, for a handler whose needed scope depends on the request (an upgrade or not). */
export function assertScope(identity: Identity, scope: Scope): void {
  if (!identity.scopes.includes(scope)) throw forbidden(`this token lacks the "${scope}" scope`);
}

/** The token from `Authorization: Bearer …` (preferred) or the query. */
function tokenOf(authorization: string | undefined, query: string | undefined): string {
  if (authorization !== undefined) {
    const m = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i.exec(authorization);
    if (!m) throw unauthorized('Authorization must be "Bearer <token>"');
    return m[1]!;
  }
  if (query) return query;
  throw unauthorized("this relay needs a token: Authorization: Bearer <token> or ?token=<token>");
}

interface Verified {
  identity: Identity;
  rooms: string[];
}

/**
 * Signature and algorithm first (Hono's verify, HS256 only, so `alg: none`
 * and algorithm confusion fail), then the time claims, then the shape of the
 * rest: nothing about a token is believed before its signature is.
 */
async function verifyToken(token: string, key: CryptoKey, now: number): Promise<Verified> {
  // The one JWT implementation (client/jwt.ts): HS256 only, exp required, nbf checked.
  let claims: Record<string, unknown>;
  try {
    claims = await verifyJwt<Record<string, unknown>>(token, key, { now });
  } catch (error) {
    if (error instanceof JwtError && error.code === "expired") throw expired();
    throw unauthorized(error instanceof JwtError ? error.message : "invalid token");
  }
  const { sub, rooms, scope, exp, meta } = claims as { exp: number } & Record<string, unknown>;
  if (sub !== undefined && (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_SUB_LENGTH)) {
    throw unauthorized(`token sub must be a string of 1 to ${MAX_SUB_LENGTH} characters`);
  }
  if (typeof sub === "string" && sub.startsWith(CONNECTION_ID_PREFIX)) {
    throw unauthorized(`token sub must not start with "${CONNECTION_ID_PREFIX}": that prefix belongs to connection ids`);
  }
  if (!Array.isArray(rooms) || !rooms.every((r) => typeof r === "string")) throw unauthorized("token rooms claim must be an array of room names");
  if (scope !== undefined && typeof scope !== "string") throw unauthorized("token scope claim must be a space-separated string");
  return {
    rooms: rooms as string[],
    identity: {
      sub: (sub as string | undefined) ?? null,
      scopes: scopesOf((scope as string | undefined) ?? ""),
      meta: checkMeta(meta),
      exp,
    },
  };
}

function checkMeta(meta: unknown): Record<string, unknown> {
  if (meta === undefined) return {};
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw unauthorized("token meta claim must be an object");
  if (encoder.encode(JSON.stringify(meta)).byteLength > MAX_META_BYTES) throw unauthorized(`token meta claim is larger than ${MAX_META_BYTES} bytes`);
  return meta as Record<string, unknown>;
}
