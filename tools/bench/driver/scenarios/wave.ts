/**
 * Reconnect wave: fill a room with `sockets` clients, publish a few messages
 * live, restart the system with its storage (every socket drops), publish
 * `messages` over HTTP while the clients are still away, then let every
 * client go at once. Roomcast's clients resume with `since`/`epoch`; each
 * retries as a well-behaved client does (rejoining-client.ts). Measured: the
 * time until every client is back (Roomcast: welcomed with recovered:true
 * and holding every seq exactly once, counted by load/'s tally), and how
 * many handshakes were refused or failed on the way. The bare system has no
 * seq and no resume: its time is until every client is connected again.
 */
import { newReading, randomPrefix, Tally } from "../../../load/index.js";
import { waitFor } from "../../../load/wait.js";
import type { WaveJob, WaveResult } from "../jobs.js";
import { newWaveCounters, RejoiningClient } from "../rejoining-client.js";
import { settle } from "../room-state.js";
import { cpuMs, ownCpuMs } from "../../../local/processes.js";
import { roomPath, speaksRoomcast, type SystemEndpoint } from "../../systems/system.js";
import { deliveryOf } from "./delivery.js";

/** Stops the system and starts it again on the same port with the same storage; resolves with its runtime's new pid, if known. */
export type Restart = () => Promise<number | undefined>;

export async function wave(job: WaveJob, progress: (line: string) => void, restart: Restart): Promise<WaveResult> {
  const { endpoint, sockets: count } = job;
  const resumes = speaksRoomcast(endpoint.name);
  const before = resumes ? job.before : 0;
  const messages = resumes ? job.messages : 0;
  const room = randomPrefix();
  const tally = new Tally();
  tally.beginRoom(room, 0);
  const counters = newWaveCounters();
  const clients = Array.from(
    { length: count },
    (_, i) => new RejoiningClient(endpoint, room, tally.watch(`client-${i}`, room, 0), counters, job.handshakeTimeoutMs),
  );
  try {
    progress(`filling ${count} clients, ${job.concurrency} at a time`);
    const fillDeadline = Date.now() + 600_000;
    let next = 0;
    const lane = async () => {
      while (next < count) if (!(await clients[next++]!.join(fillDeadline))) throw new Error("a client could not join the room");
    };
    await Promise.all(Array.from({ length: Math.min(job.concurrency, count) }, lane));
    for (let n = 1; n <= before; n++) await publish(endpoint, room, n);
    await waitFor(() => clients.every((c) => c.lastSeq >= before), 60_000, 50);

    progress(`${count} in; restarting with storage`);
    for (const c of clients) c.holding = true;
    const fillCounters = { ...counters };
    const pid = await restart();
    await waitFor(() => counters.back === 0, 30_000, 50);
    for (let n = before + 1; n <= before + messages; n++) await publish(endpoint, room, n);
    tally.endRoom(room, before + messages);
    progress(`back up, ${messages} published during the outage; letting ${count} clients go`);

    const expected = count * (before + messages);
    const letGo = Date.now();
    const runtimeCpu0 = pid === undefined ? undefined : cpuMs(pid);
    const clientCpu0 = ownCpuMs();
    const deadline = letGo + job.deadlineMs;
    for (const c of clients) {
      c.holding = false;
      c.rejoinDeadline = deadline;
      void c.join(deadline);
    }
    const allBack = await waitFor(() => counters.back === count && tally.deliveredCount >= expected, job.deadlineMs, 20);
    const seconds = allBack ? Math.round(Date.now() - letGo) / 1000 : null;
    // Over the wave alone: what it cost the runtime, and the load process that reads every replayed frame.
    const runtimeCpuSeconds = pid === undefined || runtimeCpu0 === undefined ? undefined : Math.round(cpuMs(pid) - runtimeCpu0) / 1000;
    const clientCpuSeconds = Math.round(ownCpuMs() - clientCpu0) / 1000;
    const back = counters.back;
    progress(allBack ? `all ${count} back in ${seconds} s` : `${back} of ${count} back at the deadline`);
    for (const c of clients) c.stop();
    const delivery = deliveryOf(tally);
    const during = (k: keyof typeof counters) => counters[k] - fillCounters[k];
    await settle(endpoint, room, 60_000);
    return {
      sockets: count,
      messages: before + messages,
      seconds,
      back,
      notRecovered: during("notRecovered"),
      refused503: during("refused503"),
      failed: during("failed"),
      timedOut: during("timedOut"),
      attempts: during("attempts"),
      dropped: during("dropped"),
      ...(runtimeCpuSeconds === undefined ? {} : { runtimeCpuSeconds }),
      clientCpuSeconds,
      ...delivery,
    };
  } finally {
    for (const c of clients) c.stop();
  }
}

/** `POST /rooms/:room/messages` with the n-th reading (Roomcast only: the others have no HTTP publish). */
async function publish(endpoint: SystemEndpoint, room: string, n: number): Promise<void> {
  const url = new URL(`${roomPath(endpoint, room)}/messages`, endpoint.origin);
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": `${room}:${n}` },
    body: JSON.stringify({ data: { ...newReading("http", n), n } }),
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`POST ${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
}
