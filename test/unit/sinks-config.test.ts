import { describe, expect, it } from "vitest";
import { DEFAULT_SINK_BOUNDS, readSinkConfig } from "../../durable-objects/sinks/config";
import { readEvents } from "../../durable-objects/lifecycle";

const queue = { send: async () => {}, sendBatch: async () => {} };
const env = { EVENTS_Q: queue };

describe("SINKS", () => {
  it("reads webhook and queue entries, with the bounds' defaults", () => {
    const config = readSinkConfig(
      { SINKS: JSON.stringify([{ match: "a/#,b", webhook: "https://example.com/h" }, { match: "a/#", queue: "EVENTS_Q" }]), WEBHOOK_SECRET: "k" },
      env,
    );
    expect(config.routes).toEqual([
      { name: "webhook:https://example.com/h", match: ["a/#", "b"], target: { kind: "webhook", url: "https://example.com/h" } },
      { name: "queue:EVENTS_Q", match: ["a/#"], target: { kind: "queue", binding: "EVENTS_Q" } },
    ]);
    expect(config.bounds).toEqual(DEFAULT_SINK_BOUNDS);
    expect(readSinkConfig({}, env).routes).toEqual([]);
  });

  it("keeps the contract's limits: first retry within 5 s, requests abandoned by 10 s", () => {
    const { bounds } = readSinkConfig({ SINK_RETRY_BASE_MS: "60000", SINK_TIMEOUT_MS: "30000", SINK_MAX_PENDING_MESSAGES: "nope" }, env);
    expect(bounds.retryBaseMs).toBe(5000);
    expect(bounds.timeoutMs).toBe(10_000);
    expect(bounds.maxPendingMessages).toBe(DEFAULT_SINK_BOUNDS.maxPendingMessages);
  });

  it.each([
    ["not json", /SINKS is not JSON/],
    ['{"match":"a"}', /must be a JSON array/],
    ['[{"match":"a"}]', /SINKS\[0\] needs exactly one of "webhook" or "queue"/],
    ['[{"match":"a","webhook":"ftp://x"}]', /SINKS\[0\]\.webhook must be an http\(s\) URL/],
    ['[{"match":"a/#/b","queue":"EVENTS_Q"}]', /SINKS\[0\]\.match: topics: "a\/#\/b" is not a valid topic filter/],
    ['[{"match":"a","queue":"MISSING"}]', /SINKS\[0\]\.queue: no Queue producer binding "MISSING"/],
    ['[{"match":"a","queue":"EVENTS_Q","extra":1}]', /unknown field "extra"/],
    ['[{"match":"a","queue":"EVENTS_Q"},{"match":"b","queue":"EVENTS_Q"}]', /queue:EVENTS_Q appears twice/],
    ['[{"match":"a","webhook":"https://example.com"}]', /WEBHOOK_SECRET secret is not set/],
  ])("refuses %s with a message that names the fault", (SINKS, message) => {
    expect(() => readSinkConfig({ SINKS }, env)).toThrow(message);
  });
});

describe("EVENTS", () => {
  it("reads the kinds, off by default, and refuses an unknown one", () => {
    expect([...readEvents(undefined)]).toEqual([]);
    expect([...readEvents(" connected, vacated ,")]).toEqual(["connected", "vacated"]);
    expect(() => readEvents("connected,joined")).toThrow(/"joined" is not one of connected, disconnected, occupied, vacated/);
  });
});
