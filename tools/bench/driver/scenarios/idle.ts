/**
 * Idle cost: the runtime process's resident memory with many idle sockets in
 * one room, read right after they are open (object in memory) and again after
 * a wait long enough for workerd to evict the object (hibernation), then
 * `pingers` sockets send `ping`. Each must get `pong` from the runtime's
 * auto-response, and the room's wake-up counters must not move: a ping that
 * woke the object would construct it and reach its message handler.
 *
 * Roomcast's idle sockets are raw-mode (devices): JSON sockets would each be
 * told of every join, 12.5 M presence frames for 5000 sockets, which measures
 * presence, not idleness (connection setup measures that).
 */
import { openSockets, randomPrefix, terminateAll } from "../../../load/index.js";
import { rssMiB } from "../../../local/processes.js";
import type { IdleJob, IdlePoint, IdleResult } from "../jobs.js";
import { quiet, roomCounters, settle, type RoomCounters } from "../room-state.js";
import { sleep, waitFor } from "../../../load/wait.js";
import { socketUrl } from "../wire.js";

const PONG_TIMEOUT_MS = 15_000;

export async function idle(job: IdleJob, progress: (line: string) => void): Promise<IdleResult> {
  const { endpoint, counts, hibernateMs, pingers } = job;
  const room = randomPrefix();
  const url = socketUrl(endpoint, room, "raw");
  let pongs = 0;
  let lastFrameAt = Date.now();
  const onMessage = (_: number, frame: string | Buffer) => {
    lastFrameAt = Date.now();
    if (frame === "pong") pongs++;
  };
  const sockets: Awaited<ReturnType<typeof openSockets>> = [];
  const points: IdlePoint[] = [];
  let before: RoomCounters | null = null;

  for (const count of counts) {
    sockets.push(...(await openSockets(url, count - sockets.length, { onMessage })));
    await quiet(() => lastFrameAt);
    before = await roomCounters(endpoint, room); // the last event before the wait
    const rssBeforeMiB = rssMiB(endpoint.pid);
    progress(`${count} idle sockets, ${rssBeforeMiB} MiB; waiting ${hibernateMs / 1000} s for hibernation`);
    await sleep(hibernateMs);
    points.push({ sockets: count, rssBeforeMiB, rssAfterMiB: rssMiB(endpoint.pid) });
  }

  for (const ws of sockets.slice(0, pingers)) ws.send("ping");
  await waitFor(() => pongs >= pingers, PONG_TIMEOUT_MS);
  await sleep(200); // anything a woken handler would send back (an error frame) arrives too
  const after = await roomCounters(endpoint, room);
  const constructedSince = after.constructed - before!.constructed;
  // Our own counter read may construct the evicted object once; anything past that, or any handled frame, was a ping.
  const wakeups = Math.max(0, constructedSince - 1) + (after.messages - before!.messages);

  terminateAll(sockets);
  await settle(endpoint, room);
  return {
    points,
    pingers,
    pongs,
    wakeups,
    evicted: endpoint.name === "node-ws" ? null : constructedSince >= 1,
  };
}
