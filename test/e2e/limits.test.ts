/**
 * The limits from vars, end to end: message size (1009 / 413), the
 * per-connection token bucket (rate_limited, then 1008), connections per
 * room (503 before the upgrade). A relay with small limits keeps it quick.
 */
import { describe, expect, it } from "vitest";
import { postMessage } from "../support/http";
import { useRelay } from "../support/relay";
import { TestSocket, uniqueRoom } from "../support/socket";

const MAX_BYTES = 1024;
const BURST = 10;

const relay = useRelay({
    vars: {
      MAX_MESSAGE_BYTES: String(MAX_BYTES),
      RATE_LIMIT_PER_SECOND: "5",
      RATE_LIMIT_BURST: String(BURST),
      MAX_CONNECTIONS_PER_ROOM: "3",
    },
  });

const ws = (room: string, query = "") => `${relay.wsUrl}/rooms/${room}${query}`;

async function pair(room: string): Promise<[TestSocket, TestSocket]> {
  const a = await TestSocket.open(ws(room));
  await a.next("welcome");
  const b = await TestSocket.open(ws(room));
  await b.next("welcome");
  return [a, b];
}

describe("message size", () => {
  it("a frame over MAX_MESSAGE_BYTES closes that socket with 1009; the room goes on", async () => {
    const room = uniqueRoom();
    const [big, other] = await pair(room);
    big.send("x".repeat(MAX_BYTES + 1));
    expect((await big.waitClosed()).code).toBe(1009);
    // A binary frame over the limit too.
    const bin = await TestSocket.open(ws(room));
    await bin.next("welcome");
    bin.send(Buffer.alloc(MAX_BYTES + 1, 7));
    expect((await bin.waitClosed()).code).toBe(1009);

    other.publish("still fine", "o-1");
    expect(await other.next("ack")).toEqual({ type: "ack", id: "o-1", seq: 1 });
    other.close();
  });

  it("a frame of exactly MAX_MESSAGE_BYTES is accepted", async () => {
    const room = uniqueRoom();
    const [a, b] = await pair(room);
    const frame = JSON.stringify({ type: "publish", data: "" });
    a.send(JSON.stringify({ type: "publish", data: "y".repeat(MAX_BYTES - frame.length) }));
    const [m] = await b.messagesUntil(1);
    expect(m.seq).toBe(1);
    expect(a.closed).toBeNull();
    a.close();
    b.close();
  });

  it("an HTTP body over the limit is 413 too_large, as text, bytes or JSON", async () => {
    const room = uniqueRoom();
    const over = "z".repeat(MAX_BYTES + 1);
    for (const [body, type] of [
      [over, "text/plain"],
      [Buffer.alloc(MAX_BYTES + 1), "application/octet-stream"],
      [JSON.stringify({ data: over }), "application/json"],
    ] as const) {
      const res = await postMessage(relay.url, room, body, { "content-type": type });
      expect(res).toEqual({ status: 413, json: { error: { code: "too_large", message: expect.any(String) } } });
    }
    const ok = await postMessage(relay.url, room, "z".repeat(MAX_BYTES), { "content-type": "text/plain" });
    expect(ok.status).toBe(201);
    expect(ok.json.seq).toBe(1);
  });
});

describe("rate limit", () => {
  it("past the burst: rate_limited error frames and dropped messages, then 1008 if it goes on", async () => {
    const room = uniqueRoom();
    const [flood, calm] = await pair(room);
    for (let i = 0; i < BURST + 5; i++) flood.publish(i, `f-${i}`);
    const err = await flood.next("error", (e) => e.code === "rate_limited");
    expect(err.message).toMatch(/per second/);
    // The burst got through, the rest was dropped (a token or two may refill meanwhile).
    await calm.messagesUntil(BURST);
    // Acks go out right after the batch they belong to, on another socket: wait for them.
    await flood.until((fs) => fs.filter((f) => f.json?.type === "ack").length >= BURST, `${BURST} acks`);
    const acked = flood.all("ack").length;
    expect(acked).toBeGreaterThanOrEqual(BURST);
    expect(acked).toBeLessThan(BURST + 5);

    // Keep flooding: the connection is closed with 1008 (bounded: at most 500 frames).
    for (let i = 0; i < 500 && flood.closed === null && flood.ws.readyState === flood.ws.OPEN; i++) {
      flood.publish("more");
      if (i % 25 === 0) await new Promise((r) => setImmediate(r));
    }
    expect((await flood.waitClosed()).code).toBe(1008);

    // The calm client is untouched and its own bucket is full.
    const before = calm.messages().length;
    calm.publish("hello", "c-1");
    const ack = await calm.next("ack");
    expect(ack.seq).toBeGreaterThan(before);
    expect(calm.closed).toBeNull();
    calm.close();
  });
});

describe("connections per room", () => {
  it("past MAX_CONNECTIONS_PER_ROOM the upgrade gets 503 room_full; a freed slot can be taken again", async () => {
    const room = uniqueRoom();
    const socks: TestSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await TestSocket.open(ws(room));
      await s.next("welcome");
      socks.push(s);
    }
    const refused = await TestSocket.open(ws(room)).catch((e) => e);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error.code).toBe("room_full");
    // Other rooms are not affected.
    const elsewhere = await TestSocket.open(ws(uniqueRoom()));
    await elsewhere.next("welcome");
    elsewhere.close();

    socks[0]!.close();
    await socks[0]!.waitClosed();
    await socks[1]!.next("presence", (p) => p.event === "leave");
    const again = await TestSocket.open(ws(room));
    expect((await again.next("welcome")).count).toBe(3);
    for (const s of [...socks.slice(1), again]) s.close();
  });
});
