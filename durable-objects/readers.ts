/**
 * New readers: admission (the cap, the join bucket), then a WebSocket or an
 * SSE stream opened with its welcome, retained values and replay, and the
 * live stream after them with no gap and no repeat. Where a reader starts is
 * the role's decision (roles.ts); what it is sent counts against its byte
 * budget like everything else (fanout.ts).
 */
import { CloseCode, CONNECTION_ID_PREFIX, type WelcomeFrame } from "../protocol";
import { backlogWait, fullBucket, take, type Backlog } from "../protocol/token-bucket";
import { TopicMatcher } from "../protocol/topics";
import { JOIN_QUEUE_MAX_MS, MAX_RETRY_AFTER_SECONDS, type Limits } from "../protocol/limits";
import { hasScope } from "../handoff/identity";
import type { Handoff } from "../handoff/request";
import { ADAPTERS } from "./adapters";
import { frameSize, type RoomPort } from "./adapters/adapter";
import { passes, sseMessage, type SseHub } from "./adapters/sse";
import { scheduleExpirySweep } from "./expiry";
import { scheduleRevocationSweep } from "./revocations";
import type { SocketFanout } from "./fanout";
import type { Lifecycle } from "./lifecycle";
import type { Presence } from "./presence";
import { connectionBucket } from "./rate-limit";
import { conflated } from "./conflate";
import { replayOutput } from "./replay-output";
import type { RetainedSnapshot, Role } from "./roles";
import { errorResponse } from "../protocol";
import { safeSend, TAG_BATCH, TAG_CONFLATE, TAG_FILTERED, TAG_PENDING, TAG_PRESENCE, type Attachment } from "./sockets";

export interface ReaderParts {
  ctx: DurableObjectState;
  limits: Limits;
  role: Role;
  presence: Presence;
  sse: SseHub;
  fanout: SocketFanout;
  /** Lifecycle events: a reader becomes a member (its leaving is the Room's close handlers'). */
  lifecycle: Lifecycle;
  /** What a stateful adapter may use of the room (its `opened` hook). */
  port(): RoomPort;
  shed(ws: WebSocket, code: number, reason: string, att?: Attachment): void;
}

export class Readers {
  /** Joins this room takes before it answers `room_busy` (in memory: a woken room starts full). */
  private readonly joinBucket;
  /** Joins refused and told when to come back (Retry-After spreads them). */
  private readonly joinBacklog: Backlog = { waiting: 0, at: 0 };

  constructor(private readonly parts: ReaderParts) {
    this.joinBucket = fullBucket(parts.limits.joinRate, Date.now());
  }

  /** Every connection this object holds: its WebSocket members and SSE streams. */
  connections(): number {
    return this.parts.presence.count() + this.parts.sse.size;
  }

  /**
   * Whether the room takes this reader now: `room_full` past the cap,
   * `room_busy` (with Retry-After) when joins arrive faster than the room
   * takes them or one waited so long in its queue that its client has likely
   * given up. Either way the answer is immediate: no handshake is left hanging.
   */
  admit(handoff: Handoff): Response | null {
    const { limits, role, presence } = this.parts;
    const max = limits.maxConnectionsPerRoom;
    if (handoff.mqtt?.tokenPending) {
      // Not a member until its CONNECT is accepted (seat): it takes no slot, but
      // as many may wait as there are slots, each for at most the CONNECT deadline.
      if (presence.waiting() >= max) {
        const seconds = Math.ceil(limits.mqttConnectTimeoutMs / 1000);
        return errorResponse(503, "room_busy", `room ${role.room} has ${max} connections waiting to authenticate; retry in ${seconds} s`, {
          "retry-after": String(seconds),
        });
      }
    } else if (this.isFull()) {
      return this.roomFull();
    }
    const now = Date.now();
    const queued = now - handoff.sentAt > JOIN_QUEUE_MAX_MS;
    const cost = role.joinCost(handoff.options.since, handoff.options.epoch);
    if (queued || !take(this.joinBucket, limits.joinRate, now, cost)) {
      const seconds = backlogWait(this.joinBacklog, limits.joinRate, now, MAX_RETRY_AFTER_SECONDS, cost);
      return errorResponse(503, "room_busy", `room ${role.room} is taking too many connections at once; retry in ${seconds} s`, {
        "retry-after": String(seconds),
      });
    }
    return null;
  }

  /**
   * Whether every slot of MAX_CONNECTIONS_PER_ROOM is taken: this object's
   * connections (not pending sockets) and, in a sequencer, its shards' slots.
   * A shard checks its own here and the room's with its sequencer (open).
   */
  private isFull(): boolean {
    return this.connections() + this.parts.role.heldElsewhere() >= this.parts.limits.maxConnectionsPerRoom;
  }

  /**
   * A pending socket (Attachment.pending: an MQTT socket that came without a
   * token) becomes a member if a slot is free: it is counted and announced
   * from now. False when the room is full.
   */
  seat(ws: WebSocket, att: Attachment): boolean {
    if (!att.pending) return true;
    if (this.isFull()) return false;
    delete att.pending;
    ws.serializeAttachment(att);
    this.parts.presence.admitted(ws, att);
    this.parts.lifecycle.connected({ id: att.id, sub: att.sub, kind: att.kind });
    return true;
  }

  /** Opens the reader; in a shard, only with a slot its sequencer granted. */
  async open(handoff: Handoff): Promise<Response> {
    const { role } = this.parts;
    const start = () => {
      role.sequencing.flush(); // the replay and the welcome's seq must include every accepted message
      role.keepEpoch(); // a reader that will resume holds this epoch
      return handoff.kind === "sse" ? this.openSse(handoff) : this.openSocket(handoff);
    };
    if (role.slots === null) return start();
    return (await role.slots.holding(start)) ?? this.roomFull();
  }

  private roomFull(): Response {
    const { limits, role } = this.parts;
    return errorResponse(503, "room_full", `room ${role.room} is full (${limits.maxConnectionsPerRoom} connections)`);
  }

  private async openSocket({ kind, identity, options, mqtt }: Handoff): Promise<Response> {
    const { ctx, limits, role, presence, fanout } = this.parts;
    const adapter = ADAPTERS[kind === "mqtt" ? "mqtt" : options.mode];
    // A stateful protocol sends nothing before its own handshake (MQTT: not
    // before CONNECT is accepted, and then retained values only on SUBSCRIBE,
    // a replay only for its session): the upgrade's `retained`/`since` are not
    // for it, whatever the upgrade carried.
    const stateful = adapter.session !== undefined;
    // Awaited first (a shard asks the sequencer); after these, nothing awaits until the replay is sent.
    // At most the reader's budget of retained values (role.retained pages its reads).
    const retained = options.retained && !stateful ? await role.retained(options.topics, limits.slowConsumerBytes) : NO_RETAINED;
    const resume = stateful ? await role.start(null, null, identity) : await role.start(options.since, options.epoch, identity);
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
      bucket: connectionBucket(limits, Date.now()),
      filters,
    };
    // Batch frames are JSON's; neither they nor conflation are a stateful protocol's (it delivers itself).
    if (options.batch && adapter.kind === "json") attachment.batch = true;
    if (options.conflate !== null && !stateful) attachment.conflate = options.conflate;
    if (mqtt?.tokenPending) {
      attachment.state = { tokenPending: true };
      attachment.pending = true;
    }
    const tags: string[] = [adapter.kind];
    if (adapter.control && options.presence && hasScope(identity, "presence")) tags.push(TAG_PRESENCE);
    if (filters !== null) tags.push(TAG_FILTERED);
    if (attachment.pending) tags.push(TAG_PENDING);
    if (attachment.batch) tags.push(TAG_BATCH);
    if (attachment.conflate !== undefined) tags.push(TAG_CONFLATE);
    ctx.acceptWebSocket(server, tags);
    server.serializeAttachment(attachment);

    // All of this runs without an await, so no publish can slip in between
    // the replay and the live stream.
    const count = presence.joined(server, attachment);
    if (!attachment.pending) this.parts.lifecycle.connected({ id: attachment.id, sub: identity.sub, kind: attachment.kind });
    const welcome: WelcomeFrame = {
      type: "welcome",
      room: role.room,
      id: attachment.id,
      seq: resume.seq,
      epoch: resume.epoch,
      recovered: resume.recovered,
      count,
    };
    const hello = adapter.welcome(welcome);
    if (hello !== null) safeSend(server, hello);
    const filter = options.topics === null ? null : new TopicMatcher(options.topics);
    if (filter !== null) fanout.remember(server, filter);
    if (attachment.batch || attachment.conflate !== undefined) fanout.rememberReader(server, attachment);
    // Retained values count toward the reader's byte budget like everything it is sent.
    let retainedCut = !retained.complete;
    for (const { envelope } of retained.rows) {
      if (!fanout.answer(server, adapter.replayed(envelope))) {
        retainedCut = true;
        break;
      }
    }
    if (retainedCut) {
      const note = adapter.error("retained_truncated", `more retained values match than this reader may be sent at once (${limits.slowConsumerBytes} bytes): read them with GET /rooms/${role.room}/retained`);
      if (note !== null) safeSend(server, note);
    }
    const out = replayOutput(adapter, attachment, (frame) => fanout.send(server, frame));
    let bytes = 0;
    const complete = resume.replay((m) => {
      if (!passes(filter, m.topic)) return true;
      const frame = adapter.replayed(m.envelope);
      if (bytes > 0 && bytes + frameSize(frame) > limits.slowConsumerBytes) return false;
      bytes += frameSize(frame);
      out.add(m);
      return true;
    });
    out.end();
    if (attachment.conflate !== undefined) fanout.conflator.started(server, attachment.conflate);
    // A replay larger than one reader may hold goes out a page per connection:
    // the client resumes from the last seq it got.
    if (!complete) this.parts.shed(server, CloseCode.SlowConsumer, "replay continues: resume from your last seq", attachment);
    if (identity.exp !== null) await scheduleExpirySweep(ctx.storage, identity.exp * 1000);
    await scheduleRevocationSweep(ctx.storage, identity, limits.revocationSweepMs);
    await adapter.session?.opened?.(server, this.parts.port());
    const headers = mqtt ? { "sec-websocket-protocol": mqtt.subprotocol } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  private async openSse({ identity, options }: Handoff): Promise<Response> {
    const { role, sse, lifecycle } = this.parts;
    const resume = await role.start(options.since, options.epoch, identity);
    const presence = options.presence && hasScope(identity, "presence");
    const endAt = identity.exp === null ? null : identity.exp * 1000;
    const filter = options.topics === null ? null : new TopicMatcher(options.topics);
    // The stream's own queue bound (SseHub) is its budget: at most that much of retained values.
    const retained = options.retained ? await role.retained(options.topics, this.parts.limits.slowConsumerBytes) : NO_RETAINED;
    const conflate = options.conflate;
    // An SSE stream has no welcome; its id is made here so its lifecycle events name it.
    const member = { id: newConnectionId(), sub: identity.sub, kind: "sse" };
    const ended = lifecycle.on ? () => lifecycle.disconnected(member, null, null) : undefined;
    // Who it is, for the operator's list, kicks and revocation (connections.ts): a stream has no attachment.
    const who = { id: member.id, sub: identity.sub, connectedAt: Date.now(), ...(identity.jti !== undefined ? { jti: identity.jti } : {}), ...(identity.iat !== undefined ? { iat: identity.iat } : {}) };
    const response = sse.open({ presence, endAt, filter, conflate, ended, who }, (write) => {
      for (const { seq, envelope } of retained.rows) if (!write(sseMessage(seq, envelope))) return false;
      if (!retained.complete && !write(`: more retained values match than one stream is sent at once: read them with GET /rooms/${role.room}/retained\n\n`)) return false;
      if (conflate === null) return resume.replay(({ seq, envelope, topic }) => !passes(filter, topic) || write(sseMessage(seq, envelope)));
      // A conflating stream's replay is what is due at once: the latest per topic, conflated as a whole.
      const held: Array<{ seq: number; envelope: string; topic: string | null }> = [];
      const complete = resume.replay((m) => {
        if (passes(filter, m.topic)) held.push(m);
        return true;
      });
      for (const { seq, envelope } of conflated(held)) if (!write(sseMessage(seq, envelope))) return false;
      return complete;
    });
    lifecycle.connected(member);
    await scheduleRevocationSweep(this.parts.ctx.storage, identity, this.parts.limits.revocationSweepMs);
    return response;
  }
}

const NO_RETAINED: RetainedSnapshot = { rows: [], complete: true };

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Random bytes as hex: one per join, so without a closure and a string per byte. */
export function randomId(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let id = "";
  for (let i = 0; i < b.length; i++) id += HEX[b[i]!];
  return id;
}

const newConnectionId = () => `${CONNECTION_ID_PREFIX}${randomId(8)}`;
