/**
 * SUBSCRIBE and UNSUBSCRIBE change what a connection is offered: the
 * attachment's filters (what the core's fan-out matches), the persistent
 * session's stored subscriptions, and, on subscribe, the retained values
 * the new subscriptions ask for.
 */
import type { ISubscribePacket, IUnsubscribePacket } from "mqtt-packet";
import { hasScope } from "../../handoff/identity";
import type { RoomPort } from "../adapters/adapter";
import { safeSend } from "../sockets";
import { fitsClient, send, sessionIdOf, sessionsOf, stateOf, subscriptionBudget, type Live } from "./connection";
import { deliveryFor, forMessage, propertiesFor, publishBytes } from "./outbound";
import { fail } from "./end";
import { isShared } from "./shared";
import { matchFilter } from "./share-name";
import { decideSubscribe, decideUnsubscribe, outboundPayloadOfEnvelope, Reason } from "./protocol";

export function onSubscribe(ws: WebSocket, l: Live, p: ISubscribePacket, port: RoomPort): void {
  const c = stateOf(l.att).connected!;
  // [MQTT-3.8.2.1.2]: a Subscription Identifier of 0 is a protocol error.
  if (c.v === 5 && p.properties?.subscriptionIdentifier === 0) return fail(ws, l, port, 5, Reason.ProtocolError, "a Subscription Identifier of 0 is a protocol error");
  // [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
  if (c.v === 5 && p.subscriptions.some((s) => s.nl && s.topic.startsWith("$share/"))) return fail(ws, l, port, 5, Reason.ProtocolError, "No Local on a shared subscription is a protocol error");
  const existing = new Set(c.subs.map((s) => s.filter));
  const { granted, suback } = decideSubscribe(c.v, p, hasScope(l.att, "subscribe"), existing, subscriptionBudget(l.att), l.att.acl?.sub);
  const byFilter = new Map(c.subs.map((s) => [s.filter, s]));
  for (const g of granted) byFilter.set(g.filter, g);
  c.subs = [...byFilter.values()];
  port.setFilters(ws, l.att, c.subs.map((s) => matchFilter(s.filter)));
  if (c.persistent && granted.length > 0) sessionsOf(port).subscribe(sessionIdOf(l.att), granted);
  send(ws, l, suback);
  // Retained values of the new subscriptions, retain flag set, oldest seq first (5.0 Retain Handling honoured),
  // read a page at a time so a large set is never held at once.
  // Not for a shared subscription ([MQTT-4.8.2-?]: retained messages are not sent to a group on subscribe).
  const wanted = granted.filter((g) => !isShared(g) && (g.retainHandling === 0 || (g.retainHandling === 1 && !existing.has(g.filter))));
  if (wanted.length === 0) return;
  const now = Date.now();
  for (const r of port.retained(wanted.map((g) => g.filter))) {
    const matched = deliveryFor(wanted, r.topic, false);
    if (matched === null) continue;
    const { bytes, meta } = outboundPayloadOfEnvelope(r.envelope);
    const fresh = forMessage(matched, meta, now); // an expired retained value is not sent
    if (fresh === null) continue;
    const d = fresh.delivery;
    // Within the reader's allowance for what it asks for (SendBudget.answer): past it, the rest is
    // not sent (as a broker drops what its queue for a client cannot hold); GET /retained pages them all.
    const frame = publishBytes(c.v, r.topic, bytes, d.qos, r.seq, true, false, propertiesFor(c.v, meta, fresh.expiryLeft, d.ids));
    if (!fitsClient(c, frame)) continue; // larger than the client takes: discarded for it
    if (!port.answer(ws, frame)) break;
  }
}

export function onUnsubscribe(ws: WebSocket, l: Live, p: IUnsubscribePacket, port: RoomPort): void {
  const c = stateOf(l.att).connected!;
  const existing = new Set(c.subs.map((s) => s.filter));
  const unsuback = decideUnsubscribe(c.v, p, existing);
  const gone = new Set(p.unsubscriptions);
  c.subs = c.subs.filter((s) => !gone.has(s.filter));
  port.setFilters(ws, l.att, c.subs.map((s) => matchFilter(s.filter)));
  if (c.persistent) sessionsOf(port).unsubscribe(sessionIdOf(l.att), p.unsubscriptions);
  send(ws, l, unsuback);
}
