/**
 * What the Room core lends the modules beside it: the port a stateful
 * adapter gets (adapters/port.ts) and the sharded-room glue
 * (shards/room-glue.ts). State the core changes (seq, epoch, members) is
 * read through functions, never copied. The core builds this once per wake;
 * these are not methods of Room because workerd would offer every method of
 * the class over RPC.
 */
import type { Identity } from "../handoff/identity";
import type { Limits } from "../protocol/limits";
import type { RetainedMessage } from "./retained-store";
import type { PublishInput } from "./payload";
import type { Delivery } from "./shards/shard";
import type { Attachment } from "./sockets";
import type { RoomStore, StoredMessage } from "./store";

export interface RoomInternals {
  /** The room's name (a shard's too: `room`, not `room#i`). */
  readonly name: string;
  readonly ctx: DurableObjectState;
  readonly env: Env;
  readonly limits: Limits;
  readonly store: RoomStore;
  /** Latest seq written to history, and the room's epoch. */
  position(): { seq: number; epoch: string };
  /** Oldest seq history still serves. */
  oldestSeq(): number;
  /** Room.accept: into the batch, seq returned, nothing written until the flush. */
  accept(input: PublishInput, sender: WebSocket | null, echo: boolean, origin?: string | null): number;
  /** Sends `frame` to `ws` once the batch holding what it acknowledges is committed. */
  ackAfterCommit(ws: WebSocket, frame: string | Uint8Array): void;
  flush(): void;
  /** Writes the epoch if the room has not stored it yet. */
  persist(): void;
  replay(after: number, send: (message: StoredMessage) => boolean): boolean;
  /** The retained values as stored (no flush), none in a room that never stored anything. */
  storedRetained(filters: readonly string[] | null): RetainedMessage[];
  planResume(since: number | null, epoch: string | null, identity: Identity): { recovered: boolean; after: number };
  fanOut(batch: readonly Delivery[]): void;
  /** Drops a socket's compiled topic filter: its filters changed. */
  forgetMatcher(ws: WebSocket): void;
  shed(ws: WebSocket, code: number, reason: string, att?: Attachment): void;
  /** A pending socket becomes a member if a slot is free (Room.seat); false when the room is full. */
  seat(ws: WebSocket, att: Attachment): boolean;
  /** This object's WebSocket members. */
  members(): number;
}
