/**
 * What the sequencer and its shards say to each other (Durable Object RPC,
 * structured clone). One module, so both sides read the same shapes.
 */
import type { Identity } from "../../handoff/identity";
import type { Payload, Routing } from "../payload";
import type { PublishInput } from "../payload";
import type { StoredMessage } from "../store";

/** A committed message as a shard delivers it. */
export interface PushedMessage extends Routing {
  seq: number;
  envelope: string;
  payload: Payload;
  /** Connection id of the WebSocket that published it (sender exclusion); null for HTTP. */
  origin: string | null;
  echo: boolean;
}

/**
 * One push: every message the sequencer committed in `from..to`, in order.
 * An empty push (`from = to + 1`) only tells the shard where the room is, so
 * that a shard that missed pushes fetches the gap.
 */
export interface Push {
  epoch: string;
  /** WebSocket members in the other shards (presence counts; the connection cap is slots.ts's). */
  others: number;
  from: number;
  to: number;
  messages: PushedMessage[];
  /** The sequencer woke with its slot ledger at stored bounds: report the slots you hold (slots.ts). */
  recount?: boolean;
}

export interface PushResult {
  /** Last seq the shard has delivered after this push. */
  delivered: number;
  /** The shard's WebSocket members. */
  members: number;
}

/** A publish a shard forwards from one of its WebSockets. */
export interface ForwardedPublish {
  input: PublishInput;
  origin: string;
  echo: boolean;
}

/** A shard asks, before it opens a stream: where is the room, and what does this reader resume? */
export interface OpenRequest {
  index: number;
  since: number | null;
  epoch: string | null;
  identity: Identity;
  /** Bytes of history the reader may be sent in one go (the replay page). */
  budget: number;
}

export interface OpenAnswer {
  seq: number;
  epoch: string;
  recovered: boolean;
  /** The replay starts after this seq. */
  after: number;
  /** Stored messages after `after`, oldest first, up to about `budget` bytes. */
  rows: StoredMessage[];
  /** Whether `rows` reach `seq`. */
  complete: boolean;
  /** True when this shard was not registered: pushes start after `seq`. */
  fresh: boolean;
  /** WebSocket members in the other shards (the welcome's count). */
  others: number;
}

/**
 * Most bytes of envelopes and payloads in one RPC between a sequencer and
 * its shards: the runtime refuses arguments and results past 32 MiB, and a
 * burst of large messages can gather more than that while a call is out.
 * Anything larger goes as several calls, in order, on one stub.
 */
export const RPC_BYTES = 8 * 1024 * 1024;

/** How many of `items`, from the first, fit in `max` bytes by `size` (at least one when there is one). */
export function countWithin<T>(items: readonly T[], size: (item: T) => number, max: number = RPC_BYTES): number {
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    bytes += size(items[i]!);
    if (bytes > max && i > 0) return i;
  }
  return items.length;
}
