/**
 * The sequencer's pushes to its shards (shards/sequencer.ts) against fake
 * shards: order, gathering while a push is out, retries with what gathered
 * meanwhile, giving up so that the shard fetches the gap, the registry kept
 * in storage, and pushes bounded by RPC_BYTES.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PresenceEvent } from "../../protocol";
import { ShardFanout, type SequencerHost, type ShardTarget } from "../../durable-objects/shards/sequencer";
import { RPC_BYTES, type Push, type PushedMessage, type PushResult } from "../../durable-objects/shards/wire";
import { fakeStore } from "./fake-store";


/** A shard that records every push and fails the next `failures` of them. */
class FakeShard implements ShardTarget {
  pushes: Push[] = [];
  failures = 0;
  /** Resolvers of pushes held open by `hold` (to see what gathers while one is out). */
  held: Array<() => void> = [];
  hold = false;
  async shardPush(push: Push): Promise<PushResult> {
    this.pushes.push(structuredClone(push));
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failures > 0) {
      this.failures--;
      throw new Error("shard unreachable");
    }
    return { delivered: push.to, members: 1 };
  }
  async shardPresence(_frames: PresenceEvent[], _others: number): Promise<void> {}
}

let names = 0;
function setup(count: number, meta = new Map<string, string>(), seq = 0) {
  const shards = Array.from({ length: count }, () => new FakeShard());
  const position = { seq, epoch: "e1" };
  const host: SequencerHost = {
    name: `fanout-test-${names++}`,
    store: fakeStore(meta),
    position: () => position,
    persist: () => undefined,
    shard: (i) => shards[i]!,
  };
  return { fanout: new ShardFanout(host, count), shards, position, meta };
}

const msg = (seq: number, size = 2): PushedMessage => ({
  seq,
  envelope: `{"seq":${seq}}`,
  payload: { kind: "text", value: "x".repeat(size) },
  origin: null,
  echo: false,
  topic: null,
  retain: false,
});

/** Lets the pumps' awaits and zero-delay timers run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const seqsOf = (p: Push) => p.messages.map((m) => m.seq);

describe("ShardFanout", () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("pushes each batch to every registered shard, in order, starting after the seq at registration", async () => {
    const { fanout, shards, position } = setup(3, new Map(), 7);
    expect(fanout.register(0)).toBe(true);
    expect(fanout.register(2)).toBe(true);
    expect(fanout.register(0)).toBe(false);
    position.seq = 8;
    fanout.enqueue([msg(8)]);
    await settle();
    position.seq = 9;
    fanout.enqueue([msg(9)]);
    await settle();
    for (const i of [0, 2]) {
      expect(shards[i]!.pushes.map((p) => [p.from, p.to, seqsOf(p)])).toEqual([
        [8, 8, [8]],
        [9, 9, [9]],
      ]);
    }
    expect(shards[1]!.pushes).toEqual([]);
    expect(fanout.stats).toMatchObject({ batches: 2, messages: 2, pushes: 4, failedPushes: 0, shards: 2 });
  });

  it("refuses a shard index outside the room's count", () => {
    const { fanout } = setup(2);
    expect(() => fanout.register(2)).toThrow(RangeError);
    expect(() => fanout.register(-1)).toThrow(RangeError);
    expect(() => fanout.register(0.5)).toThrow(RangeError);
  });

  it("keeps one push in flight per shard: batches committed meanwhile leave together as the next push", async () => {
    const { fanout, shards } = setup(1);
    fanout.register(0);
    const shard = shards[0]!;
    shard.hold = true;
    fanout.enqueue([msg(1)]);
    await settle();
    fanout.enqueue([msg(2)]);
    fanout.enqueue([msg(3), msg(4)]);
    await settle();
    expect(shard.pushes.length).toBe(1); // the second waits for the first
    shard.hold = false;
    shard.held.shift()!();
    await settle();
    await settle();
    expect(shard.pushes.map((p) => [p.from, p.to, seqsOf(p)])).toEqual([
      [1, 1, [1]],
      [2, 4, [2, 3, 4]],
    ]);
  });

  it("sends a failed push again after a backoff, with what gathered meanwhile", async () => {
    vi.useFakeTimers();
    const { fanout, shards } = setup(1);
    fanout.register(0);
    const shard = shards[0]!;
    shard.failures = 2;
    fanout.enqueue([msg(1)]);
    await vi.advanceTimersByTimeAsync(0);
    fanout.enqueue([msg(2)]);
    await vi.advanceTimersByTimeAsync(49);
    expect(shard.pushes.length).toBe(1); // the first retry waits 50 ms
    await vi.advanceTimersByTimeAsync(1 + 200);
    expect(shard.pushes.map((p) => [p.from, p.to, seqsOf(p)])).toEqual([
      [1, 1, [1]],
      [1, 2, [1, 2]],
      [1, 2, [1, 2]],
    ]);
    expect(fanout.stats.failedPushes).toBe(2);
    // Delivered: the next push starts after 2.
    fanout.enqueue([msg(3)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(shard.pushes.at(-1)).toMatchObject({ from: 3, to: 3 });
  });

  it("gives up after its retries; the next push still starts at the undelivered seq, so the shard sees the gap", async () => {
    vi.useFakeTimers();
    const { fanout, shards } = setup(1);
    fanout.register(0);
    const shard = shards[0]!;
    shard.failures = 5; // the first try and four retries
    fanout.enqueue([msg(1), msg(2)]);
    await vi.advanceTimersByTimeAsync(50 + 200 + 1000 + 3000 + 10);
    expect(shard.pushes.length).toBe(5);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("push 1..2 failed 5 times"), expect.any(Error));
    fanout.enqueue([msg(3)]);
    await vi.advanceTimersByTimeAsync(0);
    const last = shard.pushes.at(-1)!;
    expect([last.from, last.to, seqsOf(last)]).toEqual([1, 3, [3]]); // from 1: the shard fetches 1..2 from history
    expect(shard.pushes.length).toBe(6);
  });

  it("keeps the registry in storage: a restarted sequencer announces the room's seq to each registered shard", async () => {
    const first = setup(4);
    first.fanout.register(1);
    first.fanout.register(3);
    expect(JSON.parse(first.meta.get("shards")!)).toEqual([1, 3]);

    const again = setup(4, first.meta, 42);
    again.fanout.wake();
    await settle();
    for (const i of [1, 3]) expect(again.shards[i]!.pushes).toEqual([expect.objectContaining({ from: 43, to: 42, messages: [] })]);
    expect(again.shards[0]!.pushes).toEqual([]);
    expect(again.fanout.stats.shards).toBe(2);
  });

  it("splits a burst larger than RPC_BYTES into several pushes, in order, none past the bound", async () => {
    const { fanout, shards } = setup(1);
    fanout.register(0);
    const shard = shards[0]!;
    shard.hold = true;
    fanout.enqueue([msg(1)]);
    await settle();
    const big = Math.floor(RPC_BYTES / 3);
    fanout.enqueue([2, 3, 4, 5, 6, 7].map((s) => msg(s, big)));
    shard.hold = false;
    shard.held.shift()!();
    for (let i = 0; i < 6; i++) await settle();
    const after = shard.pushes.slice(1);
    expect(after.map((p) => [p.from, p.to, seqsOf(p)])).toEqual([
      [2, 3, [2, 3]],
      [4, 5, [4, 5]],
      [6, 7, [6, 7]],
    ]);
    for (const p of after) {
      const bytes = p.messages.reduce((n, m) => n + m.envelope.length + (m.payload.value as string).length, 0);
      expect(bytes).toBeLessThanOrEqual(RPC_BYTES);
    }
  });
});
