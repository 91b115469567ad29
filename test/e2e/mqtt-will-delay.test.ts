/**
 * MQTT 5 Will Delay Interval over real sockets: the will goes out after its
 * delay, not at once; a connection that resumes the session before then
 * cancels it; the delay is kept in storage and timed by the room's alarm,
 * so it holds across a restart of the relay.
 */
import { describe, expect, it } from "vitest";
import { connectCollecting, until } from "../support/mqtt";
import { startRelay, useRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";

const relay = useRelay();
const url = (base: string, room: string) => `${base}/rooms/${room}/mqtt`;
const device = (clientId: string, delay: number) => ({
  protocolVersion: 5 as const,
  clientId,
  clean: false,
  keepalive: 0,
  properties: { sessionExpiryInterval: 60 },
  will: { topic: `status/${clientId}`, payload: Buffer.from("offline"), qos: 1 as const, retain: false, properties: { willDelayInterval: delay } },
});

describe("Will Delay Interval", () => {
  it("the will goes out when the delay is over, not when the connection drops", async () => {
    const room = uniqueRoom("will-delay");
    const watcher = await connectCollecting(url(relay.wsUrl, room), { protocolVersion: 5, keepalive: 0 });
    await watcher.client.subscribeAsync("status/#", { qos: 1 });
    const d = await connectCollecting(url(relay.wsUrl, room), device("d1", 2));
    const droppedAt = Date.now();
    d.client.stream.destroy(); // no DISCONNECT
    await sleep(1000);
    expect(watcher.got).toEqual([]);
    await until(() => watcher.got.length === 1, 10_000);
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(1900);
    expect(watcher.got[0]).toMatchObject({ topic: "status/d1", payload: "offline" });
    d.client.end(true);
    await watcher.client.endAsync();
  });

  it("a connection that resumes the session before the delay is over cancels the will", async () => {
    const room = uniqueRoom("will-cancel");
    const watcher = await connectCollecting(url(relay.wsUrl, room), { protocolVersion: 5, keepalive: 0 });
    await watcher.client.subscribeAsync("status/#", { qos: 1 });
    const d = await connectCollecting(url(relay.wsUrl, room), device("d2", 2));
    d.client.stream.destroy();
    await sleep(300);
    const back = await connectCollecting(url(relay.wsUrl, room), { ...device("d2", 2), will: undefined });
    expect(back.sessionPresent).toBe(true);
    await sleep(3500);
    expect(watcher.got).toEqual([]);
    d.client.end(true);
    await Promise.all([back.client.endAsync(), watcher.client.endAsync()]);
  });

  it("is kept in storage: a relay restarted during the delay still publishes the will", async () => {
    const own = await startRelay();
    try {
      const room = uniqueRoom("will-restart");
      const d = await connectCollecting(url(own.wsUrl, room), device("d3", 3));
      d.client.stream.destroy();
      await sleep(300);
      d.client.end(true);
      await own.restart(); // same port, same storage; the room's alarm was set for the will
      let messages: Array<{ topic?: string; data: unknown }> = [];
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const res = await fetch(`${own.url}/rooms/${room}/messages?after=0`);
        messages = ((await res.json()) as { messages: typeof messages }).messages;
        if (messages.length > 0) break;
        await sleep(500);
      }
      expect(messages.map((m) => [m.topic, m.data])).toEqual([["status/d3", "offline"]]);
    } finally {
      await own.stop();
    }
  });
});
