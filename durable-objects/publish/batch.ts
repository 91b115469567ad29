/**
 * Local sequencing: a publish accepted into the current batch gets the next
 * seq at once; the batch is written to history in one transaction at the end
 * of the turn (whatever else arrived in it), then handed to the sinks, then
 * each publish is answered. The runtime's output gate waits for one commit
 * per batch instead of one per message.
 */
import type { CommittedRow, History, RetainedOp } from "../history";
import { buildEnvelope, isEmptyPayload, type PublishInput } from "../payload";
import type { Sender, Sequencing } from "./sequencing";
import type { CommittedMessage, Sink } from "./sinks";
import { accepted, type Answer } from "./verdict";

type Pending = CommittedMessage & CommittedRow;

export class LocalSequencing implements Sequencing {
  private batch: Pending[] = [];
  /** Publish keys in `batch`, so a retry that arrives before the flush is still caught. */
  private readonly batchKeys = new Map<string, number>();
  /** Retained values set or cleared in `batch`, in accept order: written with it. */
  private retainedOps: RetainedOp[] = [];
  /** Answers owed once the batch holding their message is written. */
  private owed: Array<() => void> = [];
  private scheduled = false;

  constructor(
    private readonly room: string,
    private readonly history: History,
    private readonly sinks: readonly Sink[],
  ) {}

  /** Seqs handed out but not yet written. */
  get pending(): number {
    return this.batch.length;
  }

  sequence(input: PublishInput, from: Sender, answer: Answer): void {
    const publishKey = scopedKey(input.publisher, input.publishId);
    if (publishKey !== null) {
      const existing = this.batchKeys.get(publishKey) ?? this.history.seqForKey(publishKey);
      if (existing != null) return this.owe(answer, existing);
    }
    const { topic, retain } = input;
    const next = this.history.seq + this.batch.length;
    if (retain && topic !== null && isEmptyPayload(input.payload)) {
      // Clears the topic's retained value; not a message, so no seq of its own.
      this.retainedOps.push({ topic, seq: null, envelope: null });
      return this.owe(answer, next);
    }
    const seq = next + 1;
    const ts = Date.now();
    const envelope = buildEnvelope(this.room, seq, input.from, ts, input.payload, { topic, retain });
    this.batch.push({ seq, publishKey, envelope, payload: input.payload, from: input.from, ts, topic, retain, ...from });
    if (retain && topic !== null) this.retainedOps.push({ topic, seq, envelope });
    if (publishKey !== null) this.batchKeys.set(publishKey, seq);
    this.owe(answer, seq);
  }

  private owe(answer: Answer, seq: number): void {
    this.owed.push(() => answer(accepted(seq)));
    this.schedule();
  }

  /** Flushes at the end of this turn of the event loop, gathering whatever else arrives first. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => this.flush(), 0);
  }

  /** Writes the batch, hands it to every sink in seq order, then answers its publishes. */
  flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    const retainedOps = this.retainedOps;
    if (batch.length > 0 || retainedOps.length > 0) {
      this.batch = [];
      this.retainedOps = [];
      this.batchKeys.clear();
      this.history.commit(batch, retainedOps);
      if (batch.length > 0) for (const sink of this.sinks) sink.committed(batch);
    }
    const owed = this.owed;
    this.owed = [];
    for (const answer of owed) answer();
  }
}

/** Idempotency keys belong to their publisher: two subs using one key publish twice. */
function scopedKey(publisher: string | null, id: string | null): string | null {
  if (id === null) return null;
  return publisher === null ? id : `${publisher.length}:${publisher}:${id}`;
}
