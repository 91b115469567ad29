import { describe, expect, it } from "vitest";
import { DEFAULT_BACKOFF, backoffDelay } from "../../client/backoff";

describe("backoffDelay", () => {
  const opts = { min: 500, max: 30_000, factor: 2 };

  it("caps grow exponentially from min up to max", () => {
    const top = () => 1; // the largest jitter shows the cap itself
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, opts, top))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });

  it("uses full jitter: anywhere from 0 to the cap", () => {
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(2000);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(4, opts);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it("never exceeds max, even for huge attempt numbers", () => {
    expect(backoffDelay(10_000, opts, () => 1)).toBe(30_000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, opts, () => 0.999)).toBeLessThanOrEqual(30_000);
  });

  it("treats odd inputs sanely", () => {
    expect(backoffDelay(-3, opts, () => 1)).toBe(500);
    expect(backoffDelay(1.7, opts, () => 1)).toBe(1000);
    expect(backoffDelay(0, opts, () => 2)).toBe(500); // a broken random source is clamped
  });

  it("has sane defaults", () => {
    expect(DEFAULT_BACKOFF.min).toBeGreaterThan(0);
    expect(DEFAULT_BACKOFF.max).toBeGreaterThanOrEqual(10_000);
    expect(backoffDelay(0, undefined, () => 1)).toBe(DEFAULT_BACKOFF.min);
  });
});
