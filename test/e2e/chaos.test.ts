/**
 * Chaos: 20 subscribers on the client library have their sockets terminated
 * (no close frame) at seeded random moments, 3 publishers (WebSocket with
 * publish ids, HTTP with Idempotency-Key) publish 200 messages each with
 * retries while their links are cut too, and the relay is stopped and
 * restarted with its state in the middle of it all. Publishers reach the
 * relay through a proxy that also has seeded blackouts: their publishes get
 * through but the acks and 201s are lost, so the retries must be exactly-once
 * (a terminate alone almost never lands between accept and ack on loopback). In the end every
 * subscriber holds seq 1..600 exactly once, all in the same order, and
 * history holds each of the 600 payloads exactly once.
 *
 * The drop moments and the restart moment come from CHAOS_SEED, so a failure
 * replays the same schedule (event-loop timing still varies a little).
 * Publishing takes about 20 s; the waits for convergence afterwards are
 * generous because a loaded 2-core machine can be slow to reconnect 23
 * clients, but each of them is bounded.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { RoomcastClient, type MessageEnvelope } from "../../client";
import { createDevice, Link, linkedWebSocket, readingOf, roomState, Tally, type Device, type DeviceMode } from "../../tools/load";
import { waitFor } from "../../tools/load/wait";
import type { EmbeddedRelay } from "../../tools/local/relay";
import { BlackoutProxy } from "../support/blackout-proxy";
import { getJson } from "../support/http";
import { seededRandom } from "../support/random";
import { startRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";

const SEED = Number(process.env.CHAOS_SEED ?? 20261208);
const SUBSCRIBERS = 20;
const PUBLISHER_MODES: DeviceMode[] = ["json", "http", "json"];
const PER_PUBLISHER = 200;
const TOTAL = PUBLISHER_MODES.length * PER_PUBLISHER;
/** Readings per second per publisher: 200 take about 20 s. */
const RATE = 10;
const PUBLISH_MS = (PER_PUBLISHER / RATE) * 1000;
const DROPS_PER_SUBSCRIBER = 3;
const DROPS_PER_PUBLISHER = 4;
const BLACKOUTS = 6;
/** Long enough for every publisher to send something whose reply is then lost. */
const BLACKOUT_MS = 500;
/** Upper bounds for convergence; normally each takes a few seconds. */
const ACK_WAIT_MS = 60_000;
const CATCH_UP_WAIT_MS = 60_000;

let relay: EmbeddedRelay;
let proxy: BlackoutProxy;
beforeAll(async () => {
  relay = await startRelay();
  proxy = await BlackoutProxy.start(relay.port);
});
afterAll(async () => {
  await proxy?.close();
  await relay?.stop();
});

/** One subscriber: the client library, its link, and every message in arrival order. */
interface Watcher {
  client: RoomcastClient;
  link: Link;
  got: MessageEnvelope[];
  /** Welcomes after the first that did not recover: each would be a gap. */
  unrecovered: number;
}

/** Drop moments (ms after publishing starts) for `count` links, `perLink` each, drawn from `rand`. */
function dropSchedule(rand: () => number, count: number, perLink: number): Array<{ at: number; index: number }> {
  const out: Array<{ at: number; index: number }> = [];
  for (let index = 0; index < count; index++) {
    for (let k = 0; k < perLink; k++) out.push({ at: Math.floor(500 + rand() * (PUBLISH_MS - 500)), index });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Every message of the room's history, paged with `after`/`limit` (bounded in pages). */
async function readHistory(room: string): Promise<MessageEnvelope[]> {
  const out: MessageEnvelope[] = [];
  for (let page = 0; page < 50; page++) {
    const after = out.at(-1)?.seq ?? 0;
    const { status, json } = await getJson(`${relay.url}/rooms/${room}/messages?after=${after}&limit=100`);
    expect(status).toBe(200);
    if (json.messages.length === 0) break;
    out.push(...json.messages);
  }
  return out;
}

it(`delivers 600 messages exactly once, in one order, through drops and a restart (seed ${SEED})`, async () => {
  const rand = seededRandom(SEED);
  const room = uniqueRoom("chaos");
  const target = { url: relay.url };
  const start = await roomState(target, room);
  expect(start.seq).toBe(0);
  const tally = new Tally();
  tally.beginRoom(room, 0);

  // Subscribers resume from seq 0 of the room's epoch, with a short backoff cap
  // so that repeated drops do not push a reconnect far past the run.
  const watchers: Watcher[] = Array.from({ length: SUBSCRIBERS }, (_, i) => {
    const link = new Link();
    const client = new RoomcastClient({
      url: relay.wsUrl,
      room,
      since: 0,
      epoch: start.epoch,
      WebSocket: linkedWebSocket(link),
      backoff: { min: 200, max: 3_000 },
    });
    const counted = tally.watch(`sub-${i}`, room, 0);
    const w: Watcher = { client, link, got: [], unrecovered: 0 };
    let welcomes = 0;
    client.on("welcome", (f) => {
      if (welcomes++ > 0 && !f.recovered) w.unrecovered++;
    });
    client.on("message", (m) => {
      w.got.push(m);
      counted.record(m.seq, m.data);
    });
    client.on("error", () => {});
    return w;
  });
  await waitFor(() => watchers.every((w) => w.client.state === "open"), 30_000);

  const runId = `chaos-${SEED}`;
  const publishers: Device[] = PUBLISHER_MODES.map((mode, i) =>
    createDevice(mode, { target: { url: proxy.url }, room, name: `${runId}-p${i}`, rate: RATE, tally, limit: PER_PUBLISHER }),
  );

  // Terminate links on a seeded schedule: subscribers first, then publishers.
  const links = [...watchers.map((w) => w.link), ...publishers.map((p) => p.link)];
  const drops = [
    ...dropSchedule(rand, SUBSCRIBERS, DROPS_PER_SUBSCRIBER),
    ...dropSchedule(rand, publishers.length, DROPS_PER_PUBLISHER).map((d) => ({ ...d, index: d.index + SUBSCRIBERS })),
  ];
  const blackouts = Array.from({ length: BLACKOUTS }, () => Math.floor(500 + rand() * (PUBLISH_MS - 1_000)));
  const restartAt = Math.floor(PUBLISH_MS * (0.35 + rand() * 0.25));
  const began = Date.now();
  const timers = [
    ...drops.map((d) => setTimeout(() => links[d.index]!.terminate(), d.at)),
    ...blackouts.map((at) => setTimeout(() => proxy.blackout(BLACKOUT_MS), at)),
  ];
  for (const p of publishers) p.start();

  try {
    // The restart: stop the runtime (every socket and request dies) and boot it
    // again on the same port with the same storage, once some messages are in.
    await sleep(Math.max(0, restartAt - (Date.now() - began)));
    await waitFor(() => tally.ackedCount >= 30, 30_000);
    const madeAtRestart = publishers.reduce((n, p) => n + p.made, 0);
    const ackedAtRestart = tally.ackedCount;
    await relay.restart();

    // Publishing ends by itself at 200 readings each; then wait for every ack.
    const acked = await waitFor(() => publishers.every((p) => p.made === PER_PUBLISHER && p.pending === 0), PUBLISH_MS + ACK_WAIT_MS);
    expect(acked, `acked ${tally.ackedCount}/${TOTAL}`).toBe(true);
    const end = await roomState(target, room);
    expect(end.epoch).toBe(start.epoch); // the restart kept the room's storage
    expect(end.seq).toBe(TOTAL); // retries were not published twice
    tally.endRoom(room, end.seq);
    const caughtUp = await waitFor(() => tally.caughtUp(), CATCH_UP_WAIT_MS);
    const report = tally.report();
    expect(caughtUp, JSON.stringify(report.gaps)).toBe(true);

    // The chaos really happened: the restart came mid-run, links were cut.
    expect(ackedAtRestart).toBeGreaterThanOrEqual(30);
    expect(madeAtRestart).toBeLessThan(TOTAL);
    const dropped = links.reduce((n, l) => n + l.drops, 0);
    expect(dropped).toBeGreaterThanOrEqual(20);
    expect(proxy.lostReplies, "acks lost in blackouts").toBeGreaterThan(0);

    // The tally's verdict: nothing lost, repeated, reordered or published twice.
    expect(report).toMatchObject({ expected: SUBSCRIBERS * TOTAL, delivered: SUBSCRIBERS * TOTAL, lost: 0, duplicated: 0, outOfOrder: 0, mismatched: 0, doublePublished: 0, acked: TOTAL, ok: true });

    // And, spelled out: each subscriber holds seq 1..600 once, in order, with
    // the same message at each seq, and never resumed into a gap.
    const everySeq = Array.from({ length: TOTAL }, (_, i) => i + 1);
    const order = watchers[0]!.got.map((m) => readingOf(m.data)?.id);
    for (const w of watchers) {
      expect(w.got.map((m) => m.seq)).toEqual(everySeq);
      expect(w.got.map((m) => readingOf(m.data)?.id)).toEqual(order);
      expect(w.unrecovered).toBe(0);
    }

    // History holds each payload exactly once, in that same order.
    const history = await readHistory(room);
    expect(history.map((m) => m.seq)).toEqual(everySeq);
    const ids = history.map((m) => readingOf(m.data)?.id);
    expect(ids).toEqual(order);
    const made = PUBLISHER_MODES.flatMap((_, i) => Array.from({ length: PER_PUBLISHER }, (_, n) => `${runId}-p${i}:${n + 1}`));
    expect([...ids].sort()).toEqual(made.sort());
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const p of publishers) p.close();
    for (const w of watchers) w.client.close();
  }
}, 240_000);
