/**
 * A fleet: devices spread over rooms, dashboards watching them, optional
 * chaos on every link, and a tally of what arrived. `openFleet` starts it;
 * `finish` stops publishing, lets everything drain calmly and returns the
 * verdict; `close` ends every connection.
 *
 * Placement: device i publishes in room i mod R, with mode i mod 3 of
 * json/raw/http when the mode is "mixed". With D dashboards and R rooms,
 * every room is watched: when D >= R dashboard i watches room i mod R, else
 * dashboard i watches every room r with r mod D = i. Every third dashboard
 * (i mod 3 = 2) reads over SSE, the others use the client library.
 */
import { Chaos } from "./links.js";
import { createDevice, type Device, type DeviceMode } from "./devices.js";
import { createSubscriber, type Subscriber, type SubscriberKind } from "./dashboards.js";
import { Tally, type TallyReport } from "./tally.js";
import { roomState, type Target } from "./target.js";
import { waitFor } from "./wait.js";

export type FleetMode = DeviceMode | "mixed";

export interface FleetOptions extends Target {
  rooms: string[];
  devices: number;
  dashboards: number;
  /** How devices publish; "mixed" rotates json, raw, http. */
  mode: FleetMode;
  /** Readings per second per device. */
  rate: number;
  /** Chance per second that any given link is dropped (0 = steady links). */
  flaky: number;
  /** Devices connect spread over this long, not all in one burst (ms). */
  rampMs?: number;
  /** Makes device names (and so message ids) unique to this run. */
  runId?: string;
  tally?: Tally;
  /** json devices publish on `sensors/<device>/reading`, retained (for the dashboard's tiles). */
  topics?: boolean;
}

export interface FleetStats {
  /** Sockets and SSE streams up right now. */
  open: number;
  /** Readings made by devices. */
  made: number;
  /** Publishes acknowledged by the relay. */
  acked: number;
  /** Distinct messages received by dashboards. */
  delivered: number;
  /** Reconnects of sockets and streams, plus HTTP retries. */
  reconnects: number;
  /** Links dropped on purpose. */
  drops: number;
}

export interface FinishOptions {
  /** How long to wait for unacknowledged publishes, then for dashboards to catch up (ms each). */
  drainMs?: number;
}

const DEVICE_MODES: readonly DeviceMode[] = ["json", "raw", "http"];

export class Fleet {
  private closed = false;

  constructor(
    readonly options: FleetOptions,
    readonly tally: Tally,
    readonly devices: Device[],
    readonly subscribers: Subscriber[],
    private readonly chaos: Chaos,
  ) {}

  stats(): FleetStats {
    const links = [...this.devices, ...this.subscribers];
    return {
      open: links.filter((l) => l.open).length,
      made: this.devices.reduce((n, d) => n + d.made, 0),
      acked: this.tally.ackedCount,
      delivered: this.tally.deliveredCount,
      reconnects: links.reduce((n, l) => n + l.reconnects, 0),
      drops: links.reduce((n, l) => n + l.link.drops, 0),
    };
  }

  /** Starts or stops dropping links (a test may calm the fleet, then shake it again). */
  setFlaky(on: boolean): void {
    if (on) this.chaos.start();
    else this.chaos.stop();
  }

  /**
   * Ends the run: no more chaos or readings, waits until what devices still
   * hold is accepted, reads where every room ended, waits for the dashboards
   * to get there, and returns the tally's verdict.
   */
  async finish(options: FinishOptions = {}): Promise<TallyReport> {
    const drainMs = options.drainMs ?? 30_000;
    this.chaos.stop();
    for (const d of this.devices) d.stopPublishing();
    await waitFor(() => this.devices.every((d) => d.pending === 0), drainMs);
    // Raw devices have no acks: close them so nothing of theirs is in flight.
    for (const d of this.devices) d.close();
    await waitFor(() => this.devices.every((d) => d.quiet), 10_000);
    await Promise.all(
      this.options.rooms.map(async (room) => this.tally.endRoom(room, (await roomState(this.options, room)).seq)),
    );
    await waitFor(() => this.tally.caughtUp(), drainMs);
    return this.tally.report();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chaos.stop();
    for (const d of this.devices) d.close();
    for (const s of this.subscribers) s.close();
  }
}

export async function openFleet(options: FleetOptions): Promise<Fleet> {
  const { rooms, devices: deviceCount, dashboards, rate } = options;
  if (rooms.length === 0) throw new Error("a fleet needs at least one room");
  if (!(rate > 0)) throw new Error("rate must be above 0");
  const tally = options.tally ?? new Tally();
  const runId = options.runId ?? Math.random().toString(36).slice(2, 7);
  const chaos = new Chaos(options.flaky);

  // Where each room stands now: the dashboards count from there.
  const starts = new Map(await Promise.all(rooms.map(async (room) => [room, await roomState(options, room)] as const)));
  for (const [room, state] of starts) tally.beginRoom(room, state.seq);

  const subscribers: Subscriber[] = [];
  for (const [index, room] of dashboardRooms(dashboards, rooms)) {
    const kind: SubscriberKind = index % 3 === 2 ? "sse" : "ws";
    const start = starts.get(room)!;
    const sub = createSubscriber(kind, {
      target: options,
      room,
      since: start.seq,
      epoch: start.epoch,
      tally: tally.watch(`dashboard-${index}/${kind}`, room, start.seq),
    });
    chaos.add(sub.link);
    subscribers.push(sub);
  }

  const rampMs = options.rampMs ?? Math.min(5_000, deviceCount * 5);
  const devices: Device[] = [];
  for (let i = 0; i < deviceCount; i++) {
    const mode = options.mode === "mixed" ? DEVICE_MODES[i % DEVICE_MODES.length]! : options.mode;
    const topic = options.topics ? `sensors/d${i}/reading` : undefined;
    const device = createDevice(mode, { target: options, room: rooms[i % rooms.length]!, name: `${runId}-d${i}`, rate, tally, topic });
    device.start(deviceCount > 1 ? (rampMs * i) / deviceCount : 0);
    chaos.add(device.link);
    devices.push(device);
  }
  chaos.start();
  return new Fleet(options, tally, devices, subscribers, chaos);
}

/** [dashboard index, room] for every subscription, covering every room. */
export function dashboardRooms(dashboards: number, rooms: string[]): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  if (dashboards >= rooms.length) {
    for (let i = 0; i < dashboards; i++) out.push([i, rooms[i % rooms.length]!]);
  } else {
    for (let r = 0; r < rooms.length; r++) out.push([r % dashboards, rooms[r]!]);
  }
  return out;
}

