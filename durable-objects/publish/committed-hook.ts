/**
 * The deployer's `committed` hook as a sink: each committed batch, in seq
 * order, once. Calls are chained, so an async hook sees batch n+1 only after
 * batch n's call settled; the room does not wait for it (the fan-out to
 * sockets has already happened). A hook that throws is logged and the next
 * batch still comes.
 */
import type { MessageEnvelope } from "../../protocol";
import type { HookCommitted, RelayHooks } from "../../protocol/hooks";
import { bytesToBase64 } from "../../protocol/base64";
import type { CommittedMessage, Sink } from "./sinks";

export class CommittedHookSink implements Sink {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly room: string,
    private readonly epoch: () => string,
    private readonly hook: NonNullable<RelayHooks["committed"]>,
    /** Keeps the object alive while a call is out (DurableObjectState.waitUntil). */
    private readonly keep: (p: Promise<void>) => void,
  ) {}

  committed(batch: readonly CommittedMessage[]): void {
    const messages = batch.map(view);
    const c = { room: this.room, epoch: this.epoch() };
    this.chain = this.chain
      .then(() => this.hook(messages, c))
      .catch((error: unknown) => console.error(`room ${this.room}: the committed hook failed`, error));
    this.keep(this.chain);
  }
}

function view(m: CommittedMessage): HookCommitted {
  const { seq, from, ts, topic, retain, payload } = m;
  // Properties are in the envelope only (most messages have none: no parse for them).
  const properties = m.envelope.includes('"properties":') ? (JSON.parse(m.envelope) as MessageEnvelope).properties : undefined;
  const props = properties === undefined ? {} : { properties };
  if (payload.kind === "binary") return { seq, from, ts, topic, retain, data: bytesToBase64(payload.value), binary: true, ...props };
  return { seq, from, ts, topic, retain, data: payload.value, binary: false, ...props };
}
