/**
 * Room messages reaching MQTT connections: live, per socket whose
 * subscriptions match, and from history while a connection is behind (a
 * session's return, or a full Receive Maximum window). A persistent
 * session's progress (what it was sent, what is in flight) is written once
 * per batch, not once per message.
 *
 * The window: a 5.0 client says in CONNECT how many QoS 1 PUBLISHes it
 * takes unacknowledged (Receive Maximum, [MQTT-3.3.4-9]). When that many are
 * out, the connection stops taking live messages and notes how far it was
 * served (`behind`); each PUBACK then sends on from history, in seq order
 * (QoS 0 ones too, so the order holds), until the window is full again or
 * it has caught up, when live delivery takes over. What waits costs no
 * memory: it is the room's history; the connection keeps two numbers in its
 * attachment (`fly`, `behind`), so the window survives hibernation.
 */
import type { OutboundMessage, RoomPort } from "../adapters/adapter";
import { CloseCode } from "../../protocol";
import { TopicMatcher } from "../../protocol/topics";
import { safeSend } from "../sockets";
import { fitsClient, liveOf, save, send, sessionIdOf, sessionsOf, stateOf, type Connected, type Live } from "./connection";
import { expiryLeft } from "../../protocol/properties";
import { aliasedFrame, deliveryFor, forMessage, liveFrame, liveMeta, packetIdFor, propertiesFor, publishBytes, type Delivery } from "./outbound";
import { offer, settle as settleShared, sharedMatches } from "./shared";
import type { GrantedSubscription } from "./subscribe-rules";
import { outboundPayloadOfEnvelope, pubrel } from "./protocol";
import type { InflightMessage, SessionState } from "./session-store";

/** Per batch: what each persistent session's socket was sent (written once in afterBatch); `sent2` its QoS 2 ones. */
const batchSent = new Map<WebSocket, { sent: InflightMessage[]; sent2: InflightMessage[]; through: number }>();
/** Per batch: sockets whose window state changed (their attachment is written once in afterBatch). */
const windowMoved = new Set<WebSocket>();

function windowFull(c: Connected): boolean {
  return c.rm !== undefined && (c.fly ?? 0) >= c.rm;
}

/** A QoS 1 or 2 PUBLISH went out: counted against the window, when the client set one. */
function tookSlot(c: Connected): boolean {
  if (c.rm === undefined) return false;
  c.fly = (c.fly ?? 0) + 1;
  return true;
}

/** A QoS 1 or 2 exchange ended (PUBACK, PUBCOMP): the window has room for one more; a connection waiting for it goes on. */
export function freedSlot(ws: WebSocket, l: Live, port: RoomPort): void {
  const c = stateOf(l.att).connected!;
  if (c.rm === undefined) return;
  c.fly = Math.max(0, (c.fly ?? 0) - 1);
  if (c.behind !== undefined) catchUp(ws, l, port); // saves the attachment
  else save(ws, l);
}

/**
 * A session came back: first a PUBREL for each QoS 2 message it PUBREC'd but
 * never PUBCOMP'd; then, from history, in seq order, the messages it had not
 * acknowledged (QoS 1 without PUBACK, QoS 2 without PUBREC: same packet id,
 * DUP set), then every message after the point it was served through that
 * matches its subscriptions.
 */
export function resume(ws: WebSocket, l: Live, port: RoomPort, session: SessionState): void {
  const c = stateOf(l.att).connected!;
  const qos2 = sessionsOf(port).qos2InFlight(sessionIdOf(l.att));
  for (const m of qos2) if (m.released) send(ws, l, pubrel(m.packetId));
  const owed2 = qos2.filter((m) => !m.released).map((m) => m.seq - 1);
  c.behind = Math.min(session.deliveredThrough, ...session.inflight.map((m) => m.seq - 1), ...owed2);
  catchUp(ws, l, port);
}

/**
 * Sends a connection that is behind what it is owed, from history: until
 * its window is full (it goes on at the next PUBACK), or until it has caught
 * up (live delivery takes over). A replay bigger than one reader may hold
 * stops there and closes the socket; a persistent session goes on from
 * there on the next connection.
 */
export function catchUp(ws: WebSocket, l: Live, port: RoomPort): void {
  const c = stateOf(l.att).connected!;
  if (c.behind === undefined) return;
  const from = c.behind;
  const sessions = sessionsOf(port);
  const id = c.persistent ? sessionIdOf(l.att) : null;
  // A session's messages sent on an earlier connection and not acknowledged
  // go again (QoS 1, and QoS 2 not yet PUBREC'd); everything else it was
  // served through is skipped. (Everything sent on this connection is at or before `from`.)
  const stored = id === null ? null : sessions.load(id);
  const again = new Map<number, 1 | 2>();
  for (const m of stored?.inflight ?? []) {
    // In-flight messages history no longer holds cannot be sent again.
    if (m.seq < port.oldestSeq()) sessions.acked(id!, m.packetId);
    else if (m.seq > from) again.set(m.seq, 1);
  }
  for (const m of id === null ? [] : sessions.qos2InFlight(id)) {
    if (m.released) continue;
    if (m.seq < port.oldestSeq()) sessions.qos2Completed(id!, m.packetId);
    else if (m.seq > from) again.set(m.seq, 2);
  }
  const served = stored?.deliveredThrough ?? from;
  const sent: InflightMessage[] = [];
  const sent2: InflightMessage[] = [];
  let through = from;
  let bytes = 0;
  // Under a token with acl.sub, an in-flight message is sent again only if
  // this token may read it (c.subs already holds only what it may).
  const readable = l.att.acl?.sub === undefined ? null : new TopicMatcher(l.att.acl.sub);
  let windowStop = false;
  const now = Date.now();
  const complete = port.replay(from, (row) => {
    const resendQos = again.get(row.seq);
    const resend = resendQos !== undefined && (readable === null || (row.topic !== null && readable.matches(row.topic)));
    const matched = resend || row.seq <= served || row.topic === null ? null : deliveryFor(c.subs, row.topic, false);
    const out = resend || matched !== null ? outboundPayloadOfEnvelope(row.envelope) : null;
    // Not yet sent and expired meanwhile: never sent ([MQTT-3.3.2-5]); one in flight goes again as it was.
    const fresh = matched === null ? null : forMessage(matched, out!.meta, now);
    if (resend || fresh !== null) {
      const qos = resend ? resendQos! : fresh!.delivery.qos;
      if (qos > 0 && windowFull(c)) return !(windowStop = true);
      if (bytes > port.limits.slowConsumerBytes) return false;
      const left = resend ? expiryLeft(out!.meta.properties, out!.meta.ts, now) : fresh!.expiryLeft;
      const frame = publishBytes(c.v, row.topic!, out!.bytes, qos, row.seq, false, resend, propertiesFor(c.v, out!.meta, left, resend ? deliveryFor(c.subs, row.topic!, false)?.ids : fresh!.delivery.ids));
      if (!fitsClient(c, frame)) {
        // Too large for this client: discarded as if sent; an in-flight one is done with.
        if (resend && id !== null) (qos === 2 ? sessions.qos2Completed(id, packetIdFor(row.seq)) : sessions.acked(id, packetIdFor(row.seq)));
        through = row.seq;
        return true;
      }
      safeSend(ws, frame);
      bytes += frame.byteLength;
      if (qos > 0) tookSlot(c);
      if (!resend && qos === 1) sent.push({ seq: row.seq, packetId: packetIdFor(row.seq) });
      if (!resend && qos === 2) sent2.push({ seq: row.seq, packetId: packetIdFor(row.seq) });
    }
    through = row.seq;
    return true;
  });
  if (id !== null) {
    sessions.sentQos2(id, sent2);
    sessions.sentBatch(id, sent, through);
  }
  if (complete) delete c.behind;
  else c.behind = through;
  save(ws, l);
  if (!complete && !windowStop) port.shed(ws, CloseCode.SlowConsumer, "session replay continues on the next connection", l.att);
}

export function deliver(ws: WebSocket, m: OutboundMessage, _frame: string | Uint8Array, port: RoomPort): number {
  const l = liveOf(ws, port);
  const st = stateOf(l.att);
  const c = st.connected;
  // Behind: this message is in history and comes from there, in its turn.
  if (c === undefined || st.ended || m.topic === null || c.behind !== undefined) return 0;
  // Shared subscriptions: a candidate now; one member per group gets it after the batch (shared.ts).
  for (const s of sharedMatches(c.subs, m.topic)) offer(port.name, m, ws, s);
  const matched = deliveryFor(c.subs, m.topic, m.sender === ws);
  const fresh = matched === null ? null : forMessage(matched, liveMeta(m), Date.now());
  if (fresh === null) return 0;
  if (fresh.delivery.qos > 0 && windowFull(c)) {
    // The client's window is full: this and every later message wait in history until PUBACKs make room.
    c.behind = m.seq - 1;
    windowMoved.add(ws);
    return 0;
  }
  return sendLive(ws, l, c, m, fresh.delivery, fresh.expiryLeft);
}

/** One live PUBLISH to a connection: sent (unless too large for it), counted in its window, noted for its session. */
function sendLive(ws: WebSocket, l: Live, c: Connected, m: OutboundMessage, d: Delivery, expiryLeft: number | null): number {
  const frame = c.tam === undefined ? liveFrame(m, c.v, d, expiryLeft) : aliasedFrame((l.aliases ??= new Map()), c.tam, m, c.v, d, expiryLeft);
  if (!fitsClient(c, frame)) {
    // Not sent: an alias it may have defined never reached the client, so start the aliases again (each is redefined on its next use).
    if (c.tam !== undefined) l.aliases = new Map();
    return 0;
  }
  safeSend(ws, frame);
  if (d.qos > 0 && tookSlot(c)) windowMoved.add(ws);
  if (c.persistent) {
    let b = batchSent.get(ws);
    if (b === undefined) batchSent.set(ws, (b = { sent: [], sent2: [], through: 0 }));
    if (d.qos === 1) b.sent.push({ seq: m.seq, packetId: packetIdFor(m.seq) });
    if (d.qos === 2) b.sent2.push({ seq: m.seq, packetId: packetIdFor(m.seq) });
    b.through = Math.max(b.through, m.seq);
  }
  return frame.byteLength;
}

/** A shared subscription's message to the member chosen for it; false when that member cannot take it now (the next one is tried). */
function sendShared(ws: WebSocket, m: OutboundMessage, s: GrantedSubscription, port: RoomPort): boolean {
  const l = liveOf(ws, port);
  const st = stateOf(l.att);
  const c = st.connected;
  if (c === undefined || st.ended || c.behind !== undefined) return false;
  const d: Delivery = { qos: s.qos, retainAsPublished: s.retainAsPublished, ...(s.id === undefined ? {} : { ids: [s.id] }) };
  const fresh = forMessage(d, liveMeta(m), Date.now());
  if (fresh === null) return true; // expired: no member gets it
  if (fresh.delivery.qos > 0 && windowFull(c)) return false;
  sendLive(ws, l, c, m, fresh.delivery, fresh.expiryLeft);
  return true;
}

export function afterBatch(port: RoomPort): void {
  settleShared(port.name, (ws, m, s) => sendShared(ws, m, s, port));
  if (batchSent.size > 0) {
    const sessions = sessionsOf(port);
    for (const [ws, b] of batchSent) {
      const id = sessionIdOf(liveOf(ws, port).att);
      sessions.sentQos2(id, b.sent2);
      sessions.sentBatch(id, b.sent, b.through);
    }
    batchSent.clear();
  }
  for (const ws of windowMoved) {
    const l = liveOf(ws, port);
    // A socket shed during the batch (slow consumer) has ended and was saved then.
    if (!stateOf(l.att).ended) save(ws, l);
  }
  windowMoved.clear();
}

/**
 * PUBACK: the session's message is no longer in flight, and the window has
 * room for one more. A PUBACK that acknowledges nothing of a persistent
 * session (a duplicate, an unknown id) frees no slot.
 */
export function onPuback(ws: WebSocket, l: Live, port: RoomPort, packetId: number): void {
  const c = stateOf(l.att).connected!;
  const acked = c.persistent ? sessionsOf(port).acked(sessionIdOf(l.att), packetId) !== null : true;
  if (acked) freedSlot(ws, l, port);
}
