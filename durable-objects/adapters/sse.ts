/**
 * Server-Sent Event streams of one Room: the SSE wire format and the streams
 * themselves. Unlike WebSockets they cannot hibernate: an open stream keeps
 * the Room in memory (docs/protocol.md says so), which is why this state may
 * live in instance fields.
 *
 * Memory: what a stream has been written but its reader has not taken is
 * counted in bytes (a write's promise settles when the reader takes it).
 * Past `maxQueuedBytes` the stream is ended; its reader reconnects with
 * Last-Event-ID and resumes with nothing lost.
 */
import { reachesUnfiltered, type TopicMatcher } from "../../protocol/topics";
import { SSE_HEARTBEAT_MS } from "../../protocol/limits";
import { Conflator } from "../conflate";

const encoder = new TextEncoder();

export function sseMessage(seq: number, envelope: string): string {
  return `id: ${seq}\nevent: message\ndata: ${envelope}\n\n`;
}

export function ssePresence(frame: string): string {
  return `event: presence\ndata: ${frame}\n\n`;
}

interface Stream {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Gets presence events (asked for, and allowed by the token). */
  presence: boolean;
  /** Bytes written that the reader has not taken yet. */
  queued: number;
  /** `topics=`: only messages whose topic matches; null: every message. */
  filter: TopicMatcher | null;
  /** `conflate=<ms>`: messages go through the hub's conflator; null: each as it comes. */
  conflate: number | null;
  /** When a write last settled (or the stream opened): a reader gone away is noticed only by a write that fails or never settles. */
  progressAt: number;
  ended?: () => void;
  who: SseWho;
}

/**
 * Who a stream is: what the operator's list shows and kick and revocation
 * match on (connections.ts). Kept here because a stream, unlike a socket,
 * has no attachment; it lives no longer than the Room's memory anyway.
 */
export interface SseWho {
  id: string;
  sub: string | null;
  connectedAt: number;
  /** The token's `jti` and `iat`, when it had them: what revocation matches (revocations.ts). */
  jti?: string;
  iat?: number;
}

/** A message as a stream gets it. */
export interface SseDelivery {
  seq: number;
  envelope: string;
  topic: string | null;
}

export interface SseOpen {
  presence: boolean;
  filter: TopicMatcher | null;
  conflate: number | null;
  /** ms since the Unix epoch (the token's expiry): the stream ends then. */
  endAt: number | null;
  /** Called once when the stream ends, however it ends (lifecycle events). */
  ended?: () => void;
  who: SseWho;
}

export class SseHub {
  private readonly streams = new Set<Stream>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  /** Open streams that conflate: only then does a batch walk the streams a second time. */
  private conflating = 0;
  private readonly conflator = new Conflator<Stream, SseDelivery>((stream, due) => {
    for (const m of due) if (this.streams.has(stream)) this.offerBytes(stream, encoder.encode(sseMessage(m.seq, m.envelope)));
  });

  constructor(
    private readonly maxQueuedBytes: number,
    /** A stream ended, however it ended (a sharded room's shard gives its connection slot back). */
    private readonly dropped: () => void = () => {},
  ) {}

  get size(): number {
    return this.streams.size;
  }

  /**
   * Opens a stream. `replay` writes the resume (already formatted events) into
   * it and returns false when it stopped early because the stream's budget
   * was used up; the stream then ends after what was written.
   */
  open(options: SseOpen, replay: (write: (event: string) => boolean) => boolean | void): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const stream: Stream = {
      writer: writable.getWriter(),
      presence: options.presence,
      queued: 0,
      filter: options.filter,
      conflate: options.conflate,
      progressAt: Date.now(),
      ended: options.ended,
      who: options.who,
    };
    this.streams.add(stream);
    if (stream.conflate !== null) this.conflating++;
    stream.writer.closed.then(
      () => this.drop(stream),
      () => this.drop(stream),
    );
    // The opening comment flushes the headers; `retry` sets the reconnect delay.
    this.write(stream, encoder.encode("retry: 2000\n: roomcast\n\n"));
    let full = false;
    const served = replay((event) => {
      if (full) return false;
      const bytes = encoder.encode(event);
      if (stream.queued + bytes.byteLength > this.maxQueuedBytes) {
        full = true;
        return false;
      }
      this.write(stream, bytes);
      return true;
    });
    if (stream.conflate !== null) this.conflator.started(stream, stream.conflate);
    // Stopped early (full, or a replay that must continue on the next stream): end it, the reader resumes.
    if (full || served === false) this.end(stream);
    else if (options.endAt !== null) {
      // An open stream keeps the Room in memory, so a timer is enough here.
      const timer = setTimeout(() => this.end(stream), Math.max(0, options.endAt - Date.now()));
      const clear = () => clearTimeout(timer);
      stream.writer.closed.then(clear, clear);
    }
    this.heartbeat ??= setInterval(() => this.beat(), SSE_HEARTBEAT_MS);
    return new Response(readable, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Who each open stream is (the operator's list: rare, never per message). */
  *who(): Iterable<SseWho> {
    for (const stream of this.streams) yield stream.who;
  }

  /** Ends every stream `which` picks, after what it was already written; answers how many. */
  endWhere(which: (who: SseWho) => boolean): number {
    let n = 0;
    for (const stream of [...this.streams]) {
      if (!which(stream.who)) continue;
      this.end(stream);
      n++;
    }
    return n;
  }

  /** A committed batch, in seq order: each message to the streams whose filter it passes; conflating streams through their queue. */
  deliver(batch: readonly SseDelivery[]): void {
    if (this.streams.size === 0) return;
    for (const m of batch) this.broadcast(sseMessage(m.seq, m.envelope), { topic: m.topic });
    if (this.conflating === 0) return;
    for (const stream of this.streams) {
      if (stream.conflate === null) continue;
      const due = batch.filter((m) => passes(stream.filter, m.topic));
      if (due.length > 0) this.conflator.offer(stream, stream.conflate, due);
    }
  }

  /**
   * Sends one formatted event to every stream that takes it, encoding it once:
   * `"presence"` only to streams taking presence; a message's topic (or null
   * for none) only to streams whose filter lets it through and that do not conflate.
   */
  broadcast(event: string, to: "all" | "presence" | { topic: string | null } = "all"): void {
    if (this.streams.size === 0) return;
    const bytes = encoder.encode(event);
    for (const stream of this.streams) {
      if (to === "presence" ? !stream.presence : to !== "all" && (stream.conflate !== null || !passes(stream.filter, to.topic))) continue;
      this.offerBytes(stream, bytes);
    }
  }

  private offerBytes(stream: Stream, bytes: Uint8Array): void {
    // A reader this far behind has stopped reading: drop what it holds.
    if (stream.queued + bytes.byteLength > this.maxQueuedBytes) this.abort(stream);
    else this.write(stream, bytes);
  }

  /**
   * The heartbeat: a stream with a write outstanding for a whole period has
   * lost its reader (a write to a reader that went away may never settle),
   * so it ends now rather than never; the others get a keepalive.
   */
  private beat(): void {
    const stale = Date.now() - SSE_HEARTBEAT_MS;
    for (const stream of this.streams) if (stream.queued > 0 && stream.progressAt < stale) this.abort(stream);
    this.broadcast(": keepalive\n\n");
  }

  private write(stream: Stream, bytes: Uint8Array): void {
    if (stream.queued === 0) stream.progressAt = Date.now();
    stream.queued += bytes.byteLength;
    stream.writer.write(bytes).then(
      () => {
        stream.queued -= bytes.byteLength;
        stream.progressAt = Date.now();
      },
      () => this.drop(stream),
    );
  }

  /** Ends a stream after what it was already written (the reader resumes from its last id). */
  private end(stream: Stream): void {
    this.drop(stream);
    stream.writer.close().catch(() => {});
  }

  private abort(stream: Stream): void {
    this.drop(stream);
    stream.writer.abort("slow consumer: reconnect with Last-Event-ID").catch(() => {});
  }

  private drop(stream: Stream): void {
    if (this.streams.delete(stream)) {
      if (stream.conflate !== null) this.conflating--;
      this.dropped();
      stream.ended?.();
    }
    if (this.streams.size === 0 && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }
}

/**
 * Whether a message with `topic` passes a reader's filter (a filter never
 * passes a message without a topic; no filter passes all but `$` topics).
 */
export function passes(filter: TopicMatcher | null, topic: string | null): boolean {
  if (filter === null) return reachesUnfiltered(topic);
  return topic !== null && filter.matches(topic);
}
