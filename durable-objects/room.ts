/**
 * The Room: one Durable Object per room name. It holds the room's sockets with
 * the WebSocket Hibernation API, gives every accepted message the next `seq`,
 * keeps the latest ones in SQLite for resume, and fans each message out once.
 *
 * Lifecycle rules (workerd evicts an idle Room after ~10 s and runs the
 * constructor again on the next event):
 * - per-socket state lives in the socket's attachment, never in a field;
 * - fields hold what the constructor rebuilds from storage, or state that
 *   only matters while the room is awake (the batch being flushed, SSE
 *   streams, slow-consumer counters);
 * - every close from a client is answered with a close frame.
 */
import { DurableObject } from "cloudflare:workers";
import {
  CloseCode,
  MAX_PUBLISH_ID_LENGTH,
  PING,
  PONG,
  type AckFrame,
  type ErrorCode,
  type ErrorFrame,
  type HistoryPage,
  type PresenceClient,
  type PresenceFrame,
  type PresenceList,
  type PublishResult,
  type RoomDescription,
  type WelcomeFrame,
} from "../protocol";
import { hasScope, IDENTITY_HEADER, OPEN_IDENTITY, ROOM_HEADER, type Identity } from "../server/identity";
import { jsonDepthExceeds } from "../protocol/json-depth";
import { MAX_JSON_DEPTH, readLimits, type Limits } from "../server/limits";
import { parseStreamOptions } from "../server/query";
import { earliestExpiry, isExpired, scheduleExpirySweep } from "./expiry";
import { buildEnvelope, rawForm, rawFormOfEnvelope, textExceeds, type Payload } from "./payload";
import { fullBucket, takeToken, type Bucket } from "./rate-limit";
import { SendBudget } from "./slow-consumer";
import { SseHub, sseMessage, ssePresence } from "./sse";
import { RoomStore, type StoredMessage } from "./store";

/** What each socket carries through hibernation. Kept small: attachments hold 16 KiB. */
interface Attachment extends Identity {
  id: string;
  mode: "json" | "raw";
  echo: boolean;
  connectedAt: number;
  bucket: Bucket;
}

/**
 * Socket tags: broadcasts pick sockets by tag without reading attachments.
 * Every socket has its mode; JSON sockets that want presence frames also
 * carry TAG_PRESENCE.
 */
const TAG_JSON = "json";
const TAG_RAW = "raw";
const TAG_PRESENCE = "presence";

/**
 * A message accepted into the current batch. Accepting assigns the seq; the
 * flush writes the whole batch to history in one transaction and only then
 * sends it, so the runtime's output gate waits for one commit per batch
 * instead of one per message.
 */
interface Accepted {
  seq: number;
  publishId: string | null;
  envelope: string;
  payload: Payload;
  sender: WebSocket | null;
  echo: boolean;
}

export interface PublishInput {
  payload: Payload;
  /** The publisher's id as shown in `from`. */
  from: string;
  /** Idempotency key; null when the publish has none. */
  publishId: string | null;
}

/**
 * Wake-up counters for the benchmark's idle check (bench/): how often a Room
 * was constructed and how many frames reached `webSocketMessage`, in this
 * isolate. Module scope outlives an evicted Room, so a ping that woke one
 * would show here. Surfaced by `GET /rooms/:room/diagnostics` (DIAGNOSTICS on).
 */
const wakes = { constructed: 0, messages: 0 };

export class Room extends DurableObject<Env> {
  private readonly store: RoomStore;
  private readonly limits: Limits;
  private readonly sse = new SseHub();
  private readonly budget: SendBudget;
  /** Changes each time the constructor runs: lets tests see an eviction. */
  private readonly instance = crypto.randomUUID();
  private room = "";
  private epoch = "";
  /** Latest seq written to history (accepted messages still in `batch` come after it). */
  private seq = 0;
  private batch: Accepted[] = [];
  /** Publish ids in `batch`, so a retry that arrives before the flush is still caught. */
  private readonly batchIds = new Map<string, number>();
  /** Acks owed once the batch holding their message is written. */
  private acks: Array<{ ws: WebSocket; frame: string }> = [];
  private flushScheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    wakes.constructed++;
    this.store = new RoomStore(ctx.storage.sql);
    this.limits = readLimits(env);
    this.budget = new SendBudget(
      this.limits.slowConsumerBytes,
      this.limits.slowConsumerGraceMs,
      (ws) => ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0,
    );
    // Answered by the runtime itself, so a pinging device never wakes the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(async () => {
      this.store.migrate();
      this.room = this.store.getMeta("room") ?? "";
      let epoch = this.store.getMeta("epoch");
      if (epoch === null) {
        epoch = newEpoch();
        this.store.setMeta("epoch", epoch);
      }
      this.epoch = epoch;
      this.seq = this.store.latestSeq();
    });
  }

  // ---- entry points from the Worker ---------------------------------------

  /** WebSocket upgrades and SSE streams (the two answers RPC cannot carry). */
  override async fetch(request: Request): Promise<Response> {
    this.bindName(request.headers.get(ROOM_HEADER));
    const identity = readIdentity(request.headers.get(IDENTITY_HEADER));
    const url = new URL(request.url);
    const options = parseStreamOptions(url, request.headers.get("last-event-id"));
    if (!options.ok) return jsonError(400, "bad_since", options.message);
    const { since, epoch, mode, echo, presence } = options.value;
    this.flush(); // the replay and the welcome's seq must include every accepted message
    const resume = this.resume(since, epoch);

    if (url.pathname.endsWith("/events")) {
      const endAt = identity.exp === null ? null : identity.exp * 1000;
      return this.sse.open(resume.messages.map((m) => sseMessage(m.seq, m.envelope)), endAt);
    }

    const sockets = this.ctx.getWebSockets();
    if (sockets.length >= this.limits.maxConnectionsPerRoom) {
      return jsonError(503, "room_full", `room ${this.room} is full (${this.limits.maxConnectionsPerRoom} connections)`);
    }
    const { 0: client, 1: server } = new WebSocketPair();
    const now = Date.now();
    const attachment: Attachment = {
      ...identity,
      id: newConnectionId(),
      mode,
      echo,
      connectedAt: now,
      bucket: fullBucket(this.limits, now),
    };
    const tags = mode === "raw" ? [TAG_RAW] : presence ? [TAG_JSON, TAG_PRESENCE] : [TAG_JSON];
    this.ctx.acceptWebSocket(server, tags);
    server.serializeAttachment(attachment);

    // All of this runs without an await, so no publish can slip in between
    // the replay and the live stream.
    if (mode === "raw") {
      for (const m of resume.messages) safeSend(server, rawFormOfEnvelope(m.envelope));
    } else {
      const count = countOpen(sockets) + 1;
      const welcome: WelcomeFrame = {
        type: "welcome",
        room: this.room,
        id: attachment.id,
        seq: this.seq,
        epoch: this.epoch,
        recovered: resume.recovered,
        count,
      };
      safeSend(server, JSON.stringify(welcome));
      for (const m of resume.messages) safeSend(server, m.envelope);
    }
    this.announce("join", attachment, server, countOpen(sockets) + 1);
    if (attachment.exp !== null) await scheduleExpirySweep(this.ctx.storage, attachment.exp * 1000);
    return new Response(null, { status: 101, webSocket: client });
  }

  describe(room: string): RoomDescription {
    this.bindName(room);
    this.flush();
    return {
      room: this.room,
      seq: this.seq,
      epoch: this.epoch,
      connections: countOpen(this.ctx.getWebSockets()) + this.sse.size,
    };
  }

  /** For `GET /rooms/:room/diagnostics` (only with DIAGNOSTICS on): which instance answered, and the wake counters. */
  diagnostics(): { instance: string; constructed: number; messages: number } {
    return { instance: this.instance, constructed: wakes.constructed, messages: wakes.messages };
  }

  publishMessage(room: string, input: PublishInput): PublishResult {
    this.bindName(room);
    const seq = this.accept(input, null, false);
    // Written now: the 201 leaves only once the runtime has committed it.
    this.flush();
    return { seq, epoch: this.epoch };
  }

  /** Envelopes as stored (JSON text): the Worker joins them, so no stored text is ever parsed on a read. */
  history(room: string, after: number, limit: number): Omit<HistoryPage, "messages"> & { messages: string[] } {
    this.bindName(room);
    this.flush();
    const rows = this.store.range(after, this.oldestSeq(), limit);
    return {
      room: this.room,
      epoch: this.epoch,
      seq: this.seq,
      messages: rows.map((r) => r.envelope),
    };
  }

  presence(room: string): PresenceList {
    this.bindName(room);
    const clients: PresenceClient[] = this.openSockets().map((ws) => {
      const a = attachmentOf(ws);
      return { id: a.id, meta: a.meta, connectedAt: a.connectedAt };
    });
    return { room: this.room, count: clients.length, clients };
  }

  // ---- hibernation handlers -------------------------------------------------

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    wakes.messages++;
    this.budget.alive(ws);
    const tooBig =
      typeof message === "string"
        ? textExceeds(message, this.limits.maxMessageBytes)
        : message.byteLength > this.limits.maxMessageBytes;
    if (tooBig) {
      closeSocket(ws, CloseCode.TooBig, `message larger than ${this.limits.maxMessageBytes} bytes`);
      return;
    }
    const att = attachmentOf(ws);
    const now = Date.now();
    if (isExpired(att.exp, now)) {
      closeSocket(ws, CloseCode.TokenExpired, "token expired");
      return;
    }
    const verdict = takeToken(att.bucket, this.limits, now);
    ws.serializeAttachment(att);
    if (verdict === "close") {
      closeSocket(ws, CloseCode.Policy, "rate limit exceeded");
      return;
    }
    if (verdict === "limited") {
      this.refuse(ws, att, "rate_limited", `more than ${this.limits.rateLimitPerSecond} messages per second; message dropped`);
      return;
    }

    const parsed = att.mode === "raw" ? parseRawFrame(message) : parseJsonFrame(message);
    if ("error" in parsed) {
      this.refuse(ws, att, parsed.error, parsed.message);
      return;
    }
    if (!hasScope(att, "publish")) {
      this.refuse(ws, att, "forbidden", "this token may not publish in this room");
      return;
    }
    const input = { payload: parsed.payload, from: att.id, publishId: parsed.publishId };
    const seq = this.accept(input, ws, att.echo);
    if (parsed.publishId !== null) {
      const ack: AckFrame = { type: "ack", id: parsed.publishId, seq };
      this.acks.push({ ws, frame: JSON.stringify(ack) });
      this.scheduleFlush();
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Answer the close: without it the client never sees a close frame.
    closeSocket(ws, answerableCode(code), reason);
    this.announce("leave", attachmentOf(ws), ws, countOpen(this.ctx.getWebSockets(), ws));
  }

  /** The expiry sweep: closes sockets whose token has expired, then waits for the next one. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const remaining: Array<number | null> = [];
    for (const ws of this.openSockets()) {
      const { exp } = attachmentOf(ws);
      if (isExpired(exp, now)) closeSocket(ws, CloseCode.TokenExpired, "token expired");
      else remaining.push(exp);
    }
    // Set directly: while this handler runs, getAlarm() may still report the
    // alarm now firing.
    const next = earliestExpiry(remaining);
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn(`room ${this.room}: socket error`, error);
  }

  // ---- the core -------------------------------------------------------------

  /**
   * Accepts a message into the batch (or finds it already accepted) and
   * returns its seq. Nothing is written or sent until `flush()`.
   */
  private accept(input: PublishInput, sender: WebSocket | null, echo: boolean): number {
    if (input.publishId !== null) {
      const existing = this.batchIds.get(input.publishId) ?? this.store.seqForPublishId(input.publishId, this.oldestSeq());
      if (existing != null) return existing;
    }
    const seq = this.seq + this.batch.length + 1;
    const envelope = buildEnvelope(this.room, seq, input.from, Date.now(), input.payload);
    this.batch.push({ seq, publishId: input.publishId, envelope, payload: input.payload, sender, echo });
    if (input.publishId !== null) this.batchIds.set(input.publishId, seq);
    this.scheduleFlush();
    return seq;
  }

  /** Flushes at the end of this turn of the event loop, gathering whatever else arrives first. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => this.flush(), 0);
  }

  /**
   * Writes the batch to history, then fans it out in seq order, then sends the
   * acks. Every socket list is read once per batch; every envelope was built
   * once, when it was accepted.
   */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    if (batch.length > 0) {
      this.batch = [];
      this.batchIds.clear();
      for (const m of batch) this.store.append(m.seq, m.publishId, m.envelope, this.limits.historyLimit);
      this.seq = batch[batch.length - 1]!.seq;
      this.fanOut(batch);
    }
    const acks = this.acks;
    this.acks = [];
    for (const { ws, frame } of acks) safeSend(ws, frame);
  }

  /** Sends each message to every socket but its sender (unless it asked for echo), and to SSE. */
  private fanOut(batch: Accepted[]): void {
    const jsonSockets = this.ctx.getWebSockets(TAG_JSON);
    const rawSockets = this.ctx.getWebSockets(TAG_RAW);
    for (const m of batch) {
      for (const ws of jsonSockets) {
        if (ws !== m.sender || m.echo) this.deliver(ws, m.envelope, m.envelope.length);
      }
      if (rawSockets.length > 0) {
        const raw = rawForm(m.payload);
        const size = typeof raw === "string" ? raw.length : raw.byteLength;
        for (const ws of rawSockets) {
          if (ws !== m.sender || m.echo) this.deliver(ws, raw, size);
        }
      }
      this.sse.broadcast(sseMessage(m.seq, m.envelope));
    }
  }

  /** Sends one fan-out frame, shedding a socket that stopped reading (see slow-consumer.ts). */
  private deliver(ws: WebSocket, data: string | Uint8Array, size: number): void {
    safeSend(ws, data);
    if (this.budget.charge(ws, size)) {
      closeSocket(ws, CloseCode.SlowConsumer, "slow consumer: reconnect and resume with since");
    }
  }

  /** Tells JSON sockets and SSE streams that `who` joined or left. */
  private announce(event: PresenceFrame["event"], who: Attachment, socket: WebSocket, count: number): void {
    const frame: PresenceFrame = { type: "presence", event, id: who.id, meta: who.meta, count };
    const text = JSON.stringify(frame);
    for (const ws of this.ctx.getWebSockets(TAG_PRESENCE)) {
      if (ws !== socket) safeSend(ws, text);
    }
    this.sse.broadcast(ssePresence(text));
  }

  /** Replay for a resume request: everything after `since`, if history still holds it. */
  private resume(since: number | null, epoch: string | null): { recovered: boolean; messages: StoredMessage[] } {
    const none = { recovered: false, messages: [] };
    if (since === null) return none;
    if (epoch !== null && epoch !== this.epoch) return none;
    if (since > this.seq) return none;
    const oldest = this.oldestSeq();
    if (since + 1 < oldest) return none;
    return { recovered: true, messages: this.store.range(since, oldest, this.seq - since) };
  }

  /** Oldest seq history still serves (HISTORY_LIMIT applies even before a trim). */
  private oldestSeq(): number {
    return Math.max(1, this.seq - this.limits.historyLimit + 1);
  }

  private openSockets(): WebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  /** An error frame for JSON sockets; raw sockets have no envelope, so theirs is dropped. */
  private refuse(ws: WebSocket, att: Attachment, code: ErrorCode, message: string): void {
    if (att.mode === "raw") return;
    const frame: ErrorFrame = { type: "error", code, message };
    safeSend(ws, JSON.stringify(frame));
  }

  /** The Room does not know its own name; the Worker tells it, once is enough. */
  private bindName(room: string | null): void {
    if (room && room !== this.room) {
      this.room = room;
      this.store.setMeta("room", room);
    }
  }
}

// ---- frames -----------------------------------------------------------------

type ParsedFrame = { payload: Payload; publishId: string | null } | { error: ErrorCode; message: string };

function parseRawFrame(message: string | ArrayBuffer): ParsedFrame {
  return {
    payload: typeof message === "string" ? { kind: "text", value: message } : { kind: "binary", value: new Uint8Array(message) },
    publishId: null,
  };
}

function parseJsonFrame(message: string | ArrayBuffer): ParsedFrame {
  if (typeof message !== "string") return { payload: { kind: "binary", value: new Uint8Array(message) }, publishId: null };
  // Before parsing; +1: the frame object is not part of the payload's depth.
  if (jsonDepthExceeds(message, MAX_JSON_DEPTH + 1)) return { error: "bad_frame", message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  let frame: unknown;
  try {
    frame = JSON.parse(message);
  } catch {
    return { error: "bad_json", message: "frame is not valid JSON" };
  }
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
    return { error: "bad_frame", message: 'frame must be a JSON object like {"type":"publish","data":…}' };
  }
  const { type, data, id } = frame as Record<string, unknown>;
  if (type !== "publish") return { error: "unknown_type", message: `unknown frame type ${JSON.stringify(type)}` };
  if (data === undefined) return { error: "bad_frame", message: "publish frame has no data" };
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > MAX_PUBLISH_ID_LENGTH)) {
    return { error: "bad_frame", message: `publish id must be a string of 1 to ${MAX_PUBLISH_ID_LENGTH} characters` };
  }
  return { payload: { kind: "json", value: data }, publishId: id ?? null };
}

// ---- sockets ----------------------------------------------------------------

/** Open sockets in `sockets`, leaving out `except`: one pass, no array built. */
function countOpen(sockets: WebSocket[], except?: WebSocket): number {
  let n = 0;
  for (const ws of sockets) if (ws !== except && ws.readyState === WebSocket.OPEN) n++;
  return n;
}

function attachmentOf(ws: WebSocket): Attachment {
  return ws.deserializeAttachment() as Attachment;
}

/** Sending to a socket that is closing throws; that is harmless and ends here. */
function safeSend(ws: WebSocket, data: string | ArrayBuffer | Uint8Array): void {
  try {
    ws.send(data);
  } catch {
    // The socket is going away; its close handler does the bookkeeping.
  }
}

function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // Already closed.
  }
}

/** 1005 and 1006 describe a close but cannot be sent in one. */
function answerableCode(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 ? CloseCode.Normal : code;
}

// ---- small helpers ----------------------------------------------------------

/** The Worker always sends the identity; without one, fail closed (no scopes). */
function readIdentity(header: string | null): Identity {
  if (header === null) return { ...OPEN_IDENTITY, scopes: [] };
  return JSON.parse(header) as Identity;
}

function jsonError(status: number, code: ErrorCode, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

function randomId(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const newEpoch = () => randomId(6);
const newConnectionId = () => `c_${randomId(8)}`;

