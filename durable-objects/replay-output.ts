/**
 * How what is due to a new socket at once (its replay) leaves, in seq
 * order: a frame per message, batch frames (`batch=1`, batch-frames.ts),
 * and for a conflating reader (`conflate=<ms>`) conflated first, the latest
 * per topic (conflate.ts). readers.ts decides what is due and where it
 * stops; this decides only the frames.
 */
import type { SocketAdapter } from "./adapters/adapter";
import { FramePacker, utf8Bytes } from "./batch-frames";
import { conflated } from "./conflate";
import type { Attachment } from "./sockets";
import type { StoredMessage } from "./store";

export interface ReplayOutput {
  add(m: StoredMessage): void;
  /** Sends what is still held (the last batch frame, a conflated replay). */
  end(): void;
}

/** `sendFrame` sends one frame to the socket (the fan-out's `send`: charged to its byte budget). */
export function replayOutput(adapter: SocketAdapter, att: Pick<Attachment, "batch" | "conflate">, sendFrame: (frame: string | Uint8Array) => void): ReplayOutput {
  const send = (envelope: string) => sendFrame(adapter.replayed(envelope));
  const packer = att.batch ? new FramePacker(sendFrame) : null;
  const out = (m: StoredMessage) => (packer === null ? send(m.envelope) : packer.add(m.envelope, (m.bytes ??= utf8Bytes(m.envelope))));
  if (att.conflate === undefined) return { add: out, end: () => packer?.flush() };
  // Conflated as a whole: the replay is what is due at once, one interval's worth.
  const held: StoredMessage[] = [];
  return {
    add: (m) => held.push(m),
    end() {
      for (const m of conflated(held)) out(m);
      packer?.flush();
    },
  };
}
