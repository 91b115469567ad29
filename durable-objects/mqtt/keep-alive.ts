/**
 * MQTT keep-alive, timed by the room: a client that sends nothing for one
 * and a half times its Keep Alive is disconnected as if the network had
 * failed ([MQTT-3.1.2-22]; 5.0 [MQTT-3.1.2-24], with DISCONNECT 0x8D first),
 * so its will goes out even when its link died without a FIN.
 *
 * No timer per connection (hibernation drops timers): when a socket was last
 * heard rides in its attachment, written at most every SEEN_WRITE_MS (a
 * quarter of its Keep Alive when that is shorter), and the room's alarm,
 * which already sweeps for expired tokens, looks at every MQTT socket. A live
 * client's deadline is always at least half its Keep Alive away, so the
 * alarm fires at most about that often, and not more than once a second
 * (SWEEP_MIN_GAP_MS in ../expiry.ts).
 *
 * The same alarm ends a socket that never sends CONNECT: MQTT_CONNECT_TIMEOUT_SECONDS
 * (default 10, at most 30) after its upgrade ([MQTT-3.1.4]: a server
 * SHOULD close a connection whose CONNECT does not come in a reasonable
 * time). Until CONNECT such a socket is sent nothing, and one without a
 * token holds no slot (Attachment.pending), so this bounds how long it can
 * weigh on the room at all; being the alarm, it holds across hibernation.
 */
import { CloseCode } from "../../protocol";
import type { RoomPort } from "../adapters/adapter";
import { attachmentOf, type Attachment } from "../sockets";
import { liveOf, peekLive, save, stateOf, type Live } from "./connection";
import { fail } from "./end";
import { Reason } from "./reasons";

/** Silence allowed, as a multiple of the client's Keep Alive. */
export const KEEP_ALIVE_FACTOR = 1.5;
/** The attachment's `seenAt` is at most this stale (or a quarter of the Keep Alive). */
export const SEEN_WRITE_MS = 1000;

/** How long a client with this Keep Alive (seconds; 0 = none) may stay silent, in ms; null for none. */
export function allowedSilenceMs(keepaliveSeconds: number): number | null {
  return keepaliveSeconds > 0 ? keepaliveSeconds * 1000 * KEEP_ALIVE_FACTOR : null;
}

/**
 * A CONNECT comes within milliseconds of the upgrade from every real client,
 * so the alarm is armed only for a socket still without one this long after:
 * an alarm per upgrade would wake every room ten seconds after each device
 * connected, keeping it from hibernating. (A room is never evicted this soon
 * after an event; and any later sweep looks at every socket anyway.)
 */
export const CONNECT_ARM_AFTER_MS = 1000;

/** A socket was just accepted: if it has no CONNECT soon, the alarm must look at it by its CONNECT deadline. */
export function awaitConnect(ws: WebSocket, port: RoomPort): Promise<void> {
  const deadline = attachmentOf(ws).connectedAt + port.limits.mqttConnectTimeoutMs;
  setTimeout(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const st = stateOf(peekLive(ws)?.att ?? attachmentOf(ws));
    if (st.connected === undefined && !st.ended) void port.expireAt(deadline);
  }, CONNECT_ARM_AFTER_MS);
  return Promise.resolve();
}

/** A frame arrived from `ws`: it is alive. */
export function heard(ws: WebSocket, l: Live, now: number): void {
  l.seenAt = now;
  const st = stateOf(l.att);
  const ka = st.connected?.ka ?? 0;
  if (ka <= 0) return;
  if (now - (st.seenAt ?? 0) >= Math.min(SEEN_WRITE_MS, (ka * 1000) / 4)) {
    st.seenAt = now;
    save(ws, l);
  }
}

/**
 * The alarm's look at one MQTT socket: ends it if it has been silent too
 * long; otherwise returns when it must next be looked at (null: never).
 */
export function sweep(ws: WebSocket, now: number, port: RoomPort): number | null {
  const l = peekLive(ws);
  const att: Attachment = l?.att ?? attachmentOf(ws);
  const st = stateOf(att);
  const c = st.connected;
  if (st.ended) return null;
  if (c === undefined) {
    // No CONNECT accepted yet (a CONNECT awaiting its token check is not
    // accepted either: the check takes milliseconds, the deadline seconds).
    const deadline = att.connectedAt + port.limits.mqttConnectTimeoutMs;
    if (now < deadline) return deadline;
    const seconds = port.limits.mqttConnectTimeoutMs / 1000;
    fail(ws, l ?? liveOf(ws, port), port, null, 0, `no CONNECT within ${seconds} s`, CloseCode.Policy);
    return null;
  }
  const silence = allowedSilenceMs(c.ka ?? 0);
  if (silence === null) return null;
  const deadline = Math.max(l?.seenAt ?? 0, st.seenAt ?? 0) + silence;
  if (now < deadline) return deadline;
  fail(ws, l ?? liveOf(ws, port), port, c.v, Reason.KeepAliveTimeout, "keep-alive timeout: nothing heard for 1.5 × Keep Alive", CloseCode.Policy);
  return null;
}
