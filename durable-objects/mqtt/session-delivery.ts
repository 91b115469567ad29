/**
 * Room messages reaching MQTT connections: live, per socket whose
 * subscriptions match, and on a session's return, from history. A persistent
 * session's progress (what it was sent, what is in flight) is written once
 * per batch, not once per message.
 */
import type { OutboundMessage, RoomPort } from "../adapters/adapter";
import { CloseCode } from "../../protocol";
import { safeSend } from "../sockets";
import { liveOf, send, sessionsOf, stateOf, type Live } from "./connection";
import { deliveryFor, liveFrame, packetIdFor, publishBytes } from "./outbound";
import { outboundPayloadOfEnvelope, pubrel } from "./protocol";
import type { InflightMessage, SessionState } from "./session-store";

/** Per batch: what each persistent session was sent (written once in afterBatch); `sent2` its QoS 2 ones. */
const batchSent = new Map<string, { sent: InflightMessage[]; sent2: InflightMessage[]; through: number }>();

/**
 * A session came back: first a PUBREL for each QoS 2 message it PUBREC'd but
 * never PUBCOMP'd; then, in one pass over history, in seq order, the
 * messages it had not acknowledged (QoS 1 without PUBACK, QoS 2 without
 * PUBREC: same packet id, DUP set), then every message after the point it
 * was served through that matches its subscriptions. A replay bigger than
 * one reader may hold stops there and closes the socket; the client
 * reconnects and the session goes on from where it stopped.
 */
export function resume(ws: WebSocket, l: Live, port: RoomPort, session: SessionState): void {
  const c = stateOf(l.att).connected!;
  const sessions = sessionsOf(port);
  // QoS 2 (delimited so session ownership changes merge apart): released ones owe a PUBREL, the rest a PUBLISH again.
  const qos2 = sessions.qos2InFlight(c.cid);
  for (const m of qos2) if (m.released) send(ws, l, pubrel(m.packetId));
  const again2 = new Map(qos2.filter((m) => !m.released).map((m) => [m.seq, m.packetId]));
  for (const [seq, id] of again2) if (seq < port.oldestSeq()) sessions.qos2Completed(c.cid, id);
  const inflight = new Map(session.inflight.map((m) => [m.seq, m.packetId]));
  const start = Math.min(session.deliveredThrough, ...session.inflight.map((m) => m.seq - 1), ...[...again2.keys()].map((seq) => seq - 1));
  // In-flight messages history no longer holds cannot be sent again.
  for (const m of session.inflight) if (m.seq < port.oldestSeq()) sessions.acked(c.cid, m.packetId);
  const sent: InflightMessage[] = [];
  const sent2: InflightMessage[] = [];
  let through = session.deliveredThrough;
  let bytes = 0;
  const complete = port.replay(start, (row) => {
    const again = inflight.has(row.seq) ? 1 : again2.has(row.seq) ? 2 : 0;
    if (again === 0 && row.seq <= session.deliveredThrough) return true;
    const d = row.topic === null ? null : deliveryFor(c.subs, row.topic, false);
    if (d !== null || again > 0) {
      if (bytes > port.limits.slowConsumerBytes) return false;
      const qos = again > 0 ? again : d!.qos;
      const frame = publishBytes(c.v, row.topic!, outboundPayloadOfEnvelope(row.envelope).bytes, qos, row.seq, false, again > 0);
      safeSend(ws, frame);
      bytes += frame.byteLength;
      if (again === 0 && qos === 1) sent.push({ seq: row.seq, packetId: packetIdFor(row.seq) });
      if (again === 0 && qos === 2) sent2.push({ seq: row.seq, packetId: packetIdFor(row.seq) });
    }
    through = Math.max(through, row.seq);
    return true;
  });
  sessions.sentQos2(c.cid, sent2);
  sessions.sentBatch(c.cid, sent, through);
  if (!complete) port.shed(ws, CloseCode.SlowConsumer, "session replay continues on the next connection", l.att);
}

export function deliver(ws: WebSocket, m: OutboundMessage, _frame: string | Uint8Array, port: RoomPort): number {
  const l = liveOf(ws, port);
  const st = stateOf(l.att);
  const c = st.connected;
  if (c === undefined || st.ended || m.topic === null) return 0;
  const d = deliveryFor(c.subs, m.topic, m.sender === ws);
  if (d === null) return 0;
  const frame = liveFrame(m, c.v, d);
  safeSend(ws, frame);
  if (c.persistent) {
    let b = batchSent.get(c.cid);
    if (b === undefined) batchSent.set(c.cid, (b = { sent: [], sent2: [], through: 0 }));
    if (d.qos === 1) b.sent.push({ seq: m.seq, packetId: packetIdFor(m.seq) });
    if (d.qos === 2) b.sent2.push({ seq: m.seq, packetId: packetIdFor(m.seq) });
    b.through = m.seq;
  }
  return frame.byteLength;
}

export function afterBatch(port: RoomPort): void {
  if (batchSent.size === 0) return;
  const sessions = sessionsOf(port);
  for (const [cid, b] of batchSent) {
    sessions.sentQos2(cid, b.sent2);
    sessions.sentBatch(cid, b.sent, b.through);
  }
  batchSent.clear();
}
