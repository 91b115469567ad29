/**
 * MQTT 3.1.1 / 5.0 over WebSocket (docs/mqtt.md), as a stateful adapter:
 * the socket lives in the Room like any other (hibernatable, counted,
 * rate-limited), its subscriptions are its attachment's `filters` (so the
 * core's fan-out only offers it messages whose topic matches), and this file
 * turns packets into room publishes and room messages into PUBLISH packets.
 *
 * The rules are in ../mqtt/protocol.ts (pure), bytes in ../mqtt/codec.ts,
 * persistent sessions in ../mqtt/session-store.ts, outbound packets in
 * ../mqtt/outbound.ts. What survives hibernation is the attachment's
 * `state` (MqttState); the codec and a copy of the attachment are cached
 * per socket while the room is awake.
 */
import type { IConnectPacket, IDisconnectPacket, IPublishPacket, ISubscribePacket, IUnsubscribePacket, Packet } from "mqtt-packet";
import { CloseCode } from "../../protocol";
import { hasScope } from "../../handoff/identity";
import { verifyRoomToken } from "../../worker/auth";
import { MqttCodec, packetLimitFor, type DecodeError, type MqttVersion } from "../mqtt/codec";
import { deliveryFor, liveFrame, packetIdFor, publishBytes } from "../mqtt/outbound";
import {
  acceptConnect,
  acceptedConnack,
  decidePublish,
  decideSubscribe,
  decideUnsubscribe,
  isRetriedPublish,
  MAX_SESSION_EXPIRY_SECONDS,
  outboundPayloadOfEnvelope,
  publishFingerprint,
  puback,
  Reason,
  refuseConnect,
  unexpectedPacket,
  type GrantedSubscription,
  type Will,
} from "../mqtt/protocol";
import { SessionStore, type InflightMessage, type SessionState } from "../mqtt/session-store";
import { attachmentOf, closeSocket, safeSend, type Attachment } from "../sockets";
import type { OutboundMessage, RoomPort, SessionProtocol, SocketAdapter } from "./adapter";

/** WebSocket close codes after an MQTT-level end (5.0 also sends DISCONNECT with its reason first). */
const WS_PROTOCOL_ERROR = 1002;

/** A will payload is kept in the attachment (16 KiB in all), so it is bounded. */
export const MAX_WILL_PAYLOAD_BYTES = 2048;

/** What an MQTT socket carries through hibernation (in `Attachment.state`). */
interface MqttState {
  /** AUTH_SECRET is set and the upgrade had no token: CONNECT's password must carry it. */
  tokenPending?: boolean;
  /** Set once CONNECT is accepted. */
  connected?: { v: MqttVersion; cid: string; persistent: boolean; subs: GrantedSubscription[] };
  will?: Will | null;
  /** Bytes of a packet split across frames (rarely non-empty). */
  pending?: Uint8Array;
  /** The end was handled (will published or dropped, session closed). */
  ended?: boolean;
  /** A newer connection took this client id's session: this one must not close it. */
  takenOver?: boolean;
}

interface Live {
  att: Attachment;
  codec: MqttCodec;
  /** Frames of this socket are handled one after the other (CONNECT awaits the token check). */
  chain: Promise<void>;
}

const live = new WeakMap<WebSocket, Live>();
const sessionStores = new WeakMap<SqlStorage, SessionStore>();
/** Per batch: what each persistent session was sent (written once in afterBatch). */
const batchSent = new Map<string, { sent: InflightMessage[]; through: number }>();

function liveOf(ws: WebSocket, port: RoomPort): Live {
  let l = live.get(ws);
  if (l === undefined) {
    const att = attachmentOf(ws);
    const st = stateOf(att);
    const codec = new MqttCodec(packetLimitFor(port.limits.maxMessageBytes), {
      version: st.connected?.v ?? null,
      pending: st.pending ?? new Uint8Array(0),
    });
    l = { att, codec, chain: Promise.resolve() };
    live.set(ws, l);
  }
  return l;
}

function stateOf(att: Attachment): MqttState {
  att.state ??= {};
  return att.state as MqttState;
}

function sessionsOf(port: RoomPort): SessionStore {
  let s = sessionStores.get(port.sql);
  if (s === undefined) {
    s = new SessionStore(port.sql);
    s.migrate();
    sessionStores.set(port.sql, s);
  }
  return s;
}

function save(ws: WebSocket, l: Live): void {
  ws.serializeAttachment(l.att);
}

function send(ws: WebSocket, l: Live, packet: Packet, version?: MqttVersion): number {
  const bytes = l.codec.encode(packet, version);
  safeSend(ws, bytes);
  return bytes.byteLength;
}

/** Ends the connection for a protocol reason: 5.0 DISCONNECT first; the will goes out (no DISCONNECT from the client). */
function fail(ws: WebSocket, l: Live, port: RoomPort, v: MqttVersion | null, reason: number, message: string, wsCode = WS_PROTOCOL_ERROR): void {
  if (v === 5) send(ws, l, { cmd: "disconnect", reasonCode: reason } as IDisconnectPacket, 5);
  end(ws, l, port);
  port.shed(ws, wsCode, message, l.att);
}

/** The connection is over: publish the will unless DISCONNECT withdrew it; close the session (once). */
function end(ws: WebSocket, l: Live, port: RoomPort): void {
  const st = stateOf(l.att);
  if (st.ended) return;
  st.ended = true;
  const c = st.connected;
  if (c !== undefined) {
    if (st.will && hasScope(l.att, "publish")) {
      port.publish({ payload: st.will.payload, from: l.att.id, publisher: l.att.sub, publishId: null, topic: st.will.topic, retain: st.will.retain }, ws);
    }
    if (c.persistent && !st.takenOver) sessionsOf(port).close(c.cid, Date.now());
  }
  st.will = null;
  save(ws, l);
}

// ---- inbound -----------------------------------------------------------------

async function onFrame(ws: WebSocket, l: Live, frame: string | ArrayBuffer, port: RoomPort): Promise<void> {
  const st = stateOf(l.att);
  if (st.ended) return;
  const v = st.connected?.v ?? null;
  // [MQTT-6.0.0-1]: MQTT travels in binary frames only.
  if (typeof frame === "string") return fail(ws, l, port, v, Reason.MalformedPacket, "MQTT needs binary WebSocket frames");
  const hadPending = l.codec.state().pending.length > 0;
  const { packets, error } = l.codec.decode(new Uint8Array(frame));
  for (const p of packets) {
    if (stateOf(l.att).ended) return;
    await onPacket(ws, l, p, port);
  }
  if (stateOf(l.att).ended) return;
  if (error !== undefined) return onDecodeError(ws, l, port, error);
  // The split-packet bytes ride in the attachment only when there are (or were) some.
  const pending = l.codec.state().pending;
  if (pending.length > 0 || hadPending) {
    st.pending = pending;
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
      return onPublish(ws, l, p, port, c.v, c.cid);
    case "puback":
      if (c.persistent && p.messageId !== undefined) sessionsOf(port).acked(c.cid, p.messageId);
      return;
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

async function onConnect(ws: WebSocket, l: Live, p: IConnectPacket, port: RoomPort): Promise<void> {
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
  if (st.tokenPending) {
    const secret = port.env.AUTH_SECRET;
    try {
      if (!secret || decided.password === undefined) throw new Error("no token");
      const identity = await verifyRoomToken(decided.password, secret, port.name);
      Object.assign(l.att, identity);
      st.tokenPending = false;
      if (identity.exp !== null) await port.expireAt(identity.exp * 1000);
    } catch {
      return refuse("not_authorized", CloseCode.Policy, "not authorized: the CONNECT password must be a valid token for this room");
    }
    if (stateOf(l.att).ended) return;
  }

  // A session: kept unless clean start with no expiry (then any stored one is dropped).
  const sessions = sessionsOf(port);
  const persistent = !decided.cleanStart || decided.sessionExpirySeconds > 0;
  let session: SessionState | null = null;
  let present = false;
  if (persistent) {
    if (sessions.held(decided.clientId)) takeOver(ws, port, decided.clientId);
    const opened = sessions.open(decided.clientId, {
      cleanStart: decided.cleanStart,
      expirySeconds: decided.sessionExpirySeconds,
      latestSeq: port.latestSeq(),
      now: Date.now(),
    });
    if (!opened.ok) return refuse("unavailable", CloseCode.Policy, "the room holds the most MQTT sessions it may");
    session = opened.session;
    present = opened.sessionPresent;
  } else {
    sessions.drop(decided.clientId);
  }

  const subs = session?.subscriptions ?? [];
  st.connected = { v, cid: decided.clientId, persistent, subs };
  st.will = decided.will;
  l.codec.setVersion(v);
  port.setFilters(ws, l.att, subs.map((s) => s.filter)); // also saves the attachment
  send(ws, l, acceptedConnack(decided, present, packetLimitFor(port.limits.maxMessageBytes)), v);
  if (present && session !== null) resume(ws, l, port, session);
}

/** A second connection with the same client id takes the session: the first is closed (5.0: DISCONNECT 0x8E). */
function takeOver(by: WebSocket, port: RoomPort, clientId: string): void {
  for (const ws of port.sockets("mqtt")) {
    if (ws === by) continue;
    const l = liveOf(ws, port);
    const st = stateOf(l.att);
    if (st.connected?.cid !== clientId || st.ended) continue;
    st.takenOver = true;
    fail(ws, l, port, st.connected.v, Reason.SessionTakenOver, "session taken over by a new connection", CloseCode.Normal);
  }
}

function onPublish(ws: WebSocket, l: Live, p: IPublishPacket, port: RoomPort, v: MqttVersion, cid: string): void {
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
  const fingerprint = publishFingerprint(decision.topic, decision.payload);
  if (!isRetriedPublish(decision.dup, fingerprint, sessions.inbound(cid, decision.packetId))) {
    const seq = port.publish(input, ws);
    sessions.recordInbound(cid, decision.packetId, seq, fingerprint, Date.now());
  }
  port.ackAfterCommit(ws, l.codec.encode(puback(v, decision.packetId)));
}

function onSubscribe(ws: WebSocket, l: Live, p: ISubscribePacket, port: RoomPort): void {
  const c = stateOf(l.att).connected!;
  const existing = new Set(c.subs.map((s) => s.filter));
  const { granted, suback } = decideSubscribe(c.v, p, hasScope(l.att, "subscribe"), existing);
  const byFilter = new Map(c.subs.map((s) => [s.filter, s]));
  for (const g of granted) byFilter.set(g.filter, g);
  c.subs = [...byFilter.values()];
  port.setFilters(ws, l.att, c.subs.map((s) => s.filter));
  if (c.persistent && granted.length > 0) sessionsOf(port).subscribe(c.cid, granted);
  send(ws, l, suback);
  // Retained values of the new subscriptions, retain flag set, oldest seq first (5.0 Retain Handling honoured).
  const wanted = granted.filter((g) => g.retainHandling === 0 || (g.retainHandling === 1 && !existing.has(g.filter)));
  if (wanted.length === 0) return;
  for (const r of port.retained(wanted.map((g) => g.filter))) {
    const d = deliveryFor(wanted, r.topic, false);
    if (d === null) continue;
    const { bytes } = outboundPayloadOfEnvelope(r.envelope);
    safeSend(ws, publishBytes(c.v, r.topic, bytes, d.qos, r.seq, true));
  }
}

function onUnsubscribe(ws: WebSocket, l: Live, p: IUnsubscribePacket, port: RoomPort): void {
  const c = stateOf(l.att).connected!;
  const existing = new Set(c.subs.map((s) => s.filter));
  const unsuback = decideUnsubscribe(c.v, p, existing);
  const gone = new Set(p.unsubscriptions);
  c.subs = c.subs.filter((s) => !gone.has(s.filter));
  port.setFilters(ws, l.att, c.subs.map((s) => s.filter));
  if (c.persistent) sessionsOf(port).unsubscribe(c.cid, p.unsubscriptions);
  send(ws, l, unsuback);
}

function onDisconnect(ws: WebSocket, l: Live, p: IDisconnectPacket, port: RoomPort): void {
  const st = stateOf(l.att);
  const c = st.connected!;
  // 5.0 reason 0x04 "disconnect with will message" keeps the will; any other DISCONNECT withdraws it.
  if (p.reasonCode !== 0x04) st.will = null;
  const expiry = p.properties?.sessionExpiryInterval;
  if (c.v === 5 && expiry !== undefined && c.persistent) sessionsOf(port).setExpiry(c.cid, Math.min(expiry, MAX_SESSION_EXPIRY_SECONDS));
  end(ws, l, port);
  port.shed(ws, CloseCode.Normal, "DISCONNECT", l.att);
}

function outboundPayloadSize(will: Will): number {
  return will.payload.kind === "binary" ? will.payload.value.byteLength : new TextEncoder().encode(String(will.payload.value)).byteLength;
}

// ---- outbound ----------------------------------------------------------------

/**
 * A session came back: in one pass over history, in seq order, the messages
 * it had not acknowledged (same packet id, DUP set), then every message after
 * the point it was served through that matches its subscriptions. A replay
 * bigger than one reader may hold stops there and closes the socket; the
 * client reconnects and the session goes on from where it stopped.
 */
function resume(ws: WebSocket, l: Live, port: RoomPort, session: SessionState): void {
  const c = stateOf(l.att).connected!;
  const sessions = sessionsOf(port);
  const inflight = new Map(session.inflight.map((m) => [m.seq, m.packetId]));
  const start = Math.min(session.deliveredThrough, ...session.inflight.map((m) => m.seq - 1));
  // In-flight messages history no longer holds cannot be sent again.
  for (const m of session.inflight) if (m.seq < port.oldestSeq()) sessions.acked(c.cid, m.packetId);
  const sent: InflightMessage[] = [];
  let through = session.deliveredThrough;
  let bytes = 0;
  const complete = port.replay(start, (row) => {
    const again = inflight.has(row.seq);
    if (!again && row.seq <= session.deliveredThrough) return true;
    const d = row.topic === null ? null : deliveryFor(c.subs, row.topic, false);
    if (d !== null || again) {
      if (bytes > port.limits.slowConsumerBytes) return false;
      const qos = again ? 1 : d!.qos;
      const frame = publishBytes(c.v, row.topic!, outboundPayloadOfEnvelope(row.envelope).bytes, qos, row.seq, false, again);
      safeSend(ws, frame);
      bytes += frame.byteLength;
      if (qos === 1 && !again) sent.push({ seq: row.seq, packetId: packetIdFor(row.seq) });
    }
    through = Math.max(through, row.seq);
    return true;
  });
  sessions.sentBatch(c.cid, sent, through);
  if (!complete) port.shed(ws, CloseCode.SlowConsumer, "session replay continues on the next connection", l.att);
}

function deliver(ws: WebSocket, m: OutboundMessage, _frame: string | Uint8Array, port: RoomPort): number {
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
    if (b === undefined) batchSent.set(c.cid, (b = { sent: [], through: 0 }));
    if (d.qos === 1) b.sent.push({ seq: m.seq, packetId: packetIdFor(m.seq) });
    b.through = m.seq;
  }
  return frame.byteLength;
}

function afterBatch(port: RoomPort): void {
  if (batchSent.size === 0) return;
  const sessions = sessionsOf(port);
  for (const [cid, b] of batchSent) sessions.sentBatch(cid, b.sent, b.through);
  batchSent.clear();
}

const session: SessionProtocol = {
  frame(ws, frame, port) {
    const l = liveOf(ws, port);
    l.chain = l.chain
      .then(() => onFrame(ws, l, frame, port))
      .catch((e: unknown) => {
        // A bug of ours must not take the room down: this connection ends, as a protocol error.
        console.error(`room ${port.name}: MQTT connection failed`, e);
        closeSocket(ws, WS_PROTOCOL_ERROR, "MQTT connection failed");
      });
  },
  deliver,
  afterBatch,
  ended(ws, port) {
    end(ws, liveOf(ws, port), port);
  },
};

const EMPTY = new Uint8Array(0);

export const mqttAdapter: SocketAdapter = {
  kind: "mqtt",
  control: false,
  session,
  // Never used: the session hooks take every frame and build every packet.
  parse: () => ({ error: "bad_frame", message: "MQTT frames are handled by the MQTT session" }),
  message: () => EMPTY,
  replayed: () => EMPTY,
  welcome: () => null,
  presence: () => null,
  ack: () => null,
  error: () => null,
};

