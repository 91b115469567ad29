/**
 * Publishes that have not been acknowledged yet, in the order they were made.
 *
 * Every publish gets an `id` when it is made and keeps it across reconnects;
 * the relay accepts a given `id` once and acks a repeat with the original
 * `seq`, so resending everything unacked after a reconnect publishes each
 * message exactly once. The box is bounded so an app that publishes into a
 * long outage fails loudly instead of growing without end.
 */
import { RoomcastError } from "./errors.js";

export interface Published {
  seq: number;
}

interface Entry {
  id: string;
  /** The serialized `publish` frame, ready to send again. */
  frame: string;
  /** When it was last sent on the current socket; undefined = not sent there yet. */
  sentAt: number | undefined;
  resolve: (result: Published) => void;
  reject: (error: Error) => void;
}

export class Outbox {
  private entries = new Map<string, Entry>();

  constructor(readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Adds a publish; the promise settles on its ack, or when the client gives up. */
  add(id: string, frame: string): Promise<Published> {
    if (this.entries.size >= this.limit) {
      return Promise.reject(
        new RoomcastError("queue_full", `roomcast: publish queue is full (${this.limit} messages waiting for an ack)`),
      );
    }
    return new Promise<Published>((resolve, reject) => {
      this.entries.set(id, { id, frame, sentAt: undefined, resolve, reject });
    });
  }

  /** Settles the publish `id` with its `seq`; false when it is not ours (or already acked). */
  ack(id: string, seq: number): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    entry.resolve({ seq });
    return true;
  }

  /**
   * Entries to send now, oldest first: never sent on this socket, or sent more
   * than `resendAfter` ms ago without an ack (the relay may have dropped it,
   * e.g. when rate limited; resending is safe because of the id).
   */
  due(now: number, resendAfter: number): Array<{ id: string; frame: string }> {
    const out: Array<{ id: string; frame: string }> = [];
    for (const e of this.entries.values()) {
      if (e.sentAt === undefined || now - e.sentAt >= resendAfter) out.push(e);
    }
    return out;
  }

  markSent(id: string, now: number): void {
    const entry = this.entries.get(id);
    if (entry) entry.sentAt = now;
  }

  /** A new socket knows nothing of what the old one sent: everything is due again. */
  markAllUnsent(): void {
    for (const e of this.entries.values()) e.sentAt = undefined;
  }

  rejectAll(error: Error): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const e of entries) e.reject(error);
  }
}

/** A publish id: random, URL-safe, far below the relay's 128-character limit. */
export function newPublishId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  // randomUUID exists only in secure contexts; getRandomValues works everywhere.
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
