/**
 * A shard's link to its sequencer (shards/shard.ts) against a fake
 * sequencer: pushes applied once and in order, gaps fetched from history
 * first, the position kept in storage across a wake, forwards batched per
 * turn and bounded by RPC_BYTES, refusals when the sequencer is gone, and
 * a resume served from the open answer and the ring with no gap or repeat.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Delivery } from "../../durable-objects/fanout";
import type { PublishInput } from "../../durable-objects/payload";
import type { Verdict } from "../../durable-objects/publish/verdict";
import { ShardLink, type SequencerTarget, type ShardHost } from "../../durable-objects/shards/shard";
import { RPC_BYTES, type ForwardedPublish, type OpenAnswer, type OpenRequest, type Push, type PushedMessage } from "../../durable-objects/shards/wire";
import type { StoredMessage } from "../../durable-objects/store";
import { fakeStore } from "./fake-store";


const envelope = (seq: number) => JSON.stringify({ type: "message", room: "r", seq, from: "c1", ts: 0, data: `m${seq}` });
const stored = (seq: number): StoredMessage => ({ seq, envelope: envelope(seq), topic: null });
const pushed = (seq: number): PushedMessage => ({ seq, envelope: envelope(seq), payload: { kind: "text", value: `m${seq}` }, origin: null, echo: false, topic: null, retain: false });
const push = (from: number, to: number, epoch = "e1"): Push => {
  const messages: PushedMessage[] = [];
  for (let s = from; s <= to; s++) messages.push(pushed(s));
  return { epoch, others: 0, from, to, messages };
};

/** A sequencer whose history holds 1..`seq`, recording what the shard asks of it. */
class FakeSequencer implements SequencerTarget {
  seq = 0;
  ranges: Array<[number, number]> = [];
  publishCalls: ForwardedPublish[][] = [];
  opens: OpenRequest[] = [];
  openAnswer: Partial<OpenAnswer> = {};
  down = false;
  async shardOpen(request: OpenRequest): Promise<OpenAnswer> {
    this.opens.push(request);
    return { seq: this.seq, epoch: "e1", recovered: request.since !== null, after: request.since ?? this.seq, rows: [], complete: true, fresh: false, others: 3, ...this.openAnswer };
  }
  async shardPublish(publishes: ForwardedPublish[]): Promise<number[]> {
    if (this.down) throw new Error("sequencer unreachable");
    this.publishCalls.push(publishes);
    return publishes.map(() => ++this.seq);
  }
  async shardRange(after: number, upTo: number): Promise<StoredMessage[]> {
    this.ranges.push([after, upTo]);
    const rows: StoredMessage[] = [];
    // Pages of at most 2, as the real one pages (CATCH_UP_PAGE).
    for (let s = after + 1; s <= Math.min(upTo, after + 2); s++) rows.push(stored(s));
    return rows;
  }
}

let names = 0;
function setup(meta = new Map<string, string>()) {
  const sequencer = new FakeSequencer();
  const delivered: Delivery[] = [];
  let others = -1;
  const host: ShardHost = {
    name: `link-test-${names++}#0`,
    index: 0,
    store: fakeStore(meta),
    sequencer: () => sequencer,
    deliver: (messages) => void delivered.push(...messages),
    members: () => 5,
    setOthers: (n) => void (others = n),
    shed: () => undefined,
  };
  const link = new ShardLink(host);
  link.wake();
  return { link, sequencer, delivered, meta, others: () => others };
}

const input = (value: string): PublishInput => ({ payload: { kind: "text", value }, from: "c1", publisher: null, publishId: null, topic: null, retain: false });
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("ShardLink", () => {
  beforeEach(() => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it("applies pushes in order, skips what it already delivered, and answers its position and members", async () => {
    const { link, delivered, others } = setup();
    expect(await link.push({ ...push(1, 2), others: 7 })).toEqual({ delivered: 2, members: 5 });
    expect(others()).toBe(7);
    expect(await link.push(push(2, 4))).toEqual({ delivered: 4, members: 5 });
    expect(delivered.map((d) => d.seq)).toEqual([1, 2, 3, 4]);
    expect(link.stats.duplicates).toBe(1);
    expect(link.position()).toEqual({ seq: 4, epoch: "e1" });
  });

  it("fetches a gap from the sequencer's history, page by page, before what the push carries", async () => {
    const { link, sequencer, delivered } = setup();
    await link.push(push(1, 1));
    sequencer.seq = 10;
    await link.push(push(7, 8));
    expect(sequencer.ranges).toEqual([
      [1, 6],
      [3, 6],
      [5, 6],
    ]);
    expect(delivered.map((d) => d.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(link.stats.gaps).toBe(1);
    // A caught-up message is a live one, with its payload back from the envelope.
    expect(delivered[2]).toMatchObject({ seq: 3, payload: { kind: "text", value: "m3" }, retain: false, echo: false });
  });

  it("applies pushes one at a time even when they arrive together", async () => {
    const { link, sequencer, delivered } = setup();
    await link.push(push(1, 1));
    // The second push opens a gap (an await); the third must wait for it.
    const a = link.push(push(5, 5));
    const b = link.push(push(6, 6));
    await Promise.all([a, b]);
    expect(sequencer.ranges[0]).toEqual([1, 4]);
    expect(delivered.map((d) => d.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("keeps its position in storage: after a wake it knows what its sockets have", async () => {
    const first = setup();
    await first.link.push(push(1, 3));
    const again = setup(first.meta);
    expect(again.link.position()).toEqual({ seq: 3, epoch: "e1" });
    await again.link.push(push(2, 4));
    expect(again.delivered.map((d) => d.seq)).toEqual([4]);
  });

  it("takes the sequencer's word when the room began again (a new epoch)", async () => {
    const { link, delivered, sequencer } = setup();
    await link.push(push(1, 5));
    await link.push(push(1, 1, "e2"));
    expect(link.position()).toEqual({ seq: 1, epoch: "e2" });
    expect(delivered.map((d) => d.seq)).toEqual([1, 2, 3, 4, 5, 1]);
    expect(sequencer.ranges).toEqual([]);
  });

  it("forwards the publishes of one turn in one call and answers each with its seq", async () => {
    const { link, sequencer } = setup();
    const verdicts: Verdict[] = [];
    for (const v of ["a", "b", "c"]) link.sequence(input(v), { sender: null, echo: false, origin: "c1" }, (x) => verdicts.push(x));
    expect(sequencer.publishCalls.length).toBe(0); // not before the turn ends
    await settle();
    await settle();
    expect(sequencer.publishCalls.map((c) => c.map((f) => f.input.payload.value))).toEqual([["a", "b", "c"]]);
    expect(verdicts).toEqual([
      { ok: true, seq: 1 },
      { ok: true, seq: 2 },
      { ok: true, seq: 3 },
    ]);
  });

  it("splits a turn's forwards past RPC_BYTES into several calls, in order", async () => {
    const { link, sequencer } = setup();
    const verdicts: Verdict[] = [];
    const big = "x".repeat(Math.floor(RPC_BYTES / 2) - 16);
    for (let i = 0; i < 5; i++) link.sequence(input(big), { sender: null, echo: false, origin: null }, (x) => verdicts.push(x));
    await settle();
    await settle();
    expect(sequencer.publishCalls.map((c) => c.length)).toEqual([2, 2, 1]);
    expect(verdicts.map((v) => (v.ok ? v.seq : null))).toEqual([1, 2, 3, 4, 5]);
  });

  it("refuses every forward of a failed call with a reason the publisher can act on", async () => {
    const { link, sequencer } = setup();
    sequencer.down = true;
    const verdicts: Verdict[] = [];
    link.sequence(input("a"), { sender: null, echo: false, origin: null }, (x) => verdicts.push(x));
    link.sequence(input("b"), { sender: null, echo: false, origin: null }, (x) => verdicts.push(x));
    await settle();
    await settle();
    expect(verdicts).toEqual([expect.objectContaining({ ok: false, code: "unavailable" }), expect.objectContaining({ ok: false, code: "unavailable" })]);
  });

  it("opens a non-resuming stream without a call once the sequencer has spoken in this wake", async () => {
    const { link, sequencer } = setup();
    sequencer.seq = 9;
    const first = await link.prepareResume(null, null, { sub: null, scopes: [] } as never, 1000);
    expect(first).toMatchObject({ seq: 9, epoch: "e1", recovered: false });
    expect(sequencer.opens.length).toBe(1);
    const second = await link.prepareResume(null, null, { sub: null, scopes: [] } as never, 1000);
    expect(second).toMatchObject({ seq: 9 });
    expect(sequencer.opens.length).toBe(1);
    expect(link.stats).toMatchObject({ localOpens: 1, sequencerOpens: 1 });
  });

  it("replays a resume from the answer's page, then from the ring up to what it delivered: no gap, no repeat", async () => {
    const { link, sequencer } = setup();
    await link.push(push(1, 6));
    // The answer was computed at seq 4; 5 and 6 were pushed while it was out.
    sequencer.openAnswer = { seq: 4, after: 2, rows: [stored(3), stored(4)], complete: true };
    const start = await link.prepareResume(2, "e1", { sub: null, scopes: [] } as never, 1000);
    expect(start.seq).toBe(6);
    const sent: number[] = [];
    expect(start.replay((m) => (sent.push(m.seq), true))).toBe(true);
    expect(sent).toEqual([3, 4, 5, 6]);
  });

  it("stops a replay whose page was not complete, so the reader resumes for the next page", async () => {
    const { link, sequencer } = setup();
    await link.push(push(1, 6));
    sequencer.openAnswer = { seq: 6, after: 0, rows: [stored(1), stored(2)], complete: false };
    const start = await link.prepareResume(0, "e1", { sub: null, scopes: [] } as never, 10);
    const sent: number[] = [];
    expect(start.replay((m) => (sent.push(m.seq), true))).toBe(false);
    expect(sent).toEqual([1, 2]);
  });
});
