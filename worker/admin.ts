/**
 * What the `admin` scope's requests carry, checked before any object is
 * touched: the kick target (`POST /rooms/:room/kick`) and the revocation
 * (`POST /admin/revoke`, routed here). Both bodies are small JSON objects;
 * anything else is 400 `bad_request`.
 */
import type { KickTarget } from "../protocol";
import { MAX_JTI_LENGTH } from "../handoff/token";
import type { Revocation } from "../protocol/revocation";
import { Hono } from "hono";
import type { Identity } from "../handoff/identity";
import { isRevocable, revoke, revokedTokens, REVOCATIONS_OBJECT } from "../durable-objects/revocations";
import { requireScope, tokenAuth, type AuthVariables } from "./auth";
import { readBytes } from "./body";
import { apiError, methodNotAllowed } from "./errors";

/** Largest admin body: a sub or a jti and a time fit many times over. */
const MAX_ADMIN_BODY_BYTES = 1024;
/** As the token check takes a sub (handoff/token.ts). */
const MAX_SUB_LENGTH = 128;

const badRequest = (message: string) => apiError(400, "bad_request", message);

async function jsonObject(request: Request): Promise<Record<string, unknown>> {
  const bytes = await readBytes(request, MAX_ADMIN_BODY_BYTES);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badRequest("the body must be a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("the body must be a JSON object");
  return body as Record<string, unknown>;
}

function text(value: unknown, name: string, max: number): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max) throw badRequest(`${name} must be a string of 1 to ${max} characters`);
  return value;
}

/** `{"id"}` or `{"sub"}`, exactly one. */
export async function readKickTarget(request: Request): Promise<KickTarget> {
  const body = await jsonObject(request);
  const keys = Object.keys(body);
  if (keys.length !== 1 || (keys[0] !== "id" && keys[0] !== "sub")) throw badRequest('give exactly one of "id" (a connection) or "sub" (every connection of a token subject)');
  return keys[0] === "id" ? { id: text(body.id, "id", 64) } : { sub: text(body.sub, "sub", MAX_SUB_LENGTH) };
}

/**
 * `{"jti"}`, or `{"sub","before"?}`: `before` an ISO 8601 time or seconds
 * since the epoch, now when absent (every token of the sub issued so far).
 */
export async function readRevocation(request: Request, now: number): Promise<Revocation> {
  const body = await jsonObject(request);
  if ("jti" in body) {
    if (Object.keys(body).length !== 1) throw badRequest('"jti" goes alone');
    return { jti: text(body.jti, "jti", MAX_JTI_LENGTH) };
  }
  if (!("sub" in body) || Object.keys(body).some((k) => k !== "sub" && k !== "before")) throw badRequest('give {"jti"} or {"sub", "before"?}');
  return { sub: text(body.sub, "sub", MAX_SUB_LENGTH), before: beforeOf(body.before, now) };
}

/** Seconds since the epoch: tokens whose `iat` is earlier are revoked. */
function beforeOf(value: unknown, now: number): number {
  if (value === undefined) return Math.floor(now / 1000) + 1; // iat is whole seconds: every token issued up to now
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return Math.floor(value);
  const ms = typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw badRequest("before must be an ISO 8601 time (2030-01-01T00:00:00Z) or seconds since the epoch");
  return Math.floor(ms / 1000);
}

/** The Worker's revocation check: a map lookup in the isolate's cached list, an RPC at most once per REVOCATION_CACHE_MS. */
export async function tokenRevoked(env: Env, identity: Identity): Promise<boolean> {
  return isRevocable(identity) && (await revokedTokens(env)).covers(identity);
}

/**
 * `POST /admin/revoke`: a token with the `admin` scope whose `rooms` reach the
 * revocation object's reserved name, which only `*` does in practice (a
 * revocation reaches every room, so it asks for a token that does).
 */
export const admin = new Hono<{ Bindings: Env; Variables: AuthVariables }>();
admin.use("/*", async function revocationRoom(c, next) {
  c.set("room", REVOCATIONS_OBJECT);
  await next();
});
admin.use("/*", tokenAuth<Env>({ secret: (env): string | undefined => env.AUTH_SECRET, revoked: tokenRevoked }));
admin.post("/revoke", requireScope("admin"), async (c) => {
  const r = await readRevocation(c.req.raw, Date.now());
  await revoke(c.env, r);
  return c.json({ revoked: r });
});
admin.all("/revoke", () => methodNotAllowed(["POST"]));
