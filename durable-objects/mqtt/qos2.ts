/**
 * QoS 2's second half, both ways: PUBREL from a client that sent a QoS 2
 * PUBLISH (its packet id is free again: PUBCOMP), and PUBREC / PUBCOMP from
 * a client we sent one to (PUBREL, then the exchange is complete). A
 * persistent session's side of each is in its store (session-store.ts,
 * "QoS 2"), so a session that returns resumes where the exchange stood.
 */
import type { RoomPort } from "../adapters/adapter";
import { send, sessionIdOf, sessionsOf, type Connected, type Live } from "./connection";
import { pubcomp, pubrel } from "./protocol";
import { freedSlot } from "./session-delivery";

/** Inbound PUBREL: release the packet id (whoever's: a clean session's ids are held too) and answer PUBCOMP. */
export function onPubrel(ws: WebSocket, l: Live, c: Connected, packetId: number, port: RoomPort): void {
  sessionsOf(port).qos2Released(sessionIdOf(l.att), packetId);
  send(ws, l, pubcomp(packetId));
}

/** PUBREC for an outbound QoS 2 message: PUBREL, remembered by a persistent session so it is resent, not the message. */
export function onPubrec(ws: WebSocket, l: Live, c: Connected, packetId: number, port: RoomPort): void {
  if (c.persistent) sessionsOf(port).qos2Recorded(sessionIdOf(l.att), packetId);
  send(ws, l, pubrel(packetId));
}

/** PUBCOMP: the outbound exchange is complete, and the client's Receive Maximum window has room for one more. */
export function onPubcomp(ws: WebSocket, l: Live, c: Connected, packetId: number, port: RoomPort): void {
  if (c.persistent) sessionsOf(port).qos2Completed(sessionIdOf(l.att), packetId);
  freedSlot(ws, l, port);
}
