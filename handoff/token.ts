/**
 * The one token check, for the Worker (every request) and the Room (a token
 * that arrives inside a protocol: the MQTT CONNECT password): HS256 signed
 * with AUTH_SECRET, its claims, and the room. It answers an Identity or
 * throws a TokenError, which the Worker turns into its HTTP answer.
 */
import { hmacKey, JwtError, verifyJwt } from "../protocol/jwt";
import { CONNECTION_ID_PREFIX } from "../protocol";
import { MIN_SECRET_LENGTH, parseAclClaim, roomAllowed, scopesOf } from "../protocol/claims";
import { MAX_META_BYTES } from "../protocol/limits";
import type { Identity } from "./identity";

/** Why a token was refused: `unauthorized` and `token_expired` are 401s, `forbidden` a 403. */
export class TokenError extends Error {
  constructor(
    readonly code: "unauthorized" | "token_expired" | "forbidden",
    message: string,
  ) {
    super(message);
  }
}

/** Longest `sub` accepted: it is shown as `from` on HTTP publishes. */
const MAX_SUB_LENGTH = 128;

/** Longest `jti` accepted: it rides in every socket's attachment and in the revocation list. */
export const MAX_JTI_LENGTH = 128;

const encoder = new TextEncoder();

const unauthorized = (message: string) => new TokenError("unauthorized", message);

// Worked out once per secret, not per request: importing the HMAC key.
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
 * protocol (the MQTT CONNECT password). Throws a TokenError.
 */
export async function verifyRoomToken(token: string, secret: string, room: string): Promise<Identity> {
  const verified = await verifyToken(token, await cachedKey(secret), Math.floor(Date.now() / 1000));
  if (!roomAllowed(verified.rooms, room)) throw new TokenError("forbidden", `this token does not grant room ${JSON.stringify(room)}`);
  return verified.identity;
}

interface Verified {
  identity: Identity;
  rooms: string[];
}

/**
 * Signature and algorithm first (protocol/jwt.ts's verify, HS256 only, so `alg: none`
 * and algorithm confusion fail), then the time claims, then the shape of the
 * rest: nothing about a token is believed before its signature is.
 */
async function verifyToken(token: string, key: CryptoKey, now: number): Promise<Verified> {
  // The one JWT implementation (protocol/jwt.ts): HS256 only, exp required, nbf checked.
  let claims: Record<string, unknown>;
  try {
    claims = await verifyJwt<Record<string, unknown>>(token, key, { now });
  } catch (error) {
    if (error instanceof JwtError && error.code === "expired") throw new TokenError("token_expired", "token expired: get a new one");
    throw unauthorized(error instanceof JwtError ? error.message : "invalid token");
  }
  const { sub, rooms, scope, exp, meta, acl, jti, iat } = claims as { exp: number } & Record<string, unknown>;
  if (sub !== undefined && (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_SUB_LENGTH)) {
    throw unauthorized(`token sub must be a string of 1 to ${MAX_SUB_LENGTH} characters`);
  }
  if (typeof sub === "string" && sub.startsWith(CONNECTION_ID_PREFIX)) {
    throw unauthorized(`token sub must not start with "${CONNECTION_ID_PREFIX}": that prefix belongs to connection ids`);
  }
  if (!Array.isArray(rooms) || !rooms.every((r) => typeof r === "string")) throw unauthorized("token rooms claim must be an array of room names");
  if (scope !== undefined && typeof scope !== "string") throw unauthorized("token scope claim must be a space-separated string");
  if (jti !== undefined && (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH)) throw unauthorized(`token jti must be a string of 1 to ${MAX_JTI_LENGTH} characters`);
  if (iat !== undefined && (typeof iat !== "number" || !Number.isFinite(iat))) throw unauthorized("token iat must be a number of seconds");
  const checkedAcl = parseAclClaim(acl);
  if (!checkedAcl.ok) throw unauthorized(checkedAcl.message);
  const identity: Identity = {
    sub: (sub as string | undefined) ?? null,
    scopes: scopesOf((scope as string | undefined) ?? ""),
    meta: checkMeta(meta),
    exp,
  };
  // Only a token with an acl carries one: the others' attachments stay as they were.
  if (checkedAcl.value !== undefined) identity.acl = checkedAcl.value;
  // Likewise jti and iat: revocation matches them (worker/revocation.ts, durable-objects/revocations.ts).
  if (jti !== undefined) identity.jti = jti as string;
  if (iat !== undefined) identity.iat = iat as number;
  return { rooms: rooms as string[], identity };
}

function checkMeta(meta: unknown): Record<string, unknown> {
  if (meta === undefined) return {};
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw unauthorized("token meta claim must be an object");
  if (encoder.encode(JSON.stringify(meta)).byteLength > MAX_META_BYTES) throw unauthorized(`token meta claim is larger than ${MAX_META_BYTES} bytes`);
  return meta as Record<string, unknown>;
}
