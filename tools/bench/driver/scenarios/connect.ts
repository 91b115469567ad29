/**
 * Connection setup: how many upgrades per second a room takes, through the
 * Worker and into the object, with `concurrency` handshakes in flight, and
 * how many frames the room sent its sockets while it filled. For Roomcast's
 * default JSON sockets every join also tells every other JSON socket
 * (presence), so the cost of a join grows with the room; `presence=0` and raw
 * sockets are spared those frames.
 */
import { openSockets, randomPrefix, terminateAll } from "../../../load/index.js";
import { cpuMs, ownCpuMs } from "../../../local/processes.js";
import type { ConnectJob, ConnectResult, ConnectVariant } from "../jobs.js";
import { quiet, settle } from "../room-state.js";
import { now, socketUrl, type JoinOptions } from "../wire.js";

const JOINS: Record<ConnectVariant, JoinOptions> = {
  json: {},
  "presence=0": { presence: false },
  raw: { mode: "raw" },
};

export async function connect(job: ConnectJob, progress: (line: string) => void): Promise<ConnectResult> {
  const { endpoint, sockets: count, concurrency, variant } = job;
  const room = randomPrefix();
  progress(`opening ${count} ${variant} sockets, ${concurrency} at a time`);
  let frames = 0;
  let lastFrameAt = Date.now();
  const runtimeCpu0 = cpuMs(endpoint.pid);
  const clientCpu0 = ownCpuMs();
  const started = now();
  let failed = 0;
  let firstError: string | undefined;
  const sockets = await openSockets(socketUrl(endpoint, room, JOINS[variant]), count, {
    concurrency,
    stopStartingAt: Date.now() + job.capMs,
    onMessage: () => {
      frames++;
      lastFrameAt = Date.now();
    },
    onFailure: (_index, error) => {
      failed++;
      firstError ??= error.message;
    },
  });
  const seconds = (now() - started) / 1000;
  const opened = sockets.length;
  // Presence frames of the last joins may still be on their way: they were sent during the fill.
  await quiet(() => lastFrameAt, 500, 120_000);
  // Up to the quiet room, so the presence frames the fill set off are counted in full.
  const perUpgrade = (ms: number) => Math.round((ms * 1000) / Math.max(1, opened));
  const runtimeCpuUsPerUpgrade = perUpgrade(cpuMs(endpoint.pid) - runtimeCpu0);
  const clientCpuUsPerUpgrade = perUpgrade(ownCpuMs() - clientCpu0);
  progress(`${opened} of ${count} open in ${seconds.toFixed(1)} s; ${frames} frames received${failed ? `; ${failed} failed (${firstError})` : ""}`);
  terminateAll(sockets);
  await settle(endpoint, room, 60_000);
  return {
    variant,
    sockets: count,
    concurrency,
    opened,
    seconds: Math.round(seconds * 1000) / 1000,
    upgradesPerSec: Math.round(opened / seconds),
    failed,
    ...(firstError === undefined ? {} : { firstError }),
    frames,
    framesPerSocket: Math.round((frames / Math.max(1, opened)) * 100) / 100,
    runtimeCpuUsPerUpgrade,
    clientCpuUsPerUpgrade,
  };
}
