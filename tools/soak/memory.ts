/**
 * Weighing a soak run over time: this Node process (the load) and the
 * workerd that Miniflare runs as its child (the relay). The readings come
 * from tools/local/processes.ts; this module keeps their series.
 */

/** Lowest, highest and last of a series of samples. */
export class MemorySeries {
  min = Number.POSITIVE_INFINITY;
  max = 0;
  first = NaN;
  last = NaN;

  add(mib: number): void {
    if (Number.isNaN(mib)) return;
    if (Number.isNaN(this.first)) this.first = mib;
    this.last = mib;
    this.min = Math.min(this.min, mib);
    this.max = Math.max(this.max, mib);
  }

  toJSON(): { first: number; min: number; max: number; last: number } {
    return { first: this.first, min: Number.isFinite(this.min) ? this.min : NaN, max: this.max, last: this.last };
  }
}
