/**
 * Messages per second over the last minute: one counter per wall-clock
 * second in a ring, so recording is O(1) whatever the traffic.
 */
export const WINDOW_SECONDS = 60;

export class RateMeter {
  private readonly counts = new Array<number>(WINDOW_SECONDS).fill(0);
  /** The second (since the epoch) the newest slot belongs to. */
  private newest = Math.floor(Date.now() / 1000);

  record(now = Date.now()): void {
    this.advance(Math.floor(now / 1000));
    this.counts[this.newest % WINDOW_SECONDS]!++;
  }

  /** Counts of the last WINDOW_SECONDS seconds, oldest first; the last is the second still running. */
  series(now = Date.now()): number[] {
    this.advance(Math.floor(now / 1000));
    const out: number[] = [];
    for (let s = this.newest - WINDOW_SECONDS + 1; s <= this.newest; s++) out.push(this.counts[s % WINDOW_SECONDS]!);
    return out;
  }

  /** Mean rate over the last `seconds` complete seconds (the running one is left out). */
  average(seconds: number, now = Date.now()): number {
    const complete = this.series(now).slice(0, -1).slice(-seconds);
    return complete.reduce((a, b) => a + b, 0) / complete.length;
  }

  private advance(second: number): void {
    if (second <= this.newest) return;
    // Clear the slots of the seconds that passed without a message.
    for (let s = Math.max(this.newest + 1, second - WINDOW_SECONDS + 1); s <= second; s++) this.counts[s % WINDOW_SECONDS] = 0;
    this.newest = second;
  }
}
