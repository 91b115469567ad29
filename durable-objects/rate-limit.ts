/**
 * The per-connection publish rate. Its bucket lives in the socket's
 * attachment, so hibernation does not hand a flooding client a fresh one;
 * the strikes count turns a client that goes on flooding into a 1008 close.
 */
import { fullBucket, take, type Bucket } from "../protocol/token-bucket";
import type { Limits } from "../protocol/limits";

export interface ConnectionBucket extends Bucket {
  /** Messages refused in a row; reset by the next accepted one. */
  strikes: number;
}

export function connectionBucket(limits: Limits, now: number): ConnectionBucket {
  return { ...fullBucket(limits.publishRate, now), strikes: 0 };
}

export type BucketVerdict = "ok" | "limited" | "close";

/** Takes one token for a message, updating `bucket` in place. */
export function takeToken(bucket: ConnectionBucket, limits: Limits, now: number): BucketVerdict {
  if (take(bucket, limits.publishRate, now)) {
    bucket.strikes = 0;
    return "ok";
  }
  bucket.strikes += 1;
  return bucket.strikes >= limits.rateLimitStrikes ? "close" : "limited";
}
