/**
 * Server-Sent Event streams of one Room. Unlike WebSockets they cannot
 * hibernate: an open stream keeps the Room in memory (docs/protocol.md says
 * so), which is why this state may live in instance fields.
 */
import { SSE_HEARTBEAT_MS } from "../server/limits";

/** A stream this far behind (queued chunks) is dropped: its reader resumes with Last-Event-ID. */
const MAX_QUEUED_CHUNKS = 1024;

const encoder = new TextEncoder();

export function sseMessage(seq: number, envelope: string): string {
  return `id: ${seq}\nevent: message\ndata: ${envelope}\n\n`;
}

export function ssePresence(frame: string): string {
  return `event: presence\ndata: ${frame}\n\n`;
}

export class SseHub {
  private readonly writers = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  get size(): number {
    return this.writers.size;
  }

  /**
   * Opens a stream that starts with `replay` (already formatted events). With
   * `endAt` (ms since the Unix epoch: the token's expiry) the stream ends
   * then; the reader's reconnect meets the auth gate again.
   */
  open(replay: string[], endAt: number | null = null): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.writers.add(writer);
    writer.closed.then(
      () => this.drop(writer),
      () => this.drop(writer),
    );
    // The opening comment flushes the headers; `retry` sets the reconnect delay.
    this.write(writer, encoder.encode(`retry: 2000\n: roomcast\n\n${replay.join("")}`));
    if (endAt !== null) {
      // An open stream keeps the Room in memory, so a timer is enough here.
      const timer = setTimeout(() => writer.close().catch(() => {}), Math.max(0, endAt - Date.now()));
      writer.closed.then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
    }
    this.heartbeat ??= setInterval(() => this.broadcast(": keepalive\n\n"), SSE_HEARTBEAT_MS);
    return new Response(readable, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Sends one formatted event to every stream, encoding it once. */
  broadcast(event: string): void {
    if (this.writers.size === 0) return;
    const bytes = encoder.encode(event);
    for (const writer of this.writers) this.write(writer, bytes);
  }

  private write(writer: WritableStreamDefaultWriter<Uint8Array>, bytes: Uint8Array): void {
    if ((writer.desiredSize ?? 0) < -MAX_QUEUED_CHUNKS) {
      writer.abort("slow consumer").catch(() => {});
      this.drop(writer);
      return;
    }
    writer.write(bytes).catch(() => this.drop(writer));
  }

  private drop(writer: WritableStreamDefaultWriter<Uint8Array>): void {
    this.writers.delete(writer);
    if (this.writers.size === 0 && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }
}
