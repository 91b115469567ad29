/** The SHARDS var: which rooms are sharded, how wide, and how their objects are named. */
import { describe, expect, it } from "vitest";
import { shardCount, shardName, shardRole } from "../../durable-objects/shards/config";

describe("SHARDS", () => {
  const vars = { SHARDS: "big-*=8, lobby=4,big-huge=64" };

  it("matches exact names and prefixes; the first entry that matches wins", () => {
    expect(shardCount("lobby", vars)).toBe(4);
    expect(shardCount("lobby2", vars)).toBe(1);
    expect(shardCount("big-1", vars)).toBe(8);
    expect(shardCount("big-huge", vars)).toBe(8);
    expect(shardCount("small", vars)).toBe(1);
    expect(shardCount("anything", { SHARDS: "*=3" })).toBe(3);
  });

  it("leaves every room unsharded when unset or empty, and ignores entries that do not parse", () => {
    expect(shardCount("big-1", {})).toBe(1);
    expect(shardCount("big-1", { SHARDS: "" })).toBe(1);
    for (const bad of ["big-*=1", "big-*=65", "big-*=x", "big-*", "=4", "big-*=2.5"]) expect(shardCount("big-1", { SHARDS: bad })).toBe(1);
    expect(shardCount("big-1", { SHARDS: "big-*=1,big-*=2" })).toBe(2);
  });

  it("names shards outside the room-name alphabet and tells each object its role", () => {
    expect(shardName("big-1", 3)).toBe("big-1#3");
    expect(shardRole("big-1", vars)).toEqual({ kind: "sequencer", room: "big-1", count: 8 });
    expect(shardRole("big-1#3", vars)).toEqual({ kind: "shard", room: "big-1", index: 3, count: 8 });
    expect(shardRole("small", vars)).toEqual({ kind: "single", room: "small" });
  });
});
