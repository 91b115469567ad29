/**
 * Where a fleet points: a relay's origin and the token its clients present,
 * plus the few plain HTTP reads a load run needs of a room.
 */
import { roomHttpUrl, type RoomDescription } from "../../protocol/index.js";

export interface Target {
  /** The relay's origin, `http(s)://` (or `ws(s)://`). */
  url: string;
  /** A token with the scopes the fleet needs (subscribe publish); none in open mode. */
  token?: string;
}

/** Headers of an HTTP request to the target. */
export function authHeaders(target: Target): Record<string, string> {
  return target.token ? { authorization: `Bearer ${target.token}` } : {};
}

/** Rooms `P-0` … `P-(n-1)`. */
export function roomNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** A fresh random prefix, so a run never meets an earlier run's rooms. */
export function randomPrefix(): string {
  return `sim-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** The room's latest seq and its epoch, from `GET /rooms/:room`. */
export async function roomState(target: Target, room: string): Promise<{ seq: number; epoch: string }> {
  const res = await fetch(roomHttpUrl(target.url, room), { headers: authHeaders(target) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /rooms/${room}: HTTP ${res.status} ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as RoomDescription;
  return { seq: body.seq, epoch: body.epoch };
}

/**
 * Which instance of the room's object answers, from
 * `GET /rooms/:room/diagnostics` (it changes each time the object is
 * constructed again: a change across an idle gap means it was evicted).
 * Null when the relay runs without DIAGNOSTICS (the route is then a 404).
 */
export async function roomInstance(target: Target, room: string): Promise<string | null> {
  const res = await fetch(`${roomHttpUrl(target.url, room)}/diagnostics`, { headers: authHeaders(target) });
  const text = await res.text();
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`GET /rooms/${room}/diagnostics: HTTP ${res.status} ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { instance: string }).instance;
}
