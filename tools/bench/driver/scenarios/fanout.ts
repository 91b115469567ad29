/**
 * Fan-out burst: N subscribers, one publisher that sends M messages at once.
 * Throughput is every delivered message over the time from the first send to
 * the last delivery, i.e. until every subscriber has every message. Beside
 * it, the CPU time the server's process (workerd, or the node-ws server)
 * spent over the same span, per delivered message: on a shared machine the
 * load process is often the bottleneck, and the server's CPU says what a
 * delivery costs the server whatever the throughput.
 */
import { openSockets, randomPrefix, Tally, terminateAll } from "../../../load/index.js";
import type { FanoutJob, FanoutResult } from "../jobs.js";
import { openAudience } from "../audience.js";
import { quiet, settle } from "../room-state.js";
import { waitFor } from "../../../load/wait.js";
import { deliveryOf, usPer } from "./delivery.js";
import { now, publishFrame, socketUrl } from "../wire.js";
import { cpuMs, ownCpuMs } from "../../../local/processes.js";
import { conflateFanout } from "./conflate.js";

export async function fanout(job: FanoutJob, progress: (line: string) => void): Promise<FanoutResult> {
  if (job.endpoint.conflate !== undefined) return conflateFanout(job, progress);
  const { endpoint, subscribers, messages } = job;
  const room = job.room ?? randomPrefix();
  const tally = new Tally();
  tally.beginRoom(room, 0);
  const audience = await openAudience(endpoint, room, subscribers, tally);
  const [publisher] = await openSockets(socketUrl(endpoint, room), 1, { onMessage: () => (audience.lastFrameAt = Date.now()) });
  await quiet(() => audience.lastFrameAt); // presence floods of the joins are not part of the burst
  progress(`${subscribers} subscribers open; burst of ${messages}`);

  const runtimeCpu0 = cpuMs(endpoint.pid);
  const clientCpu0 = ownCpuMs();
  const started = now();
  for (let n = 1; n <= messages; n++) publisher!.send(publishFrame(endpoint, "pub", n));
  tally.endRoom(room, messages);
  const expected = subscribers * messages;
  await waitFor(() => tally.deliveredCount >= expected, job.timeoutMs, 5);
  const seconds = Math.max(1e-6, (audience.lastDeliveryAt - started) / 1000);
  const delivery = deliveryOf(tally);
  const runtimeCpuUsPerDelivery = usPer(cpuMs(endpoint.pid) - runtimeCpu0, delivery.delivered);
  const clientCpuUsPerDelivery = usPer(ownCpuMs() - clientCpu0, delivery.delivered);

  terminateAll([...audience.sockets, publisher]);
  await settle(endpoint, room);
  return {
    subscribers,
    messages,
    room,
    startedAt: Math.round(started),
    seconds: round(seconds, 3),
    msgsPerSec: Math.round(delivery.delivered / seconds),
    ...(Number.isFinite(runtimeCpuUsPerDelivery) ? { runtimeCpuUsPerDelivery } : {}),
    clientCpuUsPerDelivery,
    ...delivery,
  };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
