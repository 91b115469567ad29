/**
 * Steady latency: N subscribers, one publisher at a fixed rate well under
 * capacity. Each payload carries its send time; each delivery records
 * receive minus send in an HDR histogram (microseconds, 3 significant digits).
 */
import * as hdr from "hdr-histogram-js";
import { openSockets, randomPrefix, Tally, terminateAll } from "../../../load/index.js";
import type { LatencyJob, LatencyResult } from "../jobs.js";
import { openAudience } from "../audience.js";
import { quiet, settle } from "../room-state.js";
import { sleep, waitFor } from "../../../load/wait.js";
import { deliveryOf, usPer } from "./delivery.js";
import { now, publishFrame, socketUrl } from "../wire.js";
import { cpuMs } from "../../../local/processes.js";

const DRAIN_MS = 10_000;

export async function latency(job: LatencyJob, progress: (line: string) => void): Promise<LatencyResult> {
  const { endpoint, subscribers, rate, seconds } = job;
  const room = randomPrefix();
  const tally = new Tally();
  tally.beginRoom(room, 0);
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const audience = await openAudience(endpoint, room, subscribers, tally, (d, receivedAt) => {
    histogram.recordValue(Math.max(1, Math.round((receivedAt - d.data.t) * 1000)));
  });
  const [publisher] = await openSockets(socketUrl(endpoint, room), 1, { onMessage: () => (audience.lastFrameAt = Date.now()) });
  await quiet(() => audience.lastFrameAt);
  progress(`${subscribers} subscribers open; ${rate} msg/s for ${seconds} s`);

  // Paced against the start time, so timer drift does not lower the rate.
  const total = Math.round(rate * seconds);
  const runtimeCpu0 = cpuMs(endpoint.pid);
  const started = now();
  for (let n = 1; n <= total; n++) {
    const due = started + ((n - 1) * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    publisher!.send(publishFrame(endpoint, "pub", n));
  }
  tally.endRoom(room, total);
  await waitFor(() => tally.deliveredCount >= subscribers * total, DRAIN_MS, 10);
  const runtimeCpuUsPerDelivery = usPer(cpuMs(endpoint.pid) - runtimeCpu0, tally.deliveredCount);

  terminateAll([...audience.sockets, publisher]);
  const ms = (percentile: number) => Math.round(histogram.getValueAtPercentile(percentile) / 10) / 100;
  const result: LatencyResult = {
    subscribers,
    rate,
    p50_ms: ms(50),
    p99_ms: ms(99),
    p999_ms: ms(99.9),
    max_ms: Math.round(histogram.maxValue / 10) / 100,
    ...(Number.isFinite(runtimeCpuUsPerDelivery) ? { runtimeCpuUsPerDelivery } : {}),
    ...deliveryOf(tally),
  };
  histogram.destroy();
  await settle(endpoint, room);
  return result;
}
