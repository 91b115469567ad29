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
 * `forbidden` (room or scope not granted), 401 `token_revoked` (revoked before its `exp`).
 */
import type { MiddlewareHandler } from "hono";
import { OPEN_IDENTITY, type Identity, type Scope } from "../handoff/identity";
import { TokenError, verifyRoomToken } from "../handoff/token";
import { apiError } from "./errors";

/** What the middleware reads from the context: the room (set by the name gate) and where it puts the identity. */
export interface AuthVariables {
  room: string;
  identity: Identity;
  /** Set by `tokenMayFollow` on the routes whose protocol carries the token later. */
  tokenMayFollow?: boolean;
  /** Set when such a route was let through without a token. */
  tokenPending?: boolean;
}

export interface TokenAuthOptions<E extends object> {
  /** The HS256 secret, read from the environment; unset or empty means open mode. */
  secret: (env: E) => string | undefined;
  /** Query parameter that may carry the token (browsers cannot set headers on WebSocket or EventSource). */
  queryParam?: string;
  /**
   * Whether a verified token was revoked before its `exp` (401
   * `token_revoked`): the isolate's cached list (durable-objects/revocations.ts).
   */
  revoked?: (env: E, identity: Identity) => Promise<boolean>;
}

/** Open mode: no secret configured (unset or empty). The one rule, for every gate that depends on it. */
export function isOpenMode(secret: string | undefined): secret is "" | undefined {
  return !secret;
}

/**
 * Route middleware, placed before `tokenAuth`, for a route whose protocol
 * carries the token later (MQTT: the CONNECT password). A request on it with
 * no token gets `PENDING_IDENTITY` and `tokenPending`; the Room verifies the
 * token with `verifyRoomToken`. A token that is present is still verified
 * here. The route that matched says so, never how the path is spelled: a
 * room may be named `mqtt`, and `GET /rooms/mqtt` describes it with a token.
 */
export const tokenMayFollow: MiddlewareHandler<{ Variables: AuthVariables }> = async function tokenMayFollowMiddleware(c, next) {
  c.set("tokenMayFollow", true);
  return next();
};

/** No scopes at all: what a request whose token comes later holds until then. */
export const PENDING_IDENTITY: Readonly<Identity> = Object.freeze({ sub: null, scopes: [], meta: {}, exp: null });

const unauthorized = (message: string) =>
  apiError(401, "unauthorized", message, { "www-authenticate": 'Bearer realm="roomcast"' });
const expired = () =>
  apiError(401, "token_expired", "token expired: get a new one", { "www-authenticate": 'Bearer realm="roomcast", error="invalid_token"' });
const forbidden = (message: string) => apiError(403, "forbidden", message);
// 401 like an expired token, but its own code: a client must not silently fetch a new one and retry (docs/security.md).
const revokedToken = () =>
  apiError(401, "token_revoked", "this token was revoked", { "www-authenticate": 'Bearer realm="roomcast", error="invalid_token"' });

export function tokenAuth<E extends object>(
  options: TokenAuthOptions<E>,
): MiddlewareHandler<{ Bindings: E; Variables: AuthVariables }> {
  const queryParam = options.queryParam ?? "token";
  let warnedOpen = false;

  return async function tokenAuthMiddleware(c, next) {
    const secret = options.secret(c.env);
    if (isOpenMode(secret)) {
      if (!warnedOpen) {
        warnedOpen = true;
        console.warn("roomcast: AUTH_SECRET is not set, running in OPEN MODE: anyone may join, publish and read every room. Set it before exposing the relay (docs/security.md).");
      }
      c.set("identity", OPEN_IDENTITY);
      return next();
    }
    const authorization = c.req.header("authorization");
    const query = c.req.query(queryParam);
    if (authorization === undefined && !query && c.get("tokenMayFollow") === true) {
      c.set("identity", PENDING_IDENTITY);
      c.set("tokenPending", true);
      return next();
    }
    const identity = await verified(tokenOf(authorization, query), secret, c.get("room"));
    if (options.revoked !== undefined && (await options.revoked(c.env, identity))) throw revokedToken();
    c.set("identity", identity);
    return next();
  };
}

/** The token check (handoff/token.ts), its refusal as this Worker's HTTP answer. */
async function verified(token: string, secret: string, room: string): Promise<Identity> {
  try {
    return await verifyRoomToken(token, secret, room);
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    if (error.code === "token_expired") throw expired();
    if (error.code === "forbidden") throw forbidden(error.message);
    throw unauthorized(error.message);
  }
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

