/**
 * A Room plays one of three roles, decided here once, from its object's
 * name: a plain room, a sharded room's sequencer, or one of its shards
 * (docs/scale.md). They differ in three decisions only, which this module
 * makes into strategies the Room uses without asking which role it plays:
 * - who assigns a seq: the room itself (publish/batch.ts), or the sequencer
 *   a shard forwards to (shards/shard.ts);
 * - where a new reader starts: from this room's history (resume.ts), or
 *   from what the sequencer answers a shard;
 * - who else gets a committed batch: the sinks (this room's sockets always;
 *   a sequencer's shards; the deployer's committed hook; the SINKS outboxes).
 */
import type { RelayHooks } from "../protocol/hooks";
import type { Limits } from "../protocol/limits";
import type { Identity } from "../handoff/identity";
import type { SocketFanout } from "./fanout";
import type { History } from "./history";
import { alarmNoLaterThan } from "./alarm";
import { publishOwn } from "./publish/own-messages";
import type { SinkConfig } from "./sinks/config";
import { OutboxStore } from "./sinks/outbox-store";
import { Outboxes } from "./sinks/outboxes";
import { LocalSequencing } from "./publish/batch";
import { CommittedHookSink } from "./publish/committed-hook";
import type { Sequencing } from "./publish/sequencing";
import type { Sink } from "./publish/sinks";
import type { RetainedMessage } from "./retained-store";
import { joinCost, planResume } from "./resume";
import { shardRole } from "./shards/config";
import { ShardPresence, type PresenceTarget } from "./shards/presence";
import { roomStub, sequencerHost, shardHost, type RetainedSource } from "./shards/room-glue";
import { ShardFanout } from "./shards/sequencer";
import { ShardLink, type StreamStart } from "./shards/shard";
import { ShardSlots, type SlotTarget } from "./shards/slots";

/** What every role is built from: the Room's own parts. */
export interface RoleParts {
  ctx: DurableObjectState;
  env: Env;
  limits: Limits;
  history: History;
  fanout: SocketFanout;
  hooks: RelayHooks;
  /** SINKS, parsed (only a plain room and a sequencer feed them). */
  sinks: SinkConfig;
  /** This object's WebSocket members. */
  members(): number;
  /** This object's connections: WebSocket members and SSE streams. */
  connections(): number;
  shed(ws: WebSocket, code: number, reason: string): void;
}

/** Retained values for a new reader: what fits its budget, and whether that is all of them. */
export interface RetainedSnapshot {
  rows: RetainedMessage[];
  complete: boolean;
}

export interface Role {
  readonly kind: "room" | "sequencer" | "shard";
  /** The room's name (a shard's too: `room`, not `room#i`). */
  readonly room: string;
  /** Who assigns a seq. */
  readonly sequencing: Sequencing;
  /** The sequencer's side of a sharded room (its shards' RPCs); null in any other role. */
  readonly shards: ShardFanout | null;
  /** A shard's link to its sequencer (its pushes); null in any other role. */
  readonly link: ShardLink | null;
  /** A shard's view of the other shards' members (presence); null in any other role. */
  readonly roomWide: ShardPresence | null;
  /** The configured sinks' outboxes (sinks/); null in a shard, or when SINKS names none. */
  readonly outboxes: Outboxes | null;
  /** A shard's connection slots, granted by its sequencer (shards/slots.ts); null in any other role. */
  readonly slots: ShardSlots | null;
  /** Connections held elsewhere in the room that count toward this object's cap: a sequencer's shards' slots. */
  heldElsewhere(): number;
  /** The room's seq and epoch as this object's readers see them. */
  position(): { seq: number; epoch: string };
  /** Where a new reader starts: welcome seq and epoch, whether its resume is served in full, its replay. */
  start(since: number | null, epoch: string | null, identity: Identity): StreamStart | Promise<StreamStart>;
  /** The retained values a new reader asked for, oldest seq first, up to `maxBytes` of envelopes (`complete`: all of them). */
  retained(topics: string[] | null, maxBytes: number): RetainedSnapshot | Promise<RetainedSnapshot>;
  /** Join tokens this reader takes (a resume with much to replay takes more). */
  joinCost(since: number | null, epoch: string | null): number;
  /** A reader that will resume holds this epoch: keep it (a shard's is the sequencer's). */
  keepEpoch(): void;
  /** After storage is read (inside the constructor's blockConcurrencyWhile). */
  wake(): void;
}

export function decideRole(objectName: string, parts: RoleParts): Role {
  const where = shardRole(objectName, parts.env);
  return where.kind === "shard" ? shardRoleOf(where.room, where.index, parts) : localRole(where.room, where.kind === "sequencer" ? where.count : 0, parts);
}

/** A plain room, or a sharded room's sequencer: it sequences, keeps history and plans resumes itself. */
function localRole(room: string, shardCount: number, parts: RoleParts): Role {
  const { history, limits } = parts;
  const shards = shardCount > 1 ? new ShardFanout(sequencerHost(room, parts.env, history), shardCount) : null;
  const sinks: Sink[] = [parts.fanout];
  if (shards !== null) sinks.push(shards);
  const committed = parts.hooks.committed;
  if (committed !== undefined) sinks.push(new CommittedHookSink(room, () => history.epoch, committed, (p) => parts.ctx.waitUntil(p)));
  const outboxes = parts.sinks.routes.length === 0 ? null : makeOutboxes(room, parts, () => sequencing);
  if (outboxes !== null) sinks.push(...outboxes.sinks);
  // History-less publishes go live to this room's sockets; a sequencer's readers are in its shards, so it stores them all.
  const sequencing = new LocalSequencing(room, history, sinks, shards === null ? parts.fanout : null);
  return {
    kind: shards === null ? "room" : "sequencer",
    room,
    sequencing,
    shards,
    link: null,
    roomWide: null,
    outboxes,
    slots: null,
    heldElsewhere: () => shards?.slots.total() ?? 0,
    position: () => ({ seq: history.seq, epoch: history.epoch }),
    start(since, epoch, identity) {
      const plan = planResume(history, limits, since, epoch, identity);
      return { recovered: plan.recovered, seq: history.seq, epoch: history.epoch, replay: (send) => history.replay(plan.after, send) };
    },
    retained(topics, maxBytes) {
      const { rows, more } = history.retainedPage(topics, 0, Number.MAX_SAFE_INTEGER, maxBytes);
      return { rows, complete: !more };
    },
    joinCost: (since, epoch) => joinCost(history, since, epoch, sequencing.pending),
    keepEpoch: () => history.persist(),
    wake() {
      shards?.wake();
      outboxes?.wake();
    },
  };
}

/** The SINKS outboxes of a room that sequences itself; its overflow notices are its own messages. */
function makeOutboxes(room: string, parts: RoleParts, sequencing: () => Sequencing): Outboxes {
  const { ctx, history } = parts;
  return new Outboxes(parts.sinks, parts.env as unknown as Record<string, unknown>, {
    room,
    store: new OutboxStore(ctx.storage.sql),
    bounds: parts.sinks.bounds,
    epoch: () => history.epoch,
    keep: (p) => ctx.waitUntil(p),
    alarmBy: (at) => void alarmNoLaterThan(ctx.storage, at),
    announce: (topic, data) => publishOwn(sequencing(), topic, data),
  });
}

/** A shard: it forwards publishes, delivers the sequencer's pushes, and asks the sequencer where readers start. */
function shardRoleOf(room: string, index: number, parts: RoleParts): Role {
  const sequencer = () => roomStub<PresenceTarget & RetainedSource>(parts.env, room);
  const roomWide = new ShardPresence(index, sequencer, parts.members);
  const link = new ShardLink(shardHost(room, index, parts, roomWide));
  const slots = new ShardSlots(index, () => roomStub<SlotTarget>(parts.env, room), parts.connections);
  return {
    kind: "shard",
    room,
    sequencing: link,
    shards: null,
    link,
    roomWide,
    outboxes: null,
    slots,
    // The room-wide cap is the sequencer's to hold: a shard asks it for a slot before each open.
    heldElsewhere: () => 0,
    position: () => link.position(),
    start: (since, epoch, identity) => link.prepareResume(since, epoch, identity, parts.limits.slowConsumerBytes),
    // Page by page: each RPC answer stays far below the runtime's 32 MiB, whatever the values weigh.
    async retained(topics, maxBytes) {
      const rows: RetainedMessage[] = [];
      let bytes = 0;
      for (let after = 0; ; ) {
        const page = await sequencer().retainedPage(topics, after, 1000, maxBytes - bytes);
        for (const row of page.rows) {
          if (rows.length > 0 && bytes + row.envelope.length > maxBytes) return { rows, complete: false };
          rows.push(row);
          bytes += row.envelope.length;
        }
        const last = page.rows[page.rows.length - 1];
        if (!page.more || last === undefined) return { rows, complete: true };
        after = last.seq;
      }
    },
    // The sequencer plans a shard's replay: its own seq says nothing of it.
    joinCost: () => 1,
    keepEpoch: () => undefined,
    wake() {
      link.wake();
      slots.recount();
    },
  };
}
