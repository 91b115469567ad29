/** The narrow view of the room a stateful adapter gets (RoomPort in ./adapter.ts), made of the Room's parts. */
import type { Limits } from "../../protocol/limits";
import { decideConnect, type ConnectHook } from "../connect-hook";
import { scheduleExpirySweep } from "../expiry";
import { isRevocable, revokedTokens, scheduleRevocationSweep } from "../revocations";
import type { SocketFanout } from "../fanout";
import type { History } from "../history";
import type { PublishPipeline } from "../publish/pipeline";
import type { Readers } from "../readers";
import type { Attachment } from "../sockets";
import type { RoomPort } from "./adapter";

export interface PortParts {
  room: string;
  ctx: DurableObjectState;
  env: Env;
  limits: Limits;
  /** A stateful adapter's sockets live where history is (a plain room or a sequencer). */
  history: History;
  pipeline: PublishPipeline;
  connectHook: ConnectHook | undefined;
  fanout: SocketFanout;
  readers: Readers;
  shed(ws: WebSocket, code: number, reason: string, att?: Attachment): void;
}

export function makePort({ room, ctx, env, limits, history, pipeline, connectHook, fanout, readers, shed }: PortParts): RoomPort {
  return {
    name: room,
    limits,
    sql: ctx.storage.sql,
    env,
    latestSeq: () => history.seq,
    oldestSeq: () => history.oldestSeq(),
    connecting: async (id, identity) => (connectHook === undefined ? { identity } : decideConnect(connectHook, room, "mqtt", id, identity)),
    publish: (job) => pipeline.publish(job),
    replay: (after, send) => history.replay(after, send),
    // No more than one reader's budget is read: no more could be sent (RoomPort.answer).
    retained: (filters) => history.retainedPage(filters, 0, Number.MAX_SAFE_INTEGER, limits.slowConsumerBytes).rows,
    setFilters(ws, att, filters) {
      att.filters = filters;
      ws.serializeAttachment(att);
      fanout.forget(ws);
    },
    answer: (ws, frame) => fanout.answer(ws, frame),
    shed,
    seat: (ws, att) => readers.seat(ws, att),
    expireAt: (ms) => scheduleExpirySweep(ctx.storage, ms),
    async revoked(identity) {
      if (isRevocable(identity) && (await revokedTokens(env)).covers(identity)) return true;
      await scheduleRevocationSweep(ctx.storage, identity, limits.revocationSweepMs);
      return false;
    },
    sockets: (tag) => ctx.getWebSockets(tag),
  };
}
