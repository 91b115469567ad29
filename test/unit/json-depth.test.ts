/** The depth scan that runs before JSON.parse on everything a client publishes. */
import { describe, expect, it } from "vitest";
import { jsonDepthExceeds } from "../../protocol/json-depth";

const nested = (depth: number, open = "[", close = "]") => open.repeat(depth) + close.repeat(depth);

describe("jsonDepthExceeds", () => {
  it("counts arrays and objects inside one another", () => {
    expect(jsonDepthExceeds(nested(64))).toBe(false);
    expect(jsonDepthExceeds(nested(65))).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":[1,{"c":2}]}}', 4)).toBe(false);
    expect(jsonDepthExceeds('{"a":{"b":[1,{"c":2}]}}', 3)).toBe(true);
  });

  it("measures the deepest point, not the number of brackets", () => {
    const wide = "[" + Array.from({ length: 1000 }, () => "[[1]]").join(",") + "]";
    expect(jsonDepthExceeds(wide, 3)).toBe(false);
    expect(jsonDepthExceeds(wide, 2)).toBe(true);
  });

  it("ignores brackets inside strings, escaped quotes and backslashes included", () => {
    expect(jsonDepthExceeds(JSON.stringify("[".repeat(100)), 1)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ k: '\\"[[[[', v: "\\" }), 1)).toBe(false);
    expect(jsonDepthExceeds(`["\\\\", [[1]]]`, 2)).toBe(true); // the string ends after the escaped backslash
  });

  it("scans a very deep text without recursing", () => {
    expect(jsonDepthExceeds(nested(1_000_000))).toBe(true);
    expect(jsonDepthExceeds("")).toBe(false);
  });
});
