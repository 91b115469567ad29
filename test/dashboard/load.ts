/**
 * A busy room for the dashboard: `topics` devices, each on its own socket
 * (so each stays far below the per-connection rate limit) publishing
 * `{"t","rh"}` on `sensors/dev-N/env` `hz` times a second for `seconds`,
 * while the page is measured from outside: its long tasks (PerformanceObserver
 * in the page), its JS heap after a forced GC (CDP), and how long a click on
 * a tile takes to show its chart mid-run. Only loopback traffic, bounded in
 * count and time.
 */
import type { EmbeddedRelay } from "../../tools/local/relay";
import { sleep, TestSocket } from "../support/socket";
import type { WatchedPage } from "./browser";

export interface LoadOptions {
  topics: number;
  hz: number;
  seconds: number;
}

export interface LoadReport {
  sent: number;
  sentPerSecond: number;
  /** The page's own msgs/s figure (10 s average) at the end of the run. */
  pageRate: string;
  tiles: number;
  clickToChartMs: number;
  longTasks: number;
  longTaskTotalMs: number;
  longTaskMaxMs: number;
  heapStartMB: number;
  heapMidMB: number;
  heapEndMB: number;
}

const OPEN_BATCH = 20;

export async function measureLoad(w: WatchedPage, relay: EmbeddedRelay, room: string, options: LoadOptions): Promise<LoadReport> {
  const { page } = w;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const heapMB = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const used = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? NaN;
    return Math.round((used / 2 ** 20) * 10) / 10;
  };
  await page.evaluate(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.longTasks.push(entry.duration);
    }).observe({ type: "longtask" });
  });

  const devices: TestSocket[] = [];
  for (let i = 0; i < options.topics; i += OPEN_BATCH) {
    const batch = Array.from({ length: Math.min(OPEN_BATCH, options.topics - i) }, (_, j) => TestSocket.open(`${relay.wsUrl}/rooms/${room}?topics=cmd/dev-${i + j}`));
    devices.push(...(await Promise.all(batch)));
  }
  await Promise.all(devices.map((d) => d.next("welcome")));
  const heapStartMB = await heapMB();

  // One timer catches every device up with its schedule (hz per second since
  // the start), so the room gets the rate asked for even when this process
  // is busy; readings go out device by device, not as one burst per topic.
  let sent = 0;
  const made = new Array<number>(devices.length).fill(0);
  const started = Date.now();
  const offsets = devices.map((_, i) => (i / devices.length) * (1000 / options.hz));
  const timer = setInterval(() => {
    const elapsed = Date.now() - started;
    devices.forEach((device, i) => {
      const due = Math.floor(((elapsed - offsets[i]!) * options.hz) / 1000);
      while (made[i]! < due) {
        const n = ++made[i]!;
        sent++;
        device.send({ type: "publish", topic: `sensors/dev-${i}/env`, data: { t: Math.round((20 + 5 * Math.sin(n / 10 + i)) * 100) / 100, rh: 40 + (n % 20) } });
      }
    });
  }, 20);
  const runFor = (ms: number) => sleep(Math.max(0, started + ms - Date.now()));

  await runFor((options.seconds * 1000) / 2);
  const heapMidMB = await heapMB();

  await runFor(options.seconds * 800);
  const clickAt = performance.now();
  await page.click('#tiles .tile[data-topic="sensors/dev-7/env"]', { timeout: 10_000 });
  await page.locator("#chart .uplot").waitFor({ timeout: 10_000 });
  const clickToChartMs = Math.round(performance.now() - clickAt);

  await runFor(options.seconds * 1000);
  clearInterval(timer);
  const elapsedMs = Date.now() - started;
  const pageRate = (await page.locator("#rate").textContent()) ?? "";
  const heapEndMB = await heapMB();
  const tiles = await page.locator("#tiles .tile").count();
  const longTaskList = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
  for (const d of devices) d.close();
  await cdp.detach();

  return {
    sent,
    sentPerSecond: Math.round((sent * 1000) / elapsedMs),
    pageRate,
    tiles,
    clickToChartMs,
    longTasks: longTaskList.length,
    longTaskTotalMs: Math.round(longTaskList.reduce((a, b) => a + b, 0)),
    longTaskMaxMs: Math.round(Math.max(0, ...longTaskList)),
    heapStartMB,
    heapMidMB,
    heapEndMB,
  };
}
