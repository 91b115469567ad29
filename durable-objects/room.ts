/**
 * The Room: one Durable Object per room name (and per shard of a sharded
 * room). This file is its lifecycle (the hibernation handlers) and its RPC
 * facade; the work is done beside it:
 * - publishes: every door hands its publish to one pipeline
 *   (publish/pipeline.ts: size, rate, scope, the deployer's hook, then
 *   sequencing) and turns the verdict into its wire's answer;
 * - the role (roles.ts) decides who sequences, where readers start and who
 *   gets committed batches (the sinks: fanout.ts, the shards, the hook);
 * - readers.ts admits and opens WebSockets and SSE streams; history.ts keeps
 *   the log; adapters/ speak the wire formats.
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
  errorResponse,
  PING,
  PONG,
  type KickTarget,
  type PresenceEvent,
  type PresenceList,
  type RoomDescription,
} from "../protocol";
import type { RelayHooks } from "../protocol/hooks";
import { readLimits, type Limits } from "../protocol/limits";
import { decodeHandoff } from "../handoff/request";
import type { Identity } from "../handoff/identity";
import { ADAPTERS } from "./adapters";
import type { RoomPort } from "./adapters/adapter";
import { makePort } from "./adapters/port";
import { SseHub } from "./adapters/sse";
import { runConnectHook } from "./connect-hook";
import { earliest } from "./alarm";
import { isExpired, sweepSockets } from "./expiry";
import { SocketFanout } from "./fanout";
import { History } from "./history";
import { Lifecycle, readEvents } from "./lifecycle";
import type { PublishInput } from "./payload";
import { Presence } from "./presence";
import { PublishPipeline } from "./publish/pipeline";
import { frameJob, httpJob, type HttpPublishAnswer } from "./publish/doors";
import { historyPage, retainedEnvelopes, retainedRows, type StoredHistoryPage } from "./reads";
import { randomId, Readers } from "./readers";
import { Connections, KICK_CODE, type ConnectionPage } from "./connections";
import { REVOCATIONS_OBJECT, revokedTokens, RevocationStore } from "./revocations";
import type { Revocation, RevocationSet } from "../protocol/revocation";
import type { RetainedMessage } from "./retained-store";
import { decideRole, type Role } from "./roles";
import { SendBudget } from "./slow-consumer";
import { readSinkConfig } from "./sinks/config";
import { answerableCode, attachmentOf, closeSocket, type Attachment } from "./sockets";
import { storedObjectName, type StoredMessage } from "./store";
import type { FanoutStats } from "./shards/sequencer";
import type { ShardStats } from "./shards/shard";
import type { PresenceReport } from "./shards/presence";
import { openForShard, publishForShard, rangeForShard, type SequencerParts } from "./shards/room-glue";
import type { ForwardedPublish, OpenAnswer, OpenRequest, Push, PushResult } from "./shards/wire";

/**
 * Wake-up counters for the benchmark's idle check (bench/): how often a Room
 * was constructed and how many frames reached `webSocketMessage`, in this
 * isolate. Module scope outlives an evicted Room, so a ping that woke one
 * would show here. Surfaced by `GET /rooms/:room/diagnostics` (DIAGNOSTICS on).
 */
const wakes = { constructed: 0, messages: 0 };

const NO_HOOKS: RelayHooks = Object.freeze({});

export class Room extends DurableObject<Env> {
  private readonly limits: Limits;
  private readonly hooks: RelayHooks;
  private readonly log: History;
  private readonly sse: SseHub;
  private readonly budget: SendBudget;
  private readonly presence: Presence;
  private readonly fanout: SocketFanout;
  private readonly role: Role;
  private readonly pipeline: PublishPipeline;
  private readonly readers: Readers;
  private readonly lifecycle: Lifecycle;
  /** The revocation object's table, made on first use (only there). */
  private revocations: RevocationStore | null = null;
  /** The operator's list, kicks and revocations (the `admin` scope). */
  private readonly connections: Connections;
  /** What stateful adapters (MQTT) may use of the room: see RoomPort. */
  private readonly port: RoomPort;
  /** Changes each time the constructor runs: lets tests see an eviction. */
  private readonly instance = crypto.randomUUID();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    wakes.constructed++;
    this.limits = readLimits(env);
    this.hooks = this.relayHooks();
    // An alarm wakes the object without its name: storage has it (history.ts keeps it).
    const name = ctx.id.name ?? storedObjectName(ctx.storage.sql) ?? "";
    // A stream that ends gives its slot back (a shard's, shards/slots.ts).
    this.sse = new SseHub(this.limits.slowConsumerBytes, () => this.role.slots?.changed());
    this.budget = new SendBudget(this.limits.slowConsumerBytes, this.limits.slowConsumerGraceMs, (ws) => ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0);
    const shed = (ws: WebSocket, code: number, reason: string, att?: Attachment) => this.shed(ws, code, reason, att);
    this.fanout = new SocketFanout({ ctx, sse: this.sse, budget: this.budget, port: () => this.port, shed });
    this.log = new History(ctx.storage.sql, this.limits, name);
    const members = () => this.presence.count();
    const connections = () => this.readers.connections();
    // A SINKS that does not parse throws here, naming the entry at fault: a sink left out would lose data silently.
    const sinks = readSinkConfig(env, env);
    this.role = decideRole(name, { ctx, env, limits: this.limits, history: this.log, fanout: this.fanout, hooks: this.hooks, sinks, members, connections, shed });
    this.presence = new Presence(ctx, this.sse, this.role.roomWide);
    this.pipeline = new PublishPipeline(this.role.room, this.limits, this.hooks.publish ?? null, this.role.sequencing);
    const port = () => this.port;
    // Occupancy is room-wide: this object's connections, a sequencer's shards' slots, a shard's view of the others.
    const occupancy = () => this.readers.connections() + this.role.heldElsewhere() + (this.role.roomWide?.others() ?? 0);
    this.lifecycle = new Lifecycle(readEvents(env.EVENTS), () => this.role.sequencing, occupancy);
    const lifecycle = this.lifecycle;
    this.readers = new Readers({ ctx, limits: this.limits, role: this.role, presence: this.presence, sse: this.sse, fanout: this.fanout, lifecycle, port, shed });
    this.connections = new Connections({ ctx, sse: this.sse, port, shed });
    this.port = makePort({ room: this.role.room, ctx, env, limits: this.limits, history: this.log, pipeline: this.pipeline, connectHook: this.hooks.connect, fanout: this.fanout, readers: this.readers, shed });
    // Answered by the runtime itself, so a pinging device never wakes the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(async () => {
      this.log.open(newEpoch);
      this.role.wake();
    });
  }

  /** The deployer's hooks: none here; `createRelay({ hooks })` (worker/relay.ts) makes the subclass that has them. */
  protected relayHooks(): RelayHooks {
    return NO_HOOKS;
  }

  // ---- entry points from the Worker ---------------------------------------

  /** WebSocket upgrades and SSE streams (the two answers RPC cannot carry). */
  override async fetch(request: Request): Promise<Response> {
    const handoff = decodeHandoff(request);
    if (handoff === null) return errorResponse(400, "bad_request", "a Room is reached through the Worker only");
    const refusedByHook = await runConnectHook(this.hooks.connect, this.role.room, handoff);
    if (refusedByHook !== null) return refusedByHook;
    return this.readers.admit(handoff) ?? this.readers.open(handoff);
  }

  describe(): RoomDescription {
    this.role.sequencing.flush();
    const sinks = this.role.outboxes?.status();
    return { room: this.role.room, ...this.role.position(), connections: this.readers.connections(), ...(sinks ? { sinks } : {}) };
  }

  /** For the benchmark and tests only; the Worker serves it only when DIAGNOSTICS is on. */
  diagnostics(): { instance: string; constructed: number; messages: number; sequencer?: FanoutStats; shard?: ShardStats } {
    const { shards, link } = this.role;
    const sharding = shards ? { sequencer: shards.stats } : link ? { shard: link.stats } : {};
    return { instance: this.instance, ...wakes, ...sharding };
  }

  /** An HTTP publish: through the pipeline like any other (publish/doors.ts). */
  publishMessage(input: PublishInput, identity: Identity): Promise<HttpPublishAnswer> {
    return new Promise((resolve) => void this.pipeline.publish(httpJob(input, identity, () => this.log.epoch, resolve)));
  }

  history(after: number, limit: number, topics: string[] | null = null): StoredHistoryPage {
    this.role.sequencing.flush();
    return historyPage(this.role.room, this.log, after, limit, topics);
  }

  retained(topics: string[] | null, limit: number, cursor: number | null): { room: string; messages: string[]; cursor: string | null } {
    this.role.sequencing.flush();
    return retainedEnvelopes(this.role.room, this.log, topics, limit, cursor);
  }

  /** A shard's new reader's retained values, a page per call. */
  retainedPage(topics: string[] | null, after: number, limit: number, maxBytes: number): { rows: RetainedMessage[]; more: boolean } {
    this.role.sequencing.flush();
    return retainedRows(this.log, topics, after, limit, maxBytes);
  }

  presenceList(limit: number, cursor: string | null): PresenceList {
    return { room: this.role.room, ...this.presence.page(limit, cursor) };
  }

  /** `GET /rooms/:room/connections`: one page of this object's connections (the Worker pages across a sharded room's objects). */
  connectionList(limit: number, cursor: string | null): ConnectionPage {
    return this.connections.page(limit, cursor);
  }

  /** `POST /rooms/:room/kick`: closes this object's connections `target` names with 4403; answers how many. */
  kick(target: KickTarget): number {
    const which = "id" in target ? (w: { id: string }) => w.id === target.id : (w: { sub: string | null }) => w.sub === target.sub;
    return this.connections.close(which, KICK_CODE, "kicked by an operator", true);
  }

  /** The revocation list (only the object named REVOCATIONS_OBJECT keeps one): what every isolate caches. */
  revocationList(): RevocationSet {
    return this.revocationStore().list();
  }

  /** `POST /admin/revoke`: added to the list; answers the list as it is now. */
  revocationAdd(r: Revocation): RevocationSet {
    const store = this.revocationStore();
    store.add(r, Date.now());
    return store.list();
  }

  private revocationStore(): RevocationStore {
    if (this.role.room !== REVOCATIONS_OBJECT) throw new Error(`room ${this.role.room} keeps no revocation list`);
    return (this.revocations ??= new RevocationStore(this.ctx.storage.sql));
  }

  // ---- hibernation handlers -------------------------------------------------

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    wakes.messages++;
    this.budget.alive(ws);
    const att = attachmentOf(ws);
    if (isExpired(att.exp, Date.now())) return this.shed(ws, CloseCode.TokenExpired, "token expired", att);
    const adapter = ADAPTERS[att.kind];
    // A stateful protocol takes its frames itself (a frame there may be an ack
    // or a ping, or hold several packets) and hands its publishes to the pipeline.
    if (adapter.session !== undefined) return adapter.session.frame(ws, message, this.port);
    const pending = this.pipeline.publish(frameJob(ws, att, adapter, message, (code, reason) => this.shed(ws, code, reason)));
    ws.serializeAttachment(att); // the rate step took a token from its bucket
    return pending;
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Answer the close: without it the client never sees a close frame.
    closeSocket(ws, answerableCode(code), reason);
    const att = attachmentOf(ws);
    // Presence first, from the attachment as last saved: whatever the adapter's
    // end does (or throws), the socket leaves the count once.
    if (!att.closing) {
      this.presence.left(ws, att);
      if (!att.pending) this.lifecycle.disconnected({ id: att.id, sub: att.sub, kind: att.kind }, code, reason);
    }
    this.role.link?.forget(att);
    this.role.slots?.changed();
    ADAPTERS[att.kind].session?.ended(ws, this.port);
  }

  /**
   * The room's one alarm (alarm.ts): the sweep, and the sinks' retries. Each
   * says when it wants the next one; the earliest is set.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const sweep = sweepSockets(this.ctx, this.port, now, (ws, att) => this.shed(ws, CloseCode.TokenExpired, "token expired", att));
    const next = earliest(sweep, await this.sweepRevoked(now), this.role.outboxes?.next(now) ?? null);
    // Set directly: while this handler runs, getAlarm() may still report the
    // alarm now firing.
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /**
   * Closes the connections whose token was revoked since they opened (4403:
   * the client must not come back with it), every REVOCATION_SWEEP_SECONDS while
   * any connection carries a token a revocation could match.
   */
  private async sweepRevoked(now: number): Promise<number | null> {
    if (!this.connections.anyRevocable()) return null;
    const revoked = await revokedTokens(this.env, now);
    if (!revoked.empty) this.connections.close((w) => revoked.covers(w), CloseCode.Forbidden, "token revoked", false);
    return this.connections.anyRevocable() ? now + this.limits.revocationSweepMs : null;
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn(`room ${this.role.room}: socket error`, error);
    // A stateful protocol learns the link is gone (MQTT publishes the will); it ignores a second call.
    ADAPTERS[attachmentOf(ws).kind].session?.ended(ws, this.port);
  }

  // ---- sharded rooms (shards/): the RPCs between a sequencer and its shards ----

  shardOpen(request: OpenRequest): OpenAnswer {
    return openForShard(this.sequencerParts("shardOpen"), request);
  }

  /** Publishes a shard forwarded (its pipeline ran there); the seqs leave once the batch is committed. */
  shardPublish(publishes: ForwardedPublish[]): number[] {
    return publishForShard(this.sequencerParts("shardPublish"), publishes);
  }

  /** History a shard missed, `after < seq <= upTo`, a page at a time. */
  shardRange(after: number, upTo: number): StoredMessage[] {
    return rangeForShard(this.sequencerParts("shardRange"), after, upTo);
  }

  /** A shard asks for a connection slot, or reports the slots it holds (shards/slots.ts). */
  shardSlots(index: number, claim: number, want: boolean): boolean {
    return this.sequencerParts("shardSlots").shards.slots.claim(index, claim, want, this.readers.connections(), this.limits.maxConnectionsPerRoom);
  }

  /** A shard reports its joins and leaves. */
  shardPresenceReport(report: PresenceReport): { others: number } {
    return this.sequencerParts("shardPresenceReport").shards.presenceReport(report);
  }

  /** The sequencer's presence frames for the whole room, and the other shards' members. */
  shardPresence(frames: PresenceEvent[], others: number): void {
    this.shardOnly("shardPresence").setOthers(others);
    this.presence.relay(frames);
  }

  /** The sequencer's push of committed messages. */
  shardPush(push: Push): Promise<PushResult> {
    this.shardOnly("shardPush");
    if (push.recount) this.role.slots!.recount();
    return this.role.link!.push(push);
  }

  /** The one guard of the RPCs only a sequencer serves. */
  private sequencerParts(rpc: string): SequencerParts {
    const { shards, sequencing } = this.role;
    if (shards === null) throw new Error(`${rpc}: room ${this.role.room} is not a sharded room's sequencer`);
    return { history: this.log, limits: this.limits, sequencing, shards };
  }

  /** The one guard of the RPCs only a shard serves. */
  private shardOnly(rpc: string): NonNullable<Role["roomWide"]> {
    if (this.role.roomWide === null) throw new Error(`${rpc}: room ${this.role.room} is not a shard`);
    return this.role.roomWide;
  }

  // ---- answers ----------------------------------------------------------------

  /** The room closes a socket: it leaves presence now, and its later close event is not counted again. */
  private shed(ws: WebSocket, code: number, reason: string, att: Attachment = attachmentOf(ws)): void {
    if (!att.closing) {
      att.closing = true;
      ws.serializeAttachment(att);
      this.presence.left(ws, att);
      this.role.slots?.changed();
      if (!att.pending) this.lifecycle.disconnected({ id: att.id, sub: att.sub, kind: att.kind }, code, reason);
    }
    closeSocket(ws, code, reason);
  }
}

const newEpoch = () => randomId(6);

