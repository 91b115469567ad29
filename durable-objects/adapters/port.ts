/** The narrow view of the room a stateful adapter gets (RoomPort in ./adapter.ts), made of the core's internals. */
import type { RoomInternals } from "../room-internals";
import { scheduleExpirySweep } from "../expiry";
import { takeToken } from "../rate-limit";
import type { RoomPort } from "./adapter";

export function makePort(room: RoomInternals): RoomPort {
  return {
    name: room.name,
    limits: room.limits,
    sql: room.ctx.storage.sql,
    env: room.env,
    latestSeq: () => room.position().seq,
    oldestSeq: () => room.oldestSeq(),
    // Echo on: a stateful adapter decides itself whether its own socket gets its message (MQTT No Local).
    publish: (input, sender) => room.accept(input, sender, true),
    ackAfterCommit: (ws, frame) => room.ackAfterCommit(ws, frame),
    replay: (after, send) => room.replay(after, send),
    retained: (filters) => room.storedRetained(filters),
    setFilters(ws, att, filters) {
      att.filters = filters;
      ws.serializeAttachment(att);
      room.forgetMatcher(ws);
    },
    rate: (att) => takeToken(att.bucket, room.limits, Date.now()),
    shed: (ws, code, reason, att) => room.shed(ws, code, reason, att),
    seat: (ws, att) => room.seat(ws, att),
    expireAt: (ms) => scheduleExpirySweep(room.ctx.storage, ms),
    sockets: (tag) => room.ctx.getWebSockets(tag),
  };
}
