/**
 * The Roomcast wire protocol: every frame, envelope and close code that the
 * Room object and the client library exchange. Both sides import this module,
 * so it must stay free of Workers-only and Node-only APIs.
 */

import type { MessageProperties } from "./properties.js";
export type { MessageProperties } from "./properties.js";

/** Room names, as docs/protocol.md states them. */
export const ROOM_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function isValidRoomName(name: string): boolean {
  return ROOM_NAME.test(name);
}

/**
 * Every connection id starts with this, and no token `sub` may: a message's
 * `from` is a connection id (WebSocket publish) or a sub (HTTP publish), so
 * the two namespaces must never meet, or a token could publish "as" someone
 * else's connection.
 */
export const CONNECTION_ID_PREFIX = "c_";

/** The text frame answered by the runtime's auto-response, without waking the room. */
export const PING = "ping";
export const PONG = "pong";

/** WebSocket close codes used by the relay. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Policy: 1008,
  TooBig: 1009,
  Internal: 1011,
  /** The socket fell too far behind (it stopped reading): reconnect and resume. */
  SlowConsumer: 4008,
  /** The token expired: refresh it and reconnect. */
  TokenExpired: 4401,
  /** Forbidden: do not reconnect. */
  Forbidden: 4403,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes after which a client must not reconnect by itself. */
export const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.Policy, CloseCode.Forbidden]);

/** Error codes carried by `error` frames and by HTTP JSON errors. */
export type ErrorCode =
  | "bad_request"
  | "bad_room_name"
  | "bad_frame"
  | "bad_json"
  | "unknown_type"
  | "bad_since"
  | "unauthorized"
  | "token_expired"
  | "forbidden"
  | "origin_forbidden"
  | "host_forbidden"
  | "not_found"
  | "method_not_allowed"
  | "too_large"
  | "upgrade_required"
  | "rate_limited"
  | "room_full"
  | "room_busy"
  | "bad_topic"
  | "hook_failed"
  | "retained_truncated"
  | "unavailable"
  | "token_revoked"
  | "internal";

/**
 * Body of every HTTP error, the edge's and the room's alike. A deployer's
 * hook may refuse with a code of its own (snake_case), hence the open string.
 */
export interface ErrorBody {
  error: { code: ErrorCode | (string & {}); message: string };
}

/** The one JSON error answer: `{"error":{"code","message"}}` with its status. */
export function errorResponse(status: number, code: ErrorBody["error"]["code"], message: string, headers?: HeadersInit): Response {
  const body: ErrorBody = { error: { code, message } };
  return Response.json(body, { status, headers });
}

// ---- server to client -------------------------------------------------------

export interface WelcomeFrame {
  type: "welcome";
  room: string;
  /** This connection's id. */
  id: string;
  /** The room's latest sequence number. */
  seq: number;
  epoch: string;
  /** True when a requested resume was served in full. */
  recovered: boolean;
  /** Connections in the room, this one included. */
  count: number;
}

export interface MessageEnvelope {
  type: "message";
  room: string;
  seq: number;
  /** Id of the publishing connection (or the HTTP publisher). */
  from: string;
  /** Milliseconds since the Unix epoch when the room accepted it. */
  ts: number;
  /** The message's topic, when it was published with one. */
  topic?: string;
  /** The payload; base64 when `binary` is true. */
  data: unknown;
  binary?: true;
  /** Published as the topic's retained value. */
  retain?: true;
  /**
   * Published with `history: false`: delivered live, never stored or
   * replayed. It has no seq of its own: `seq` is that of the stored message
   * it follows, and it does not move a reader's resume point.
   */
  live?: true;
  /**
   * The QoS an MQTT client published it at, when below 2: an MQTT subscriber
   * gets it at most at this QoS (docs/mqtt.md). Absent: QoS 2, and every
   * message from another door (the room stored it before acking).
   */
  qos?: 0 | 1;
  /** Its properties (MQTT 5 PUBLISH properties, or a JSON publisher's `properties`): docs/protocol.md. */
  properties?: MessageProperties;
}

export interface PresenceFrame {
  type: "presence";
  event: "join" | "leave";
  id: string;
  meta: Record<string, unknown>;
  count: number;
}

/**
 * Past PRESENCE_EVENTS_MAX members a room stops sending per-member join and
 * leave frames and sends the count instead, coalesced (docs/protocol.md).
 * Clients ignore presence events they do not know.
 */
export interface PresenceCountFrame {
  type: "presence";
  event: "count";
  count: number;
}

export type PresenceEvent = PresenceFrame | PresenceCountFrame;

export interface AckFrame {
  type: "ack";
  id: string;
  seq: number;
}

export interface ErrorFrame {
  type: "error";
  /** An ErrorCode, or a deployer's hook's own refusal code (snake_case). */
  code: ErrorCode | (string & {});
  message: string;
}

/**
 * `batch=1` sockets: the messages due to the reader at once (one batch of
 * the room, a replay), in seq order, in as few frames as fit in
 * BATCH_FRAME_MAX_BYTES. A socket that asked for them still gets plain
 * `message` frames too (a batch of one is sent as its envelope).
 */
export interface BatchFrame {
  type: "batch";
  messages: MessageEnvelope[];
}

/** A batch frame's size cap in UTF-8 bytes, unless one envelope alone is larger (then it goes alone). */
export const BATCH_FRAME_MAX_BYTES = 64 * 1024;

/** Bounds of `conflate=<ms>`: below the lower bound it would not conflate, above the upper it would hide a value too long. */
export const MIN_CONFLATE_MS = 10;
export const MAX_CONFLATE_MS = 60_000;

export type ServerFrame = WelcomeFrame | MessageEnvelope | BatchFrame | PresenceEvent | AckFrame | ErrorFrame;

// ---- client to server -------------------------------------------------------

export interface PublishFrame {
  type: "publish";
  data: unknown;
  id?: string;
  topic?: string;
  retain?: boolean;
  /** false: deliver live only, do not store (no seq of its own, never replayed). */
  history?: boolean;
  /** The message's properties (MQTT 5's PUBLISH properties): protocol/properties.ts. */
  properties?: MessageProperties;
}

export type ClientFrame = PublishFrame;

/** Longest publish `id` / `Idempotency-Key` accepted. */
export const MAX_PUBLISH_ID_LENGTH = 128;

// ---- HTTP bodies --------------------------------------------------------------

export interface RoomDescription {
  room: string;
  seq: number;
  epoch: string;
  connections: number;
  /** Each SINKS sink of the room (docs/integrations.md); absent when SINKS names none. */
  sinks?: SinkStatus[];
}

/** How far a sink is behind, and what it dropped past its bound. */
export interface SinkStatus {
  /** `webhook:<url>` or `queue:<binding>`. */
  sink: string;
  pending: number;
  pendingBytes: number;
  /** Messages not kept for this sink because it was over its bound (since the room's storage began). */
  dropped: number;
  /** Failed attempts in a row of the oldest pending messages (0: healthy). */
  attempts: number;
}

export interface PublishResult {
  seq: number;
  epoch: string;
}

export interface HistoryPage {
  room: string;
  epoch: string;
  seq: number;
  messages: MessageEnvelope[];
}

export interface PresenceClient {
  id: string;
  meta: Record<string, unknown>;
  connectedAt: number;
}

export interface PresenceList {
  room: string;
  count: number;
  clients: PresenceClient[];
  /** Pass as `cursor` for the next page; null on the last one. */
  cursor: string | null;
}

/** One connection as `GET /rooms/:room/connections` lists it (the `admin` scope). */
export interface ConnectionInfo {
  id: string;
  /** The token's sub; null in open mode, without one, or for an MQTT socket whose CONNECT has not brought its token yet. */
  sub: string | null;
  kind: "json" | "raw" | "sse" | "mqtt";
  /** ms since the Unix epoch. */
  connectedAt: number;
}

export interface ConnectionList {
  room: string;
  connections: ConnectionInfo[];
  /** Pass as `cursor` for the next page; null on the last one. */
  cursor: string | null;
}

/** What `POST /rooms/:room/kick` closes: one connection, or every connection of a sub. */
export type KickTarget = { id: string } | { sub: string };

// ---- URLs ---------------------------------------------------------------------

/** Query options a client may put on the upgrade URL. */
export interface ConnectOptions {
  since?: number;
  epoch?: string;
  mode?: "json" | "raw";
  echo?: boolean;
  token?: string;
  /** `topics=`: MQTT filters. */
  topics?: string[];
  /** `retained=1`: the matching retained values first. */
  retained?: boolean;
  /** `batch=1`: messages due at once come in `batch` frames (JSON mode). */
  batch?: boolean;
  /** `conflate=<ms>`: per topic, at most the latest message per interval. */
  conflate?: number;
}

/**
 * The WebSocket URL of a room. `base` is the relay's origin, `ws(s)://` or
 * `http(s)://` (the latter is turned into the former).
 */
export function roomSocketUrl(base: string, room: string, opts: ConnectOptions = {}): string {
  const url = new URL(base);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/rooms/${encodeURIComponent(room)}`;
  if (opts.since !== undefined) url.searchParams.set("since", String(opts.since));
  if (opts.epoch !== undefined) url.searchParams.set("epoch", opts.epoch);
  if (opts.mode === "raw") url.searchParams.set("mode", "raw");
  if (opts.echo) url.searchParams.set("echo", "1");
  if (opts.topics !== undefined && opts.topics.length > 0) url.searchParams.set("topics", opts.topics.join(","));
  if (opts.retained) url.searchParams.set("retained", "1");
  if (opts.batch && opts.mode !== "raw") url.searchParams.set("batch", "1");
  if (opts.conflate !== undefined) url.searchParams.set("conflate", String(opts.conflate));
  if (opts.token !== undefined) url.searchParams.set("token", opts.token);
  return url.toString();
}

/** The HTTP URL of a room (or one of its sub-resources). */
export function roomHttpUrl(base: string, room: string, sub = ""): string {
  const url = new URL(base);
  if (url.protocol === "ws:") url.protocol = "http:";
  else if (url.protocol === "wss:") url.protocol = "https:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/rooms/${encodeURIComponent(room)}${sub}`;
  return url.toString();
}
