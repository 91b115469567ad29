/**
 * A bounded time series: the last `capacity` points of up to MAX_FIELDS
 * numeric fields, in fixed-size rings, so memory per topic is fixed however
 * fast it publishes. Tiles keep a short one for the sparkline; the open chart
 * keeps a long one for its topic only.
 */
import type { Fields } from "./readings.js";

export class Series {
  private readonly times: Float64Array;
  private readonly values = new Map<string, Float64Array>();
  /** Index the next point goes to. */
  private next = 0;
  private size = 0;
  private scratch: Float64Array | undefined;

  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** The field names seen, in first-seen order. */
  get fields(): string[] {
    return [...this.values.keys()];
  }

  push(ts: number, fields: Fields): void {
    if (fields.size === 0) return;
    this.times[this.next] = ts;
    for (const [name, value] of fields) {
      let ring = this.values.get(name);
      if (!ring) {
        ring = new Float64Array(this.capacity).fill(NaN);
        this.values.set(name, ring);
      }
      ring[this.next] = value;
    }
    // A field this message lacks is a gap, not the previous round's value.
    for (const [name, ring] of this.values) if (!fields.has(name)) ring[this.next] = NaN;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** Drops points older than `oldest` (ms) from the front. */
  trimBefore(oldest: number): void {
    while (this.size > 0 && this.times[this.start()]! < oldest) this.size--;
  }

  /** Oldest first: times and one array per field (NaN where a point lacks it). */
  snapshot(): { times: number[]; fields: Map<string, number[]> } {
    const times: number[] = [];
    const fields = new Map<string, number[]>([...this.values.keys()].map((k) => [k, []]));
    for (let i = 0, at = this.start(); i < this.size; i++, at = (at + 1) % this.capacity) {
      times.push(this.times[at]!);
      for (const [name, ring] of this.values) fields.get(name)!.push(ring[at]!);
    }
    return { times, fields };
  }

  /**
   * Calls `visit` with each field's values, oldest first, in one scratch
   * buffer reused for every field and call (no allocation per draw: a tile's
   * sparkline is redrawn often). NaN where a point lacks the field.
   */
  eachField(visit: (name: string, values: Float64Array, count: number) => void): void {
    this.scratch ??= new Float64Array(this.capacity);
    const start = this.start();
    for (const [name, ring] of this.values) {
      const head = Math.min(this.size, this.capacity - start);
      this.scratch.set(ring.subarray(start, start + head), 0);
      if (head < this.size) this.scratch.set(ring.subarray(0, this.size - head), head);
      visit(name, this.scratch, this.size);
    }
  }

  private start(): number {
    return (this.next - this.size + this.capacity) % this.capacity;
  }
}
