/**
 * A latency histogram with log-scale buckets: each bucket is 2% wider than the
 * one before, so any quantile is exact to within 2% whatever the range, and
 * memory grows with the spread of values, not their number (a benchmark may
 * record millions). Histograms merge, so one per second can feed a total.
 */

/** Width ratio of consecutive buckets: quantiles are within 2% of the truth. */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export class Histogram {
  /** bucket index -> count; index 0 holds every value below 1 ms. */
  private readonly buckets = new Map<number, number>();
  private total = 0;
  private maxValue = 0;

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxValue;
  }

  /** Records one value in milliseconds (negative values, from clock skew, count as 0). */
  record(ms: number): void {
    const v = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const index = v < 1 ? 0 : 1 + Math.floor(Math.log(v) / LOG_GROWTH);
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
    this.total++;
    if (v > this.maxValue) this.maxValue = v;
  }

  merge(other: Histogram): void {
    for (const [index, n] of other.buckets) this.buckets.set(index, (this.buckets.get(index) ?? 0) + n);
    this.total += other.total;
    this.maxValue = Math.max(this.maxValue, other.maxValue);
  }

  /** The value below which a fraction `q` (0..1) of the records fall; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (const index of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(index)!;
      if (seen >= rank) return Math.min(this.maxValue, upperBound(index));
    }
    return this.maxValue;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50: round(this.quantile(0.5)),
      p90: round(this.quantile(0.9)),
      p99: round(this.quantile(0.99)),
      max: round(this.maxValue),
    };
  }
}

function upperBound(index: number): number {
  return index === 0 ? 1 : GROWTH ** index;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
