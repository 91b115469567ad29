/**
 * RoomcastClient: one room, one WebSocket at a time, and everything needed to
 * survive a flaky link without losing or repeating a message.
 *
 * Life cycle, all of it driven through `setState`:
 *
 *   connecting ──welcome──▶ open ──socket gone──▶ reconnecting ──welcome──▶ open …
 *        │                                             │
 *        └──────── close(), 4403, 1008 ───────────────┴──▶ closed (final)
 *
 * Every way a socket can end (close frame, error, heartbeat or connect timeout)
 * goes through `socketGone`, the one place that decides "reconnect or stop".
 * Each socket's handlers compare it with `this.ws` first, so a late event from
 * a socket we already gave up on can never touch the current one.
 */
import {
  CloseCode,
  PING,
  PONG,
  TERMINAL_CLOSE_CODES,
  isValidRoomName,
  roomSocketUrl,
  type MessageEnvelope,
  type PresenceEvent,
  type ServerFrame,
  type WelcomeFrame,
} from "../protocol/index.js";
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { RoomcastError } from "./errors.js";
import { Outbox, newPublishId, type Published } from "./outbox.js";
import { TokenBucket } from "./rate.js";
import { OPEN, openWebSocket, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from "./websocket.js";

export type ClientState = "connecting" | "open" | "reconnecting" | "closed";

/** A token, or a function asked for one on the first connect, after every 4401, and after an attempt that never opened. */
export type TokenSource = string | (() => string | Promise<string>);

export interface DisconnectInfo {
  /** The close code (1006 when the link died without one). */
  code: number;
  reason: string;
  /** Whether the client will try again. */
  reconnect: boolean;
  /** Milliseconds until that next attempt. */
  delay?: number;
}

export interface ClientEvents {
  /** A message envelope, each `seq` once and in order. */
  message: MessageEnvelope;
  /** Joins and leaves; past the room's threshold, `count` events instead (ignore events you do not know). */
  presence: PresenceEvent;
  /** Every state transition (not the initial "connecting"). */
  state: ClientState;
  /** Each (re)connection's welcome; `recovered: false` after a resume means a gap. */
  welcome: WelcomeFrame;
  /** Server `error` frames and client-side failures; never thrown. */
  error: RoomcastError;
  disconnect: DisconnectInfo;
}

/** Where a publish goes: a topic, and whether it becomes the topic's retained value. */
export interface PublishOptions {
  topic?: string;
  retain?: boolean;
}

export interface RoomcastClientOptions {
  /** The relay's origin: `ws(s)://` or `http(s)://`. */
  url: string;
  room: string;
  token?: TokenSource;
  /** A WebSocket class, for runtimes without a global one (e.g. `ws` in Node 20). */
  WebSocket?: WebSocketConstructor;
  /** Also receive your own messages. */
  echo?: boolean;
  /** Only messages whose topic matches one of these MQTT filters (`sensors/+/temp`, `cmd/#`). */
  topics?: string[];
  /**
   * Get the matching retained values first on every (re)connect, each as its
   * envelope with `retain: true` and its original seq (so one may repeat a
   * value already seen). They do not move `seq`.
   */
  retained?: boolean;
  /**
   * Per topic, at most the latest message per this many ms (`conflate=`,
   * e.g. for a dashboard of fast sensors). Messages conflated away leave
   * gaps in seq; `seq` stays a correct resume point.
   */
  conflate?: number;
  /**
   * Ask for batch frames (default true): messages due at once (a burst, a
   * replay) come in fewer frames. Each is still its own `message` event.
   */
  batch?: boolean;
  /** Resume from this seq on the first connect (e.g. 0 for the whole history). */
  since?: number;
  /** The epoch `since` belongs to. */
  epoch?: string;
  backoff?: Partial<BackoffOptions>;
  /** The link must stay open this long before the backoff starts over (ms). */
  stableAfter?: number;
  /** Largest number of publishes waiting for an ack. */
  maxQueue?: number;
  /** Send `ping` this often (ms). */
  pingInterval?: number;
  /** Declare the link dead when no frame follows a ping within this (ms). */
  pongTimeout?: number;
  /** Give up on a connection attempt whose welcome has not come within this (ms). */
  connectTimeout?: number;
  /** Resend an unacked publish on the same socket after this long (ms). */
  resendAfter?: number;
  /** Outgoing publishes per second, kept below the relay's rate limit. */
  publishRate?: { perSecond: number; burst: number };
}

const DEFAULTS = {
  stableAfter: 5_000,
  maxQueue: 1_000,
  pingInterval: 20_000,
  pongTimeout: 10_000,
  connectTimeout: 10_000,
  resendAfter: 10_000,
  publishRate: { perSecond: 40, burst: 80 },
};

/** Close code the client uses when it drops a link it considers dead. */
const CLIENT_GAVE_UP = 4000;
/** Own seqs remembered to hide our own messages on replay (echo off). */
const OWN_SEQS_KEPT = 1_000;

type TimerName = "connect" | "reconnect" | "ping" | "pong" | "flush";

export class RoomcastClient {
  private readonly options: RoomcastClientOptions;
  private readonly backoff: BackoffOptions;
  private readonly events = new Emitter<ClientEvents>();
  private readonly outbox: Outbox;
  private readonly timers = new Map<TimerName, ReturnType<typeof setTimeout>>();

  private _state: ClientState = "connecting";
  private _seq: number | undefined;
  private _epoch: string | undefined;
  private _id: string | undefined;

  /** The current socket; every other socket is stale. */
  private ws: WebSocketLike | null = null;
  /** Bumped by every connect and by close(), to abandon an in-flight connect. */
  private generation = 0;
  private attempt = 0;
  /** When the current socket got its welcome. */
  private openedAt: number | undefined;
  /** HTTP status of a refused upgrade, as `ws` reports it in its error event. */
  private refusedStatus: number | undefined;
  /** A 503's `Retry-After`, in ms, when the WebSocket implementation lets us read it (Node's `ws`). */
  private retryAfterMs: number | undefined;
  private token: string | undefined;
  private tokenStale = true;
  private bucket: TokenBucket;
  private ownSeqs = new Set<number>();

  constructor(options: RoomcastClientOptions) {
    if (!isValidRoomName(options.room)) {
      throw new RoomcastError("bad_room_name", `roomcast: invalid room name ${JSON.stringify(options.room)}`);
    }
    roomSocketUrl(options.url, options.room); // throws now, not later, on a malformed url
    this.options = options;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.outbox = new Outbox(options.maxQueue ?? DEFAULTS.maxQueue);
    this.bucket = this.newBucket();
    this._seq = options.since;
    this._epoch = options.epoch;
    // Connect after the current task so listeners added right after `new` see everything.
    queueMicrotask(() => void this.connect());
  }

  get state(): ClientState {
    return this._state;
  }
  /** Last seq seen (or the room's seq at the welcome); the resume point. */
  get seq(): number | undefined {
    return this._seq;
  }
  get epoch(): string | undefined {
    return this._epoch;
  }
  /** This connection's id, from the latest welcome. */
  get id(): string | undefined {
    return this._id;
  }
  /** Publishes waiting for an ack. */
  get queued(): number {
    return this.outbox.size;
  }

  on<K extends keyof ClientEvents>(event: K, fn: (value: ClientEvents[K]) => void): () => void {
    return this.events.on(event, fn);
  }

  /**
   * Publishes `data` (any JSON value). Resolves with its `seq` once the relay
   * acks it, however many reconnects that takes; rejects when the queue is
   * full or the client is (or gets) closed.
   */
  publish(data: unknown, options: PublishOptions = {}): Promise<Published> {
    if (this._state === "closed") {
      return Promise.reject(new RoomcastError("client_closed", "roomcast: cannot publish, the client is closed"));
    }
    const id = newPublishId();
    let frame: string;
    try {
      if (data === undefined) throw new TypeError("undefined");
      frame = JSON.stringify({ type: "publish", data, id, ...options });
    } catch (error) {
      return Promise.reject(new TypeError(`roomcast: publish data must be JSON-serializable (${String(error)})`));
    }
    const result = this.outbox.add(id, frame);
    this.flush();
    return result;
  }

  /** Closes for good: no reconnect, unacked publishes rejected. */
  close(): void {
    this.shutdown(new RoomcastError("client_closed", "roomcast: client closed"));
  }

  // ---- state ----------------------------------------------------------------

  private setState(next: ClientState): void {
    if (this._state === next || this._state === "closed") return;
    this._state = next;
    this.events.emit("state", next);
  }

  private shutdown(error: RoomcastError): void {
    if (this._state === "closed") return;
    this.generation++;
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
    const ws = this.ws;
    this.ws = null;
    if (ws) safeClose(ws, CloseCode.Normal, "client closed");
    this.outbox.rejectAll(error);
    this.setState("closed");
  }

  // ---- connecting -----------------------------------------------------------

  private async connect(): Promise<void> {
    if (this._state === "closed") return;
    const generation = ++this.generation;
    let ws: WebSocketLike;
    try {
      const [token, WebSocketClass] = await Promise.all([this.currentToken(), resolveWebSocket(this.options.WebSocket)]);
      if (generation !== this.generation) return; // closed meanwhile
      const query = {
        since: this._seq,
        epoch: this._seq === undefined ? undefined : this._epoch,
        echo: this.options.echo,
        topics: this.options.topics,
        retained: this.options.retained,
        batch: this.options.batch ?? true,
        conflate: this.options.conflate,
      };
      const url = roomSocketUrl(this.options.url, this.options.room, query);
      ws = openWebSocket(WebSocketClass, url, roomSocketUrl(this.options.url, this.options.room, { ...query, token }), token);
    } catch (error) {
      if (generation !== this.generation) return;
      const e = error instanceof RoomcastError ? error : new RoomcastError("token_failed", `roomcast: ${errorText(error)}`);
      this.events.emit("error", e);
      if (e.code === "no_websocket") return this.shutdown(e); // no retry can fix that
      return this.retry(1006, e.message);
    }
    this.attach(ws);
  }

  private async currentToken(): Promise<string | undefined> {
    const source = this.options.token;
    if (source === undefined || typeof source === "string") return source;
    if (this.tokenStale || this.token === undefined) {
      let fresh: string;
      try {
        fresh = await source();
      } catch (error) {
        throw new RoomcastError("token_failed", `roomcast: the token function failed: ${errorText(error)}`);
      }
      this.token = fresh;
      this.tokenStale = false;
    }
    return this.token;
  }

  private attach(ws: WebSocketLike): void {
    this.ws = ws;
    this.refusedStatus = undefined;
    this.retryAfterMs = undefined;
    this.readRefusals(ws);
    try {
      ws.binaryType = "arraybuffer";
    } catch {
      // some implementations fix it; we only read text frames anyway
    }
    this.setTimer("connect", this.opt("connectTimeout"), () => this.linkDead(ws, "connect timeout"));
    // A failed connection closes with 1006 and no reason; its error event said why.
    let failure = "";
    ws.onmessage = (event: { data?: unknown }) => {
      if (ws === this.ws) this.onFrame(ws, event.data);
    };
    ws.onerror = (event: { message?: unknown; error?: { message?: unknown } }) => {
      if (ws !== this.ws) return;
      // `ws` reports a refused upgrade as "Unexpected server response: 401";
      // browsers give no detail, and the close event follows in both.
      const text = String(event?.message ?? event?.error?.message ?? "");
      const m = /Unexpected server response: (\d{3})/.exec(text);
      if (m) this.refusedStatus = Number(m[1]);
      if (text) failure = text;
    };
    ws.onclose = (event: { code?: number; reason?: string }) => {
      this.socketGone(ws, event?.code ?? 1006, event?.reason || failure);
    };
  }

  /**
   * Node's `ws` hands over a refused upgrade's response: its status and a
   * 503's `Retry-After` (a busy room). Browsers show neither; there the
   * backoff alone spreads the retries.
   */
  private readRefusals(ws: WebSocketLike): void {
    const emitter = ws as unknown as { on?: (event: string, listener: (req: unknown, res: RefusedResponse) => void) => void; terminate?: () => void };
    if (typeof emitter.on !== "function" || typeof emitter.terminate !== "function") return;
    emitter.on("unexpected-response", (_req, res) => {
      if (ws !== this.ws) return;
      this.refusedStatus = res.statusCode;
      this.retryAfterMs = retryAfterMs(res.headers["retry-after"]);
      res.resume?.();
      emitter.terminate!(); // ends the handshake: error, then close (1006), as without a listener
    });
  }

  /** A link that stopped answering: drop it without waiting for a close handshake. */
  private linkDead(ws: WebSocketLike, reason: string): void {
    if (ws !== this.ws) return;
    safeClose(ws, CLIENT_GAVE_UP, reason);
    this.socketGone(ws, 1006, reason);
  }

  /** The one disconnect path: reconnect, or stop for good. */
  private socketGone(ws: WebSocketLike, closeCode: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const name of ["connect", "ping", "pong", "flush"] as const) this.clearTimer(name);
    if (this.openedAt !== undefined && Date.now() - this.openedAt >= this.opt("stableAfter")) this.attempt = 0;
    // A browser cannot see why an upgrade failed (a 401 looks like any other
    // failure), so a link that never opened asks a token function again.
    if (this.openedAt === undefined && typeof this.options.token === "function") this.tokenStale = true;
    this.openedAt = undefined;

    let code = closeCode;
    // An upgrade refused over HTTP means the same as the matching close code.
    if (this.refusedStatus === 401) code = CloseCode.TokenExpired;
    else if (this.refusedStatus === 403) code = CloseCode.Forbidden;

    if (code === CloseCode.TokenExpired) {
      if (typeof this.options.token === "function") this.tokenStale = true;
      else return this.stop(code, reason, "token_expired", "the token was refused and cannot be refreshed (pass a function as `token`)");
    }
    if (TERMINAL_CLOSE_CODES.has(code)) {
      return this.stop(code, reason, code === CloseCode.Forbidden ? "forbidden" : "policy", "the relay refused this client");
    }
    this.retry(code, reason);
  }

  private stop(code: number, reason: string, errorCode: string, why: string): void {
    const error = new RoomcastError(
      errorCode,
      `roomcast: ${why} (close ${code}${reason ? `: ${reason}` : ""}); not reconnecting`,
      code,
    );
    this.events.emit("disconnect", { code, reason, reconnect: false });
    this.events.emit("error", error);
    this.shutdown(error);
  }

  private retry(code: number, reason: string): void {
    if (this._state === "closed") return;
    const delay = this.nextDelay(code);
    this.setState("reconnecting");
    this.setTimer("reconnect", delay, () => void this.connect());
    this.events.emit("disconnect", { code, reason, reconnect: true, delay });
  }

  /**
   * A busy room said when to come back: that long plus up to as long again
   * of jitter. A relay that restarted (1001) dropped everybody at once: the
   * first retry is spread over RESTART_SPREAD_MS. Otherwise the backoff.
   */
  private nextDelay(code: number): number {
    if (this.refusedStatus === 503 && this.retryAfterMs !== undefined) {
      this.attempt++;
      return Math.floor(this.retryAfterMs * (1 + Math.random()));
    }
    if (code === CloseCode.GoingAway && this.attempt === 0) {
      this.attempt++;
      return Math.floor(Math.random() * RESTART_SPREAD_MS);
    }
    return backoffDelay(this.attempt++, this.backoff);
  }

  // ---- receiving --------------------------------------------------------------

  private onFrame(ws: WebSocketLike, data: unknown): void {
    this.clearTimer("pong"); // any frame proves the link is alive
    if (typeof data !== "string") return; // binary frames only exist in raw mode
    if (data === PONG) return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      this.events.emit("error", new RoomcastError("bad_frame", `roomcast: unreadable frame from the relay: ${data.slice(0, 80)}`));
      return;
    }
    switch (frame.type) {
      case "welcome":
        return this.onWelcome(ws, frame);
      case "message":
        return this.onMessage(frame);
      case "batch":
        // Several envelopes in seq order: each handled as if it came alone.
        for (const message of frame.messages) {
          if (ws !== this.ws) return; // a listener closed or replaced the link
          this.onMessage(message);
        }
        return;
      case "presence":
        return this.events.emit("presence", frame);
      case "ack":
        if (this.outbox.ack(frame.id, frame.seq) && !this.options.echo) this.rememberOwn(frame.seq);
        return;
      case "error":
        return this.events.emit("error", new RoomcastError(frame.code, `roomcast: ${frame.message}`));
    }
  }

  private onWelcome(ws: WebSocketLike, welcome: WelcomeFrame): void {
    this.clearTimer("connect");
    const resumed = this._seq !== undefined && welcome.recovered && welcome.epoch === (this._epoch ?? welcome.epoch);
    if (welcome.epoch !== this._epoch) this.ownSeqs.clear();
    // Not resumed (first connect, gap gone, new epoch): the server replays
    // nothing and sends only seqs after its current one.
    if (!resumed) this._seq = welcome.seq;
    this._epoch = welcome.epoch;
    this._id = welcome.id;
    this.openedAt = Date.now();
    this.bucket = this.newBucket();
    this.outbox.markAllUnsent();
    this.startHeartbeat(ws);
    this.setState("open");
    if (ws !== this.ws) return; // a state listener closed us
    this.events.emit("welcome", welcome);
    this.flush();
  }

  private onMessage(message: MessageEnvelope): void {
    // Published without history: never stored nor replayed, so never repeated; it has no seq of its own and does not move the resume point.
    if (message.live) {
      this.events.emit("message", message);
      return;
    }
    // A retained value sent ahead of the replay: a snapshot, not a step in seq.
    if (message.retain && this._seq !== undefined && message.seq <= this._seq) {
      this.events.emit("message", message);
      return;
    }
    // Last line of defence: the relay sends each seq once, but never show one twice.
    if (this._seq !== undefined && message.seq <= this._seq) return;
    this._seq = message.seq;
    if (this.ownSeqs.delete(message.seq)) return; // our own, replayed on resume
    this.events.emit("message", message);
  }

  private rememberOwn(seq: number): void {
    if (this._seq !== undefined && seq <= this._seq) return;
    this.ownSeqs.add(seq);
    if (this.ownSeqs.size > OWN_SEQS_KEPT) {
      const oldest = this.ownSeqs.values().next().value;
      if (oldest !== undefined) this.ownSeqs.delete(oldest);
    }
  }

  // ---- sending ----------------------------------------------------------------

  /** Sends what is due from the outbox, paced by the token bucket. */
  private flush(): void {
    const ws = this.ws;
    if (this._state !== "open" || !ws || ws.readyState !== OPEN) return;
    this.clearTimer("flush");
    const now = Date.now();
    const resendAfter = this.opt("resendAfter");
    for (const entry of this.outbox.due(now, resendAfter)) {
      if (!this.bucket.take(now)) {
        this.setTimer("flush", Math.max(1, this.bucket.waitMs(now)), () => this.flush());
        return;
      }
      ws.send(entry.frame);
      this.outbox.markSent(entry.id, now);
    }
    // Come back to resend whatever stays unacked (a publish the relay dropped).
    if (this.outbox.size > 0) this.setTimer("flush", resendAfter, () => this.flush());
  }

  private startHeartbeat(ws: WebSocketLike): void {
    this.setTimer("ping", this.opt("pingInterval"), () => {
      if (ws !== this.ws) return;
      try {
        ws.send(PING);
      } catch {
        // a socket that cannot send is dead; the pong timer will say so
      }
      // Keep an earlier deadline if one runs: a later ping must not extend it.
      if (!this.timers.has("pong")) {
        this.setTimer("pong", this.opt("pongTimeout"), () => this.linkDead(ws, "heartbeat timeout"));
      }
      this.startHeartbeat(ws);
    });
  }

  // ---- helpers ------------------------------------------------------------------

  private opt<K extends "stableAfter" | "pingInterval" | "pongTimeout" | "connectTimeout" | "resendAfter">(key: K): number {
    return this.options[key] ?? DEFAULTS[key];
  }

  private newBucket(): TokenBucket {
    const rate = this.options.publishRate ?? DEFAULTS.publishRate;
    return new TokenBucket(rate.perSecond, rate.burst, Date.now());
  }

  private setTimer(name: TimerName, ms: number, fn: () => void): void {
    this.clearTimer(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        fn();
      }, ms),
    );
  }

  private clearTimer(name: TimerName): void {
    const t = this.timers.get(name);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(name);
  }
}

function safeClose(ws: WebSocketLike, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closing, or an implementation that rejects the code: nothing to do
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How widely the first reconnect after a relay restart (1001) is spread, in ms. */
const RESTART_SPREAD_MS = 3000;

interface RefusedResponse {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  resume?: () => void;
}

/** `Retry-After` in seconds (the relay never sends a date), as ms; undefined when absent or odd. */
function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,5}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}
