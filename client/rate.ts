/**
 * Paces outgoing publishes below the relay's per-connection limit (default
 * 50/s, burst 100). Past that limit the relay drops messages and finally
 * closes with 1008, after which a client must stop for good, so a client
 * flushing a long offline queue must never get there. The bucket itself is
 * the relay's own (protocol/token-bucket.ts).
 */
import { fullBucket, msUntilToken, refill, take, type Bucket, type Rate } from "../protocol/token-bucket.js";

export class TokenBucket {
  private readonly bucket: Bucket;
  private readonly rate: Rate;

  constructor(ratePerSecond: number, burst: number, now: number) {
    this.rate = { perSecond: ratePerSecond, burst };
    this.bucket = fullBucket(this.rate, now);
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    return take(this.bucket, this.rate, now);
  }

  /** Milliseconds until the next token. */
  waitMs(now: number): number {
    refill(this.bucket, this.rate, now);
    return msUntilToken(this.bucket, this.rate);
  }
}
