import { describe, expect, it } from "vitest";
import { compileOrigins } from "../../worker/origin";

describe("ALLOWED_ORIGINS matching", () => {
  const allow = compileOrigins("https://app.example.com, https://*.example.com, http://localhost:*, http://127.0.0.1:8080");
  it.each([
    ["https://app.example.com", true],
    ["https://APP.Example.COM", true], // hosts are case-insensitive
    ["https://app.example.com:443", true], // default port spelled out
    ["https://app.example.com:8443", false],
    ["http://app.example.com", false], // scheme matters
    ["https://a.b.example.com", true],
    ["https://example.com", false], // *.example.com is subdomains only
    ["https://evil.example.com.attacker.io", false],
    ["https://evilexample.com", false],
    ["https://.example.com", false],
    ["http://localhost", true],
    ["http://localhost:5173", true],
    ["https://localhost:5173", false],
    ["http://localhost.evil.io:5173", false],
    ["http://127.0.0.1:8080", true],
    ["http://127.0.0.1:8081", false],
    ["null", false],
    ["", false],
    ["https://app.example.com/path", false],
    ["https://user@app.example.com", false],
    ["file://", false],
  ])("%s → %s", (origin, expected) => {
    expect(allow(origin)).toBe(expected);
  });

  it("* allows every origin, even null", () => {
    const any = compileOrigins("*");
    expect(any("https://anything.io")).toBe(true);
    expect(any("null")).toBe(true);
  });

  it("an empty list allows nothing", () => {
    expect(compileOrigins("")("http://localhost:1")).toBe(false);
  });

  it("ignores malformed entries but keeps the good ones", () => {
    const m = compileOrigins("not a url, https://ok.io");
    expect(m("https://ok.io")).toBe(true);
    expect(m("not a url")).toBe(false);
  });
});
