/**
 * The distinct sequence numbers one subscriber received, as a growable bitset
 * over `(start, ∞)`: a long run at thousands of messages per second costs one
 * bit per message, and "seen twice" and "missing" are cheap to answer.
 */
export class SeqSet {
  private bits = new Uint8Array(1024);
  private distinct = 0;

  /** Seqs at or below `start` (what the room held before we watched) are not tracked. */
  constructor(readonly start: number) {}

  get size(): number {
    return this.distinct;
  }

  /** Adds `seq`; false when it was already there (a duplicate). */
  add(seq: number): boolean {
    const i = seq - this.start - 1;
    if (i < 0) return true; // before our window: neither counted nor a duplicate
    this.grow(i);
    const byte = i >> 3;
    const mask = 1 << (i & 7);
    if (this.bits[byte]! & mask) return false;
    this.bits[byte]! |= mask;
    this.distinct++;
    return true;
  }

  has(seq: number): boolean {
    const i = seq - this.start - 1;
    if (i < 0 || i >> 3 >= this.bits.length) return false;
    return (this.bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  /** How many of `(start, end]` are present. */
  countUpTo(end: number): number {
    let n = 0;
    for (let seq = this.start + 1; seq <= end; seq++) if (this.has(seq)) n++;
    return n;
  }

  /** The missing ranges of `(start, end]`, at most `limit` of them. */
  gaps(end: number, limit = 10): Array<{ from: number; to: number }> {
    const out: Array<{ from: number; to: number }> = [];
    let from: number | null = null;
    for (let seq = this.start + 1; seq <= end + 1; seq++) {
      const missing = seq <= end && !this.has(seq);
      if (missing && from === null) from = seq;
      if (!missing && from !== null) {
        out.push({ from, to: seq - 1 });
        from = null;
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  private grow(i: number): void {
    if (i >> 3 < this.bits.length) return;
    let size = this.bits.length;
    while (i >> 3 >= size) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bits);
    this.bits = next;
  }
}
