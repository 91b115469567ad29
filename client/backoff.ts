/**
 * Reconnect delays: exponential growth with "full jitter" (a uniformly random
 * delay between 0 and the exponential cap). Full jitter spreads out a crowd of
 * clients that all lost the relay at the same moment, so a restarting server is
 * not hit by every device in the same millisecond.
 *
 * Pure: give it the attempt number and a random source, get milliseconds.
 */

export interface BackoffOptions {
  /** Cap of the first attempt, in ms. */
  min: number;
  /** Largest delay ever returned, in ms. */
  max: number;
  /** Growth of the cap per attempt. */
  factor: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { min: 500, max: 30_000, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0 for the first one after a drop):
 * uniform in [0, min(max, min * factor^attempt)].
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const { min, max, factor } = options;
  const n = Math.max(0, Math.floor(attempt));
  // `factor ** n` overflows to Infinity for large n; Math.min keeps that harmless.
  const cap = Math.min(max, min * factor ** n);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * cap);
}
