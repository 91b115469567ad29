/**
 * The sink every room has: its own sockets. Each adapter builds each
 * message's frame once per batch; every socket of its kind but the sender
 * gets it, filtered sockets only when their filter matches; then every SSE
 * stream. What a socket is sent counts against its byte budget
 * (slow-consumer.ts): past it the socket is shed and resumes.
 *
 * Sockets that take batch frames (TAG_BATCH) or conflate (TAG_CONFLATE) are
 * served after the per-message loop, per socket, with what is due to each:
 * batch frames built once per selection (batch-frames.ts), conflating
 * readers through their queue (conflate.ts). Picked by tag, so a room
 * without them pays one tag lookup per batch.
 */
import { CloseCode } from "../protocol";
import { reachesUnfiltered, TopicMatcher } from "../protocol/topics";
import { ADAPTERS } from "./adapters";
import { frameSize, type OutboundMessage, type RoomPort } from "./adapters/adapter";
import { passes, sseMessage, type SseHub } from "./adapters/sse";
import { packFrames, SharedFrames, utf8Bytes } from "./batch-frames";
import { Conflator } from "./conflate";
import type { CommittedMessage, Sink } from "./publish/sinks";
import type { SendBudget } from "./slow-consumer";
import { attachmentOf, safeSend, TAG_BATCH, TAG_CONFLATE, TAG_FILTERED, type Attachment, type SocketKind } from "./sockets";

/** A message ready for the fan-out (a committed one, or a shard's push). */
export type Delivery = OutboundMessage & Pick<CommittedMessage, "sender" | "echo">;

export interface FanoutHost {
  ctx: DurableObjectState;
  sse: SseHub;
  budget: SendBudget;
  port(): RoomPort;
  shed(ws: WebSocket, code: number, reason: string, att?: Attachment): void;
}

/** What the fan-out needs of a batch or conflating socket (read from its attachment once per wake). */
interface Reader {
  kind: SocketKind;
  batch: boolean;
  conflate: number | null;
}

export class SocketFanout implements Sink {
  /** Each filtered socket's compiled `topics=` (read from its attachment once per wake). */
  private readonly matchers = new WeakMap<WebSocket, TopicMatcher>();
  private readonly readers = new WeakMap<WebSocket, Reader>();
  /** Conflating sockets' queues: what is due goes out at most once per interval. */
  readonly conflator = new Conflator<WebSocket, Delivery>((ws, due) => this.sendDue(ws, due));

  constructor(private readonly host: FanoutHost) {}

  committed(batch: readonly Delivery[]): void {
    this.deliver(batch);
  }

  deliver(batch: readonly Delivery[]): void {
    const { ctx, sse } = this.host;
    const filtered = setOf(ctx.getWebSockets(TAG_FILTERED));
    const batched = ctx.getWebSockets(TAG_BATCH);
    const conflating = ctx.getWebSockets(TAG_CONFLATE);
    // Served apart, per socket, after the per-message loop.
    const apart = batched.length + conflating.length > 0 ? new Set([...batched, ...conflating]) : null;
    for (const adapter of Object.values(ADAPTERS)) {
      const sockets = ctx.getWebSockets(adapter.kind);
      if (sockets.length === 0) continue;
      const port = adapter.session === undefined ? null : this.host.port();
      for (const m of batch) {
        const frame = adapter.message(m);
        const size = frameSize(frame);
        for (const ws of sockets) {
          if (apart?.has(ws)) continue;
          if (ws === m.sender && !m.echo) continue;
          if (filtered?.has(ws) ? !passes(this.matcherOf(ws), m.topic) : !reachesUnfiltered(m.topic)) continue;
          if (port === null) this.send(ws, frame, size);
          else this.charge(ws, adapter.session!.deliver(ws, m, frame, port));
        }
      }
      if (port !== null) adapter.session!.afterBatch(port);
    }
    if (apart !== null) this.deliverApart(batch, apart, filtered);
    sse.deliver(batch);
  }

  /** Batch and conflating sockets: each gets what is due to it, batch frames shared by selection. */
  private deliverApart(batch: readonly Delivery[], sockets: Set<WebSocket>, filtered: Set<WebSocket> | null): void {
    const shared = new SharedFrames(batch);
    const senders = new Set<WebSocket>();
    for (const m of batch) if (m.sender && !m.echo) senders.add(m.sender);
    for (const ws of sockets) {
      // null: the whole batch (no filter, and none of it is its own).
      let picked: number[] | null = null;
      if (filtered?.has(ws) || senders.has(ws)) {
        const matcher = filtered?.has(ws) ? this.matcherOf(ws) : null;
        picked = [];
        for (let i = 0; i < batch.length; i++) {
          const m = batch[i]!;
          if (ws === m.sender && !m.echo) continue;
          if (passes(matcher, m.topic)) picked.push(i);
        }
        if (picked.length === 0) continue;
      }
      const reader = this.readerOf(ws);
      if (reader.conflate !== null) {
        this.conflator.offer(ws, reader.conflate, picked === null ? batch : picked.map((i) => batch[i]!));
      } else {
        for (const frame of shared.frames(picked)) this.send(ws, frame);
      }
    }
  }

  /** What a conflating socket's queue lets out: batch frames if it takes them, else a frame per message. */
  private sendDue(ws: WebSocket, due: readonly Delivery[]): void {
    const reader = this.readerOf(ws);
    if (reader.batch) {
      for (const frame of packFrames(due.map((m) => ({ envelope: m.envelope, bytes: utf8Bytes(m.envelope) })))) this.send(ws, frame);
      return;
    }
    const adapter = ADAPTERS[reader.kind];
    for (const m of due) this.send(ws, adapter.message(m));
  }

  /** A new batch or conflating reader (its attachment is not read again this wake). */
  rememberReader(ws: WebSocket, att: Pick<Attachment, "kind" | "batch" | "conflate">): void {
    this.readers.set(ws, { kind: att.kind, batch: att.batch === true, conflate: att.conflate ?? null });
  }

  private readerOf(ws: WebSocket): Reader {
    let reader = this.readers.get(ws);
    if (reader === undefined) {
      const att = attachmentOf(ws);
      reader = { kind: att.kind, batch: att.batch === true, conflate: att.conflate ?? null };
      this.readers.set(ws, reader);
    }
    return reader;
  }

  /** The compiled filter of a socket, or `given` remembered for it (a new reader's). */
  remember(ws: WebSocket, given: TopicMatcher): void {
    this.matchers.set(ws, given);
  }

  /** A socket's filters changed: compile them again on the next delivery. */
  forget(ws: WebSocket): void {
    this.matchers.delete(ws);
  }

  private matcherOf(ws: WebSocket): TopicMatcher {
    let matcher = this.matchers.get(ws);
    if (matcher === undefined) {
      matcher = new TopicMatcher(attachmentOf(ws).filters ?? []);
      this.matchers.set(ws, matcher);
    }
    return matcher;
  }

  /** Sends one frame and counts it against the socket's budget. */
  send(ws: WebSocket, frame: string | Uint8Array, size = frameSize(frame)): void {
    safeSend(ws, frame);
    this.charge(ws, size);
  }

  /**
   * Sends a frame the socket asked for (a retained value): within its answer
   * allowance (SendBudget.answer) and charged like any send. False when past
   * the allowance: nothing was sent, and the caller sends no more.
   */
  answer(ws: WebSocket, frame: string | Uint8Array): boolean {
    const size = frameSize(frame);
    if (!this.host.budget.answer(ws, size)) return false;
    this.send(ws, frame, size);
    return true;
  }

  /** Counts bytes sent to a socket (a stateful adapter's deliver reports 0 when it sent nothing). */
  charge(ws: WebSocket, size: number): void {
    if (size > 0 && this.host.budget.charge(ws, size)) this.host.shed(ws, CloseCode.SlowConsumer, "slow consumer: reconnect and resume with since");
  }
}

const setOf = (sockets: WebSocket[]): Set<WebSocket> | null => (sockets.length > 0 ? new Set(sockets) : null);
