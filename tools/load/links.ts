/**
 * Flaky links. A `Link` follows the one socket (or HTTP request) a simulated
 * client has open at a time, so the load generator can kill it the way a
 * dying radio link does: `terminate()` drops the TCP connection with no close
 * frame, and the client only learns of it from the error, as in the field.
 *
 * `linkedWebSocket(link)` is a `ws` WebSocket class to hand to
 * `RoomcastClient` (its `WebSocket` option) so the client's own sockets can be
 * tracked and terminated without touching the library. `Chaos` drops each
 * registered link with a given chance per second.
 */
import WebSocket from "ws";
import type { WebSocketConstructor } from "../../client/index.js";

export class Link {
  private socket: WebSocket | null = null;
  private request: AbortController | null = null;
  /** Times this link was dropped on purpose. */
  drops = 0;

  /** Follows a WebSocket until it closes. */
  attachSocket(ws: WebSocket): void {
    this.socket = ws;
    ws.once("close", () => {
      if (this.socket === ws) this.socket = null;
    });
  }

  /** Follows an HTTP request (SSE stream or publish); returns its abort signal. */
  attachRequest(): AbortSignal {
    const controller = new AbortController();
    this.request = controller;
    return controller.signal;
  }

  detachRequest(signal: AbortSignal): void {
    if (this.request?.signal === signal) this.request = null;
  }

  get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN || this.request !== null;
  }

  /** Kills whatever is open, without a close frame. */
  terminate(): boolean {
    let dropped = false;
    // A socket already closing (killed a moment ago, its close event not yet
    // out) is not dropped again, so `drops` counts real link losses.
    if (this.socket && (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING)) {
      this.socket.terminate();
      dropped = true;
    }
    if (this.request) {
      this.request.abort(new Error("link dropped"));
      this.request = null;
      dropped = true;
    }
    if (dropped) this.drops++;
    return dropped;
  }
}

/** A `ws` WebSocket class whose every instance `link` follows. */
export function linkedWebSocket(link: Link): WebSocketConstructor {
  return class LinkedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      link.attachSocket(this);
    }
  } as unknown as WebSocketConstructor;
}

/**
 * Drops links at random: each registered link with chance `perSecond` in any
 * given second (checked several times a second, with the chance scaled so the
 * rate per second is right).
 */
export class Chaos {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly links = new Set<Link>();
  private static readonly TICK_MS = 250;

  constructor(private perSecond: number) {}

  add(link: Link): void {
    this.links.add(link);
  }

  delete(link: Link): void {
    this.links.delete(link);
  }

  start(): void {
    if (this.timer || this.perSecond <= 0) return;
    const chance = 1 - (1 - Math.min(1, this.perSecond)) ** (Chaos.TICK_MS / 1000);
    this.timer = setInterval(() => {
      for (const link of this.links) if (Math.random() < chance) link.terminate();
    }, Chaos.TICK_MS);
    this.timer.unref?.();
  }

  /** Stops dropping links (the drain phase of a run must be calm). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
