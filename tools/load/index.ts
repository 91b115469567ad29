/**
 * The load generator: the one piece of code that opens fleets of Roomcast
 * clients against a relay and counts what arrives. The simulator (sim/), the
 * benchmark and the chaos test build on it; none of them opens clients or
 * counts deliveries by itself.
 *
 * Quick use:
 *
 *   const fleet = await openFleet({ url, token, rooms: roomNames("p", 4),
 *     devices: 40, dashboards: 3, mode: "mixed", rate: 1, flaky: 0.05 });
 *   setInterval(() => console.log(fleet.stats()), 1000);   // open, made, acked, delivered, reconnects, drops
 *   const report = await fleet.finish();  // stop, drain calmly, count
 *   fleet.close();
 *   report.ok; report.lost; report.duplicated; report.latency.p99; fleet.tally.timeline();
 *
 * Pieces, for callers that build their own scenario:
 *
 * - `Tally` (tally.ts): the verdict. `beginRoom(room, seq)`, then
 *   `watch(name, room, startSeq)` gives a `SubscriberTally` whose
 *   `record(seq, data)` you call per delivered message; `acked(room, id, seq)`
 *   per acknowledged publish; `endRoom(room, seq)` when publishing stopped;
 *   `report()` says expected / delivered / lost / duplicated / outOfOrder /
 *   mismatched / doublePublished, gaps and latency; `timeline()` per second.
 * - `createDevice(mode, …)` (devices.ts): a device publishing readings as
 *   "json" (client library), "raw" (bare raw-mode socket) or "http" (POST with
 *   Idempotency-Key), each with a `Link`.
 * - `createSubscriber(kind, …)` (dashboards.ts): a dashboard over "ws" (client
 *   library) or "sse" (EventSource-style stream with Last-Event-ID).
 * - `Link`, `linkedWebSocket`, `Chaos` (links.ts): terminate links (no close
 *   frame), with a chance per second.
 * - `Histogram` (histogram.ts): mergeable log-bucket latency histogram.
 * - `newReading` / `readingOf` (reading.ts): the payload, carrying a message
 *   id and its publish time, from which latency is measured.
 * - `roomNames`, `randomPrefix`, `roomState`, `roomInstance` (target.ts).
 * - `openSockets`, `terminateAll` (sockets.ts): plain sockets in bulk with
 *   bounded handshake concurrency, for loads that are not Roomcast clients
 *   (the benchmark's comparison systems).
 *
 * Node-only (uses `ws`). Load only what you mean to, and only against a
 * relay you are allowed to load.
 */
export { openFleet, dashboardRooms, Fleet } from "./fleet.js";
export type { FleetOptions, FleetMode, FleetStats, FinishOptions } from "./fleet.js";
export { Tally, SubscriberTally, TALLY_COUNTS, countsJson } from "./tally.js";
export type { TallyReport, TallyCount, TallyCountsJson, Gap, TimelinePoint } from "./tally.js";
export { createDevice, Device } from "./devices.js";
export type { DeviceMode, DeviceOptions } from "./devices.js";
export { createSubscriber, Subscriber } from "./dashboards.js";
export type { SubscriberKind, SubscriberOptions } from "./dashboards.js";
export { Chaos, Link, linkedWebSocket } from "./links.js";
export { Histogram } from "./histogram.js";
export type { LatencySummary } from "./histogram.js";
export { newReading, readingOf } from "./reading.js";
export type { Reading } from "./reading.js";
export { SeqSet } from "./seq-set.js";
export { openSockets, terminateAll } from "./sockets.js";
export type { OpenSocketsOptions } from "./sockets.js";
export { authHeaders, randomPrefix, roomInstance, roomNames, roomState } from "./target.js";
export type { Target } from "./target.js";
