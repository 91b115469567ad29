import { describe, expect, it } from "vitest";
import { compileHosts, isLoopbackHost } from "../../worker/host";
import { compileOrigins } from "../../worker/origin";

describe("ALLOWED_ORIGINS matching", () => {
  const allow = compileOrigins("https://app.example.com, https://*.example.com, http://localhost:*, http://127.0.0.1:8080");
  it.each([
    ["https://app.example.com", true],
    ["https://APP.Example.COM", true], // hosts are case-insensitive
    ["https://app.example.com:443", true], // default port spelled out
    ["https://app.example.com:443.", false],
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

describe("default ports are normalised on both sides", () => {
  it.each([
    ["https://relay.example.com", "https://relay.example.com:443", true],
    ["https://relay.example.com:443", "https://relay.example.com", true],
    ["http://relay.example.com:80", "http://relay.example.com", true],
    ["http://relay.example.com", "http://relay.example.com:80", true],
    ["https://relay.example.com", "https://relay.example.com:80", false],
    ["http://relay.example.com", "http://relay.example.com:443", false],
    ["https://*.example.com", "https://a.example.com:443", true],
  ])("rule %s, origin %s → %s", (rule, origin, expected) => {
    expect(compileOrigins(rule)(origin)).toBe(expected);
  });

  it("the local default allows the https:// forms that paho-mqtt sends on ws://", () => {
    const local = compileOrigins("http://localhost:*,http://127.0.0.1:*,https://localhost:*,https://127.0.0.1:*");
    expect(local("https://127.0.0.1:8787")).toBe(true);
    expect(local("https://localhost:8787")).toBe(true);
    expect(local("https://localhost.evil.io:8787")).toBe(false);
  });

  it("IPv6 origins parse, in brackets", () => {
    const m = compileOrigins("http://[::1]:*");
    expect(m("http://[::1]:8787")).toBe(true);
    expect(m("http://[::1]")).toBe(true);
    expect(m("http://[::2]:8787")).toBe(false);
    expect(m("http://[::1]@evil.io")).toBe(false);
  });
});

describe("the Host gate's names", () => {
  it.each([
    ["localhost", true],
    ["LOCALHOST", true],
    ["localhost.", true],
    ["dash.localhost", true],
    ["127.0.0.1", true],
    ["127.255.0.9", true],
    ["[::1]", true],
    ["localhost.attacker.example", false],
    ["127.0.0.1.nip.io", false],
    ["128.0.0.1", false],
    ["0.0.0.0", false],
    ["[::2]", false],
    ["rebind.attacker.example", false],
  ])("%s is loopback → %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });

  it("ALLOWED_HOSTS adds exact names and *. subdomains; loopback stays allowed", () => {
    const m = compileHosts(" relay.lan ,*.devices.lan,");
    expect(m("relay.lan")).toBe(true);
    expect(m("RELAY.lan.")).toBe(true);
    expect(m("pi.devices.lan")).toBe(true);
    expect(m("devices.lan")).toBe(false);
    expect(m("xdevices.lan")).toBe(false);
    expect(m("relay.lan.attacker.example")).toBe(false);
    expect(m("localhost")).toBe(true);
    expect(compileHosts("")("relay.lan")).toBe(false);
    expect(compileHosts("*")("anything.example")).toBe(true);
  });
});
