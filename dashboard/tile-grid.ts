/**
 * The fleet view's tiles: one per topic, showing its latest value as a person
 * reads it, when it arrived, and a sparkline of its numeric fields. A filter
 * (MQTT wildcards, comma-separated) picks the topics shown.
 *
 * Built for busy rooms: a message only updates its topic's state (O(1)); the
 * DOM is touched on animation frames at most RENDER_EVERY_MS apart, only for
 * tiles that changed and are on screen. Memory is bounded: at most MAX_TILES
 * topics, each with a SPARK_POINTS ring.
 */
import type { MessageEnvelope } from "../protocol/index.js";
import { TopicMatcher, validFilter } from "../protocol/topics.js";
import { h, setText } from "./dom.js";
import { clockTime } from "./format.js";
import { FrameLoop } from "./frame-loop.js";
import { ago, formatNumber, readingOf, type Reading } from "./readings.js";
import { Series } from "./series.js";
import { drawSparkline, seriesColours } from "./sparkline.js";

/** Topics kept as tiles; past it new topics are counted, not shown. */
export const MAX_TILES = 1000;
/** Readings per sparkline. */
export const SPARK_POINTS = 120;
const RENDER_EVERY_MS = 200;
/** A sparkline moves slower than the figure: redrawing 200 canvases 5 times a second is most of a busy page's work. */
const SPARK_EVERY_MS = 1000;
/** sensors/d2 before sensors/d10. */
const TOPIC_ORDER = new Intl.Collator(undefined, { numeric: true });
/** The tile for messages published without a topic. */
export const NO_TOPIC = "";

interface Tile {
  topic: string;
  reading: Reading;
  ts: number;
  retained: boolean;
  series: Series;
  dirty: boolean;
  sparkDirty: boolean;
  sparkDrawn: number;
  /** The arrival time the "… ago" text was last written for. */
  timeShown: number;
  visible: boolean;
  el: HTMLButtonElement;
  value: HTMLElement;
  time: HTMLTimeElement;
  spark: HTMLCanvasElement;
}

export class TileGrid {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly filterInput: HTMLInputElement;
  private readonly filterNote: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private readonly loop = new FrameLoop(() => this.render(), RENDER_EVERY_MS);
  private readonly observer: IntersectionObserver;
  private matcher: TopicMatcher | null = null;
  private added = false;
  private dropped = new Set<string>();
  private lastClockPass = 0;

  constructor(private readonly onOpen: (topic: string) => void) {
    this.filterInput = h("input", {
      class: "input",
      attrs: { id: "tile-filter", type: "search", spellcheck: "false", autocomplete: "off", placeholder: "sensors/+/temp, cmd/#", "aria-label": "Topic filter" },
    });
    this.filterNote = h("span", { class: "small muted", attrs: { id: "tile-filter-note", "aria-live": "polite" } });
    this.summary = h("span", { class: "muted", attrs: { id: "tile-summary" } }, "no topics yet");
    this.grid = h("div", { class: "tile-grid", attrs: { id: "tiles" } });
    this.empty = h("p", { class: "muted small" }, "No topic has a value yet. Devices that publish on a topic (retained or not) get a tile here.");
    this.element = h(
      "section",
      { class: "card fleet", attrs: { "aria-labelledby": "fleet-title" } },
      h("div", { class: "card-head" }, h("h2", { attrs: { id: "fleet-title" } }, "Topics"), this.summary),
      h("div", { class: "filter-row" }, this.filterInput, this.filterNote),
      this.empty,
      this.grid,
    );
    this.filterInput.addEventListener("input", () => this.setFilter(this.filterInput.value));
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const tile = this.tiles.get((entry.target as HTMLElement).dataset.topic ?? "");
        if (!tile) continue;
        tile.visible = entry.isIntersecting;
        if (tile.visible && (tile.dirty || tile.sparkDirty)) this.loop.request();
      }
    });
    // "3 s ago" moves on even when nothing arrives.
    setInterval(() => this.loop.request(), 1000);
  }

  /** The tile's series, for a chart to start from. */
  seriesOf(topic: string): Series | undefined {
    return this.tiles.get(topic)?.series;
  }

  /** A message; `snapshot` when it is a retained value replayed on (re)connect, which may repeat what the tile has. */
  add(envelope: MessageEnvelope, snapshot = false): void {
    const topic = envelope.topic ?? NO_TOPIC;
    let tile = this.tiles.get(topic);
    if (!tile) {
      if (this.tiles.size >= MAX_TILES) {
        if (this.dropped.size < MAX_TILES) this.dropped.add(topic);
        return;
      }
      tile = this.create(topic);
    }
    // A retained value replayed after a reconnect is what the tile shows already, or older.
    if (snapshot ? envelope.ts <= tile.ts : envelope.ts < tile.ts) return;
    const reading = readingOf(envelope);
    tile.reading = reading;
    tile.ts = envelope.ts;
    tile.retained = envelope.retain === true;
    tile.series.push(envelope.ts, reading.fields);
    tile.dirty = true;
    tile.sparkDirty = true;
    this.loop.request();
  }

  private setFilter(text: string): void {
    const filters = text.split(",").map((f) => f.trim()).filter((f) => f !== "");
    const bad = filters.find((f) => !validFilter(f));
    if (bad !== undefined) {
      this.filterInput.setAttribute("aria-invalid", "true");
      setText(this.filterNote, `“${bad}” is not a topic filter`);
      return;
    }
    this.filterInput.removeAttribute("aria-invalid");
    setText(this.filterNote, "");
    this.matcher = filters.length > 0 ? new TopicMatcher(filters) : null;
    for (const tile of this.tiles.values()) tile.el.hidden = !this.shows(tile.topic);
    this.loop.request();
  }

  private shows(topic: string): boolean {
    return this.matcher === null || (topic !== NO_TOPIC && this.matcher.matches(topic));
  }

  private create(topic: string): Tile {
    const value = h("div", { class: "tile-value" });
    const time = h("time", { class: "tile-time" });
    // Its exact time on hover, computed only then (formatting hundreds of times a second is not free).
    time.addEventListener("mouseenter", () => {
      time.title = clockTime(tile.ts);
      time.dateTime = new Date(tile.ts).toISOString();
    });
    const spark = h("canvas", { class: "tile-spark", attrs: { "aria-hidden": "true" } });
    const el = h(
      "button",
      { class: "tile", attrs: { type: "button", "data-topic": topic, title: "Open its chart" } },
      h("span", { class: topic === NO_TOPIC ? "tile-topic muted" : "tile-topic" }, topic === NO_TOPIC ? "(no topic)" : topic),
      value,
      spark,
      time,
    );
    el.hidden = !this.shows(topic);
    el.addEventListener("click", () => this.onOpen(topic));
    const tile: Tile = { topic, reading: { fields: new Map(), text: "" }, ts: 0, retained: false, series: new Series(SPARK_POINTS), dirty: true, sparkDirty: true, sparkDrawn: 0, timeShown: -1, visible: false, el, value, time, spark };
    this.tiles.set(topic, tile);
    this.observer.observe(el);
    this.added = true;
    return tile;
  }

  private render(): void {
    if (this.added) {
      // New topics: keep the grid in topic order (a few times at start, then never).
      this.added = false;
      const sorted = [...this.tiles.values()].sort((a, b) => TOPIC_ORDER.compare(a.topic, b.topic));
      this.grid.replaceChildren(...sorted.map((t) => t.el));
    }
    const now = Date.now();
    const clockPass = now - this.lastClockPass >= 1000;
    if (clockPass) this.lastClockPass = now;
    const onScreen = [...this.tiles.values()].filter((t) => t.visible && !t.el.hidden);
    // Reads first (one layout for all), writes after: no layout forced per tile.
    const sparks = onScreen.filter((t) => t.sparkDirty && now - t.sparkDrawn >= SPARK_EVERY_MS).map((t) => ({ t, w: t.spark.clientWidth, h: t.spark.clientHeight }));
    for (const tile of onScreen) {
      if (tile.dirty) {
        tile.dirty = false;
        this.renderValue(tile);
        tile.el.dataset.retained = String(tile.retained);
      }
      if (clockPass || tile.timeShown !== tile.ts) {
        tile.timeShown = tile.ts;
        setText(tile.time, ago(tile.ts, now));
      }
    }
    if (sparks.length > 0) {
      const colours = seriesColours(this.grid);
      for (const { t, w, h } of sparks) {
        t.sparkDirty = false;
        t.sparkDrawn = now;
        drawSparkline(t.spark, w, h, t.series, colours);
      }
    }
    // A sparkline held back by SPARK_EVERY_MS is drawn on a later pass.
    if (onScreen.some((t) => t.sparkDirty)) this.loop.request();
    const shown = [...this.tiles.values()].filter((t) => !t.el.hidden).length;
    this.empty.hidden = this.tiles.size > 0;
    const more = this.dropped.size > 0 ? ` (${this.dropped.size}${this.dropped.size >= MAX_TILES ? "+" : ""} more not shown: at most ${MAX_TILES})` : "";
    setText(this.summary, this.tiles.size === 0 ? "no topics yet" : `${shown} of ${this.tiles.size}${more}`);
  }

  /** A bare number large (with its field name, if it has one); several numeric fields as a small table; anything else as text. */
  private renderValue(tile: Tile): void {
    const { fields, text } = tile.reading;
    const kind = fields.size === 0 ? "text" : fields.size === 1 ? "number" : "fields";
    const names = [...fields.keys()].join("\u0000");
    // The DOM is rebuilt only when the kind or the field names change; otherwise texts are updated in place.
    if (tile.value.dataset.kind !== kind || tile.value.dataset.names !== names) {
      tile.value.dataset.kind = kind;
      tile.value.dataset.names = names;
      if (kind === "fields") {
        tile.value.replaceChildren(...[...fields.keys()].map((name) => h("div", { class: "tile-field" }, h("span", { class: "tile-field-name" }, name), h("span", { class: "tile-field-value" }))));
      } else if (kind === "number") {
        const [name] = fields.keys();
        tile.value.replaceChildren(h("span", { class: "tile-number" }), name !== "value" ? h("span", { class: "tile-field-name tile-unit" }, name!) : "");
      } else {
        tile.value.replaceChildren(h("span", { class: "tile-text" }));
      }
    }
    if (kind === "fields") {
      const cells = tile.value.querySelectorAll(".tile-field-value");
      let i = 0;
      for (const v of fields.values()) setText(cells[i++]!, formatNumber(v));
    } else {
      setText(tile.value.firstElementChild!, kind === "number" ? formatNumber(fields.values().next().value!) : text);
    }
  }
}
