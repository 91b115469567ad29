/**
 * Simulated devices: each publishes one reading every 1/rate seconds into
 * its room, in one of three ways, and reports what the relay acknowledged to
 * the tally:
 *
 * - "json": the client library (`RoomcastClient.publish`), which queues and
 *   resends unacknowledged publishes with their ids after a reconnect;
 * - "raw":  a bare `mode=raw` socket, the smallest device: frames are sent as
 *   they are, there is no ack, and a frame in flight when the link dies is
 *   gone (so it was never accepted, and no subscriber should expect it);
 * - "http": `POST /rooms/:room/messages` with an `Idempotency-Key`, retried
 *   with the same key until a 201 arrives.
 */
import WebSocket from "ws";
import { backoffDelay, publishHttp, RoomcastClient } from "../../client/index.js";
import { roomSocketUrl } from "../../protocol/index.js";
import { Link, linkedWebSocket } from "./links.js";
import { newReading, type Reading } from "./reading.js";
import type { Tally } from "./tally.js";
import type { Target } from "./target.js";

export type DeviceMode = "json" | "raw" | "http";

export interface DeviceOptions {
  target: Target;
  room: string;
  /** Unique across runs: message ids (and so idempotency keys) derive from it. */
  name: string;
  /** Readings per second. */
  rate: number;
  tally: Tally;
  /** Stop making readings after this many (a test that needs an exact count); unbounded when omitted. */
  limit?: number;
  /**
   * Publish each reading on this topic, retained (so a dashboard opening later
   * sees every device's last value at once). json devices only: a raw
   * socket's frames carry no topic, and publishHttp takes none.
   */
  topic?: string;
}

export abstract class Device {
  readonly link = new Link();
  /** Readings made (each counted once, however many times it is sent). */
  made = 0;
  /** Reconnects (sockets) or retries (HTTP). */
  reconnects = 0;
  protected stopped = false;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly mode: DeviceMode,
    protected readonly options: DeviceOptions,
  ) {}

  /** Connects (sockets) and starts publishing after `delayMs`. */
  start(delayMs = 0): void {
    const begin = setTimeout(() => {
      if (this.stopped) return;
      this.connect();
      this.timer = setInterval(() => {
        this.publish(newReading(this.options.name, ++this.made));
        if (this.made >= (this.options.limit ?? Infinity)) this.stopPublishing();
      }, 1000 / this.options.rate);
    }, delayMs);
    begin.unref?.();
  }

  /** Stops making readings; what is queued still goes out. */
  stopPublishing(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Readings not yet acknowledged (or, for raw devices, not yet sent). */
  abstract get pending(): number;
  /** Whether its link is up. */
  abstract get open(): boolean;
  abstract close(): void;
  /** True once nothing it sent can still reach the relay (after `close`). */
  get quiet(): boolean {
    return true;
  }
  protected connect(): void {}
  protected abstract publish(reading: Reading): void;
}

class ClientDevice extends Device {
  private client: RoomcastClient | null = null;
  private inFlight = 0;

  protected override connect(): void {
    const { target, room } = this.options;
    this.client = new RoomcastClient({ url: target.url, room, token: target.token, WebSocket: linkedWebSocket(this.link) });
    this.client.on("disconnect", (d) => {
      if (d.reconnect) this.reconnects++;
    });
    this.client.on("error", () => {}); // rate limits and the like are counted by what arrives
  }

  protected publish(reading: Reading): void {
    this.inFlight++;
    const { topic } = this.options;
    this.client!.publish(reading, topic === undefined ? {} : { topic, retain: true }).then(
      ({ seq }) => this.options.tally.acked(this.options.room, reading.id, seq),
      () => {}, // queue full or closed: never accepted, so nobody expects it
    ).finally(() => this.inFlight--);
  }

  get pending(): number {
    return this.inFlight;
  }

  get open(): boolean {
    return this.client?.state === "open";
  }

  close(): void {
    this.stopPublishing();
    this.client?.close();
  }
}

/** Readings a raw device keeps while its link is down; older ones are dropped, as on a tiny device. */
const RAW_QUEUE_LIMIT = 100;

class RawDevice extends Device {
  private ws: WebSocket | null = null;
  private queue: string[] = [];
  private attempt = 0;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  protected override connect(): void {
    if (this.closed) return;
    const { target, room } = this.options;
    const ws = new WebSocket(roomSocketUrl(target.url, room, { mode: "raw", token: target.token }));
    this.ws = ws;
    this.link.attachSocket(ws);
    ws.on("error", () => {}); // the close event that follows handles it
    ws.on("open", () => {
      this.attempt = 0;
      this.flush();
    });
    ws.on("close", () => {
      if (this.ws !== ws || this.closed) return;
      this.ws = null;
      this.reconnects++;
      this.retryTimer = setTimeout(() => this.connect(), backoffDelay(this.attempt++));
    });
  }

  protected publish(reading: Reading): void {
    this.queue.push(JSON.stringify(reading));
    if (this.queue.length > RAW_QUEUE_LIMIT) this.queue.shift();
    this.flush();
  }

  private flush(): void {
    const ws = this.ws;
    while (ws && ws.readyState === WebSocket.OPEN && this.queue.length > 0) ws.send(this.queue.shift()!);
  }

  get pending(): number {
    return this.queue.length;
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.stopPublishing();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ws?.close(1000, "done");
  }

  /** The relay answers our close frame only after the frames sent before it. */
  override get quiet(): boolean {
    return this.ws === null || this.ws.readyState === WebSocket.CLOSED;
  }
}

class HttpDevice extends Device {
  private queue: Reading[] = [];
  private sending = false;
  private closed = false;

  protected publish(reading: Reading): void {
    this.queue.push(reading);
    if (!this.sending) void this.sendAll();
  }

  /** Sends the queue in order, each reading retried with its key until accepted. */
  private async sendAll(): Promise<void> {
    this.sending = true;
    let attempt = 0;
    while (this.queue.length > 0 && !this.closed) {
      const reading = this.queue[0]!;
      const { target, room, tally } = this.options;
      const signal = this.link.attachRequest();
      try {
        const { seq } = await publishHttp({ url: target.url, room, token: target.token, data: reading, idempotencyKey: reading.id, signal });
        tally.acked(room, reading.id, seq);
        this.queue.shift();
        attempt = 0;
      } catch (error) {
        const status = (error as { status?: number }).status;
        // A 4xx other than 408/429 will not change on retry: give the reading up.
        if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) this.queue.shift();
        else {
          this.reconnects++;
          await sleep(backoffDelay(attempt++));
        }
      } finally {
        this.link.detachRequest(signal);
      }
    }
    this.sending = false;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** An HTTP device holds no connection between publishes. */
  get open(): boolean {
    return false;
  }

  close(): void {
    this.stopPublishing();
    this.closed = true;
  }
}

/** One device class per mode: a new mode is a class and a line here. */
const DEVICES: Record<DeviceMode, new (mode: DeviceMode, options: DeviceOptions) => Device> = {
  json: ClientDevice,
  raw: RawDevice,
  http: HttpDevice,
};

export function createDevice(mode: DeviceMode, options: DeviceOptions): Device {
  return new DEVICES[mode](mode, options);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
