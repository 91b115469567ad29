/**
 * The room's configured sinks (SINKS), built once from the config: each an
 * OutboxSink in the role's list of sinks (roles.ts, so only a plain room and
 * a sharded room's sequencer have them), plus what the Room asks of them
 * all: their next alarm time and their status.
 */
import type { SinkConfig } from "./config";
import type { SinkStatus } from "../../protocol";
import { OutboxSink, type OutboxHost } from "./outbox-sink";
import { makeTarget } from "./targets";

export class Outboxes {
  readonly sinks: readonly OutboxSink[];

  constructor(config: SinkConfig, env: Record<string, unknown>, host: OutboxHost) {
    const secret = typeof env.WEBHOOK_SECRET === "string" ? env.WEBHOOK_SECRET : "";
    this.sinks = config.routes.map((route) => new OutboxSink(route, makeTarget(route.target, env, secret, config.bounds.timeoutMs), host));
  }

  wake(): void {
    for (const s of this.sinks) s.wake();
  }

  /** The earliest time some sink wants the alarm; null when none has anything pending. */
  next(now: number): number | null {
    let next: number | null = null;
    for (const s of this.sinks) {
      const at = s.next(now);
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  status(): SinkStatus[] {
    return this.sinks.map((s) => s.status());
  }
}
