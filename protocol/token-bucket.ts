/**
 * A token bucket, the one shape of every rate Roomcast enforces (per
 * connection in the Room, joins per room). Plain data, so it can live in a
 * socket's attachment and survive hibernation.
 */

export interface Bucket {
  /** Tokens left (fractional). */
  tokens: number;
  /** When `tokens` was last refilled, ms since the Unix epoch. */
  refilledAt: number;
}

export interface Rate {
  perSecond: number;
  burst: number;
}

export function fullBucket(rate: Rate, now: number): Bucket {
  return { tokens: rate.burst, refilledAt: now };
}

/** Adds the tokens earned since the last refill. Updates `bucket` in place. */
export function refill(bucket: Bucket, rate: Rate, now: number): void {
  const elapsed = Math.max(0, now - bucket.refilledAt) / 1000;
  bucket.tokens = Math.min(rate.burst, bucket.tokens + elapsed * rate.perSecond);
  bucket.refilledAt = now;
}

/**
 * Refills, then takes `cost` tokens (one by default, never more than a
 * burst) if there are that many. Updates `bucket` in place.
 */
export function take(bucket: Bucket, rate: Rate, now: number, cost = 1): boolean {
  refill(bucket, rate, now);
  const need = Math.min(cost, rate.burst);
  if (bucket.tokens < need) return false;
  bucket.tokens -= need;
  return true;
}

/** Milliseconds until `bucket` holds a whole token again. */
export function msUntilToken(bucket: Bucket, rate: Rate): number {
  return bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) / rate.perSecond) * 1000);
}

/** Requests refused and told to come back, draining at the bucket's rate. */
export interface Backlog {
  waiting: number;
  at: number;
}

/**
 * For a request refused now (worth `cost` tokens): counts it in the backlog and returns the whole
 * seconds it should wait, at least 1: the deeper the backlog, the later each
 * is told to come back, so a crowd retries spread out at about the rate the
 * bucket takes them instead of all at once. The bucket itself is untouched,
 * so a client that comes back when told finds a token.
 */
export function backlogWait(backlog: Backlog, rate: Rate, now: number, maxWaitSeconds: number, cost = 1): number {
  const drained = (Math.max(0, now - backlog.at) / 1000) * rate.perSecond;
  backlog.waiting = Math.min(Math.max(0, backlog.waiting - drained) + Math.min(cost, rate.burst), rate.perSecond * maxWaitSeconds);
  backlog.at = now;
  return Math.min(maxWaitSeconds, Math.max(1, Math.ceil(backlog.waiting / rate.perSecond)));
}
