/** Topic and filter rules (protocol/topics.ts). */
import { describe, expect, it } from "vitest";
import { MAX_TOPIC_FILTERS, TopicMatcher, parseTopicList, topicMatches, validFilter, validTopic } from "../../protocol/topics";

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
