/**
 * An inbound PUBLISH becomes a room publish: checked by decidePublish,
 * bounded by the room's message size and rate like any socket's frame, and
 * at QoS 1 acknowledged only once its batch is committed (a DUP retry of one
 * already published is acknowledged again, not published twice).
 */
import type { IPublishPacket } from "mqtt-packet";
import { CloseCode } from "../../protocol";
import { hasScope } from "../../handoff/identity";
import type { RoomPort } from "../adapters/adapter";
import type { MqttVersion } from "./codec";
import { save, send, sessionIdOf, sessionsOf, type Live } from "./connection";
import { fail } from "./end";
import { decidePublish, isRetriedPublish, publishFingerprint, puback, Reason } from "./protocol";

export function onPublish(ws: WebSocket, l: Live, p: IPublishPacket, port: RoomPort, v: MqttVersion): void {
  const decision = decidePublish(v, p, hasScope(l.att, "publish"));
  if (decision.kind === "close") return fail(ws, l, port, v, decision.reason, decision.message);
  if (decision.kind === "drop") {
    if (decision.ack !== null) send(ws, l, decision.ack);
    return;
  }
  const size = typeof p.payload === "string" ? new TextEncoder().encode(p.payload).byteLength : p.payload.byteLength;
  if (size > port.limits.maxMessageBytes) {
    return fail(ws, l, port, v, Reason.PacketTooLarge, `payload larger than ${port.limits.maxMessageBytes} bytes`, CloseCode.TooBig);
  }
  const verdict = port.rate(l.att);
  save(ws, l);
  if (verdict === "close") return fail(ws, l, port, v, 0x96, "rate limit exceeded", CloseCode.Policy);
  if (verdict === "limited") {
    // Dropped: 5.0 says why (quota exceeded); 3.1.1 has no way to, so it is acknowledged and dropped.
    if (decision.packetId !== null) send(ws, l, puback(v, decision.packetId, Reason.QuotaExceeded));
    return;
  }
  const input = { payload: decision.payload, from: l.att.id, publisher: l.att.sub, publishId: null, topic: decision.topic, retain: decision.retain };
  if (decision.packetId === null) {
    port.publish(input, ws);
    return;
  }
  // QoS 1: a DUP retry of a packet id already published (same topic and payload) is acknowledged, not published again.
  const sessions = sessionsOf(port);
  const id = sessionIdOf(l.att); // per owner: another sub's retries never match this client's
  const fingerprint = publishFingerprint(decision.topic, decision.payload);
  if (!isRetriedPublish(decision.dup, fingerprint, sessions.inbound(id, decision.packetId))) {
    const seq = port.publish(input, ws);
    sessions.recordInbound(id, decision.packetId, seq, fingerprint, Date.now());
  }
  port.ackAfterCommit(ws, l.codec.encode(puback(v, decision.packetId)));
}
