/**
 * Simulated dashboards: each watches one room from a known seq and records
 * every message it gets in the tally. Two kinds, as real dashboards come:
 *
 * - "ws":  the client library, which reconnects and resumes by itself;
 * - "sse": `GET /rooms/:room/events` read with fetch, resumed after a drop
 *          with `Last-Event-ID`, as a browser's EventSource does. It sees
 *          the relay's stream as it is, with no library removing repeats.
 */
import { backoffDelay, RoomcastClient, type MessageEnvelope } from "../../client/index.js";
import { roomHttpUrl } from "../../protocol/index.js";
import { Link, linkedWebSocket } from "./links.js";
import { readSse } from "./sse-reader.js";
import type { SubscriberTally } from "./tally.js";
import { authHeaders, type Target } from "./target.js";

export type SubscriberKind = "ws" | "sse";

export interface SubscriberOptions {
  target: Target;
  room: string;
  /** Start after this seq of this epoch (the room's state when the run began). */
  since: number;
  epoch: string;
  tally: SubscriberTally;
}

export abstract class Subscriber {
  readonly link = new Link();
  reconnects = 0;

  constructor(
    readonly kind: SubscriberKind,
    protected readonly options: SubscriberOptions,
  ) {}

  abstract get open(): boolean;
  abstract close(): void;
}

class ClientSubscriber extends Subscriber {
  private readonly client: RoomcastClient;

  constructor(options: SubscriberOptions) {
    super("ws", options);
    const { target, room, since, epoch, tally } = options;
    this.client = new RoomcastClient({ url: target.url, room, token: target.token, since, epoch, WebSocket: linkedWebSocket(this.link) });
    this.client.on("message", (m: MessageEnvelope) => tally.record(m.seq, m.data));
    this.client.on("disconnect", (d) => {
      if (d.reconnect) this.reconnects++;
    });
    this.client.on("error", () => {});
  }

  get open(): boolean {
    return this.client.state === "open";
  }

  close(): void {
    this.client.close();
  }
}

class SseSubscriber extends Subscriber {
  private streaming = false;
  private closed = false;
  private lastEventId: string;

  constructor(options: SubscriberOptions) {
    super("sse", options);
    this.lastEventId = String(options.since);
    void this.run();
  }

  private async run(): Promise<void> {
    const { target, room, tally } = this.options;
    let attempt = 0;
    let first = true;
    while (!this.closed) {
      const signal = this.link.attachRequest();
      try {
        // The first request says where to start with ?since=, the later ones
        // with Last-Event-ID, as an EventSource resuming does.
        const url = roomHttpUrl(target.url, room, "/events") + (first ? `?since=${this.options.since}` : "");
        const headers: Record<string, string> = { accept: "text/event-stream", ...authHeaders(target) };
        if (!first) headers["last-event-id"] = this.lastEventId;
        const res = await fetch(url, { headers, signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        first = false;
        this.streaming = true;
        attempt = 0;
        for await (const event of readSse(res.body)) {
          if (event.id !== undefined) this.lastEventId = event.id;
          if (event.event !== "message") continue;
          const envelope = JSON.parse(event.data) as MessageEnvelope;
          tally.record(envelope.seq, envelope.data);
        }
      } catch {
        // a dropped link, a refused request or a restarting relay: resume below
      } finally {
        this.streaming = false;
        this.link.detachRequest(signal);
      }
      if (this.closed) return;
      this.reconnects++;
      await new Promise((r) => setTimeout(r, backoffDelay(attempt++)));
    }
  }

  get open(): boolean {
    return this.streaming;
  }

  close(): void {
    this.closed = true;
    this.link.terminate();
  }
}

export function createSubscriber(kind: SubscriberKind, options: SubscriberOptions): Subscriber {
  return kind === "ws" ? new ClientSubscriber(options) : new SseSubscriber(options);
}
