/**
 * A client that stops reading must not stall the room, and must not pile up
 * the room's memory forever: past its budget it is closed with 4008 and
 * resumes with nothing lost.
 */
import { expect, it } from "vitest";
import { CloseCode } from "../../protocol";
import { getJson } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const relay = useRelay({
    vars: {
      SLOW_CONSUMER_BYTES: String(256 * 1024),
      SLOW_CONSUMER_GRACE_SECONDS: "2",
      RATE_LIMIT_PER_SECOND: "10000",
      RATE_LIMIT_BURST: "10000",
    },
  });

it("sheds a socket that stopped reading; the others get everything; the shed one resumes", async () => {
  const room = uniqueRoom("slow");
  const url = `${relay.wsUrl}/rooms/${room}`;
  const slow = await TestSocket.open(url);
  const fast = await TestSocket.open(url);
  const pub = await TestSocket.open(url);
  const { epoch } = await slow.next("welcome");
  await Promise.all([fast.next("welcome"), pub.next("welcome")]);

  // The slow client pinged once (as the client library does every 20 s), then
  // hangs: it stops reading at the TCP level and sends nothing more. The fast
  // one pings as the library does (a reader that never shows life is held to
  // the budget too: see the test below).
  slow.send("ping");
  await slow.until((fs) => fs.some((f) => f.text === "pong"), "pong");
  (slow.ws as any)._socket.pause();

  const total = 400;
  const filler = "x".repeat(4096);
  for (let i = 1; i <= total; i++) {
    pub.publish({ i, filler });
    if (i % 40 === 0) {
      fast.send("ping");
      await sleep(500); // ~5 s in all: longer than the grace period
    }
  }
  // The reader that keeps up gets every message, in order, while the slow one is still paused.
  const got = await fast.messagesUntil(total, 30_000);
  expect(got.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(fast.closed).toBeNull();

  // The room no longer counts the slow socket as present.
  const presence = await getJson(`${relay.url}/rooms/${room}/presence`);
  expect(presence.json.count).toBe(2);

  (slow.ws as any)._socket.resume();
  expect((await slow.waitClosed(15_000)).code).toBe(CloseCode.SlowConsumer);
  const seen = slow.messages().map((m) => m.seq);
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.length).toBeLessThan(total);
  const last = seen.length ? seen[seen.length - 1] : 0;
  expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));

  // It resumes from the last seq it saw and gets the rest exactly once. The
  // replay is larger than one reader's budget, so it comes a page per
  // connection: each ends with 4008 and the next resumes where it stopped.
  const rest: number[] = [];
  let from = last;
  let back: TestSocket | undefined;
  for (let pages = 0; from < total && pages < 20; pages++) {
    back?.close();
    back = await TestSocket.open(`${url}?since=${from}&epoch=${epoch}`);
    expect(await back.next("welcome")).toMatchObject({ recovered: true, seq: total, epoch });
    await back.until((fs) => back!.closed !== null || fs.filter((f) => f.json?.type === "message").length >= total - from, "a page", 30_000);
    const page = back.messages().map((m) => m.seq);
    rest.push(...page);
    from = page.length ? page[page.length - 1] : from;
  }
  expect(rest).toEqual(Array.from({ length: total - last }, (_, i) => last + i + 1));
  [fast, pub, back!].forEach((s) => s.close());
}, 90_000);

it("does not shed a socket that keeps pinging", async () => {
  const room = uniqueRoom("pinging");
  const url = `${relay.wsUrl}/rooms/${room}`;
  const reader = await TestSocket.open(url);
  const pub = await TestSocket.open(url);
  await Promise.all([reader.next("welcome"), pub.next("welcome")]);
  const filler = "y".repeat(4096);
  for (let i = 1; i <= 200; i++) {
    pub.publish({ i, filler });
    if (i % 20 === 0) {
      reader.send("ping");
      await sleep(300);
    }
  }
  const got = await reader.messagesUntil(200, 30_000);
  expect(got).toHaveLength(200);
  expect(reader.closed).toBeNull();
  reader.close();
  pub.close();
}, 60_000);
