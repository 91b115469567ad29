/**
 * CONNECT on the socket: the token a device could only send in its password,
 * the session it opens or resumes, and the take-over of an older connection
 * with the same client id and the same owner (the token's `sub`: another
 * sub's client id names another session, session-store.ts). The rules of what CONNECT may ask are in
 * connect-rules.ts; this file does what they decide.
 */
import { sessionTaken } from "./will-delay";
import { matchFilter } from "./share-name";
import type { IConnectPacket } from "mqtt-packet";
import { CloseCode } from "../../protocol";
import { hasScope } from "../../handoff/identity";
import { filterAllowed } from "../../protocol/topics";
import { verifyRoomToken } from "../../handoff/token";
import type { RoomPort } from "../adapters/adapter";
import { packetLimitFor } from "./codec";
import { liveOf, send, sessionIdOf, sessionsOf, stateOf, WS_PROTOCOL_ERROR, type Live } from "./connection";
import { fail } from "./end";
import { acceptConnect, acceptedConnack, keepAliveFor, Reason, refuseConnect, type Will } from "./protocol";
import { allowedSilenceMs } from "./keep-alive";
import { resume } from "./session-delivery";
import { sessionId, type SessionId, type SessionState } from "./session-store";

/** A will payload is kept in the attachment (16 KiB in all), so it is bounded; its properties too. */
export const MAX_WILL_PAYLOAD_BYTES = 2048;
export const MAX_WILL_PROPERTIES_BYTES = 2048;

export async function onConnect(ws: WebSocket, l: Live, p: IConnectPacket, port: RoomPort): Promise<void> {
  const st = stateOf(l.att);
  const decided = acceptConnect(p, `roomcast-${l.att.id}`);
  if (!decided.ok) {
    send(ws, l, decided.connack, decided.version);
    return fail(ws, l, port, null, Reason.ProtocolError, `CONNECT refused: ${decided.refusal}`);
  }
  const v = decided.version;
  const refuse = (refusal: Parameters<typeof refuseConnect>[1], wsCode: number, why: string) => {
    send(ws, l, refuseConnect(v, refusal).connack, v);
    fail(ws, l, port, null, 0, why, wsCode);
  };
  if (decided.will !== null && outboundPayloadSize(decided.will) > MAX_WILL_PAYLOAD_BYTES) {
    return refuse("bad_will", WS_PROTOCOL_ERROR, `a will payload is at most ${MAX_WILL_PAYLOAD_BYTES} bytes`);
  }
  if (decided.will?.properties !== undefined && JSON.stringify(decided.will.properties).length > MAX_WILL_PROPERTIES_BYTES) {
    return refuse("bad_will", WS_PROTOCOL_ERROR, `will properties are at most ${MAX_WILL_PROPERTIES_BYTES} bytes (as JSON)`);
  }
  if (st.tokenPending) {
    const secret = port.env.AUTH_SECRET;
    try {
      if (!secret || decided.password === undefined) throw new Error("no token");
      const identity = await verifyRoomToken(decided.password, secret, port.name);
      if (await port.revoked(identity)) throw new Error("revoked");
      Object.assign(l.att, identity);
      st.tokenPending = false;
      if (identity.exp !== null) await port.expireAt(identity.exp * 1000);
    } catch {
      return refuse("not_authorized", CloseCode.Policy, "not authorized: the CONNECT password must be a valid token for this room");
    }
    if (stateOf(l.att).ended) return;
  }
  // The deployer's connect hook, now that the client's identity is known.
  const admitted = await port.connecting(l.att.id, l.att);
  if (stateOf(l.att).ended) return;
  if (!("identity" in admitted)) return refuse("not_authorized", CloseCode.Policy, `${admitted.refuse}: ${admitted.message}`);
  l.att.meta = admitted.identity.meta;
  // Authenticated now: a socket that came without a token takes its slot
  // here, and only here joins presence (room.ts `seat`).
  if (l.att.pending && !port.seat(ws, l.att)) {
    return refuse("unavailable", CloseCode.Policy, `room ${port.name} is full`);
  }

  // A session: kept unless clean start with no expiry (then any stored one is dropped).
  // It exists to carry subscriptions, so a token that may not subscribe has
  // none: it is served as a clean session that ends with the connection (5.0
  // CONNACK says Session Expiry 0), and makes, resumes and ends no stored
  // one. That also keeps a token with no scopes from filling the room's
  // session quota.
  const sessions = sessionsOf(port);
  const id = sessionId(l.att.sub, decided.clientId);
  const maySubscribe = hasScope(l.att, "subscribe");
  const persistent = maySubscribe && (!decided.cleanStart || decided.sessionExpirySeconds > 0);
  const granted = maySubscribe ? decided : { ...decided, sessionExpirySeconds: 0, expiryCapped: decided.sessionExpirySeconds > 0 };
  let session: SessionState | null = null;
  let present = false;
  if (persistent) {
    if (sessions.held(id)) takeOver(ws, port, id);
    const opened = sessions.open(id, {
      cleanStart: decided.cleanStart,
      expirySeconds: decided.sessionExpirySeconds,
      latestSeq: port.latestSeq(),
      now: Date.now(),
    });
    if (!opened.ok) return refuse("unavailable", CloseCode.Policy, "this token's sub holds the most MQTT sessions it may in this room");
    session = opened.session;
    present = opened.sessionPresent;
  } else if (maySubscribe) {
    sessions.drop(id);
  }
  // A will its last connection left pending (Will Delay): cancelled when the session is resumed, out now when it ended.
  sessionTaken(port, id, !present);

  // A stored session may hold subscriptions made with another token of this
  // sub: only those inside this token's acl.sub are live on this connection
  // (the others stay stored, for a token that allows them).
  const aclSub = l.att.acl?.sub;
  const stored = session?.subscriptions ?? [];
  const subs = aclSub === undefined ? stored : stored.filter((s) => filterAllowed(matchFilter(s.filter), aclSub));
  const rm = decided.receiveMaximum;
  const ka = keepAliveFor(v, decided.keepaliveSeconds, port.limits.mqttMaxKeepAliveSeconds);
  const mps = decided.maximumPacketSize;
  st.connected = { v, cid: decided.clientId, persistent, subs, ka, ...(rm === null ? {} : { rm, fly: 0 }), ...(mps === null ? {} : { mps }), ...(decided.topicAliasMaximum > 0 ? { tam: decided.topicAliasMaximum } : {}) };
  delete l.aliases; // a new connection: the client holds no alias of ours
  st.seenAt = Date.now();
  st.will = decided.will;
  l.codec.setVersion(v);
  port.setFilters(ws, l.att, subs.map((s) => matchFilter(s.filter))); // also saves the attachment
  send(ws, l, acceptedConnack(granted, present, packetLimitFor(port.limits.maxMessageBytes), ka !== decided.keepaliveSeconds ? ka : undefined), v);
  if (present && session !== null) resume(ws, l, port, session);
  // The room's alarm times the keep-alive (keep-alive.ts).
  const silence = allowedSilenceMs(ka);
  if (silence !== null) await port.expireAt(Date.now() + silence);
}


/**
 * A second connection to the same session (same owner, same client id)
 * takes it: the first is closed (5.0: DISCONNECT 0x8E). Another owner's
 * connection with that client id holds another session and is left alone.
 */
function takeOver(by: WebSocket, port: RoomPort, id: SessionId): void {
  for (const ws of port.sockets("mqtt")) {
    if (ws === by) continue;
    const l = liveOf(ws, port);
    const st = stateOf(l.att);
    if (st.connected === undefined || st.ended) continue;
    const other = sessionIdOf(l.att);
    if (other.owner !== id.owner || other.clientId !== id.clientId) continue;
    st.takenOver = true;
    fail(ws, l, port, st.connected.v, Reason.SessionTakenOver, "session taken over by a new connection", CloseCode.Normal);
  }
}

function outboundPayloadSize(will: Will): number {
  return will.payload.kind === "binary" ? will.payload.value.byteLength : new TextEncoder().encode(String(will.payload.value)).byteLength;
}
