/**
 * One wire format of a WebSocket, behind one interface (as centrifuge-js
 * keeps one transport per file). The Room core knows seq, batches, history,
 * presence and limits; an adapter only translates: an inbound frame into a
 * publish, and an accepted message into the frame its sockets get. The core
 * asks each adapter for a message's frame once per batch, never per socket.
 *
 * A new wire format is a new file here plus one line in `./index.ts`.
 */
import type { ErrorCode, PresenceEvent, WelcomeFrame } from "../../protocol";
import type { Payload, Routing } from "../payload";
import type { SocketKind } from "../sockets";

/** A message as the core hands it to adapters: built once when it was accepted. */
export interface OutboundMessage extends Routing {
  seq: number;
  /** The JSON envelope text, exactly as history stores it. */
  envelope: string;
  payload: Payload;
}

/** What an inbound frame asks for. */
export type Inbound =
  | { publish: { payload: Payload; publishId: string | null } & Routing }
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
  error(code: ErrorCode, message: string): string | null;
}

/** Size of a frame as the budget counts it (UTF-16 length for text is close enough and free). */
export function frameSize(frame: string | Uint8Array): number {
  return typeof frame === "string" ? frame.length : frame.byteLength;
}
