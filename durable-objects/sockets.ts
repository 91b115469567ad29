/**
 * What the Room keeps on each WebSocket, and the few ways it touches one.
 * Per-socket state lives in the attachment (it survives hibernation; fields
 * do not), and every send or close goes through here so that the harmless
 * errors of a socket that is going away are handled in one place.
 */
import type { Identity } from "../handoff/identity";
import type { ConnectionBucket } from "./rate-limit";

/** The wire formats a WebSocket can speak; each has its adapter in adapters/. */
export type SocketKind = "json" | "raw" | "mqtt";

/** What each socket carries through hibernation. Kept small: attachments hold 16 KiB. */
export interface Attachment extends Identity {
  id: string;
  kind: SocketKind;
  echo: boolean;
  connectedAt: number;
  bucket: ConnectionBucket;
  /** Topic filters (`topics=`): only messages whose topic matches one; null: every message. */
  filters: string[] | null;
  /** `batch=1` (JSON only): messages due at once go in batch frames; the socket also carries TAG_BATCH. */
  batch?: true;
  /** `conflate=<ms>`: per topic, the latest message per interval; the socket also carries TAG_CONFLATE. */
  conflate?: number;
  /** A stateful adapter's own per-socket state (MQTT: its connection and session); the core never reads it. */
  state?: unknown;
  /** Set just before the room itself closes the socket: it has already left the count. */
  closing?: true;
  /**
   * Not a member yet: an MQTT socket whose upgrade carried no token, until
   * its CONNECT is accepted. It holds no slot of MAX_CONNECTIONS_PER_ROOM and
   * is not in presence (presence.ts counts these apart); it carries
   * TAG_PENDING from its accept, as tags cannot change later.
   */
  pending?: true;
}

/**
 * Socket tags: fan-out and presence pick sockets by tag without reading
 * attachments. Every socket carries its kind; sockets that get presence
 * frames (asked for and allowed by their token) also carry TAG_PRESENCE.
 */
export const TAG_PRESENCE = "presence";
/** Sockets with topic filters: the fan-out checks their filters, and no one else's. */
export const TAG_FILTERED = "filtered";
/** Sockets that take batch frames (Attachment.batch): the fan-out builds their frames once per batch. */
export const TAG_BATCH = "batch";
/** Conflating sockets (Attachment.conflate): the fan-out queues their messages (conflate.ts). */
export const TAG_CONFLATE = "conflate";
/** Sockets accepted as not yet members (Attachment.pending): the only ones whose attachments the counts read. */
export const TAG_PENDING = "pending";

/** What workerd lets one attachment hold, serialized: serializeAttachment throws past it. */
export const ATTACHMENT_MAX_BYTES = 16 * 1024;

/**
 * An upper bound of `value`'s size as serializeAttachment writes it (V8's
 * structured clone): a string is one byte a character only while every
 * character fits in Latin-1 (else two: UTF-8 length would undercount it),
 * a number at most 9, each entry a few bytes of tags and lengths. State
 * that can grow checks this before it grows, instead of finding out from
 * a throw.
 */
export function serializedBytes(value: unknown): number {
  if (typeof value === "string") return 5 + (/^[\x00-\xff]*$/.test(value) ? value.length : 2 * value.length);
  if (typeof value === "number") return 9;
  if (value === null || value === undefined || typeof value === "boolean") return 1;
  if (value instanceof Uint8Array) return 24 + value.byteLength;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + serializedBytes(v), 16);
  if (typeof value === "object") {
    let n = 10;
    for (const [k, v] of Object.entries(value)) if (v !== undefined) n += serializedBytes(k) + serializedBytes(v);
    return n;
  }
  return 16;
}

export function attachmentOf(ws: WebSocket): Attachment {
  return ws.deserializeAttachment() as Attachment;
}

/** Sending to a socket that is closing throws; that is harmless and ends here. */
export function safeSend(ws: WebSocket, data: string | ArrayBuffer | Uint8Array): void {
  try {
    ws.send(data);
  } catch {
    // The socket is going away; its close handler does the bookkeeping.
  }
}

export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // Already closed.
  }
}

/** 1005 and 1006 describe a close but cannot be sent in one. */
export function answerableCode(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 ? 1000 : code;
}
