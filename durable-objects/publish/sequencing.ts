/**
 * Who gives a publish its seq: the room's role decides it once
 * (roles.ts). A plain room and a sharded room's sequencer sequence locally
 * (./batch.ts); a shard forwards to its sequencer (shards/shard.ts). Either
 * way the answer comes once the message is committed, so an ack never
 * promises what a crash could lose.
 */
import type { PublishInput } from "../payload";
import type { Answer } from "./verdict";

/** Who sent a publish, as the fan-out needs it: the sender is skipped unless it asked for echo. */
export interface Sender {
  /** The publishing socket while the room is awake; null for HTTP, a will after its socket closed, a shard's forward. */
  sender: WebSocket | null;
  echo: boolean;
  /** The publishing connection's id when a shard forwarded it (sender exclusion in that shard). */
  origin: string | null;
}

export interface Sequencing {
  /** Gives `input` the next seq (or finds the seq its idempotency key already has); answers once committed. */
  sequence(input: PublishInput, from: Sender, answer: Answer): void;
  /** Commits now whatever is waiting (a read or a new reader must see every accepted message). */
  flush(): void;
}
