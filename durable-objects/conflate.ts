/**
 * Conflation (`conflate=<ms>`, docs/protocol.md): a reader that asked for it
 * gets, per topic, at most the latest message of each interval.
 *
 * Per reader, not per topic: what is due waits in one queue in seq order,
 * a newer message of a topic taking the place of the older one still
 * waiting (messages without a topic are all kept), and the queue is sent at
 * most once per interval (at once when the reader has been sent nothing for
 * an interval). So a reader's seqs only grow: its last seq stays a correct
 * resume point (`since`), the client's "never a seq twice" check holds, and
 * no older value of a topic can follow a newer one. The cost: a message
 * without a topic may wait up to one interval.
 *
 * The queue and its timer live in memory. A pending timer keeps the object
 * awake (workerd does not hibernate an object with a timer due), so a
 * pending value is sent; if the object goes away anyway (a deploy, a crash),
 * its sockets close with it, and the reader resumes from its last seq: the
 * replay, conflated the same way, holds the value it had not been sent.
 */
import type { OutboundMessage } from "./adapters/adapter";

interface Queue<M> {
  intervalMs: number;
  /** When the queue was last sent (0: never). */
  sentAt: number;
  /** In seq order; a slot emptied when a newer message of its topic came. */
  due: Array<M | null>;
  /** Topic → its message's slot in `due`. */
  slots: Map<string, number>;
  timer: ReturnType<typeof setTimeout> | null;
}

type Conflatable = Pick<OutboundMessage, "topic">;

export class Conflator<T extends object, M extends Conflatable> {
  private readonly queues = new WeakMap<T, Queue<M>>();

  /** `send` gets what is due to a reader, in seq order, at most once per interval. */
  constructor(private readonly send: (reader: T, due: M[]) => void) {}

  /** A reader was just sent what was due at once (its replay, conflated by `conflated`): its next interval starts now. */
  started(reader: T, intervalMs: number): void {
    this.queueOf(reader, intervalMs).sentAt = Date.now();
  }

  /** Messages due to a reader, in seq order: sent now if its interval is over, else when it is. */
  offer(reader: T, intervalMs: number, messages: readonly M[]): void {
    const q = this.queueOf(reader, intervalMs);
    for (const m of messages) keep(q, m);
    if (q.timer !== null || q.due.length === 0) return;
    const wait = q.sentAt + q.intervalMs - Date.now();
    if (wait <= 0) this.flush(reader, q);
    else q.timer = setTimeout(() => this.flush(reader, q), wait);
  }

  private queueOf(reader: T, intervalMs: number): Queue<M> {
    let q = this.queues.get(reader);
    if (q === undefined) {
      q = { intervalMs, sentAt: 0, due: [], slots: new Map(), timer: null };
      this.queues.set(reader, q);
    }
    return q;
  }

  private flush(reader: T, q: Queue<M>): void {
    q.timer = null;
    q.sentAt = Date.now();
    const due = q.due.filter((m): m is M => m !== null);
    q.due = [];
    q.slots.clear();
    if (due.length > 0) this.send(reader, due);
  }
}

/** Conflates `messages` (seq order) at once, as a replay is: the latest per topic, every message without one. */
export function conflated<M extends Conflatable>(messages: Iterable<M>): M[] {
  const q: Queue<M> = { intervalMs: 0, sentAt: 0, due: [], slots: new Map(), timer: null };
  for (const m of messages) keep(q, m);
  return q.due.filter((m): m is M => m !== null);
}

function keep<M extends Conflatable>(q: Queue<M>, m: M): void {
  if (m.topic !== null) {
    const older = q.slots.get(m.topic);
    if (older !== undefined) q.due[older] = null;
    q.slots.set(m.topic, q.due.length);
  }
  q.due.push(m);
}
