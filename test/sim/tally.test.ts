/**
 * The counting must be able to fail: streams with a gap, a repeated seq, a
 * reordering, a seq holding two different messages and one message accepted
 * twice must each be reported, and a clean stream must not be.
 */
import { describe, expect, it } from "vitest";
import { Histogram, newReading, SeqSet, Tally } from "../../tools/load/index";

const reading = (device: string, n: number, t = 1_000) => ({ ...newReading(device, n, t) });

describe("Tally", () => {
  it("passes a complete stream, each seq once", () => {
    const tally = new Tally(0);
    tally.beginRoom("r", 10);
    const sub = tally.watch("a", "r", 10);
    for (let seq = 11; seq <= 20; seq++) sub.record(seq, reading("d", seq), 1_050);
    tally.endRoom("r", 20);
    const report = tally.report();
    expect(report).toMatchObject({ published: 10, expected: 10, delivered: 10, lost: 0, duplicated: 0, ok: true });
    expect(report.latency.p50).toBeCloseTo(50, -1);
    expect(tally.caughtUp()).toBe(true);
  });

  it("reports a gap as lost, with where it is", () => {
    const tally = new Tally();
    tally.beginRoom("r", 0);
    const sub = tally.watch("dash", "r", 0);
    for (const seq of [1, 2, 5, 6]) sub.record(seq, reading("d", seq));
    tally.endRoom("r", 8);
    const report = tally.report();
    expect(report.ok).toBe(false);
    expect(report).toMatchObject({ expected: 8, delivered: 4, lost: 4, duplicated: 0 });
    expect(report.gaps).toEqual([
      { subscriber: "dash", room: "r", from: 3, to: 4 },
      { subscriber: "dash", room: "r", from: 7, to: 8 },
    ]);
    expect(tally.caughtUp()).toBe(false);
  });

  it("reports a repeated seq as duplicated, and counts it once as delivered", () => {
    const tally = new Tally();
    tally.beginRoom("r", 0);
    const sub = tally.watch("dash", "r", 0);
    for (const seq of [1, 2, 3, 3, 4]) sub.record(seq, reading("d", seq));
    tally.endRoom("r", 4);
    const report = tally.report();
    expect(report).toMatchObject({ expected: 4, delivered: 4, lost: 0, duplicated: 1, ok: false });
  });

  it("reports a stream with both a gap and a repeat", () => {
    const tally = new Tally();
    tally.beginRoom("r", 0);
    const sub = tally.watch("dash", "r", 0);
    for (const seq of [1, 1, 3]) sub.record(seq, reading("d", seq));
    tally.endRoom("r", 3);
    expect(tally.report()).toMatchObject({ lost: 1, duplicated: 1, ok: false });
  });

  it("reports a seq that arrives after a larger one", () => {
    const tally = new Tally();
    tally.beginRoom("r", 0);
    const sub = tally.watch("dash", "r", 0);
    for (const seq of [1, 3, 2]) sub.record(seq, reading("d", seq));
    tally.endRoom("r", 3);
    expect(tally.report()).toMatchObject({ lost: 0, outOfOrder: 1, ok: false });
  });

  it("reports readers that disagree on what a seq holds, and one message accepted twice", () => {
    const tally = new Tally();
    tally.beginRoom("r", 0);
    const a = tally.watch("a", "r", 0);
    const b = tally.watch("b", "r", 0);
    a.record(1, reading("d", 1));
    b.record(1, reading("d", 99)); // same seq, another message
    a.record(2, reading("d", 2));
    tally.acked("r", "d:2", 2); // an ack that agrees
    a.record(3, reading("d", 2)); // the same message again, under a new seq
    tally.endRoom("r", 3);
    const report = tally.report();
    expect(report.mismatched).toBe(1);
    expect(report.doublePublished).toBe(1);
    expect(report.ok).toBe(false);
  });

  it("counts each subscriber of a room against the room's whole range", () => {
    const tally = new Tally();
    tally.beginRoom("r", 0);
    const a = tally.watch("a", "r", 0);
    const b = tally.watch("b", "r", 0);
    for (let seq = 1; seq <= 5; seq++) a.record(seq, reading("d", seq));
    for (let seq = 1; seq <= 3; seq++) b.record(seq, reading("d", seq));
    tally.endRoom("r", 5);
    expect(tally.report()).toMatchObject({ published: 5, expected: 10, delivered: 8, lost: 2 });
  });

  it("reads raw-frame payloads (JSON text) like object payloads", () => {
    const tally = new Tally(0);
    tally.beginRoom("r", 0);
    const sub = tally.watch("a", "r", 0);
    sub.record(1, JSON.stringify(reading("raw", 1, 900)), 1_000);
    tally.endRoom("r", 1);
    expect(tally.report().latency).toMatchObject({ count: 1 });
    expect(tally.report().latency.max).toBe(100);
  });
});

describe("SeqSet", () => {
  it("tracks far past its first allocation", () => {
    const set = new SeqSet(100);
    expect(set.add(100)).toBe(true); // at or before the start: ignored
    expect(set.size).toBe(0);
    for (let seq = 101; seq <= 100_100; seq += 2) set.add(seq);
    expect(set.size).toBe(50_000);
    expect(set.add(101)).toBe(false);
    expect(set.countUpTo(110)).toBe(5);
    expect(set.gaps(106)).toEqual([
      { from: 102, to: 102 },
      { from: 104, to: 104 },
      { from: 106, to: 106 },
    ]);
  });
});

describe("Histogram", () => {
  it("gives quantiles within 2%", () => {
    const h = new Histogram();
    for (let ms = 1; ms <= 1000; ms++) h.record(ms);
    expect(h.count).toBe(1000);
    expect(Math.abs(h.quantile(0.5) - 500) / 500).toBeLessThan(0.02);
    expect(Math.abs(h.quantile(0.99) - 990) / 990).toBeLessThan(0.02);
    expect(h.max).toBe(1000);
    const other = new Histogram();
    other.record(5000);
    h.merge(other);
    expect(h.quantile(1)).toBe(5000);
  });
});
