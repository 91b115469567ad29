import { describe, expect, it } from "vitest";
import { RecentMessages } from "../../durable-objects/recent";

const row = (seq: number, size = 10) => ({ seq, envelope: "x".repeat(size), topic: null });
const seqs = (rows: readonly { seq: number }[] | null) => rows?.map((r) => r.seq) ?? null;

describe("RecentMessages", () => {
  it("serves every message after `after` up to the newest, and nothing when it does not hold them all", () => {
    const recent = new RecentMessages(1000);
    for (let s = 1; s <= 5; s++) recent.add(row(s));
    expect(seqs(recent.after(2, 5))).toEqual([3, 4, 5]);
    expect(seqs(recent.after(0, 5))).toEqual([1, 2, 3, 4, 5]);
    expect(seqs(recent.after(5, 5))).toEqual([]);
    // A newest seq it has not seen (a message written elsewhere): not served.
    expect(recent.after(2, 6)).toBeNull();
  });

  it("holds at most its rows and its bytes, dropping the oldest", () => {
    const byRows = new RecentMessages(3);
    for (let s = 1; s <= 10; s++) byRows.add(row(s));
    expect(seqs(byRows.after(7, 10))).toEqual([8, 9, 10]);
    expect(byRows.after(6, 10)).toBeNull();

    const byBytes = new RecentMessages(1000, 25);
    for (let s = 1; s <= 10; s++) byBytes.add(row(s, 10));
    expect(seqs(byBytes.after(8, 10))).toEqual([9, 10]);
    expect(byBytes.after(7, 10)).toBeNull();
  });

  it("starts again after a gap in seqs", () => {
    const recent = new RecentMessages(1000);
    recent.add(row(1));
    recent.add(row(2));
    recent.add(row(4));
    expect(seqs(recent.after(3, 4))).toEqual([4]);
    expect(recent.after(1, 4)).toBeNull();
  });

  it("takes rows a replay read when they reach further back than what it holds", () => {
    const recent = new RecentMessages(1000);
    recent.add(row(9));
    recent.add(row(10));
    expect(recent.after(5, 10)).toBeNull();
    recent.seed([6, 7, 8, 9, 10].map((s) => row(s)));
    expect(seqs(recent.after(5, 10))).toEqual([6, 7, 8, 9, 10]);
    // Rows that reach less far back change nothing.
    recent.seed([8, 9, 10].map((s) => row(s)));
    expect(seqs(recent.after(5, 10))).toEqual([6, 7, 8, 9, 10]);
  });

  it("stays right over many more messages than it holds", () => {
    const recent = new RecentMessages(100);
    for (let s = 1; s <= 5000; s++) recent.add(row(s));
    expect(seqs(recent.after(4900, 5000))).toEqual(Array.from({ length: 100 }, (_, i) => 4901 + i));
    expect(recent.after(4899, 5000)).toBeNull();
  });
});
