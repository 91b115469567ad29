/**
 * One wire format of a WebSocket, behind one interface (as centrifuge-js
 * keeps one transport per file). The Room core knows seq, batches, history,
 * presence and limits; an adapter only translates: an inbound frame into a
 * publish, and an accepted message into the frame its sockets get. The core
 * asks each adapter for a message's frame once per batch, never per socket.
 *
 * A new wire format is a new file here plus one line in `./index.ts`.
 */
import type { ErrorCode, MessageProperties, PresenceEvent, WelcomeFrame } from "../../protocol";
import type { Limits } from "../../protocol/limits";
import type { Payload, Routing } from "../payload";
import type { Identity } from "../../handoff/identity";
import type { ConnectVerdict } from "../connect-hook";
import type { PublishJob } from "../publish/pipeline";
import type { RetainedMessage } from "../retained-store";
import type { Attachment, SocketKind } from "../sockets";
import type { StoredMessage } from "../store";

/** A message as the core hands it to adapters: built once when it was accepted. */
export interface OutboundMessage extends Routing {
  seq: number;
  /** The JSON envelope text, exactly as history stores it. */
  envelope: string;
  payload: Payload;
  /** The socket that published it, while the room is awake (null for HTTP and replays). */
  sender?: WebSocket | null;
}

/** What an inbound frame asks for. */
export type Inbound =
  | { publish: { payload: Payload; publishId: string | null; live?: true; properties?: MessageProperties } & Routing }
  | { error: ErrorCode; message: string };

export interface SocketAdapter {
  readonly kind: SocketKind;
  /** Whether this format has room for control frames (welcome, presence, acks, errors). */
  readonly control: boolean;
  parse(frame: string | ArrayBuffer): Inbound;
  /** The frame every socket of this kind gets for a live message. */
  message(m: OutboundMessage): string | Uint8Array;
  /** The frame for a message replayed from history (only its envelope is stored). */
  replayed(envelope: string): string | Uint8Array;
  welcome(frame: WelcomeFrame): string | null;
  presence(event: PresenceEvent): string | null;
  ack(id: string, seq: number): string | null;
  /** An error frame; `code` is an ErrorCode or a deployer's hook's own refusal code. */
  error(code: ErrorCode | (string & {}), message: string): string | null;
  /**
   * Only for a stateful protocol (MQTT): it takes its sockets' frames itself
   * (a frame is not one publish there) and delivers per socket. Adapters
   * without it are served by `parse` and the core's own fan-out.
   */
  readonly session?: SessionProtocol;
}

/**
 * A stateful wire format. The core still owns seq, batches, history,
 * admission and fan-out order; it calls these hooks where a frame-per-publish
 * format would have used `parse` and a plain send.
 */
export interface SessionProtocol {
  /** Every frame of a socket of this kind (after the core's token-expiry check). */
  frame(ws: WebSocket, frame: string | ArrayBuffer, room: RoomPort): void;
  /**
   * Sends `m` to one socket whose filters matched it, given the frame
   * `message(m)` built once for the batch (the hook may pick a variant).
   * Returns the bytes sent (for the slow-consumer budget), 0 when it sent nothing.
   */
  deliver(ws: WebSocket, m: OutboundMessage, frame: string | Uint8Array, room: RoomPort): number;
  /** After each batch's fan-out: one place to write per-batch state (not per message). */
  afterBatch(room: RoomPort): void;
  /** The socket is gone (close or error); called at most once per socket that counts. */
  ended(ws: WebSocket, room: RoomPort): void;
  /**
   * The room's alarm looks at one open socket of this kind: the hook ends it
   * if it is overdue (MQTT keep-alive), else says when to look again (null: never).
   */
  sweep?(ws: WebSocket, now: number, room: RoomPort): number | null;
  /** The room's alarm, once per run: the protocol's own timers kept in storage (MQTT's delayed wills); says when to look again. */
  sweepRoom?(now: number, room: RoomPort): number | null;
  /**
   * The room ends this socket on an operator's order (connections.ts: a kick
   * or a revocation), closing it with `code`: the protocol says so in its own
   * wire first (MQTT 5: DISCONNECT 0x98). `keepWill` false: what the client
   * left to publish at its end is dropped (a revoked token publishes nothing more).
   */
  dismiss?(ws: WebSocket, room: RoomPort, code: number, message: string, keepWill: boolean): void;
  /** A socket of this kind was just accepted (nothing sent yet): e.g. to set the alarm for its handshake's deadline. */
  opened?(ws: WebSocket, room: RoomPort): Promise<void>;
}

/** The Room as a stateful adapter sees it: its few entry points, no more. */
export interface RoomPort {
  readonly name: string;
  readonly limits: Limits;
  readonly sql: SqlStorage;
  readonly env: Env;
  /** Latest seq written to history. */
  latestSeq(): number;
  /** Oldest seq history still serves. */
  oldestSeq(): number;
  /** Runs the deployer's connect hook for this connection (an MQTT client's, at its CONNECT). */
  connecting(id: string, identity: Identity): Promise<ConnectVerdict>;
  /** Hands a publish to the room's pipeline (publish/pipeline.ts); its answer comes once committed, or refused. */
  publish(job: PublishJob): void | Promise<void>;
  /** Stored messages after `after`, oldest first, until `send` returns false; false then. */
  replay(after: number, send: (m: StoredMessage) => boolean): boolean;
  /** The retained values matching `filters`, oldest seq first. */
  retained(filters: readonly string[]): RetainedMessage[];
  /** Replaces a socket's topic filters (its attachment and the fan-out's cached matcher). */
  setFilters(ws: WebSocket, att: Attachment, filters: string[]): void;
  /** Sends a frame the socket asked for (a retained value), within its byte allowance; false: past it, not sent. */
  answer(ws: WebSocket, frame: string | Uint8Array): boolean;
  /** The room closes a socket (it leaves presence at once). */
  shed(ws: WebSocket, code: number, reason: string, att?: Attachment): void;
  /**
   * A socket accepted as not yet a member (Attachment.pending: no token on the
   * upgrade) authenticated: it takes a slot and joins presence now (its
   * attachment saved). False when the room is full; it is still pending then.
   */
  seat(ws: WebSocket, att: Attachment): boolean;
  /**
   * A token that arrived inside the protocol (an MQTT CONNECT password),
   * after its check: true when it was revoked (refuse it); otherwise the
   * room's sweep now watches it for a later revocation (revocations.ts).
   */
  revoked(identity: Identity): Promise<boolean>;
  /** The room's alarm (token expiry, keep-alive) must run by then (ms since the epoch). */
  expireAt(ms: number): Promise<void>;
  /** Open sockets of a tag: for rare events only (a session take-over), never per message. */
  sockets(tag: string): WebSocket[];
}

/** Size of a frame as the budget counts it (UTF-16 length for text is close enough and free). */
export function frameSize(frame: string | Uint8Array): number {
  return typeof frame === "string" ? frame.length : frame.byteLength;
}
