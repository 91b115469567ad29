/**
 * Fan-out to conflating readers (`conflate=<ms>`, Roomcast only): the same
 * burst as fan-out, every reader asking for the latest message per topic
 * per interval. A reader is not meant to get every message, so the verdict
 * is conflation's own (docs/protocol.md, Conflation): each reader's seqs
 * only grow (a repeat or an older one after a newer is a fault), and each
 * ends with the burst's last message. Throughput is the burst's messages
 * made current at every reader per second (N × M over the time from the
 * first send until every reader holds the last one), beside the frames
 * each reader got and the server's CPU over the same span.
 */
import { openSockets, randomPrefix, terminateAll } from "../../../load/index.js";
import { waitFor } from "../../../load/wait.js";
import { cpuMs, ownCpuMs } from "../../../local/processes.js";
import type { FanoutJob, FanoutResult } from "../jobs.js";
import { quiet, settle } from "../room-state.js";
import { decode, now, publishFrame, socketUrl } from "../wire.js";
import { usPer } from "./delivery.js";

export async function conflateFanout(job: FanoutJob, progress: (line: string) => void): Promise<FanoutResult> {
  const { endpoint, subscribers, messages } = job;
  const room = job.room ?? randomPrefix();
  const last = new Array<number>(subscribers).fill(0);
  let delivered = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let current = 0; // readers holding the last message
  let lastFrameAt = Date.now();
  let doneAt = 0;
  const sockets = await openSockets(socketUrl(endpoint, room), subscribers, {
    onMessage: (i, frame) => {
      lastFrameAt = Date.now();
      for (const d of decode(endpoint, frame)) {
        delivered++;
        if (d.seq === last[i]) duplicated++;
        else if (d.seq < last[i]!) outOfOrder++;
        else {
          last[i] = d.seq;
          if (d.seq === messages && ++current === subscribers) doneAt = now();
        }
      }
    },
  });
  const [publisher] = await openSockets(socketUrl({ ...endpoint, conflate: undefined }, room), 1, { onMessage: () => (lastFrameAt = Date.now()) });
  await quiet(() => lastFrameAt);
  progress(`${subscribers} conflating readers open; burst of ${messages}`);

  const runtimeCpu0 = cpuMs(endpoint.pid);
  const clientCpu0 = ownCpuMs();
  const started = now();
  for (let n = 1; n <= messages; n++) publisher!.send(publishFrame(endpoint, "pub", n));
  await waitFor(() => current === subscribers, job.timeoutMs, 5);
  const seconds = Math.max(1e-6, ((doneAt || now()) - started) / 1000);
  const made = subscribers * messages;
  const runtimeCpuUsPerDelivery = usPer(cpuMs(endpoint.pid) - runtimeCpu0, made);
  const result: FanoutResult = {
    subscribers,
    messages,
    room,
    startedAt: Math.round(started),
    seconds: Math.round(seconds * 1000) / 1000,
    msgsPerSec: Math.round(made / seconds),
    ...(Number.isFinite(runtimeCpuUsPerDelivery) ? { runtimeCpuUsPerDelivery } : {}),
    clientCpuUsPerDelivery: usPer(ownCpuMs() - clientCpu0, made),
    conflatedDeliveries: delivered,
    // A reader that never got the last message lost it; the ones conflation dropped on purpose are not losses.
    expected: subscribers,
    delivered: current,
    lost: subscribers - current,
    duplicated,
    outOfOrder,
  };
  terminateAll([...sockets, publisher]);
  await settle(endpoint, room);
  return result;
}
