/**
 * Sinks (docs/integrations.md, CONTRACT v3 "sinks and lifecycle events"):
 * a webhook receiver and a Queue consumer (examples/d1-consumer, with its
 * D1 table) beside the relay, over a run that spans an eviction and a
 * restart; the outbox bound; lifecycle events on WebSocket, SSE and MQTT.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { EmbeddedRelay } from "../../tools/local/relay";
import { roomInstance } from "../support/http";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";
import { connectCollecting, until } from "../support/mqtt";
import { WebhookReceiver } from "../../tools/local/webhook-receiver";

const SECRET = "test-webhook-secret";
/** Short bounds so a run with failures, a stall and retries takes seconds. */
const FAST = { WEBHOOK_SECRET: SECRET, SINK_RETRY_BASE_MS: "200", SINK_RETRY_MAX_MS: "800", SINK_TIMEOUT_MS: "1500" };

function startRelay(vars: Record<string, string>): Promise<EmbeddedRelay> {
  return EmbeddedRelay.start({
    bundle: inject("sinksBundle"),
    config: inject("sinksConfig"),
    auxiliary: [{ name: "d1-consumer", bundle: inject("consumerBundle"), config: inject("consumerConfig") }],
    diagnostics: true,
    vars,
  });
}

async function publish(relay: EmbeddedRelay, room: string, topic: string, data: unknown): Promise<number> {
  const res = await fetch(`${relay.url}/rooms/${room}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data, topic }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { seq: number }).seq;
}

/** Every delivery in order never starts past the first message not yet taken: no later message before an earlier one. */
function expectInOrder(deliveries: Array<{ seqs: number[] }>, expected: number[]): void {
  let taken = 0; // expected[0..taken) were sent at least once
  for (const d of deliveries) {
    for (const seq of d.seqs) {
      const at = expected.indexOf(seq);
      expect(at, `seq ${seq} was never routed to the sink`).toBeGreaterThanOrEqual(0);
      expect(at, `seq ${seq} sent before seq ${expected[taken]}`).toBeLessThanOrEqual(taken);
      if (at === taken) taken++;
    }
  }
}

describe("webhook and queue sinks", () => {
  let receiver: WebhookReceiver;
  let relay: EmbeddedRelay;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start(SECRET);
    const SINKS = JSON.stringify([
      { match: "t/#", webhook: receiver.url },
      { match: "t/#", queue: "ROOM_EVENTS" },
    ]);
    relay = await startRelay({ ...FAST, SINKS });
  });
  afterAll(async () => {
    await relay?.stop();
    await receiver?.stop();
  });

  it("delivers every matching message across failures, a stall, an eviction and a restart: in seq order, signed, at least once; D1 holds each once", async () => {
    const room = uniqueRoom("sink");
    const routed: number[] = [];
    // Two failures, then a request left unanswered (abandoned after SINK_TIMEOUT_MS), then answers.
    receiver.script = ["fail", "fail", "stall"];
    for (let i = 0; i < 5; i++) routed.push(await publish(relay, room, `t/${i}`, { i }));
    await publish(relay, room, "other", "not routed");
    await until(() => routed.every((s) => receiver.accepted().includes(s)), 20_000);
    expect(receiver.deliveries.slice(0, 3).map((d) => d.answered)).toEqual(["fail", "fail", "stall"]);

    // Idle past workerd's eviction; the next request meets a new instance.
    const before = await roomInstance(relay.url, room);
    await sleep(13_000);
    receiver.otherwise = "fail";
    for (let i = 5; i < 10; i++) routed.push(await publish(relay, room, `t/${i}`, { i }));
    expect(await roomInstance(relay.url, room)).not.toBe(before);
    await until(() => receiver.deliveries.some((d) => d.seqs.includes(routed[9]!)), 10_000);
    // Pending in the outbox while the relay goes down and comes back.
    await sleep(1500); // the queue consumer (max_batch_timeout 1 s) takes what it was sent
    await relay.restart();
    receiver.otherwise = "ok";
    for (let i = 10; i < 13; i++) routed.push(await publish(relay, room, `t/${i}`, { i }));
    await until(() => routed.every((s) => receiver.accepted().includes(s)), 20_000);

    const mine = receiver.deliveries;
    expect(mine.map((d) => d.room)).toEqual(mine.map(() => room));
    expect(mine.every((d) => d.signed)).toBe(true);
    expect(new Set(mine.map((d) => d.epoch)).size).toBe(1);
    expectInOrder(mine, routed);
    expect([...new Set(mine.flatMap((d) => d.seqs))].sort((a, b) => a - b)).toEqual(routed);
    expect(mine.flatMap((d) => d.messages).find((m) => m.topic === "other")).toBeUndefined();

    // The queue consumer wrote each message once, keyed by (room, epoch, seq).
    const db = await relay.d1("DB", "d1-consumer");
    let rows: Array<{ seq: number; epoch: string; topic: string; data: string }> = [];
    for (const end = Date.now() + 15_000; rows.length < routed.length && Date.now() < end; await sleep(200)) {
      rows = (await db.prepare("SELECT seq, epoch, topic, data FROM messages WHERE room = ? ORDER BY seq").bind(room).all<(typeof rows)[number]>()).results;
    }
    expect(rows.map((r) => r.seq)).toEqual(routed);
    expect(rows[0]).toMatchObject({ epoch: mine[0]!.epoch, topic: "t/0", data: JSON.stringify({ i: 0 }) });
    const description = await (await fetch(`${relay.url}/rooms/${room}`)).json();
    expect(description.sinks).toEqual([
      { sink: `webhook:${receiver.url}`, pending: 0, pendingBytes: 0, dropped: 0, attempts: 0 },
      { sink: "queue:ROOM_EVENTS", pending: 0, pendingBytes: 0, dropped: 0, attempts: 0 },
    ]);
  }, 90_000);

  it("refuses a client's publish to the room's own $events/ topics", async () => {
    const res = await fetch(`${relay.url}/rooms/${uniqueRoom("own")}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: {}, topic: "$events/connected" }),
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("forbidden");
  });
});

describe("a sink over its bound", () => {
  let receiver: WebhookReceiver;
  let relay: EmbeddedRelay;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start(SECRET);
    receiver.otherwise = "fail";
    relay = await startRelay({ ...FAST, SINK_MAX_PENDING_MESSAGES: "3", SINKS: JSON.stringify([{ match: "t/#", webhook: receiver.url }]) });
  });
  afterAll(async () => {
    await relay?.stop();
    await receiver?.stop();
  });

  it("counts, shows and announces what it drops, and delivers what it kept", async () => {
    const room = uniqueRoom("bound");
    const watcher = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?topics=${encodeURIComponent("$events/#")}`);
    await watcher.next("welcome");
    const plain = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await plain.next("welcome");
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) seqs.push(await publish(relay, room, `t/${i}`, i));

    const notice = await watcher.next("message", (m) => m.topic === "$events/sink-overflow");
    expect(notice.data).toMatchObject({ sink: `webhook:${receiver.url}`, dropped: 1, pending: 3 });
    const description = await (await fetch(`${relay.url}/rooms/${room}`)).json();
    expect(description.sinks[0]).toMatchObject({ pending: 3, dropped: 3 });
    expect(description.sinks[0].attempts).toBeGreaterThan(0);

    // Back up: the three it kept arrive, the dropped ones never do.
    receiver.otherwise = "ok";
    await until(() => receiver.accepted().length >= 3, 10_000);
    expect(receiver.accepted()).toEqual(seqs.slice(0, 3));
    // A reader without a filter never got the room's own message.
    await sleep(300);
    expect(plain.messages().some((m) => m.topic?.startsWith("$"))).toBe(false);
    watcher.close();
    plain.close();
  }, 30_000);
});

describe("lifecycle events", () => {
  let relay: EmbeddedRelay;

  beforeAll(async () => {
    relay = await startRelay({ EVENTS: "connected,disconnected,occupied,vacated" });
  });
  afterAll(async () => {
    await relay?.stop();
  });

  type Event = { seq: number; topic: string; data: { id: string; sub: string | null; kind: string; at: number; code?: number | null; reason?: string | null } };

  /** The room's `$events/...` history (a reader must name `$events` to get them). */
  async function eventsOf(room: string): Promise<Event[]> {
    const res = await fetch(`${relay.url}/rooms/${room}/messages?topics=${encodeURIComponent("$events/#")}`);
    return ((await res.json()) as { messages: Event[] }).messages;
  }

  async function waitForEvents(room: string, check: (events: Event[]) => boolean): Promise<Event[]> {
    let events: Event[] = [];
    for (const end = Date.now() + 15_000; Date.now() < end; await sleep(100)) {
      events = await eventsOf(room);
      if (check(events)) return events;
    }
    return events;
  }

  /** A WebSocket, an SSE stream and an MQTT client come and go while a watcher holds `$events/#`. */
  async function comeAndGo(room: string): Promise<{ ids: Record<string, string>; watcher: TestSocket }> {
    const ids: Record<string, string> = {};
    const watcher = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?topics=${encodeURIComponent("$events/#")}`);
    ids.watcher = (await watcher.next("welcome")).id;

    const json = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    ids.json = (await json.next("welcome")).id;
    json.close(4000, "bye");
    await json.waitClosed();

    // SSE: the stream is read until its connected event reaches the watcher, then dropped by the client.
    const abort = new AbortController();
    const sse = fetch(`${relay.url}/rooms/${room}/events`, { signal: abort.signal }).then(async (res) => {
      const reader = res.body!.getReader();
      await reader.read();
      return reader;
    });
    const sseConnected = await watcher.next("message", (m) => m.topic === "$events/connected" && m.data.kind === "sse");
    ids.sse = sseConnected.data.id;
    await sse;
    abort.abort();
    // A reader that left is noticed when a write to its stream fails (at the
    // latest by the heartbeat, 25 s): messages without a topic are written to it.
    const left = watcher.next("message", (m) => m.topic === "$events/disconnected" && m.data.kind === "sse", 15_000);
    let noticed = false;
    void left.then(() => (noticed = true), () => undefined);
    for (let i = 0; i < 40 && !noticed; i++) {
      await fetch(`${relay.url}/rooms/${room}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ data: "nudge" }) });
      await sleep(250);
    }
    await left;

    const { client } = await connectCollecting(`${relay.wsUrl}/rooms/${room}/mqtt`, { clientId: "lifecycle-device", protocolVersion: 4 });
    const mqttConnected = await watcher.next("message", (m) => m.topic === "$events/connected" && m.data.kind === "mqtt");
    ids.mqtt = mqttConnected.data.id;
    await client.endAsync();
    await watcher.next("message", (m) => m.topic === "$events/disconnected" && m.data.kind === "mqtt");
    return { ids, watcher };
  }

  function expectRun(events: Event[], ids: Record<string, string>): void {
    const shown = events.map((e) => `${e.topic.slice("$events/".length)} ${Object.entries(ids).find(([, id]) => id === e.data.id)?.[0]}`);
    expect(shown).toEqual([
      "connected watcher",
      "occupied watcher",
      "connected json",
      "disconnected json",
      "connected sse",
      "disconnected sse",
      "connected mqtt",
      "disconnected mqtt",
      "disconnected watcher",
      "vacated watcher",
    ]);
    const byKind = (topic: string, kind: string) => events.find((e) => e.topic === `$events/${topic}` && e.data.kind === kind)!.data;
    expect(byKind("disconnected", "json")).toMatchObject({ code: 4000, reason: "bye", sub: null });
    expect(byKind("disconnected", "sse")).toMatchObject({ code: null, reason: null });
    expect(byKind("connected", "mqtt").at).toBeGreaterThan(Date.now() - 60_000);
    // In seq order, like any message.
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
  }

  it("reports WebSocket, SSE and MQTT connections coming and going, and the room occupied and vacated", async () => {
    const room = uniqueRoom("life");
    const { ids, watcher } = await comeAndGo(room);
    watcher.close(1000, "done");
    expectRun(await waitForEvents(room, (es) => es.some((e) => e.topic === "$events/vacated")), ids);
  }, 30_000);

  it("does the same in a sharded room: the shards' events are sequenced by the sequencer", async () => {
    const room = `sharded-${uniqueRoom("life")}`;
    const { ids, watcher } = await comeAndGo(room);
    watcher.close(1000, "done");
    expectRun(await waitForEvents(room, (es) => es.some((e) => e.topic === "$events/vacated")), ids);
  }, 30_000);
});
