/**
 * How an MQTT connection ends: a protocol failure, a DISCONNECT, or the
 * socket going away. Each way runs `end` once, which is where the will is
 * published and a persistent session is closed.
 */
import type { IDisconnectPacket } from "mqtt-packet";
import { CloseCode } from "../../protocol";
import type { RoomPort } from "../adapters/adapter";
import type { MqttVersion } from "./codec";
import { afterAnswers, save, send, sessionIdOf, sessionsOf, stateOf, WS_PROTOCOL_ERROR, type Live } from "./connection";
import { MAX_SESSION_EXPIRY_SECONDS } from "./protocol";
import { Reason } from "./reasons";
import { delayedWillsOf, publishWill, willDueAt } from "./will-delay";

/**
 * Ends the connection for a protocol reason: 5.0 DISCONNECT first; the will
 * goes out (no DISCONNECT from the client). Packets before the one that
 * failed are answered first: a PUBLISH the room is storing gets its PUBACK
 * before the DISCONNECT and the close (connection.ts `afterAnswers`).
 */
export function fail(ws: WebSocket, l: Live, port: RoomPort, v: MqttVersion | null, reason: number, message: string, wsCode = WS_PROTOCOL_ERROR): void {
  if (l.failing) return;
  l.failing = true;
  afterAnswers(l, () => {
    if (v === 5 && !stateOf(l.att).ended) send(ws, l, { cmd: "disconnect", reasonCode: reason } as IDisconnectPacket, 5);
    end(ws, l, port);
    port.shed(ws, wsCode, message, l.att);
  });
}

/**
 * An operator ends the connection (a kick, a revoked token): 5.0 gets
 * DISCONNECT 0x98 Administrative action first. A kick keeps the will, as a
 * server-side close does in MQTT (a device's "offline" will is what its
 * subscribers expect); a revocation drops it: the token is no longer trusted to publish.
 */
export function dismiss(ws: WebSocket, l: Live, port: RoomPort, code: number, message: string, keepWill: boolean): void {
  const st = stateOf(l.att);
  if (!keepWill) st.will = null;
  fail(ws, l, port, st.connected?.v ?? null, Reason.AdministrativeAction, message, code);
}

/** The connection is over: publish the will unless DISCONNECT withdrew it; close the session (once). */
export function end(ws: WebSocket, l: Live, port: RoomPort): void {
  const st = stateOf(l.att);
  if (st.ended) return;
  st.ended = true;
  const c = st.connected;
  if (c !== undefined) {
    const will = st.will;
    // A session taken over by a new connection before a delayed will is due: the will does not go out ([MQTT-3.1.3-9]).
    if (will && !(st.takenOver && will.delay !== undefined)) {
      const now = Date.now();
      // 5.0 Will Delay: held until the delay or the session ends, whichever is first (will-delay.ts).
      const sessionSeconds = c.persistent && !st.takenOver ? (sessionsOf(port).load(sessionIdOf(l.att))?.expirySeconds ?? 0) : 0;
      const dueAt = will.delay === undefined ? now : willDueAt(now, will.delay, sessionSeconds);
      if (dueAt > now) {
        delayedWillsOf(port).hold(sessionIdOf(l.att), dueAt, l.att.id, will, l.att);
        void port.expireAt(dueAt);
      } else {
        publishWill(port, l.att.id, will, l.att);
      }
    }
    if (c.persistent && !st.takenOver) sessionsOf(port).close(sessionIdOf(l.att), Date.now());
  }
  st.will = null;
  save(ws, l);
}

export function onDisconnect(ws: WebSocket, l: Live, p: IDisconnectPacket, port: RoomPort): void {
  const st = stateOf(l.att);
  const c = st.connected!;
  // 5.0 reason 0x04 "disconnect with will message" keeps the will; any other DISCONNECT withdraws it.
  if (p.reasonCode !== 0x04) st.will = null;
  const expiry = p.properties?.sessionExpiryInterval;
  if (c.v === 5 && expiry !== undefined && c.persistent) sessionsOf(port).setExpiry(sessionIdOf(l.att), Math.min(expiry, MAX_SESSION_EXPIRY_SECONDS));
  end(ws, l, port);
  port.shed(ws, CloseCode.Normal, "DISCONNECT", l.att);
}
