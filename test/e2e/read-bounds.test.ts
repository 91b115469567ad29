/**
 * Third security review, findings 3-5: everything a room sends one reader
 * counts toward its byte budget (retained values on SUBSCRIBE and on
 * `retained=1` included, and repeating SUBSCRIBE buys no more), and no read
 * answers 500 however much was published: `/messages` and `/retained` page
 * by bytes, and a sharded room's `retained=1` upgrade reads its sequencer a
 * page at a time.
 */
import { describe, expect, it } from "vitest";
import { getJson } from "../support/http";
import { RawMqtt } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const BUDGET = 256 * 1024;
const relay = useRelay({
  vars: { SLOW_CONSUMER_BYTES: String(BUDGET), RATE_LIMIT_PER_SECOND: "100000", RATE_LIMIT_BURST: "100000", SHARDS: "bounds-sharded-*=2" },
});

/** Publishes `count` retained values of about `size` bytes each on topics `r/<i>`, over one socket, and waits for their acks. */
async function retainMany(room: string, count: number, size: number, prefix = "r"): Promise<void> {
  const ws = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
  await ws.next("welcome");
  const data = "x".repeat(size);
  for (let i = 0; i < count; i++) ws.send({ type: "publish", topic: `${prefix}/${i}`, data, retain: true, id: `p${i}` });
  await ws.until((fs) => fs.filter((f) => f.json?.type === "ack").length === count || undefined, `${count} acks`, 120_000);
  ws.close();
}

describe("the reader's byte budget covers what it asks for", () => {
  it("ten SUBSCRIBE # from an MQTT client that stops reading get at most one budget of retained values", async () => {
    const room = uniqueRoom("sub-amp");
    await retainMany(room, 60, 16 * 1024); // ~1 MiB retained, 4 budgets
    const raw = await RawMqtt.open(`${relay.wsUrl}/rooms/${room}/mqtt`, 4);
    raw.connect({ clientId: "amp" });
    await raw.next("connack");
    // Stop reading: what the room sends now waits in its queue for this socket.
    const socket = (raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    for (let i = 0; i < 10; i++) raw.send({ cmd: "subscribe", messageId: i + 1, subscriptions: [{ topic: "#", qos: 0 }] } as never);
    await sleep(1500);
    socket.resume();
    await sleep(1500);
    const publishes = raw.packets.filter((p) => p.cmd === "publish") as Array<{ payload: Buffer }>;
    const bytes = publishes.reduce((n, p) => n + p.payload.length, 0);
    // Before the fix every SUBSCRIBE sent all 60 again: 600 PUBLISHes, ~10 MiB.
    expect(publishes.length).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(BUDGET + 16 * 1024);
    expect(raw.packets.filter((p) => p.cmd === "suback")).toHaveLength(10);
    raw.ws.close();
  });

  it("retained=1 on a WebSocket sends at most one budget of retained values, then says how to read the rest", async () => {
    const room = uniqueRoom("ret-budget");
    await retainMany(room, 60, 16 * 1024);
    const reader = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?retained=1`);
    const error = await reader.next("error");
    expect(error.code).toBe("retained_truncated");
    expect(error.message).toContain(`/rooms/${room}/retained`);
    const retained = reader.messages();
    expect(retained.length).toBeGreaterThan(0);
    expect(retained.length).toBeLessThan(60);
    const bytes = reader.frames.filter((f) => f.json?.type === "message").reduce((n, f) => n + f.text!.length, 0);
    expect(bytes).toBeLessThanOrEqual(BUDGET + 17 * 1024);
    // Oldest seq first, each once.
    const seqs = retained.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(reader.closed).toBeNull();
    reader.close();
  });
});

describe("reads page instead of answering 500", () => {
  // 40 MiB of retained values and of history: past the 32 MiB a Worker-to-object answer may carry.
  const count = 640;
  const size = 64 * 1024 - 200;

  it("GET /retained pages with limit and cursor, and GET /messages stops a page at its byte size", async () => {
    const room = uniqueRoom("big-reads");
    await retainMany(room, count, size);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; json: any } = await getJson(`${relay.url}/rooms/${room}/retained?limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      seen.push(...res.json.messages.map((m: any) => m.seq));
      cursor = res.json.cursor;
      pages++;
    } while (cursor !== null && pages < 50);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i + 1));

    const history: number[] = [];
    let after = 0;
    for (let page = 0; page < 50 && after < count; page++) {
      const res = await getJson(`${relay.url}/rooms/${room}/messages?after=${after}&limit=1000`);
      expect(res.status).toBe(200);
      expect(res.json.messages.length).toBeGreaterThan(0);
      expect(res.json.messages.length).toBeLessThan(count);
      history.push(...res.json.messages.map((m: any) => m.seq));
      after = res.json.messages[res.json.messages.length - 1].seq;
    }
    expect(history).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  }, 180_000);

  it("an upgrade with retained=1 works in a sharded room whatever the retained values weigh", async () => {
    const room = uniqueRoom("bounds-sharded-big");
    await retainMany(room, count, size);
    const reader = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?retained=1`);
    await reader.next("welcome");
    expect(await reader.next("error")).toMatchObject({ code: "retained_truncated" });
    expect(reader.messages().length).toBeGreaterThan(0);
    reader.close();
    // An SSE stream too: the first retained value arrives.
    const res = await fetch(`${relay.url}/rooms/${room}/events?retained=1`);
    expect(res.status).toBe(200);
    const body = res.body!.getReader();
    let text = "";
    for (let i = 0; i < 50 && !text.includes("event: message"); i++) {
      const chunk = await body.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toContain("event: message");
    await body.cancel().catch(() => {});
  }, 180_000);
});

