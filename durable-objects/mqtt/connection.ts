/**
 * One MQTT connection as the adapter's files share it. What must survive
 * hibernation is in the attachment's `state` (MqttState); the codec and a
 * copy of the attachment are cached per socket only while the room is awake,
 * and rebuilt from the attachment when it wakes.
 */
import { storeOf } from "../sql-tables";
import type { Packet } from "mqtt-packet";
import type { RoomPort } from "../adapters/adapter";
import { ATTACHMENT_MAX_BYTES, attachmentOf, safeSend, serializedBytes, type Attachment } from "../sockets";
import { MqttCodec, packetLimitFor, type MqttVersion } from "./codec";
import type { GrantedSubscription, SubscriptionBudget, Will } from "./protocol";
import { sessionId, SessionStore, type SessionId } from "./session-store";

/** WebSocket close code after an MQTT-level end (5.0 also sends DISCONNECT with its reason first). */
export const WS_PROTOCOL_ERROR = 1002;

/**
 * Bytes of the attachment left free for what the state may still gain
 * (seenAt, the end flags, `closing`): what a client can grow at will (its
 * subscriptions, a split packet's bytes) stops short of this.
 */
export const STATE_HEADROOM_BYTES = 1024;

/**
 * What new subscriptions may take of this socket's attachment: each is kept
 * twice (its filter in `filters`, which the core's fan-out matches, and its
 * grant in `connected.subs`). What does not fit is refused, never saved to
 * fail: serializeAttachment throws past 16 KiB.
 */
export function subscriptionBudget(att: Attachment): SubscriptionBudget {
  return {
    bytesLeft: ATTACHMENT_MAX_BYTES - STATE_HEADROOM_BYTES - serializedBytes(att),
    cost: (g) => serializedBytes(g.filter) + serializedBytes(g),
  };
}

/** Whether `att` as it is now can be saved with the headroom above to spare (checked where a client can grow it: a split packet's bytes). */
export function fitsAttachment(att: Attachment): boolean {
  return serializedBytes(att) <= ATTACHMENT_MAX_BYTES - STATE_HEADROOM_BYTES;
}

/** What an MQTT socket carries through hibernation (in `Attachment.state`). */
export interface MqttState {
  /** AUTH_SECRET is set and the upgrade had no token: CONNECT's password must carry it. */
  tokenPending?: boolean;
  /** Set once CONNECT is accepted. */
  connected?: Connected;
  will?: Will | null;
  /** Bytes of a packet split across frames (rarely non-empty). */
  pending?: Uint8Array;
  /** When the client was last heard, ms (keep-alive.ts: at most a second or a quarter of its Keep Alive stale). */
  seenAt?: number;
  /** The end was handled (will published or dropped, session closed). */
  ended?: boolean;
  /** A newer connection took this client id's session: this one must not close it. */
  takenOver?: boolean;
}

export interface Connected {
  v: MqttVersion;
  cid: string;
  persistent: boolean;
  subs: GrantedSubscription[];
  /** Keep Alive from CONNECT, seconds (0: none); absent in attachments written before keep-alive was timed. */
  ka?: number;
  /** The 5.0 client's Receive Maximum: QoS 1 PUBLISHes it takes unacknowledged (absent: it set none, no window). */
  rm?: number;
  /** QoS 1 PUBLISHes sent on this connection and not yet acknowledged (counted only with `rm`). */
  fly?: number;
  /**
   * Set while the connection is served from history, not live (a session's
   * return, or a full `rm` window): every message through this seq is
   * handled. Two numbers, so the window costs the attachment a few bytes
   * whatever is waiting (it waits in history).
   */
  behind?: number;
  /** The 5.0 client's Maximum Packet Size (bytes): no packet larger is sent to it; absent: no limit of its own. */
  mps?: number;
  /** The 5.0 client's Topic Alias Maximum: how many topic aliases it takes from the relay (absent: none). */
  tam?: number;
}

/**
 * Whether a PUBLISH of `bytes` may go to this client. One that may not is
 * discarded for it, as if sent ([MQTT-3.1.2-25]): the client never sees it,
 * it takes no Receive Maximum slot, and a session does not wait for it.
 */
export function fitsClient(c: Connected, bytes: Uint8Array): boolean {
  return c.mps === undefined || bytes.byteLength <= c.mps;
}

export interface Live {
  att: Attachment;
  codec: MqttCodec;
  /** Frames of this socket are handled one after the other (CONNECT awaits the token check). */
  chain: Promise<void>;
  /** When a frame last arrived, while the room is awake (keep-alive.ts). */
  seenAt?: number;
  /**
   * Verdicts this connection still awaits: its PUBLISHes whose batch is not
   * committed yet. Packets are answered in order, so an end decided by a
   * later packet waits for them (`afterAnswers`): a message the room stores
   * is always acknowledged, even when a refused packet follows it in the
   * same frame. Only while awake: a batch commits within the turn.
   */
  owed: number;
  afterOwed: Array<() => void>;
  /** An end is decided (it may wait for `owed`): no further packet is handled. */
  failing?: boolean;
  /**
   * Topic aliases this relay gave the client (5.0, when its CONNECT allows
   * some): in memory only. After a hibernation the map starts empty and each
   * topic is sent again with its name and an alias, which redefines that
   * alias for the client ([MQTT-3.3.2-12] lets the sender do so at any time).
   */
  aliases?: Map<string, number>;
}

const live = new WeakMap<WebSocket, Live>();
const sessionStores = new WeakMap<SqlStorage, SessionStore>();

export function liveOf(ws: WebSocket, port: RoomPort): Live {
  let l = live.get(ws);
  if (l === undefined) {
    const att = attachmentOf(ws);
    const st = stateOf(att);
    const codec = new MqttCodec(packetLimitFor(port.limits.maxMessageBytes), {
      version: st.connected?.v ?? null,
      pending: st.pending ?? new Uint8Array(0),
    });
    l = { att, codec, chain: Promise.resolve(), owed: 0, afterOwed: [] };
    live.set(ws, l);
  }
  return l;
}

/** The socket's cached state if the room built it in this wake; never builds it. */
export function peekLive(ws: WebSocket): Live | undefined {
  return live.get(ws);
}

/** The connection's end is decided or done: its remaining packets are not handled. */
export function over(l: Live): boolean {
  return l.failing === true || stateOf(l.att).ended === true;
}

/** A PUBLISH of this connection awaits its verdict. */
export function owe(l: Live): void {
  l.owed++;
}

/** A verdict was answered; once none is owed, what waited for them runs, in order. */
export function settle(l: Live): void {
  if (--l.owed > 0) return;
  for (const next of l.afterOwed.splice(0)) next();
}

/** Runs `next` once every verdict this connection awaits has been answered (at once when none is). */
export function afterAnswers(l: Live, next: () => void): void {
  if (l.owed === 0) next();
  else l.afterOwed.push(next);
}

export function stateOf(att: Attachment): MqttState {
  att.state ??= {};
  return att.state as MqttState;
}

/** The room's session tables, migrated on first use in each wake: a room no MQTT client reached never has them. */
export function sessionsOf(port: RoomPort): SessionStore {
  return storeOf(sessionStores, port.sql, (sql) => new SessionStore(sql));
}

/** The session this connection's client id names, owned by its token's `sub` (session-store.ts). */
export function sessionIdOf(att: Attachment): SessionId {
  return sessionId(att.sub, stateOf(att).connected!.cid);
}

export function save(ws: WebSocket, l: Live): void {
  ws.serializeAttachment(l.att);
}

export function send(ws: WebSocket, l: Live, packet: Packet, version?: MqttVersion): number {
  const bytes = l.codec.encode(packet, version);
  safeSend(ws, bytes);
  return bytes.byteLength;
}
