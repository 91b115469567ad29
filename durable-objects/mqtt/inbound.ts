/**
 * A socket's frames into packets, and each packet to the file that handles
 * it. Frames are not packets: one frame may hold several, or part of one
 * (the rest is kept in the attachment until the next frame).
 */
import type { Packet } from "mqtt-packet";
import { CloseCode } from "../../protocol";
import type { RoomPort } from "../adapters/adapter";
import type { DecodeError } from "./codec";
import { fitsAttachment, over, save, send, sessionsOf, stateOf, type Live } from "./connection";
import { onConnect } from "./connect";
import { heard } from "./keep-alive";
import { fail, onDisconnect } from "./end";
import { Reason, refuseConnect, unexpectedPacket } from "./protocol";
import { onPublish } from "./publish";
import { onPubcomp, onPubrec, onPubrel } from "./qos2";
import { onPuback } from "./session-delivery";
import { onSubscribe, onUnsubscribe } from "./subscribe";

export async function onFrame(ws: WebSocket, l: Live, frame: string | ArrayBuffer, port: RoomPort): Promise<void> {
  const st = stateOf(l.att);
  if (over(l)) return;
  heard(ws, l, Date.now());
  const v = st.connected?.v ?? null;
  // [MQTT-6.0.0-1]: MQTT travels in binary frames only.
  if (typeof frame === "string") return fail(ws, l, port, v, Reason.MalformedPacket, "MQTT needs binary WebSocket frames");
  const hadPending = l.codec.state().pending.length > 0;
  const { packets, error } = l.codec.decode(new Uint8Array(frame));
  for (const p of packets) {
    if (over(l)) return;
    await onPacket(ws, l, p, port);
  }
  if (over(l)) return;
  if (error !== undefined) return onDecodeError(ws, l, port, error);
  // The split-packet bytes ride in the attachment only when there are (or were) some.
  const pending = l.codec.state().pending;
  if (pending.length > 0 || hadPending) {
    st.pending = pending;
    if (!fitsAttachment(l.att)) {
      // Within MAX_PENDING_BYTES but not beside this connection's other state
      // (its subscriptions, its will): refused as too large, never saved to fail.
      st.pending = new Uint8Array(0);
      return fail(ws, l, port, v, Reason.PacketTooLarge, "a packet split across frames: more than this connection's state can keep", CloseCode.TooBig);
    }
    save(ws, l);
  }
}

function onDecodeError(ws: WebSocket, l: Live, port: RoomPort, error: DecodeError): void {
  const v = stateOf(l.att).connected?.v ?? null;
  if (error.kind === "bad_protocol_level" && v === null) {
    const refusal = refuseConnect(error.level >= 5 ? 5 : 4, "bad_version");
    send(ws, l, refusal.connack, refusal.version);
    return fail(ws, l, port, null, Reason.UnsupportedProtocolVersion, "unsupported MQTT protocol level");
  }
  if (error.kind === "too_large") return fail(ws, l, port, v, Reason.PacketTooLarge, error.message, CloseCode.TooBig);
  return fail(ws, l, port, v, Reason.MalformedPacket, error.message);
}

async function onPacket(ws: WebSocket, l: Live, p: Packet, port: RoomPort): Promise<void> {
  const c = stateOf(l.att).connected;
  if (c === undefined) {
    if (p.cmd !== "connect") return fail(ws, l, port, null, Reason.ProtocolError, "the first packet must be CONNECT");
    return onConnect(ws, l, p, port);
  }
  const unexpected = unexpectedPacket(c.v, p.cmd);
  if (unexpected !== null) return fail(ws, l, port, c.v, unexpected.reason, unexpected.message);
  switch (p.cmd) {
    case "publish":
      return onPublish(ws, l, p, port, c.v);
    case "puback":
      if (p.messageId !== undefined) onPuback(ws, l, port, p.messageId);
      return;
    // mqtt-packet always reads these packets' id (it is their whole variable header).
    case "pubrec":
      return onPubrec(ws, l, c, p.messageId!, port);
    case "pubrel":
      return onPubrel(ws, l, c, p.messageId!, port);
    case "pubcomp":
      return onPubcomp(ws, l, c, p.messageId!, port);
    case "subscribe":
      return onSubscribe(ws, l, p, port);
    case "unsubscribe":
      return onUnsubscribe(ws, l, p, port);
    case "pingreq":
      send(ws, l, { cmd: "pingresp" });
      return;
    case "disconnect":
      return onDisconnect(ws, l, p, port);
  }
}
