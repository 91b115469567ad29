import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { keepAliveFor } from "../../durable-objects/mqtt/connect-rules";
import { messageProperties, publishProperties } from "../../durable-objects/mqtt/properties";
import { expiryLeft, MAX_USER_PROPERTIES, parseProperties } from "../../protocol/properties";

describe("parseProperties (a JSON publisher's)", () => {
  it("keeps the known names, and nothing when there are none", () => {
    expect(parseProperties(undefined)).toEqual({ ok: true, value: undefined });
    expect(parseProperties({})).toEqual({ ok: true, value: undefined });
    expect(parseProperties({ contentType: "text/plain", responseTopic: "a/b", correlationData: "AAE=", messageExpiry: 5, payloadFormat: 1 })).toEqual({
      ok: true,
      value: { contentType: "text/plain", responseTopic: "a/b", correlationData: "AAE=", messageExpiry: 5, payloadFormat: 1 },
    });
  });

  it("takes user properties as an object (values or lists) or as pairs, in order", () => {
    expect(parseProperties({ userProperties: { a: "1", b: ["2", "3"] } })).toEqual({ ok: true, value: { userProperties: [["a", "1"], ["b", "2"], ["b", "3"]] } });
    expect(parseProperties({ userProperties: [["x", "1"], ["x", "2"]] })).toEqual({ ok: true, value: { userProperties: [["x", "1"], ["x", "2"]] } });
  });

  it.each([
    [[], /must be an object/],
    [{ colour: "red" }, /unknown property "colour"/],
    [{ payloadFormat: 2 }, /payloadFormat/],
    [{ responseTopic: "a/+" }, /responseTopic/],
    [{ correlationData: "not base64!" }, /correlationData/],
    [{ userProperties: { a: 1 } }, /userProperties/],
    [{ userProperties: Array.from({ length: MAX_USER_PROPERTIES + 1 }, (_, i) => [`k${i}`, "v"]) }, /userProperties/],
    [{ messageExpiry: 0 }, /messageExpiry/],
    [{ messageExpiry: 1.5 }, /messageExpiry/],
  ])("refuses %j with a message naming the problem", (raw, message) => {
    const r = parseProperties(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });
});

describe("expiryLeft", () => {
  it("counts down whole seconds from the message's ts, and stops at 0", () => {
    expect(expiryLeft(undefined, 0, 10_000)).toBeNull();
    expect(expiryLeft({ messageExpiry: 10 }, 1_000, 1_000)).toBe(10);
    expect(expiryLeft({ messageExpiry: 10 }, 1_000, 4_999)).toBe(7);
    expect(expiryLeft({ messageExpiry: 10 }, 1_000, 11_000)).toBe(0);
    expect(expiryLeft({ messageExpiry: 10 }, 1_000, 99_000)).toBe(0);
  });
});

describe("MQTT properties both ways", () => {
  it("a PUBLISH's properties round-trip through the envelope's shape", () => {
    const wire = {
      payloadFormatIndicator: true,
      contentType: "application/json",
      responseTopic: "r/1",
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: { a: "1", b: ["2", "3"] },
      messageExpiryInterval: 30,
    };
    const kept = messageProperties(wire)!;
    expect(kept).toEqual({ payloadFormat: 1, contentType: "application/json", responseTopic: "r/1", correlationData: "AQID", userProperties: [["a", "1"], ["b", "2"], ["b", "3"]], messageExpiry: 30 });
    const out = publishProperties(kept, 12)!;
    expect({ ...out, correlationData: [...out.correlationData!] }).toEqual({ ...wire, correlationData: [1, 2, 3], messageExpiryInterval: 12 });
  });

  it("drops what is over its bounds, and has nothing for a packet without properties", () => {
    expect(messageProperties(undefined)).toBeUndefined();
    expect(messageProperties({ contentType: "x".repeat(5000) })).toBeUndefined();
    expect(publishProperties(undefined, null)).toBeUndefined();
  });
});

describe("keepAliveFor (MQTT_MAX_KEEPALIVE_SECONDS)", () => {
  it("caps a 5.0 client's keep-alive (none counts as longer than any); 3.1.1 and no cap keep the client's own", () => {
    expect(keepAliveFor(5, 120, 60)).toBe(60);
    expect(keepAliveFor(5, 0, 60)).toBe(60);
    expect(keepAliveFor(5, 30, 60)).toBe(30);
    expect(keepAliveFor(4, 120, 60)).toBe(120);
    expect(keepAliveFor(5, 120, 0)).toBe(120);
  });
});
