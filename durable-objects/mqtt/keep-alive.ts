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
  const silence = allowedSilenceMs(c?.ka ?? 0);
  if (c === undefined || st.ended || silence === null) return null;
  const deadline = Math.max(l?.seenAt ?? 0, st.seenAt ?? 0) + silence;
  if (now < deadline) return deadline;
  fail(ws, l ?? liveOf(ws, port), port, c.v, Reason.KeepAliveTimeout, "keep-alive timeout: nothing heard for 1.5 × Keep Alive", CloseCode.Policy);
  return null;
}
