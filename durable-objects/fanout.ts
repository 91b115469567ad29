/**
 * The sink every room has: its own sockets. Each adapter builds each
 * message's frame once per batch; every socket of its kind but the sender
 * gets it, filtered sockets only when their filter matches; then every SSE
 * stream. What a socket is sent counts against its byte budget
 * (slow-consumer.ts): past it the socket is shed and resumes.
 */
import { CloseCode } from "../protocol";
import { reachesUnfiltered, TopicMatcher } from "../protocol/topics";
import { ADAPTERS } from "./adapters";
import { frameSize, type OutboundMessage, type RoomPort } from "./adapters/adapter";
import { passes, sseMessage, type SseHub } from "./adapters/sse";
import type { CommittedMessage, Sink } from "./publish/sinks";
import type { SendBudget } from "./slow-consumer";
import { attachmentOf, safeSend, TAG_FILTERED, type Attachment } from "./sockets";

/** A message ready for the fan-out (a committed one, or a shard's push). */
export type Delivery = OutboundMessage & Pick<CommittedMessage, "sender" | "echo">;

export interface FanoutHost {
  ctx: DurableObjectState;
  sse: SseHub;
  budget: SendBudget;
  port(): RoomPort;
  shed(ws: WebSocket, code: number, reason: string, att?: Attachment): void;
}

export class SocketFanout implements Sink {
  /** Each filtered socket's compiled `topics=` (read from its attachment once per wake). */
  private readonly matchers = new WeakMap<WebSocket, TopicMatcher>();

  constructor(private readonly host: FanoutHost) {}

  committed(batch: readonly Delivery[]): void {
    this.deliver(batch);
  }

  deliver(batch: readonly Delivery[]): void {
    const { ctx, sse } = this.host;
    const tagged = ctx.getWebSockets(TAG_FILTERED);
    const filtered = tagged.length > 0 ? new Set(tagged) : null;
    for (const adapter of Object.values(ADAPTERS)) {
      const sockets = ctx.getWebSockets(adapter.kind);
      if (sockets.length === 0) continue;
      const port = adapter.session === undefined ? null : this.host.port();
      for (const m of batch) {
        const frame = adapter.message(m);
        const size = frameSize(frame);
        for (const ws of sockets) {
          if (ws === m.sender && !m.echo) continue;
          if (filtered?.has(ws) ? !passes(this.matcherOf(ws), m.topic) : !reachesUnfiltered(m.topic)) continue;
          if (port === null) this.send(ws, frame, size);
          else this.charge(ws, adapter.session!.deliver(ws, m, frame, port));
        }
      }
      if (port !== null) adapter.session!.afterBatch(port);
    }
    for (const m of batch) sse.broadcast(sseMessage(m.seq, m.envelope), { topic: m.topic });
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

  /** Counts bytes sent to a socket (a stateful adapter's deliver reports 0 when it sent nothing). */
  charge(ws: WebSocket, size: number): void {
    if (size > 0 && this.host.budget.charge(ws, size)) this.host.shed(ws, CloseCode.SlowConsumer, "slow consumer: reconnect and resume with since");
  }
}
