/**
 * Protocol fuzz: several clients throw seeded random frames at a room (text,
 * binary, JSON-shaped and not, huge, empty) while a well-behaved client keeps
 * publishing and receiving. No 1011, no reset of the room, and the
 * well-behaved client sees every message of the room exactly once, in order.
 */
import { expect, it } from "vitest";
import { CloseCode } from "../../protocol";
import { roomInstance } from "../support/http";
import { useRelay } from "../support/relay";
import { seededRandom } from "../support/random";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const FUZZERS = 4;
const FRAMES_PER_FUZZER = 150;

const relay = useRelay({ diagnostics: true });

function randomFrame(rand: () => number): string | Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const str = (n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(rand() * 0xffff))).join("");
  const value = (): unknown =>
    pick<() => unknown>([
      () => null,
      () => rand() * 1e12 - 5e11,
      () => str(Math.floor(rand() * 20)),
      () => [1, "two", { three: 3 }],
      () => ({ nested: { deep: [str(3)] } }),
      () => true,
    ])();
  return pick<() => string | Buffer>([
    () => "",
    () => "ping",
    () => "pong",
    () => str(Math.floor(rand() * 200)),
    () => JSON.stringify(value()),
    () => JSON.stringify({ type: pick(["publish", "subscribe", "ack", "welcome", "", 7, null]), data: value() }),
    () => JSON.stringify({ type: "publish", data: value(), id: pick([undefined, "", "x".repeat(200), 5, "fz-" + Math.floor(rand() * 20)]) }),
    () => JSON.stringify({ type: "publish" }),
    () => `{"type":"publish","data":${"[".repeat(Math.floor(rand() * 3000))}`,
    () => Buffer.from(Array.from({ length: Math.floor(rand() * 512) }, () => Math.floor(rand() * 256))),
    () => Buffer.alloc(0),
    () => "x".repeat(70_000), // past MAX_MESSAGE_BYTES: 1009 for this fuzzer
    () => Buffer.alloc(70_000, 7),
  ])();
}

/** A fuzzer throws frames and reconnects whenever the room closes it. */
async function fuzz(url: string, rand: () => number, closes: number[]): Promise<void> {
  let sock = await TestSocket.open(url);
  for (let i = 0; i < FRAMES_PER_FUZZER; i++) {
    if (sock.closed) {
      closes.push(sock.closed.code);
      sock = await TestSocket.open(url);
    }
    try {
      sock.send(randomFrame(rand));
    } catch {
      // the socket closed under us; the next round reconnects
    }
    if (i % 10 === 9) await sleep(100); // keep the well-behaved client company, not a flood
  }
  await sleep(300);
  if (sock.closed) closes.push(sock.closed.code);
  sock.close();
}

it(`survives seeded random frames (seed ${SEED})`, async () => {
  const room = uniqueRoom("fuzz");
  const url = `${relay.wsUrl}/rooms/${room}`;
  const good = await TestSocket.open(`${url}?echo=1`);
  const welcome = await good.next("welcome");
  const instance = await roomInstance(relay.url, room);

  const closes: number[] = [];
  const rand = seededRandom(SEED);
  const fuzzers = Array.from({ length: FUZZERS }, (_, k) => fuzz(url, seededRandom(SEED + k + 1), closes));
  let sent = 0;
  const publishing = (async () => {
    for (; sent < 60; sent++) {
      good.publish({ good: sent, noise: rand() }, `good-${sent}`);
      await sleep(50);
    }
  })();
  await Promise.all([...fuzzers, publishing]);

  // Every good publish was acked once.
  await good.until((fs) => fs.filter((f) => f.json?.type === "ack").length >= 60, "60 acks", 20_000);
  const acks = good.all("ack");
  expect(new Set(acks.map((a) => a.id)).size).toBe(60);

  const after = await fetch(`${relay.url}/rooms/${room}`);
  const desc = await after.json();
  expect(await roomInstance(relay.url, room)).toBe(instance); // the room was never reset
  expect(desc.epoch).toBe(welcome.epoch);

  // The well-behaved client saw every message of the room, once, in order.
  await good.messagesUntil(desc.seq, 20_000);
  const seqs = good.messages().map((m) => m.seq);
  expect(seqs).toEqual(Array.from({ length: desc.seq }, (_, i) => i + 1));
  const mine = good.messages().filter((m) => m.data?.good !== undefined).map((m) => m.data.good);
  expect(mine).toEqual(Array.from({ length: 60 }, (_, i) => i));
  expect(good.closed).toBeNull();

  // Fuzzers were only ever closed for policy reasons docs/protocol.md names.
  for (const code of closes) expect([CloseCode.TooBig, CloseCode.Policy]).toContain(code);
  expect(closes).not.toContain(CloseCode.Internal);
  good.close();
}, 120_000);
