/**
 * An inbound PUBLISH becomes a room publish: checked by decidePublish (the
 * protocol's own rules), then handed to the room's publish pipeline like
 * every other door (size, rate, scope, the deployer's hook, sequencing). At
 * QoS 1 it is acknowledged once its batch is committed; a DUP retry of one
 * already published is acknowledged again, not published twice. At QoS 2 it
 * gets PUBREC once committed, and its packet id is held (in SQLite, so
 * across reconnects and evictions) until PUBREL: any copy before then gets
 * PUBREC again and is not published. The pipeline's refusals become this
 * wire's answers (`answerPublish`).
 */
import type { IPublishPacket } from "mqtt-packet";
import { HOOK_FAILED } from "../../protocol/hooks";
import type { RoomPort } from "../adapters/adapter";
import type { Verdict } from "../publish/verdict";
import type { MqttVersion } from "./codec";
import { owe, save, send, sessionIdOf, sessionsOf, settle, type Live } from "./connection";
import { fail } from "./end";
import { decidePublish, isRetriedPublish, MAX_INFLIGHT, publishFingerprint, puback, pubrec, Reason } from "./protocol";

export function onPublish(ws: WebSocket, l: Live, p: IPublishPacket, port: RoomPort, v: MqttVersion): void | Promise<void> {
  const decision = decidePublish(v, p);
  if (decision.kind === "close") return fail(ws, l, port, v, decision.reason, decision.message);
  if (decision.kind === "drop") {
    if (decision.ack !== null) send(ws, l, decision.ack);
    return;
  }
  const { packetId, qos } = decision;
  const sessions = packetId === null ? null : sessionsOf(port);
  const id = sessionIdOf(l.att); // per owner: another sub's retries never match this client's
  // QoS 2: until PUBREL, the packet id stands for the message already published, DUP or not.
  if (qos === 2 && packetId !== null && sessions!.qos2Received(id, packetId) !== null) {
    send(ws, l, pubrec(v, packetId));
    return;
  }
  const fingerprint = qos !== 1 ? "" : publishFingerprint(decision.topic, decision.payload);
  // QoS 1: a DUP retry of a packet id already published (same topic and payload) is acknowledged, not published again.
  if (qos === 1 && packetId !== null && isRetriedPublish(decision.dup, fingerprint, sessions!.inbound(id, packetId))) {
    send(ws, l, puback(v, packetId));
    return;
  }
  // Our Receive Maximum (CONNACK): a 5.0 client with that many QoS 2 exchanges open (awaiting their commit
  // or their PUBREL) that starts one more has broken it ([MQTT-3.3.4-8]). QoS 1 bursts are let through
  // (each is acknowledged once committed, a few ms later): many clients (mqtt.js among them) do not pace
  // QoS 1 by the server's Receive Maximum, and refusing them would cost more than it protects.
  if (v === 5 && qos === 2 && l.owed + sessions!.qos2Open(id) >= MAX_INFLIGHT) {
    return fail(ws, l, port, v, Reason.ReceiveMaximumExceeded, `more than ${MAX_INFLIGHT} QoS 1 and 2 PUBLISHes unacknowledged (Receive Maximum)`);
  }
  owe(l); // settled in `answer`: an end decided by a later packet waits for this verdict
  const pending = port.publish({
    by: { kind: "mqtt", id: l.att.id, identity: l.att, bucket: l.att.bucket },
    size: typeof p.payload === "string" ? p.payload : p.payload.byteLength,
    read: () => ({
      payload: decision.payload,
      from: l.att.id,
      publisher: l.att.sub,
      publishId: null,
      topic: decision.topic,
      retain: decision.retain,
      ...(decision.properties ? { properties: decision.properties } : {}),
      ...(qos < 2 ? { qos: qos as 0 | 1 } : {}),
    }),
    sender: ws,
    echo: true, // a stateful adapter decides itself whether its own socket gets its message (MQTT No Local)
    origin: l.att.id,
    answer: (verdict) => {
      if (verdict.ok && packetId !== null) {
        if (qos === 2) sessions!.recordQos2Received(id, packetId, verdict.seq, Date.now());
        else sessions!.recordInbound(id, packetId, verdict.seq, fingerprint, Date.now());
      }
      answerPublish(ws, l, port, v, qos, packetId, verdict);
      settle(l);
    },
  });
  save(ws, l); // the rate step took a token from the bucket in the attachment
  return pending;
}

/**
 * The pipeline's verdict as MQTT says it: PUBACK at QoS 1, PUBREC at QoS 2
 * (a refused QoS 2 PUBLISH holds no packet id: its exchange ends at the
 * PUBREC, and a 3.1.1 client's PUBREL after it still gets PUBCOMP); a refusal is
 * 5.0's PUBACK reason (not authorised for a scope or a hook's refusal, quota
 * exceeded for the rate, unspecified error for a failed hook), while 3.1.1,
 * which cannot refuse a PUBLISH, acknowledges and drops it (as Mosquitto
 * does). A rule that ends the connection ends it, with its 5.0 reason.
 */
function answerPublish(ws: WebSocket, l: Live, port: RoomPort, v: MqttVersion, qos: 0 | 1 | 2, packetId: number | null, verdict: Verdict): void {
  if (!verdict.ok && verdict.close !== undefined) {
    const reason = verdict.code === "too_large" ? Reason.PacketTooLarge : verdict.code === "rate_limited" ? Reason.MessageRateTooHigh : Reason.UnspecifiedError;
    return fail(ws, l, port, v, reason, verdict.message, verdict.close);
  }
  if (packetId === null) return;
  const ack = qos === 2 ? pubrec : puback;
  if (verdict.ok) {
    send(ws, l, ack(v, packetId));
    return;
  }
  const reason = verdict.code === "rate_limited" ? Reason.QuotaExceeded : verdict.code === HOOK_FAILED ? Reason.UnspecifiedError : Reason.NotAuthorized;
  send(ws, l, ack(v, packetId, reason));
}
