/**
 * Connection setup: how many upgrades per second a room takes, through the
 * Worker and into the object, with `concurrency` handshakes in flight. For
 * Roomcast every join also tells every other JSON socket (presence), so the
 * cost of a join grows with the room: that is part of what is measured.
 */
import { openSockets, randomPrefix, terminateAll } from "../../../load/index.js";
import type { ConnectJob, ConnectResult } from "../jobs.js";
import { settle } from "../room-state.js";
import { now, socketUrl } from "../wire.js";

export async function connect(job: ConnectJob, progress: (line: string) => void): Promise<ConnectResult> {
  const { endpoint, sockets: count, concurrency } = job;
  const room = randomPrefix();
  progress(`opening ${count} sockets, ${concurrency} at a time`);
  const started = now();
  let failed = 0;
  let sockets: Awaited<ReturnType<typeof openSockets>> = [];
  try {
    sockets = await openSockets(socketUrl(endpoint, room), count, { concurrency });
  } catch {
    failed = 1;
  }
  const seconds = (now() - started) / 1000;
  terminateAll(sockets);
  await settle(endpoint, room);
  return { sockets: count, concurrency, seconds: Math.round(seconds * 1000) / 1000, upgradesPerSec: Math.round(count / seconds), failed };
}
