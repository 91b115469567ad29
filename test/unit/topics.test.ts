/** Topic and filter rules (protocol/topics.ts). */
import { describe, expect, it } from "vitest";
import { MAX_TOPIC_FILTERS, TopicMatcher, filterAllowed, filterWithin, parseTopicList, topicMatches, validFilter, validTopic } from "../../protocol/topics";
import { parseAclClaim, readableFilters } from "../../protocol/claims";

describe("validTopic", () => {
  it.each([
    ["a", true],
    ["a/b/c", true],
    ["/", true],
    ["a//b", true],
    ["$SYS/x", true],
    ["ünï/cödé", true],
    ["x".repeat(256), true],
    ["x".repeat(257), false],
    ["é".repeat(128), true], // 256 bytes
    ["é".repeat(129), false], // 258 bytes
    ["", false],
    ["a/+", false],
    ["a/#", false],
    ["a+b", false],
    ["a\u0000b", false],
    ["\uD800", false],
  ])("%j → %s", (topic, ok) => {
    expect(validTopic(topic)).toBe(ok);
  });

  it("refuses non-strings", () => {
    expect(validTopic(1)).toBe(false);
    expect(validTopic(null)).toBe(false);
  });
});

describe("validFilter", () => {
  it.each([
    ["a/b", true],
    ["+", true],
    ["#", true],
    ["a/+/c", true],
    ["a/#", true],
    ["+/+/#", true],
    ["/+", true],
    ["a/b#", false],
    ["a/#/b", false],
    ["a+/b", false],
    ["a/++", false],
    ["##", false],
    ["", false],
    ["x".repeat(257), false],
    ["a\u0000", false],
  ])("%j → %s", (filter, ok) => {
    expect(validFilter(filter)).toBe(ok);
  });
});

const cases: [string, string, boolean][] = [
  ["a/b", "a/b", true],
  ["a/b", "a/c", false],
  ["a/+", "a/b", true],
  ["a/+", "a/b/c", false],
  ["a/+", "a", false],
  ["a/+", "a/", true], // an empty level is a level
  ["+/+", "/x", true],
  ["a/#", "a", true], // `#` matches the parent
  ["a/#", "a/b/c", true],
  ["a/#", "ab", false],
  ["#", "a/b", true],
  ["#", "$SYS/x", false],
  ["+/x", "$SYS/x", false],
  ["$SYS/#", "$SYS/x", true],
  ["$SYS/+", "$SYS/x", true],
  ["a/+/c", "a/b/c", true],
  ["a/+/c", "a/b/d", false],
  ["a/b/c", "a/b", false],
];

describe("topicMatches and TopicMatcher", () => {
  it.each(cases)("%s ~ %s → %s", (filter, topic, ok) => {
    expect(topicMatches(filter, topic)).toBe(ok);
    expect(new TopicMatcher([filter]).matches(topic)).toBe(ok);
  });

  it("a matcher of many filters matches when any one does", () => {
    const m = new TopicMatcher(["a/b", "x/+", "y/#"]);
    expect(m.matches("a/b")).toBe(true);
    expect(m.matches("x/1")).toBe(true);
    expect(m.matches("y")).toBe(true);
    expect(m.matches("y/1/2")).toBe(true);
    expect(m.matches("x/1/2")).toBe(false);
    expect(m.matches("z")).toBe(false);
    expect(new TopicMatcher([]).empty).toBe(true);
  });
});

describe("parseTopicList", () => {
  it("splits on commas, keeps order, drops duplicates", () => {
    expect(parseTopicList("a/+,b/#,a/+")).toEqual({ ok: true, value: ["a/+", "b/#"] });
  });

  it.each(["", "a,", ",a", "a,,b", "a/#/b", "a,b+"])("refuses %j with a message", (value) => {
    const r = parseTopicList(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/^topics: /);
  });

  it(`caps the list at ${MAX_TOPIC_FILTERS} filters`, () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `t/${i}`).join(",");
    expect(parseTopicList(list(MAX_TOPIC_FILTERS)).ok).toBe(true);
    expect(parseTopicList(list(MAX_TOPIC_FILTERS + 1))).toEqual({ ok: false, message: `topics: at most ${MAX_TOPIC_FILTERS} filters` });
  });
});

describe("filterWithin (acl.sub containment)", () => {
  it.each([
    ["cmd/d1", "cmd/d1", true],
    ["cmd/d1", "cmd/+", true],
    ["cmd/d1", "cmd/#", true],
    ["cmd", "cmd/#", true], // `#` matches the parent level too
    ["cmd/+", "cmd/#", true],
    ["cmd/+/x", "cmd/#", true],
    ["cmd/#", "cmd/#", true],
    ["+", "#", true],
    ["#", "+/#", true], // `#` has no parent level to reach
    ["+/+", "+/#", true],
    ["cmd/+", "cmd/d1", false],
    ["#", "cmd/d1", false],
    ["cmd/#", "cmd/+", false], // reaches `cmd` and deeper levels
    ["cmd/d1/x", "cmd/+", false],
    ["cmd", "cmd/+", false],
    ["cmd/d1", "cmd", false],
    ["tel/d1", "cmd/#", false],
    ["a/+", "+/b", false],
    // the `$` rule: a wildcard-first filter matches no `$` topic
    ["$SYS/x", "#", false],
    ["$SYS/x", "+/x", false],
    ["$SYS/x", "$SYS/#", true],
    ["#", "$SYS/#", false],
    ["+/x", "$SYS/+", false],
  ])("%j within %j → %s", (filter, outer, within) => {
    expect(filterWithin(filter, outer)).toBe(within);
  });

  // Exact for one outer filter: over every topic of up to 4 levels from a
  // small alphabet (with a `$` level, and a level neither filter names), a
  // filter is within another iff each topic it matches, the other matches.
  it("agrees with matching over every small topic, for every pair of small filters", () => {
    const levels = ["a", "b", "$s", "z"];
    const topics: string[] = [];
    const grow = (prefix: string[]) => {
      if (prefix.length > 0) topics.push(prefix.join("/"));
      if (prefix.length < 4) for (const l of levels) grow([...prefix, l]);
    };
    grow([]);
    const filters: string[] = [];
    const grownFilter = (prefix: string[]) => {
      if (prefix.length > 0) filters.push(prefix.join("/"));
      if (prefix.length < 3) for (const l of ["a", "$s", "+"]) grownFilter([...prefix, l]);
      if (prefix.length < 3) filters.push([...prefix, "#"].join("/"));
    };
    grownFilter([]);
    let checked = 0;
    for (const f of filters) {
      const mine = topics.filter((t) => topicMatches(f, t));
      for (const o of filters) {
        const truth = mine.every((t) => topicMatches(o, t));
        expect([f, o, filterWithin(f, o)]).toEqual([f, o, truth]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("filterAllowed: inside one of the outers; conservative about unions", () => {
    expect(filterAllowed("cmd/d1", ["tel/d1", "cmd/d1"])).toBe(true);
    expect(filterAllowed("cmd/d2", ["tel/d1", "cmd/d1"])).toBe(false);
    expect(filterAllowed("x", [])).toBe(false);
    // `a` and `a/+/#` together cover `a/#`, but neither alone does: refused (documented).
    expect(filterAllowed("a/#", ["a", "a/+/#"])).toBe(false);
  });
});

describe("the acl claim (protocol/claims.ts)", () => {
  it("takes pub and sub lists of filters, dropping duplicates", () => {
    expect(parseAclClaim(undefined)).toEqual({ ok: true, value: undefined });
    expect(parseAclClaim({ pub: ["tel/d1", "tel/d1"], sub: ["cmd/d1"] })).toEqual({ ok: true, value: { pub: ["tel/d1"], sub: ["cmd/d1"] } });
    expect(parseAclClaim({ pub: [] })).toEqual({ ok: true, value: { pub: [] } });
  });

  it.each([
    ["not an object", "tel/#"],
    ["an array", ["tel/#"]],
    ["null", null],
    ["a list that is not an array", { pub: "tel/#" }],
    ["an invalid filter", { sub: ["a/#/b"] }],
    ["a non-string filter", { sub: [1] }],
    ["an unknown key", { pub: ["a"], admin: true }],
    ["too many filters", { sub: Array.from({ length: MAX_TOPIC_FILTERS + 1 }, (_, i) => `t/${i}`) }],
    ["too many bytes", { sub: Array.from({ length: 8 }, (_, i) => `${i}`.padEnd(200, "x")) }],
  ])("refuses %s", (_what, value) => {
    expect(parseAclClaim(value).ok).toBe(false);
  });

  it("readableFilters: the ACL's own filters when none asked, the asked ones inside it, the first outside named", () => {
    const acl = { sub: ["cmd/d1", "cfg/#"] };
    expect(readableFilters(undefined, null)).toEqual({ ok: true, value: null });
    expect(readableFilters({ pub: ["x"] }, ["a/#"])).toEqual({ ok: true, value: ["a/#"] });
    expect(readableFilters(acl, null)).toEqual({ ok: true, value: ["cmd/d1", "cfg/#"] });
    expect(readableFilters(acl, ["cfg/+", "cmd/d1"])).toEqual({ ok: true, value: ["cfg/+", "cmd/d1"] });
    expect(readableFilters(acl, ["cmd/d1", "cmd/+"])).toEqual({ ok: false, outside: "cmd/+" });
    expect(readableFilters(acl, ["#"])).toEqual({ ok: false, outside: "#" });
  });
});
