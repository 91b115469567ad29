/**
 * Consumers of committed batches. A batch reaches every sink of the room, in
 * seq order, once, after it is written: this room's sockets (fanout.ts), a
 * sequencer's shards (shards/sequencer.ts), the deployer's `committed` hook
 * (./committed-hook.ts). A sink never blocks the next: whatever it does
 * asynchronously, it queues itself.
 */
import type { Payload, Routing } from "../payload";

/** A committed message as sinks get it: built once when it was accepted. */
export interface CommittedMessage extends Routing {
  seq: number;
  /** The JSON envelope, exactly as history stores it. */
  envelope: string;
  payload: Payload;
  from: string;
  ts: number;
  /** The socket that published it, while the room is awake (null for HTTP and a shard's forward). */
  sender: WebSocket | null;
  echo: boolean;
  /** Connection id of the publishing socket when a shard forwarded it (sender exclusion in that shard). */
  origin: string | null;
}

export interface Sink {
  committed(batch: readonly CommittedMessage[]): void;
}
