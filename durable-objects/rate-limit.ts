/**
 * A per-connection token bucket. Its state lives in the socket's attachment,
 * so hibernation does not hand a flooding client a fresh bucket.
 */
import type { Limits } from "../server/limits";

export interface Bucket {
  /** Tokens left (fractional). */
  tokens: number;
  /** When `tokens` was last refilled, ms since the Unix epoch. */
  refilledAt: number;
  /** Messages refused in a row; reset by the next accepted one. */
  strikes: number;
}

export function fullBucket(limits: Limits, now: number): Bucket {
  return { tokens: limits.rateLimitBurst, refilledAt: now, strikes: 0 };
}

export type BucketVerdict = "ok" | "limited" | "close";

/** Takes one token for a message, updating `bucket` in place. */
export function takeToken(bucket: Bucket, limits: Limits, now: number): BucketVerdict {
  const elapsed = Math.max(0, now - bucket.refilledAt) / 1000;
  bucket.tokens = Math.min(limits.rateLimitBurst, bucket.tokens + elapsed * limits.rateLimitPerSecond);
  bucket.refilledAt = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    bucket.strikes = 0;
    return "ok";
  }
  bucket.strikes += 1;
  return bucket.strikes >= limits.rateLimitStrikes ? "close" : "limited";
}
