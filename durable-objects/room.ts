/**
 * The Room core: one Durable Object per room name. It holds the room's
 * sockets with the WebSocket Hibernation API, gives every accepted message
 * the next `seq`, keeps the latest ones in SQLite for resume, and fans each
 * batch out once. What it knows: seq, batches, history, resume, presence and
 * limits. What it does not: wire formats. Each socket kind has its adapter
 * (adapters/: json, raw, mqtt; SSE streams in adapters/sse.ts), which parses
 * the inbound frames and builds each outbound frame once per batch. What the
 * modules beside it use of the core is one narrow view (room-internals.ts):
 * a stateful adapter's port is built from it in adapters/port.ts, a sharded
 * room's hosts and RPC answers in shards/room-glue.ts.
 *
 * Lifecycle rules (workerd evicts an idle Room after ~10 s and runs the
 * constructor again on the next event):
 * - per-socket state lives in the socket's attachment, never in a field;
 * - fields hold what the constructor rebuilds from storage, or what is
 *   counted once per wake (presence), or state that only matters while the
 *   room is awake (the batch being flushed, SSE streams, send budgets);
 * - every close from a client is answered with a close frame.
 */
import { DurableObject } from "cloudflare:workers";
import {
  CloseCode,
  CONNECTION_ID_PREFIX,
  PING,
  PONG,
  type ErrorCode,
  type HistoryPage,
  type PresenceEvent,
  type PresenceList,
  type PublishResult,
  type RoomDescription,
  type WelcomeFrame,
} from "../protocol";
import { backlogWait, fullBucket, take, type Backlog } from "../protocol/token-bucket";
import { TopicMatcher } from "../protocol/topics";
import { decodeHandoff, type Handoff } from "../handoff/request";
import { hasScope, type Identity } from "../handoff/identity";
import { JOIN_QUEUE_MAX_MS, MAX_RETRY_AFTER_SECONDS, readLimits, REPLAY_MESSAGES_PER_JOIN_TOKEN, type Limits } from "../protocol/limits";
import { ADAPTERS } from "./adapters";
import { frameSize, type OutboundMessage, type RoomPort, type SocketAdapter } from "./adapters/adapter";
import { makePort } from "./adapters/port";
import { passes, SseHub, sseMessage } from "./adapters/sse";
import { earliestExpiry, isExpired, scheduleExpirySweep, SWEEP_MIN_GAP_MS } from "./expiry";
import { buildEnvelope, isEmptyPayload, textExceeds, type PublishInput } from "./payload";
import { Presence } from "./presence";
import { connectionBucket, takeToken } from "./rate-limit";
import { SendBudget } from "./slow-consumer";
import { RetainedStore, type RetainedMessage } from "./retained-store";
import type { RoomInternals } from "./room-internals";
import { answerableCode, attachmentOf, closeSocket, safeSend, TAG_FILTERED, TAG_PENDING, TAG_PRESENCE, type Attachment } from "./sockets";
import { RoomStore, type StoredMessage } from "./store";
import { RecentMessages } from "./recent";
import { shardRole } from "./shards/config";
import { ShardFanout, type FanoutStats } from "./shards/sequencer";
import { ShardLink, type Delivery, type ShardStats, type StreamStart } from "./shards/shard";
import { ShardPresence, type PresenceReport, type PresenceTarget } from "./shards/presence";
import { openForShard, publishForShard, rangeForShard, requireFanout, roomStub, sequencerHost, shardHost } from "./shards/room-glue";
import type { ForwardedPublish, OpenAnswer, OpenRequest, Push, PushResult } from "./shards/wire";

/**
 * A message accepted into the current batch. Accepting assigns the seq; the
 * flush writes the whole batch to history in one transaction and only then
 * sends it, so the runtime's output gate waits for one commit per batch
 * instead of one per message.
 */
interface Accepted extends OutboundMessage {
  publishKey: string | null;
  ts: number;
  sender: WebSocket | null;
  echo: boolean;
  /** Connection id of the publishing socket when a shard forwarded it (sender exclusion in that shard). */
  origin: string | null;
}

/** History rows read per query while a resume is replayed. */
const REPLAY_PAGE = 100;

/**
 * Wake-up counters for the benchmark's idle check (bench/): how often a Room
 * was constructed and how many frames reached `webSocketMessage`, in this
 * isolate. Module scope outlives an evicted Room, so a ping that woke one
 * would show here. Surfaced by `GET /rooms/:room/diagnostics` (DIAGNOSTICS on).
 */
const wakes = { constructed: 0, messages: 0 };

export class Room extends DurableObject<Env> {
  private readonly store: RoomStore;
  /** The newest part of history, in memory too: resumes need no query (recent.ts). */
  private readonly recent: RecentMessages;
  private readonly retainedStore: RetainedStore;
  /** Retained values set or cleared in `batch`, in accept order: written with it. */
  private retainedOps: Array<{ topic: string; seq: number | null; envelope: string | null }> = [];
  /** Each filtered socket's compiled `topics=` (read from its attachment once per wake). */
  private readonly matchers = new WeakMap<WebSocket, TopicMatcher>();
  private readonly limits: Limits;
  private readonly sse: SseHub;
  private readonly budget: SendBudget;
  private readonly presence: Presence;
  /** Joins this room takes before it answers `room_busy` (in memory: a woken room starts full). */
  private readonly joinBucket;
  /** Joins refused and told when to come back (Retry-After spreads them). */
  private readonly joinBacklog: Backlog = { waiting: 0, at: 0 };
  /** Changes each time the constructor runs: lets tests see an eviction. */
  private readonly instance = crypto.randomUUID();
  /** The object's name: `idFromName(room)` ids carry it. */
  private readonly room: string;
  private epoch = "";
  /** Whether the epoch is in storage yet (a room nobody wrote to keeps none). */
  private stored = false;
  /** Latest seq written to history (accepted messages still in `batch` come after it). */
  private seq = 0;
  private batch: Accepted[] = [];
  /** Publish keys in `batch`, so a retry that arrives before the flush is still caught. */
  private readonly batchKeys = new Map<string, number>();
  /** Acks owed once the batch holding their message is written. */
  private acks: Array<{ ws: WebSocket; frame: string | Uint8Array }> = [];
  /** What the modules beside the core may use of it (room-internals.ts). */
  private readonly inside: RoomInternals;
  /** What stateful adapters (MQTT) may use of the room: see RoomPort. */
  private readonly port: RoomPort;
  private flushScheduled = false;
  /** A sharded room's sequencer: pushes each committed batch to the shards (shards/sequencer.ts). */
  private readonly fanout: ShardFanout | null = null;
  /** A shard of a sharded room: publishes go to the sequencer, its pushes come back (shards/shard.ts). */
  private readonly shard: ShardLink | null = null;
  /** A shard's view of the other shards' members (shards/presence.ts). */
  private readonly roomWide: ShardPresence | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    wakes.constructed++;
    const role = shardRole(ctx.id.name ?? "", env);
    this.room = role.room;
    this.store = new RoomStore(ctx.storage.sql);
    this.retainedStore = new RetainedStore(ctx.storage.sql);
    this.limits = readLimits(env);
    this.recent = new RecentMessages(this.limits.historyLimit);
    this.sse = new SseHub(this.limits.slowConsumerBytes);
    if (role.kind === "shard") {
      const sequencer = () => roomStub<PresenceTarget>(this.env, role.room);
      this.roomWide = new ShardPresence(role.index, sequencer, () => this.presence.count());
    }
    this.presence = new Presence(ctx, this.sse, this.roomWide);
    this.joinBucket = fullBucket(this.limits.joinRate, Date.now());
    this.budget = new SendBudget(
      this.limits.slowConsumerBytes,
      this.limits.slowConsumerGraceMs,
      (ws) => ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0,
    );
    this.inside = this.internals();
    this.port = makePort(this.inside);
    if (role.kind === "sequencer") this.fanout = new ShardFanout(sequencerHost(this.inside), role.count);
    if (role.kind === "shard") this.shard = new ShardLink(shardHost(this.inside, role.index, this.roomWide));
    // Answered by the runtime itself, so a pinging device never wakes the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(async () => {
      this.stored = this.store.open();
      if (this.stored) this.retainedStore.migrate();
      this.epoch = this.store.getMeta("epoch") ?? newEpoch();
      this.seq = this.store.latestSeq();
      this.fanout?.wake();
      this.shard?.wake();
    });
  }

  // ---- entry points from the Worker ---------------------------------------

  /** WebSocket upgrades and SSE streams (the two answers RPC cannot carry). */
  override async fetch(request: Request): Promise<Response> {
    const handoff = decodeHandoff(request);
    if (handoff === null) return jsonError(400, "bad_request", "a Room is reached through the Worker only");
    const refused = this.admit(handoff);
    if (refused !== null) return refused;
    this.flush(); // the replay and the welcome's seq must include every accepted message
    if (this.shard === null) this.persist(); // a reader that will resume holds this epoch: keep it (a shard's is the sequencer's)
    return handoff.kind === "sse" ? this.openSse(handoff) : this.openSocket(handoff);
  }

  describe(): RoomDescription {
    this.flush();
    const { seq, epoch } = this.shard?.position() ?? { seq: this.seq, epoch: this.epoch };
    return { room: this.room, seq, epoch, connections: this.presence.count() + this.sse.size };
  }

  /** For the benchmark and tests only; the Worker serves it only when DIAGNOSTICS is on. */
  diagnostics(): { instance: string; constructed: number; messages: number; sequencer?: FanoutStats; shard?: ShardStats } {
    // A sharded room's objects add their counters; any other room answers as it always did.
    const sharding = this.fanout ? { sequencer: this.fanout.stats } : this.shard ? { shard: this.shard.stats } : {};
    return { instance: this.instance, ...wakes, ...sharding };
  }

  publishMessage(input: PublishInput): PublishResult {
    const seq = this.accept(input, null, false);
    // Written now: the 201 leaves only once the runtime has committed it.
    this.flush();
    return { seq, epoch: this.epoch };
  }

  /** Envelopes as stored (JSON text): the Worker joins them, so no stored text is ever parsed on a read. */
  history(after: number, limit: number, topics: string[] | null = null): Omit<HistoryPage, "messages"> & { messages: string[] } {
    this.flush();
    const filter = topics === null ? null : new TopicMatcher(topics);
    const messages: string[] = [];
    this.replay(after, ({ envelope, topic }) => {
      if (passes(filter, topic)) messages.push(envelope);
      return messages.length < limit;
    });
    return { room: this.room, epoch: this.epoch, seq: this.seq, messages };
  }

  /** The retained values matching `topics` (all without), oldest seq first, as stored envelopes. */
  retained(topics: string[] | null): { room: string; messages: string[] } {
    return { room: this.room, messages: this.retainedRows(topics).map((r) => r.envelope) };
  }

  /** The retained values matching `topics`, with their seqs: for `GET /retained` and a shard's new readers. */
  retainedRows(topics: string[] | null): RetainedMessage[] {
    this.flush();
    return this.stored ? this.retainedStore.matching(topics) : [];
  }

  presenceList(limit: number, cursor: string | null): PresenceList {
    return { room: this.room, ...this.presence.page(limit, cursor) };
  }

  // ---- hibernation handlers -------------------------------------------------

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    wakes.messages++;
    this.budget.alive(ws);
    const att = attachmentOf(ws);
    const session = ADAPTERS[att.kind].session;
    if (session !== undefined) {
      // A stateful protocol bounds its own packets and rates its own publishes
      // (a frame there may be an ack or a ping, or hold several packets).
      if (isExpired(att.exp, Date.now())) this.shed(ws, CloseCode.TokenExpired, "token expired", att);
      else session.frame(ws, message, this.port);
      return;
    }
    const tooBig =
      typeof message === "string"
        ? textExceeds(message, this.limits.maxMessageBytes)
        : message.byteLength > this.limits.maxMessageBytes;
    if (tooBig) {
      this.shed(ws, CloseCode.TooBig, `message larger than ${this.limits.maxMessageBytes} bytes`, att);
      return;
    }
    const now = Date.now();
    if (isExpired(att.exp, now)) {
      this.shed(ws, CloseCode.TokenExpired, "token expired", att);
      return;
    }
    const verdict = takeToken(att.bucket, this.limits, now);
    ws.serializeAttachment(att);
    if (verdict === "close") {
      this.shed(ws, CloseCode.Policy, "rate limit exceeded", att);
      return;
    }
    const adapter = ADAPTERS[att.kind];
    if (verdict === "limited") {
      refuse(ws, adapter, "rate_limited", `more than ${this.limits.rateLimitPerSecond} messages per second; message dropped`);
      return;
    }
    const inbound = adapter.parse(message);
    if ("error" in inbound) {
      refuse(ws, adapter, inbound.error, inbound.message);
      return;
    }
    if (!hasScope(att, "publish")) {
      refuse(ws, adapter, "forbidden", "this token may not publish in this room");
      return;
    }
    const { payload, publishId, topic, retain } = inbound.publish;
    if (this.shard !== null) {
      this.shard.publish(ws, adapter, att, payload, publishId, { topic, retain });
      return;
    }
    const seq = this.accept({ payload, from: att.id, publisher: att.sub, publishId, topic, retain }, ws, att.echo);
    const ack = publishId === null ? null : adapter.ack(publishId, seq);
    if (ack !== null) {
      this.acks.push({ ws, frame: ack });
      this.scheduleFlush();
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Answer the close: without it the client never sees a close frame.
    closeSocket(ws, answerableCode(code), reason);
    const att = attachmentOf(ws);
    // Presence first, from the attachment as last saved: whatever the adapter's
    // end does (or throws), the socket leaves the count once.
    if (!att.closing) this.presence.left(ws, att);
    this.shard?.forget(att);
    ADAPTERS[att.kind].session?.ended(ws, this.port);
  }

  /**
   * The sweep: closes sockets whose token has expired and lets a stateful
   * adapter end its overdue ones (MQTT keep-alive), then waits for the next.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const remaining: Array<number | null> = [];
    let lookAgain: number | null = null;
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const att = attachmentOf(ws);
      if (isExpired(att.exp, now)) {
        this.shed(ws, CloseCode.TokenExpired, "token expired", att);
        continue;
      }
      remaining.push(att.exp);
      const due = ADAPTERS[att.kind].session?.sweep?.(ws, now, this.port) ?? null;
      if (due !== null && (lookAgain === null || due < lookAgain)) lookAgain = due;
    }
    const expiry = earliestExpiry(remaining);
    const sweep = lookAgain === null ? null : Math.max(lookAgain, now + SWEEP_MIN_GAP_MS);
    const next = expiry === null ? sweep : sweep === null ? expiry : Math.min(expiry, sweep);
    // Set directly: while this handler runs, getAlarm() may still report the
    // alarm now firing.
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn(`room ${this.room}: socket error`, error);
    // A stateful protocol learns the link is gone (MQTT publishes the will); it ignores a second call.
    ADAPTERS[attachmentOf(ws).kind].session?.ended(ws, this.port);
  }

  // ---- joining --------------------------------------------------------------

  /**
   * Whether the room takes this reader now: `room_full` past the cap,
   * `room_busy` (with Retry-After) when joins arrive faster than the room
   * takes them or one waited so long in its queue that its client has likely
   * given up. Either way the answer is immediate: no handshake is left hanging.
   */
  private admit(handoff: Handoff): Response | null {
    const max = this.limits.maxConnectionsPerRoom;
    if (handoff.mqtt?.tokenPending) {
      // Not a member until its CONNECT is accepted (seat): it takes no slot, but
      // as many may wait as there are slots, each for at most the CONNECT deadline.
      if (this.presence.waiting() >= max) {
        const seconds = Math.ceil(this.limits.mqttConnectTimeoutMs / 1000);
        return jsonError(503, "room_busy", `room ${this.room} has ${max} connections waiting to authenticate; retry in ${seconds} s`, {
          "retry-after": String(seconds),
        });
      }
    } else if (this.isFull()) {
      return jsonError(503, "room_full", `room ${this.room} is full (${max} connections)`);
    }
    const now = Date.now();
    const queued = now - handoff.sentAt > JOIN_QUEUE_MAX_MS;
    const cost = this.joinCost(handoff.options.since, handoff.options.epoch);
    if (queued || !take(this.joinBucket, this.limits.joinRate, now, cost)) {
      const seconds = backlogWait(this.joinBacklog, this.limits.joinRate, now, MAX_RETRY_AFTER_SECONDS, cost);
      return jsonError(503, "room_busy", `room ${this.room} is taking too many connections at once; retry in ${seconds} s`, {
        "retry-after": String(seconds),
      });
    }
    return null;
  }

  /** Whether every slot of MAX_CONNECTIONS_PER_ROOM is taken (members of every shard, SSE streams; not pending sockets). */
  private isFull(): boolean {
    return this.presence.count() + this.sse.size + (this.roomWide?.others() ?? 0) >= this.limits.maxConnectionsPerRoom;
  }

  /**
   * A pending socket (Attachment.pending) becomes a member if a slot is
   * free: it is counted and announced from now. False when the room is full.
   */
  private seat(ws: WebSocket, att: Attachment): boolean {
    if (!att.pending) return true;
    if (this.isFull()) return false;
    delete att.pending;
    ws.serializeAttachment(att);
    this.presence.admitted(ws, att);
    return true;
  }

  /** Join tokens a join takes: one, and more for a resume with much to replay (REPLAY_MESSAGES_PER_JOIN_TOKEN). */
  private joinCost(since: number | null, epoch: string | null): number {
    // A shard's replay is planned by its sequencer: its own seq says nothing of it.
    const from = this.shard === null ? this.resumableFrom(since, epoch, this.seq + this.batch.length) : null;
    if (from === null) return 1;
    // At most this many (the resume window may replay fewer): counted before any query.
    return 1 + Math.ceil((this.seq + this.batch.length - from) / REPLAY_MESSAGES_PER_JOIN_TOKEN);
  }

  private async openSocket({ kind, identity, options, mqtt }: Handoff): Promise<Response> {
    const adapter = ADAPTERS[kind === "mqtt" ? "mqtt" : options.mode];
    // A stateful protocol sends nothing before its own handshake (MQTT: not
    // before CONNECT is accepted, and then retained values only on SUBSCRIBE,
    // a replay only for its session): the upgrade's `retained`/`since` are not
    // for it, whatever the upgrade carried.
    const stateful = adapter.session !== undefined;
    // Awaited first (a shard asks the sequencer); after these, nothing awaits until the replay is sent.
    const retained = options.retained && !stateful ? await this.retainedSnapshot(options.topics) : [];
    const resume = stateful
      ? this.localStart(null, null, identity)
      : this.shard
        ? await this.shardStart(options.since, options.epoch, identity)
        : this.localStart(options.since, options.epoch, identity);
    const { 0: client, 1: server } = new WebSocketPair();
    // A stateful adapter's socket starts with no filter at all (it subscribes
    // later), so it never gets a message without a topic.
    const filters = adapter.session !== undefined ? [] : options.topics;
    const attachment: Attachment = {
      ...identity,
      id: newConnectionId(),
      kind: adapter.kind,
      // MQTT delivers a client's own messages to its matching subscriptions (5.0 No Local aside).
      echo: adapter.session !== undefined || options.echo,
      connectedAt: Date.now(),
      bucket: connectionBucket(this.limits, Date.now()),
      filters,
    };
    if (mqtt?.tokenPending) {
      attachment.state = { tokenPending: true };
      attachment.pending = true;
    }
    const presence = adapter.control && options.presence && hasScope(identity, "presence");
    const tags: string[] = [adapter.kind];
    if (presence) tags.push(TAG_PRESENCE);
    if (filters !== null) tags.push(TAG_FILTERED);
    if (attachment.pending) tags.push(TAG_PENDING);
    this.ctx.acceptWebSocket(server, tags);
    server.serializeAttachment(attachment);

    // All of this runs without an await, so no publish can slip in between
    // the replay and the live stream.
    const count = this.presence.joined(server, attachment);
    const welcome: WelcomeFrame = {
      type: "welcome",
      room: this.room,
      id: attachment.id,
      seq: resume.seq,
      epoch: resume.epoch,
      recovered: resume.recovered,
      count,
    };
    const hello = adapter.welcome(welcome);
    if (hello !== null) safeSend(server, hello);
    const filter = options.topics === null ? null : new TopicMatcher(options.topics);
    if (filter !== null) this.matchers.set(server, filter);
    for (const { envelope } of retained) safeSend(server, adapter.replayed(envelope));
    let bytes = 0;
    const complete = resume.replay(({ envelope, topic }) => {
      if (!passes(filter, topic)) return true;
      const frame = adapter.replayed(envelope);
      if (bytes > 0 && bytes + frameSize(frame) > this.limits.slowConsumerBytes) return false;
      bytes += frameSize(frame);
      safeSend(server, frame);
      return true;
    });
    // A replay larger than one reader may hold goes out a page per connection:
    // the client resumes from the last seq it got.
    if (!complete) this.shed(server, CloseCode.SlowConsumer, "replay continues: resume from your last seq", attachment);
    if (identity.exp !== null) await scheduleExpirySweep(this.ctx.storage, identity.exp * 1000);
    await adapter.session?.opened?.(server, this.port);
    const headers = mqtt ? { "sec-websocket-protocol": mqtt.subprotocol } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  private async openSse({ identity, options }: Handoff): Promise<Response> {
    const resume = this.shard ? await this.shardStart(options.since, options.epoch, identity) : this.localStart(options.since, options.epoch, identity);
    const presence = options.presence && hasScope(identity, "presence");
    const endAt = identity.exp === null ? null : identity.exp * 1000;
    const filter = options.topics === null ? null : new TopicMatcher(options.topics);
    const retained = options.retained ? await this.retainedSnapshot(options.topics) : [];
    return this.sse.open({ presence, endAt, filter }, (write) => {
      for (const { seq, envelope } of retained) if (!write(sseMessage(seq, envelope))) return false;
      return resume.replay(({ seq, envelope, topic }) => !passes(filter, topic) || write(sseMessage(seq, envelope)));
    });
  }

  /** Where a new stream starts in a room that sequences itself: planned from its own history. */
  private localStart(since: number | null, epoch: string | null, identity: Identity): StreamStart {
    const plan = this.planResume(since, epoch, identity);
    return { recovered: plan.recovered, seq: this.seq, epoch: this.epoch, replay: (send) => this.replay(plan.after, send) };
  }

  private shardStart(since: number | null, epoch: string | null, identity: Identity): Promise<StreamStart> {
    return this.shard!.prepareResume(since, epoch, identity, this.limits.slowConsumerBytes);
  }

  /**
   * What a resume request may replay: everything after `since` if history
   * still holds it and, for a reader without `history`, only what the room
   * accepted in the resume window. `after` is where the replay starts.
   */
  private planResume(since: number | null, epoch: string | null, identity: Identity): { recovered: boolean; after: number } {
    const none = { recovered: false, after: this.seq };
    const from = this.resumableFrom(since, epoch, this.seq);
    if (from === null) return none;
    if (from < this.seq && !hasScope(identity, "history")) {
      const first = this.store.firstSeqSince(from, Date.now() - this.limits.resumeWindowMs);
      if (first === null) return none;
      if (first > from + 1) return { recovered: false, after: first - 1 };
    }
    return { recovered: true, after: from };
  }

  /**
   * `since` when history can resume from it: the room's epoch (or none
   * given), not past `newest`, and not older than history keeps; null when a
   * resume from it replays nothing. The checks of planResume that need no
   * query, which joinCost also uses.
   */
  private resumableFrom(since: number | null, epoch: string | null, newest: number): number | null {
    if (since === null || since > newest) return null;
    if (epoch !== null && epoch !== this.epoch) return null;
    if (since + 1 < this.oldestSeq()) return null;
    return since;
  }

  /** Hands `send` every stored message after `after`, a page at a time; false when `send` stopped it. */
  private replay(after: number, send: (message: StoredMessage) => boolean): boolean {
    const held = this.recent.after(after, this.seq);
    if (held !== null) {
      for (const row of held) if (!send(row)) return false;
      return true;
    }
    let cursor = after;
    const read: StoredMessage[] = [];
    while (cursor < this.seq) {
      const rows = this.store.range(cursor, this.oldestSeq(), REPLAY_PAGE);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (!send(row)) return false;
        read.push(row);
        cursor = row.seq;
      }
    }
    // Read up to the newest message: the next resumes after a wake need no query.
    if (cursor === this.seq) this.recent.seed(read);
    return true;
  }

  // ---- the core -------------------------------------------------------------

  /**
   * Accepts a message into the batch (or finds it already accepted) and
   * returns its seq. Nothing is written or sent until `flush()`.
   */
  private accept(input: PublishInput, sender: WebSocket | null, echo: boolean, origin: string | null = null): number {
    const publishKey = scopedKey(input.publisher, input.publishId);
    if (publishKey !== null) {
      const existing = this.batchKeys.get(publishKey) ?? this.store.seqForPublishId(publishKey, this.oldestSeq());
      if (existing != null) return existing;
    }
    const { topic, retain } = input;
    if (retain && topic !== null && isEmptyPayload(input.payload)) {
      // Clears the topic's retained value; not a message, so no seq of its own.
      this.retainedOps.push({ topic, seq: null, envelope: null });
      this.scheduleFlush();
      return this.seq + this.batch.length;
    }
    const seq = this.seq + this.batch.length + 1;
    const ts = Date.now();
    const envelope = buildEnvelope(this.room, seq, input.from, ts, input.payload, { topic, retain });
    this.batch.push({ seq, publishKey, envelope, payload: input.payload, ts, sender, echo, topic, retain, origin });
    if (retain && topic !== null) this.retainedOps.push({ topic, seq, envelope });
    if (publishKey !== null) this.batchKeys.set(publishKey, seq);
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
    const retainedOps = this.retainedOps;
    if (batch.length > 0 || retainedOps.length > 0) {
      this.batch = [];
      this.retainedOps = [];
      this.batchKeys.clear();
      this.persist();
      for (const m of batch) {
        this.store.append(m.seq, m.publishKey, m.envelope, m.ts, m.topic, this.limits.historyLimit);
        this.recent.add({ seq: m.seq, envelope: m.envelope, topic: m.topic });
      }
      for (const op of retainedOps) {
        if (op.envelope === null) this.retainedStore.delete(op.topic);
        else if (this.retainedStore.set(op.topic, op.seq!, op.envelope) === "full") {
          console.warn(`room ${this.room}: ${op.topic} not retained: the room holds the most retained topics it may`);
        }
      }
      if (batch.length > 0) {
        this.seq = batch[batch.length - 1]!.seq;
        this.fanOut(batch);
        this.fanout?.enqueue(batch.map(({ seq, envelope, payload, origin, echo, topic, retain }) => ({ seq, envelope, payload, origin, echo, topic, retain })));
      }
    }
    const acks = this.acks;
    this.acks = [];
    for (const { ws, frame } of acks) safeSend(ws, frame);
  }

  /**
   * Each adapter builds each message's frame once; every socket of its kind
   * but the sender gets it, filtered sockets only when their filter matches.
   * A shard delivers the sequencer's pushes through here too.
   */
  private fanOut(batch: readonly Delivery[]): void {
    const tagged = this.ctx.getWebSockets(TAG_FILTERED);
    const filtered = tagged.length > 0 ? new Set(tagged) : null;
    for (const adapter of Object.values(ADAPTERS)) {
      const sockets = this.ctx.getWebSockets(adapter.kind);
      if (sockets.length === 0) continue;
      for (const m of batch) {
        const frame = adapter.message(m);
        const size = frameSize(frame);
        for (const ws of sockets) {
          if (ws === m.sender && !m.echo) continue;
          if (filtered?.has(ws) && !passes(this.matcherOf(ws), m.topic)) continue;
          if (adapter.session === undefined) this.deliver(ws, frame, size);
          else {
            const sent = adapter.session.deliver(ws, m, frame, this.port);
            if (sent > 0) this.charge(ws, sent);
          }
        }
      }
      adapter.session?.afterBatch(this.port);
    }
    for (const m of batch) this.sse.broadcast(sseMessage(m.seq, m.envelope), { topic: m.topic });
  }

  private matcherOf(ws: WebSocket): TopicMatcher {
    let matcher = this.matchers.get(ws);
    if (matcher === undefined) {
      matcher = new TopicMatcher(attachmentOf(ws).filters ?? []);
      this.matchers.set(ws, matcher);
    }
    return matcher;
  }

  /** The retained values a new reader asked for: this room's, or a shard's sequencer's. */
  private async retainedSnapshot(topics: string[] | null): Promise<RetainedMessage[]> {
    return this.shard !== null ? await this.sequencerStub().retainedRows(topics) : this.retainedRows(topics);
  }

  private sequencerStub(): DurableObjectStub<Room> {
    return roomStub<DurableObjectStub<Room>>(this.env, this.room);
  }


  /** Sends one fan-out frame, shedding a socket that stopped reading (see slow-consumer.ts). */
  private deliver(ws: WebSocket, frame: string | Uint8Array, size: number): void {
    safeSend(ws, frame);
    this.charge(ws, size);
  }

  /** Counts bytes sent to a socket against its slow-consumer budget (a stateful adapter's deliver reports 0 when it sent nothing). */
  private charge(ws: WebSocket, size: number): void {
    if (this.budget.charge(ws, size)) this.shed(ws, CloseCode.SlowConsumer, "slow consumer: reconnect and resume with since");
  }

  /** Built once in the constructor: what port.ts and shards/room-glue.ts may use of the core. */
  private internals(): RoomInternals {
    const room = this;
    return {
      name: this.room,
      ctx: this.ctx,
      env: this.env,
      limits: this.limits,
      store: this.store,
      position: () => ({ seq: room.seq, epoch: room.epoch }),
      oldestSeq: () => room.oldestSeq(),
      accept: (input, sender, echo, origin) => room.accept(input, sender, echo, origin),
      ackAfterCommit(ws, frame) {
        room.acks.push({ ws, frame });
        room.scheduleFlush();
      },
      flush: () => room.flush(),
      persist: () => room.persist(),
      replay: (after, send) => room.replay(after, send),
      storedRetained: (filters) => (room.stored ? room.retainedStore.matching(filters) : []),
      planResume: (since, epoch, identity) => room.planResume(since, epoch, identity),
      fanOut: (batch) => room.fanOut(batch),
      forgetMatcher: (ws) => room.matchers.delete(ws),
      shed: (ws, code, reason, att) => room.shed(ws, code, reason, att),
      seat: (ws, att) => room.seat(ws, att),
      members: () => room.presence.count(),
    };
  }

  /** The room closes a socket: it leaves presence now, and its later close event is not counted again. */
  private shed(ws: WebSocket, code: number, reason: string, att: Attachment = attachmentOf(ws)): void {
    if (!att.closing) {
      att.closing = true;
      ws.serializeAttachment(att);
      this.presence.left(ws, att);
    }
    closeSocket(ws, code, reason);
  }

  // ---- sharded rooms (shards/): the sequencer's RPCs, called by its shards ----

  shardOpen(request: OpenRequest): OpenAnswer {
    return openForShard(this.inside, this.fanout, request);
  }

  /** Publishes a shard forwarded; the seqs (for the acks) leave once the batch is committed. */
  shardPublish(publishes: ForwardedPublish[]): number[] {
    return publishForShard(this.inside, this.fanout, publishes);
  }

  /** History a shard missed, `after < seq <= upTo`, a page at a time. */
  shardRange(after: number, upTo: number): StoredMessage[] {
    return rangeForShard(this.inside, after, upTo);
  }

  /** A shard reports its joins and leaves. */
  shardPresenceReport(report: PresenceReport): { others: number } {
    return requireFanout(this.inside, this.fanout).presenceReport(report);
  }

  /** A shard's RPC: presence frames the sequencer decided for the whole room. */
  shardPresence(frames: PresenceEvent[], others: number): void {
    this.roomWide?.setOthers(others);
    this.presence.relay(frames);
  }

  /** A shard's RPC: the sequencer's push of committed messages. */
  shardPush(push: Push): Promise<PushResult> {
    if (this.shard === null) throw new Error(`room ${this.room} is not a shard`);
    return this.shard.push(push);
  }

  /** Writes the epoch the first time the room has something a client will come back for. */
  private persist(): void {
    if (this.stored) return;
    this.store.create();
    this.retainedStore.migrate();
    this.store.setMeta("epoch", this.epoch);
    this.stored = true;
  }

  /** Oldest seq history still serves (HISTORY_LIMIT applies even before a trim). */
  private oldestSeq(): number {
    return Math.max(1, this.seq - this.limits.historyLimit + 1);
  }
}

// ---- small helpers ----------------------------------------------------------

/** An error frame where the wire format has room for one; raw sockets' are dropped. */
function refuse(ws: WebSocket, adapter: SocketAdapter, code: ErrorCode, message: string): void {
  const frame = adapter.error(code, message);
  if (frame !== null) safeSend(ws, frame);
}

/** Idempotency keys belong to their publisher: two subs using one key publish twice. */
function scopedKey(publisher: string | null, id: string | null): string | null {
  if (id === null) return null;
  return publisher === null ? id : `${publisher.length}:${publisher}:${id}`;
}

function jsonError(status: number, code: ErrorCode, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Random bytes as hex: one per join, so without a closure and a string per byte. */
function randomId(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let id = "";
  for (let i = 0; i < b.length; i++) id += HEX[b[i]!];
  return id;
}

const newEpoch = () => randomId(6);
const newConnectionId = () => `${CONNECTION_ID_PREFIX}${randomId(8)}`;
