/**
 * The live progress line: rewritten in place on a terminal, one plain line
 * every few seconds otherwise (CI logs, pipes), so a log stays readable.
 */
import type { FleetStats } from "../load/index.js";

export interface ProgressSink {
  /** True when the output is a terminal that can rewrite a line. */
  tty: boolean;
  /** Writes text as is (no newline added). */
  write(text: string): void;
}

const PLAIN_EVERY_MS = 5_000;

export class Progress {
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastPlain = 0;

  constructor(
    private readonly sink: ProgressSink,
    private readonly stats: () => FleetStats,
    private readonly total: { links: number; durationMs: number },
    private readonly startedAt = Date.now(),
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.sink.tty ? 250 : 1000);
    this.timer.unref?.();
  }

  /** Ends the live line so what follows starts on a fresh one. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    if (this.sink.tty) this.sink.write(`\r${this.line()}\x1b[K\n`);
  }

  line(): string {
    const s = this.stats();
    const elapsed = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    return `[${elapsed}s/${this.total.durationMs / 1000}s] open ${s.open}/${this.total.links}  made ${s.made}  acked ${s.acked}  delivered ${s.delivered}  reconnects ${s.reconnects}`;
  }

  private tick(): void {
    if (this.sink.tty) {
      this.sink.write(`\r${this.line()}\x1b[K`);
    } else if (Date.now() - this.lastPlain >= PLAIN_EVERY_MS) {
      this.lastPlain = Date.now();
      this.sink.write(`${this.line()}\n`);
    }
  }
}
