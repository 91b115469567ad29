/**
 * Local sequencing: a publish accepted into the current batch gets the next
 * seq at once; the batch is written to history in one transaction at the end
 * of the turn (whatever else arrived in it), then handed to the sinks, then
 * each publish is answered. The runtime's output gate waits for one commit
 * per batch instead of one per message.
 *
 * A publish that skips history (`live`, docs/protocol.md) is not written and
 * gets no seq of its own (its envelope carries the seq of the stored message
 * it follows). It goes to the room's own sockets at once and is answered at
 * once, waiting for no commit, unless stored messages accepted before it are
 * still waiting for theirs: then it leaves with them, in order, so it never
 * overtakes them. The other sinks (shards, the committed hook) never see it.
 */
import type { CommittedRow, History, RetainedOp } from "../history";
import { buildEnvelope, isEmptyPayload, type PublishInput } from "../payload";
import type { Sender, Sequencing } from "./sequencing";
import type { CommittedMessage, Sink } from "./sinks";
import { accepted, type Answer } from "./verdict";

type Pending = CommittedMessage & CommittedRow & { live?: true };

export class LocalSequencing implements Sequencing {
  private batch: Pending[] = [];
  /** Messages in `batch` that will be written (the rest skip history). */
  private stored = 0;
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
    /** The room's own sockets, which get history-less messages; null: store every message (a sharded room's sequencer, whose readers are in its shards). */
    private readonly liveSink: Sink | null = null,
  ) {}

  /** Seqs handed out but not yet written. */
  get pending(): number {
    return this.stored;
  }

  sequence(input: PublishInput, from: Sender, answer: Answer): void {
    const publishKey = scopedKey(input.publisher, input.publishId);
    if (publishKey !== null) {
      const existing = this.batchKeys.get(publishKey) ?? this.history.seqForKey(publishKey);
      if (existing != null) return this.owe(answer, existing);
    }
    if (input.live && this.liveSink !== null) return this.live(input, from, answer);
    const { topic, retain } = input;
    const next = this.history.seq + this.stored;
    if (retain && topic !== null && isEmptyPayload(input.payload)) {
      // Clears the topic's retained value; not a message, so no seq of its own.
      this.retainedOps.push({ topic, seq: null, envelope: null });
      return this.owe(answer, next);
    }
    const seq = next + 1;
    const ts = Date.now();
    const envelope = buildEnvelope(this.room, seq, input.from, ts, input.payload, { topic, retain, properties: input.properties, qos: input.qos });
    this.batch.push({ seq, publishKey, envelope, payload: input.payload, from: input.from, ts, topic, retain, ...from });
    this.stored++;
    if (retain && topic !== null) this.retainedOps.push({ topic, seq, envelope });
    if (publishKey !== null) this.batchKeys.set(publishKey, seq);
    this.owe(answer, seq);
  }

  /** A publish that skips history: out now, or with the stored messages ahead of it. */
  private live(input: PublishInput, from: Sender, answer: Answer): void {
    const seq = this.history.seq + this.stored; // the stored message it follows
    const ts = Date.now();
    const { topic } = input;
    const envelope = buildEnvelope(this.room, seq, input.from, ts, input.payload, { topic, retain: false, live: true, properties: input.properties, qos: input.qos });
    const m: Pending = { seq, publishKey: null, envelope, payload: input.payload, from: input.from, ts, topic, retain: false, live: true, ...from };
    if (this.batch.length === 0) {
      this.liveSink!.committed([m]);
      return answer(accepted(seq));
    }
    this.batch.push(m);
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
      const rows = this.stored === batch.length ? batch : batch.filter((m) => !m.live);
      this.batch = [];
      this.stored = 0;
      this.retainedOps = [];
      this.batchKeys.clear();
      this.history.commit(rows, retainedOps);
      for (const sink of this.sinks) {
        const due = sink === this.liveSink ? batch : rows;
        if (due.length > 0) sink.committed(due);
      }
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
