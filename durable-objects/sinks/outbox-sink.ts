/**
 * One configured sink (a webhook or a queue) as a Sink of the room: a
 * committed batch's matching messages are written to its outbox in the same
 * turn (nothing is sent there, so fan-out to sockets never waits on a
 * sink), then delivered oldest first, one chunk at a time: a later message
 * never leaves before an earlier one was taken. A chunk that fails (non-2xx,
 * no answer in time, a queue error) is retried with backoff; the retry
 * rides the room's alarm, so it survives eviction and restarts.
 *
 * Bounded: past `maxPendingMessages` or `maxPendingBytes` pending, new
 * messages are not written for this sink. Each one is counted (persisted,
 * in the room description), logged, and the start of an overflow is
 * announced once as a room message on `$events/sink-overflow`.
 */
import type { SinkStatus } from "../../protocol";
import { TopicMatcher } from "../../protocol/topics";
import type { CommittedMessage, Sink } from "../publish/sinks";
import type { SinkBounds, SinkRoute } from "./config";
import { utf8Bytes, type OutboxRow, type OutboxStore, type SinkState } from "./outbox-store";
import type { Target } from "./targets";

export const OVERFLOW_TOPIC = "$events/sink-overflow";

/** What a sink needs of its room. */
export interface OutboxHost {
  room: string;
  store: OutboxStore;
  bounds: SinkBounds;
  epoch(): string;
  /** Keeps the object alive while a delivery is out (DurableObjectState.waitUntil). */
  keep(p: Promise<unknown>): void;
  /** Makes sure the room's alarm fires no later than `at` (ms). */
  alarmBy(at: number): void;
  /** Publishes a message of the room's own on `topic` (sequenced like any other). */
  announce(topic: string, data: unknown): void;
}

export class OutboxSink implements Sink {
  private readonly matcher: TopicMatcher;
  private pending = { messages: 0, bytes: 0 };
  private state: SinkState = { attempts: 0, nextAt: 0, dropped: 0 };
  private inFlight = false;
  /** Between a first dropped message and the outbox back under its bound: announced once. */
  private overflowing = false;

  constructor(
    private readonly route: SinkRoute,
    private readonly target: Target,
    private readonly host: OutboxHost,
  ) {
    this.matcher = new TopicMatcher(route.match);
  }

  get name(): string {
    return this.route.name;
  }

  /** Reads what storage holds (on every wake), and resumes a delivery an eviction or restart cut short. */
  wake(): void {
    this.pending = this.host.store.totals(this.name);
    this.state = this.host.store.state(this.name);
    if (this.pending.messages > 0) setTimeout(() => this.pump(), 0);
  }

  committed(batch: readonly CommittedMessage[]): void {
    const { bounds, store } = this.host;
    const rows: OutboxRow[] = [];
    let dropped = 0;
    const epoch = this.host.epoch();
    for (const m of batch) {
      if (m.topic === null || !this.matcher.matches(m.topic)) continue;
      const bytes = utf8Bytes(m.envelope);
      if (this.pending.messages + 1 > bounds.maxPendingMessages || this.pending.bytes + bytes > bounds.maxPendingBytes) {
        dropped++;
        continue;
      }
      this.pending.messages++;
      this.pending.bytes += bytes;
      rows.push({ seq: m.seq, epoch, room: this.host.room, envelope: m.envelope });
    }
    if (rows.length > 0) {
      store.append(this.name, rows);
      // Should this attempt never settle (an eviction, a restart), the alarm takes over.
      this.host.alarmBy(Date.now() + bounds.timeoutMs + bounds.retryBaseMs);
      this.pump();
    }
    if (dropped > 0) this.overflow(dropped);
  }

  /** When the room's alarm should next look at this sink; starts a due retry. Null: nothing pending. */
  next(now: number): number | null {
    if (this.pending.messages === 0) return null;
    const { timeoutMs, retryBaseMs } = this.host.bounds;
    if (this.inFlight) return now + timeoutMs + retryBaseMs;
    if (now < this.state.nextAt) return this.state.nextAt;
    this.pump();
    return now + timeoutMs + retryBaseMs;
  }

  status(): SinkStatus {
    return { sink: this.name, pending: this.pending.messages, pendingBytes: this.pending.bytes, dropped: this.state.dropped, attempts: this.state.attempts };
  }

  /** Sends the oldest chunk unless one is out or a retry is not due yet. */
  private pump(): void {
    if (this.inFlight || this.pending.messages === 0 || Date.now() < this.state.nextAt) return;
    const chunk = this.chunk();
    if (chunk.rows.length === 0) return;
    this.inFlight = true;
    const attempt = this.target.deliver(chunk.rows).then(
      () => this.delivered(chunk.rows, chunk.bytes),
      (error: unknown) => this.failed(error),
    );
    this.host.keep(attempt);
  }

  /** The oldest rows one delivery takes: one epoch (and room), within the target's counts. */
  private chunk(): { rows: OutboxRow[]; bytes: number } {
    const head = this.host.store.head(this.name, this.target.maxMessages);
    const rows: OutboxRow[] = [];
    let bytes = 0;
    for (const r of head) {
      const b = utf8Bytes(r.envelope);
      if (rows.length > 0 && (r.epoch !== rows[0]!.epoch || r.room !== rows[0]!.room || bytes + b > this.target.maxBytes)) break;
      rows.push(r);
      bytes += b;
    }
    return { rows, bytes };
  }

  private delivered(rows: readonly OutboxRow[], bytes: number): void {
    this.inFlight = false;
    this.host.store.delivered(this.name, rows[rows.length - 1]!.seq);
    this.pending.messages = Math.max(0, this.pending.messages - rows.length);
    this.pending.bytes = Math.max(0, this.pending.bytes - bytes);
    if (this.state.attempts > 0) this.save({ ...this.state, attempts: 0, nextAt: 0 });
    if (this.overflowing && this.underBound()) {
      this.overflowing = false;
      console.warn(`room ${this.host.room}: sink ${this.name} is back under its bound (${this.state.dropped} dropped in all)`);
    }
    this.pump();
  }

  private failed(error: unknown): void {
    this.inFlight = false;
    const attempts = this.state.attempts + 1;
    const nextAt = Date.now() + backoff(attempts, this.host.bounds);
    this.save({ ...this.state, attempts, nextAt });
    console.warn(`room ${this.host.room}: sink ${this.name} attempt ${attempts} failed (${String((error as Error)?.message ?? error)}); retry in ${nextAt - Date.now()} ms`);
    this.host.alarmBy(nextAt);
  }

  private overflow(dropped: number): void {
    this.save({ ...this.state, dropped: this.state.dropped + dropped });
    console.warn(`room ${this.host.room}: sink ${this.name} is over its bound: ${dropped} message(s) dropped (${this.state.dropped} in all)`);
    if (this.overflowing) return;
    this.overflowing = true;
    // Once per overflow: the announcement may itself match this sink, and is then dropped without a new one.
    this.host.announce(OVERFLOW_TOPIC, { sink: this.name, dropped: this.state.dropped, pending: this.pending.messages, pendingBytes: this.pending.bytes, at: Date.now() });
  }

  private underBound(): boolean {
    const { maxPendingMessages, maxPendingBytes } = this.host.bounds;
    return this.pending.messages < maxPendingMessages && this.pending.bytes < maxPendingBytes;
  }

  private save(state: SinkState): void {
    this.state = state;
    this.host.store.saveState(this.name, state);
  }
}

/** base, 2 base, 4 base, … up to max; a little less at random so a room's sinks do not retry in step. */
export function backoff(attempts: number, bounds: SinkBounds): number {
  const full = Math.min(bounds.retryMaxMs, bounds.retryBaseMs * 2 ** Math.min(attempts - 1, 30));
  return Math.round(full * (0.8 + 0.2 * Math.random()));
}
