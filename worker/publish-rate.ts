/**
 * The HTTP publish rate limit: `POST /rooms/:room/messages` counted per
 * publisher by the platform's rate-limiting binding (`[[ratelimits]]` in
 * wrangler.toml: the limit and its 10 or 60 s period live there). A WebSocket
 * publisher is held back by its connection's token bucket in the Room; an
 * HTTP publisher has no connection, so the key is who it is: the token's
 * `sub`, or, in open mode and for a token without `sub`, the client's IP.
 */
import type { Identity } from "../handoff/identity";
import { apiError } from "./errors";

/** Seconds a refused publisher is told to wait: the binding's shortest period. */
export const HTTP_PUBLISH_RETRY_AFTER_SECONDS = 10;

export function publisherKey(identity: Identity, clientIp: string | undefined): string {
  return identity.sub !== null ? `sub:${identity.sub}` : `ip:${clientIp ?? "unknown"}`;
}

/** Throws 429 `rate_limited` (with Retry-After) once `key` is past the limit. */
export async function checkPublishRate(limiter: RateLimit | undefined, key: string): Promise<void> {
  // No binding configured (a deployment that removed it): no HTTP limit.
  if (limiter === undefined) return;
  const { success } = await limiter.limit({ key });
  if (!success) {
    throw apiError(429, "rate_limited", "too many HTTP publishes: slow down", {
      "retry-after": String(HTTP_PUBLISH_RETRY_AFTER_SECONDS),
    });
  }
}
