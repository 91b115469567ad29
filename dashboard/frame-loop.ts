/**
 * Coalesces work onto animation frames, at most once per `minIntervalMs`:
 * however many messages arrive, a widget renders at most that often, and not
 * at all while the tab is hidden (browsers pause animation frames).
 */
export class FrameLoop {
  private requested = false;
  private last = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly render: () => void,
    private readonly minIntervalMs = 0,
  ) {}

  request(): void {
    if (this.requested) return;
    this.requested = true;
    const wait = this.last + this.minIntervalMs - performance.now();
    if (wait > 0) this.timer = setTimeout(() => requestAnimationFrame(this.run), wait);
    else requestAnimationFrame(this.run);
  }

  private readonly run = (): void => {
    this.requested = false;
    this.timer = undefined;
    this.last = performance.now();
    this.render();
  };
}
