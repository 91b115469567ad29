/**
 * The benchmark's harness on a toy size (not the benchmark: no numbers are
 * judged here, only that a run is well formed and nothing is lost). The
 * fan-out, connect and reconnect-wave scenarios run in this process against
 * the test relay, and the report code turns their results into a table,
 * target checks and an SVG.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { connect } from "../../tools/bench/driver/scenarios/connect";
import { fanout } from "../../tools/bench/driver/scenarios/fanout";
import { wave } from "../../tools/bench/driver/scenarios/wave";
import { chartSvg } from "../../tools/bench/report/chart";
import type { BenchResults } from "../../tools/bench/report/results";
import { summaryTable, targetsTable } from "../../tools/bench/report/table";
import { checkTargets } from "../../tools/bench/report/targets";
import type { SystemEndpoint } from "../../tools/bench/systems/system";
import { ROOMCAST_BENCH_VARS } from "../../tools/bench/systems/workerd";
import type { EmbeddedRelay } from "../../tools/local/relay";
import { startRelay } from "../support/relay";
import { BENCH_SECRET, benchToken, SINK_MATCH, webhookWatch } from "../../tools/bench/variants/relays";
import { variantsTable } from "../../tools/bench/report/variants";
import { WebhookReceiver } from "../../tools/local/webhook-receiver";

/** A toy run of `parts` (the rest empty), with its targets checked as the bench does. */
function checked(parts: Partial<Omit<BenchResults, "targets">>): BenchResults {
  const run: Omit<BenchResults, "targets"> = {
    date: new Date().toISOString(),
    mode: "quick",
    host: { cpus: 1, node: process.version, platform: process.platform },
    roomcastVars: ROOMCAST_BENCH_VARS,
    systems: ["roomcast", "bare"],
    fanout: {},
    latency: {},
    connect: {},
    wave: {},
    idle: {},
    seconds: 1,
    ...parts,
  };
  return { ...run, targets: checkTargets(run) };
}

let relay: EmbeddedRelay;
let endpoint: SystemEndpoint;
beforeAll(async () => {
  relay = await startRelay({ vars: ROOMCAST_BENCH_VARS });
  endpoint = { name: "roomcast", origin: relay.url, roomPathPrefix: "/rooms/", pid: process.pid };
});
afterAll(async () => {
  await relay?.stop();
});

it("a toy fan-out run delivers everything and reports well-formed results", async () => {
  const result = await fanout({ scenario: "fanout", endpoint, subscribers: 3, messages: 5, timeoutMs: 10_000 }, () => {});
  expect(result).toMatchObject({ subscribers: 3, messages: 5, expected: 15, delivered: 15, lost: 0, duplicated: 0, outOfOrder: 0 });
  expect(result.msgsPerSec).toBeGreaterThan(0);

  const results = checked({ fanout: { roomcast: [result], bare: [{ ...result, msgsPerSec: result.msgsPerSec * 2 }] } });
  expect(results.targets.find((t) => t.name === "fan-out N=3: roomcast / bare")).toMatchObject({ value: 0.5, pass: false });
  expect(results.targets.find((t) => t.name.startsWith("messages lost"))).toMatchObject({ value: 0, pass: true });
  expect(summaryTable(results)).toContain("| fan-out N=3 (msg/s)");
  expect(targetsTable(results)).toContain("MISS");
  expect(await chartSvg(results)).toMatch(/^<svg/);
});

it("a toy connect run fills the room in every variant and counts the frames the room sent", async () => {
  const json = await connect({ scenario: "connect", endpoint, variant: "json", sockets: 10, concurrency: 5, capMs: 30_000 }, () => {});
  // Each socket gets its welcome, and a presence join for every socket that came after it: 10 + 45.
  expect(json).toMatchObject({ variant: "json", sockets: 10, opened: 10, failed: 0, frames: 55, framesPerSocket: 5.5 });
  const quietJoins = await connect({ scenario: "connect", endpoint, variant: "presence=0", sockets: 10, concurrency: 5, capMs: 30_000 }, () => {});
  expect(quietJoins).toMatchObject({ failed: 0, frames: 10 }); // welcomes only
  const raw = await connect({ scenario: "connect", endpoint, variant: "raw", sockets: 10, concurrency: 5, capMs: 30_000 }, () => {});
  expect(raw).toMatchObject({ failed: 0, frames: 0 });
  expect(raw.upgradesPerSec).toBeGreaterThan(0);
});

it("a toy reconnect wave brings every client back resumed, with every message exactly once", async () => {
  const job = { scenario: "wave", endpoint, sockets: 20, concurrency: 10, before: 3, messages: 7, deadlineMs: 30_000, handshakeTimeoutMs: 10_000 } as const;
  const result = await wave(job, () => {}, async () => {
    await relay.restart();
    return undefined; // the embedded relay's runtime pid is not tracked here: no CPU figure
  });
  expect(result).toMatchObject({ sockets: 20, messages: 10, back: 20, notRecovered: 0, expected: 200, delivered: 200, lost: 0, duplicated: 0, outOfOrder: 0 });
  expect(result.seconds).not.toBeNull();
  expect(result.attempts).toBeGreaterThanOrEqual(20);

  const results = checked({ wave: { roomcast: result, bare: { ...result, seconds: result.seconds! * 2 } } });
  expect(results.targets.find((t) => t.name === "reconnect wave N=20: time, roomcast / bare")).toMatchObject({ value: 0.5, pass: true });
  expect(results.targets.find((t) => t.name === "reconnect wave N=20: lost or repeated")).toMatchObject({ value: 0, pass: true });
  expect(summaryTable(results)).toContain("| reconnect wave N=20: s until all back");
}, 60_000);

it("the variants on a toy size: history:false counted by the publisher's n, a token with an acl, a webhook sink's arrival, their table and targets", async () => {
  // history:false on the plain relay: every envelope carries the previous stored seq, so the tally must count by n.
  const live = await fanout({ scenario: "fanout", endpoint: { ...endpoint, live: true }, subscribers: 3, messages: 5, timeoutMs: 10_000 }, () => {});
  expect(live).toMatchObject({ expected: 15, delivered: 15, lost: 0, duplicated: 0, outOfOrder: 0 });
  // Conflating readers: each ends with the last message, seqs only growing, having got fewer than the burst.
  const conflated = await fanout({ scenario: "fanout", endpoint: { ...endpoint, conflate: 200 }, subscribers: 3, messages: 30, timeoutMs: 10_000 }, () => {});
  expect(conflated).toMatchObject({ expected: 3, delivered: 3, lost: 0, duplicated: 0, outOfOrder: 0 });
  expect(conflated.conflatedDeliveries).toBeGreaterThanOrEqual(3);
  expect(conflated.conflatedDeliveries).toBeLessThan(3 * 30);

  // Every socket with a token whose acl's sub is the bench's filter: each still gets every bench message.
  const auth = await startRelay({ vars: { ...ROOMCAST_BENCH_VARS, AUTH_SECRET: BENCH_SECRET } });
  const receiver = await WebhookReceiver.start(BENCH_SECRET);
  const sinks = await startRelay({ vars: { ...ROOMCAST_BENCH_VARS, WEBHOOK_SECRET: BENCH_SECRET, SINKS: JSON.stringify([{ match: SINK_MATCH, webhook: receiver.url }]) } });
  try {
    const authEndpoint = { ...endpoint, origin: auth.url };
    const token = await fanout({ scenario: "fanout", endpoint: { ...authEndpoint, token: await benchToken(false) }, subscribers: 3, messages: 5, timeoutMs: 10_000 }, () => {});
    const acl = await fanout({ scenario: "fanout", endpoint: { ...authEndpoint, token: await benchToken(true) }, subscribers: 3, messages: 5, timeoutMs: 10_000 }, () => {});
    expect(token).toMatchObject({ delivered: 15, lost: 0 });
    expect(acl).toMatchObject({ delivered: 15, lost: 0 });
    // Without a token the auth relay refuses the sockets: the run fails rather than measuring something else.
    await expect(fanout({ scenario: "fanout", endpoint: authEndpoint, subscribers: 1, messages: 1, timeoutMs: 5_000 }, () => {})).rejects.toThrow();

    // A burst with no reader: the sink's arrival is when the receiver had all of its seqs.
    const alone = await fanout({ scenario: "fanout", endpoint: { ...endpoint, origin: sinks.url }, subscribers: 0, messages: 20, timeoutMs: 10_000 }, () => {});
    const at = await webhookWatch(receiver).arrival(alone.room!, 20, 20_000);
    expect(at).not.toBeNull();
    expect(at!).toBeGreaterThanOrEqual(alone.startedAt!);
    expect(await webhookWatch(receiver).arrival(alone.room!, 21, 500)).toBeNull(); // one more than was sent never arrives

    const results = checked({
      fanout: { roomcast: [{ ...token, subscribers: 3 }] },
      variants: {
        token: { fanout: [token], latency: null, wave: null, sink: [] },
        acl: { fanout: [{ ...acl, msgsPerSec: token.msgsPerSec / 2 }], latency: null, wave: null, sink: [] },
        webhook: { fanout: [], latency: null, wave: null, sink: [{ subscribers: 0, messages: 20, msgsPerSec: 1000 }] },
      },
    });
    expect(results.targets.find((t) => t.name === "fan-out N=3: roomcast acl / token")).toMatchObject({ value: 0.5, pass: false });
    expect(results.targets.find((t) => t.name === "webhook sink alone: every message out (msg/s)")).toMatchObject({ value: 1000, pass: true });
    const table = variantsTable(results);
    expect(table).toContain("| token with acl (vs token)");
    expect(table).toContain("out of the sink, publisher alone, 20 messages (msg/s)");
  } finally {
    await auth.stop();
    await sinks.stop();
    await receiver.stop();
  }
}, 90_000);
