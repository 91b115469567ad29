/**
 * The live chart of one topic's numeric fields (uPlot): seeded from the
 * room's history for that topic, extended by live messages, with a pause
 * button and a time window. Only the open topic keeps a long series
 * (CHART_POINTS); it is redrawn on animation frames at most REDRAW_EVERY_MS
 * apart, never per message.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MessageEnvelope } from "../protocol/index.js";
import { h, setText } from "./dom.js";
import { FrameLoop } from "./frame-loop.js";
import { readingOf } from "./readings.js";
import { Series } from "./series.js";
import { seriesColours } from "./sparkline.js";
import { NO_TOPIC } from "./tile-grid.js";

/** Points kept for the open chart: 15 minutes at 10 readings a second, and then some. */
export const CHART_POINTS = 10_000;
const REDRAW_EVERY_MS = 250;
export const WINDOWS_MINUTES = [1, 5, 15] as const;
const CHART_HEIGHT = 240;

export class TopicChart {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly note: HTMLElement;
  private readonly plotBox: HTMLElement;
  private readonly pauseButton: HTMLButtonElement;
  private readonly windowSelect: HTMLSelectElement;
  private readonly loop = new FrameLoop(() => this.draw(), REDRAW_EVERY_MS);
  private topic: string | null = null;
  private series = new Series(CHART_POINTS);
  private plot: uPlot | null = null;
  private plotFields = "";
  private paused = false;
  /** Live points seen while the history request is in flight, replayed after it. */
  private seeding: MessageEnvelope[] | null = null;

  constructor(private readonly loadHistory: (topic: string) => Promise<MessageEnvelope[]>) {
    this.title = h("h2", { attrs: { id: "chart-title" } });
    this.note = h("span", { class: "muted small", attrs: { id: "chart-note", "aria-live": "polite" } });
    this.plotBox = h("div", { class: "chart-plot", attrs: { id: "chart-plot" } });
    this.pauseButton = h("button", { class: "button button-quiet", attrs: { id: "chart-pause", type: "button", "aria-pressed": "false" } }, "Pause");
    this.windowSelect = h(
      "select",
      { class: "input select", attrs: { id: "chart-window", "aria-label": "Time window" } },
      ...WINDOWS_MINUTES.map((m) => h("option", { attrs: { value: String(m) } }, `last ${m} min`)),
    );
    this.windowSelect.value = "5";
    const close = h("button", { class: "button button-quiet", attrs: { id: "chart-close", type: "button", "aria-label": "Close the chart" } }, "Close");
    this.element = h(
      "section",
      { class: "card chart-card", attrs: { id: "chart", "aria-labelledby": "chart-title" } },
      h("div", { class: "card-head" }, this.title, h("div", { class: "chart-controls" }, this.windowSelect, this.pauseButton, close)),
      this.plotBox,
      this.note,
    );
    this.element.hidden = true;
    this.pauseButton.addEventListener("click", () => this.setPaused(!this.paused));
    this.windowSelect.addEventListener("change", () => this.loop.request());
    close.addEventListener("click", () => this.close());
    new ResizeObserver(() => this.resize()).observe(this.plotBox);
    // uPlot takes its colours when built: a theme switch rebuilds it in the new ones.
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      this.plotFields = "";
      this.draw();
    });
  }

  get openTopic(): string | null {
    return this.topic;
  }

  /**
   * Opens `topic`'s chart. It starts at once from `recent` (the tile's
   * points), so it never waits on the network; the history request then
   * replaces them with the room's full record for the topic.
   */
  open(topic: string, recent?: Series): void {
    this.topic = topic;
    this.series = new Series(CHART_POINTS);
    if (recent) {
      const { times, fields } = recent.snapshot();
      times.forEach((ts, i) => this.series.push(ts, new Map([...fields].filter(([, v]) => Number.isFinite(v[i])).map(([name, v]) => [name, v[i]!]))));
    }
    this.setPaused(false);
    this.element.hidden = false;
    setText(this.title, topic === NO_TOPIC ? "(no topic)" : topic);
    setText(this.note, "Loading history…");
    this.seeding = [];
    this.loop.request();
    this.loadHistory(topic).then(
      (messages) => this.seeded(topic, messages, null),
      (error: unknown) => this.seeded(topic, [], error instanceof Error ? error.message : String(error)),
    );
    this.element.scrollIntoView({ block: "nearest" });
  }

  close(): void {
    this.topic = null;
    this.element.hidden = true;
    this.plot?.destroy();
    this.plot = null;
    this.plotFields = "";
    this.series = new Series(CHART_POINTS);
  }

  add(envelope: MessageEnvelope): void {
    if (this.topic === null || (envelope.topic ?? NO_TOPIC) !== this.topic) return;
    // Kept for the rebuild once history arrives, and drawn meanwhile.
    if (this.seeding && this.seeding.length < CHART_POINTS) this.seeding.push(envelope);
    this.series.push(envelope.ts, readingOf(envelope).fields);
    if (!this.paused) this.loop.request();
  }

  private seeded(topic: string, history: MessageEnvelope[], error: string | null): void {
    if (topic !== this.topic) return;
    const live = this.seeding ?? [];
    this.seeding = null;
    const firstLive = live[0]?.seq ?? Infinity;
    this.series = new Series(CHART_POINTS);
    // History first, then what arrived meanwhile; a retained value may repeat a seq history has.
    let last = -Infinity;
    for (const m of [...history.filter((m) => m.seq < firstLive), ...live]) {
      if (m.seq <= last && !m.retain) continue;
      if (m.seq > last) last = m.seq;
      this.series.push(m.ts, readingOf(m).fields);
    }
    setText(this.note, error ? `History unavailable (${error}); showing live values only.` : `${history.length} from history, then live`);
    this.element.dataset.seeded = String(history.length);
    this.loop.request();
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.pauseButton.setAttribute("aria-pressed", String(paused));
    setText(this.pauseButton, paused ? "Resume" : "Pause");
    this.element.dataset.paused = String(paused);
    if (!paused) this.loop.request();
  }

  private draw(): void {
    if (this.topic === null || this.paused || this.element.offsetParent === null) return;
    const windowMs = Number(this.windowSelect.value) * 60_000;
    this.series.trimBefore(Date.now() - WINDOWS_MINUTES[WINDOWS_MINUTES.length - 1]! * 60_000);
    const { times, fields } = this.series.snapshot();
    const names = [...fields.keys()];
    if (names.length === 0) {
      this.plot?.destroy();
      this.plot = null;
      this.plotFields = "";
      this.plotBox.replaceChildren(h("p", { class: "muted small" }, "No numeric fields to chart yet."));
      return;
    }
    const key = names.join("\u0000");
    if (!this.plot || this.plotFields !== key) this.build(names);
    const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...names.map((n) => fields.get(n)!.map((v) => (Number.isFinite(v) ? v : null)))];
    this.plot!.setData(data, false);
    const now = Date.now() / 1000;
    this.plot!.setScale("x", { min: now - windowMs / 1000, max: now });
    this.element.dataset.points = String(times.length);
  }

  private build(names: string[]): void {
    this.plot?.destroy();
    this.plotBox.replaceChildren();
    const colours = seriesColours(this.element);
    const axisColour = getComputedStyle(this.element).getPropertyValue("--muted").trim() || "#888";
    const gridColour = getComputedStyle(this.element).getPropertyValue("--line").trim() || "#8884";
    const axis = { stroke: axisColour, grid: { stroke: gridColour, width: 1 }, ticks: { stroke: gridColour, width: 1 } };
    this.plot = new uPlot(
      {
        width: Math.max(200, this.plotBox.clientWidth),
        height: CHART_HEIGHT,
        scales: { x: { time: true, auto: false } },
        axes: [axis, axis],
        series: [{}, ...names.map((label, i) => ({ label, stroke: colours[i % colours.length]!, width: 1.5, spanGaps: true, points: { show: false } }))],
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      [[], ...names.map(() => [])],
      this.plotBox,
    );
    this.plotFields = names.join("\u0000");
  }

  private resize(): void {
    if (this.plot && this.plotBox.clientWidth > 0) this.plot.setSize({ width: this.plotBox.clientWidth, height: CHART_HEIGHT });
  }
}
