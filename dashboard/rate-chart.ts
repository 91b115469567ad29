/**
 * The msgs/sec chart: a canvas redrawn once a second (and on resize),
 * sized for the device's pixel ratio, in the theme's colours (read from CSS
 * custom properties, so dark and light both work).
 */
import { h } from "./dom.js";

export class RateChart {
  readonly element: HTMLCanvasElement;

  constructor(label: string) {
    this.element = h("canvas", { class: "chart", attrs: { role: "img", "aria-label": label } });
  }

  draw(series: number[]): void {
    const canvas = this.element;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    if (!ctx || series.length < 2) return;
    const style = getComputedStyle(canvas);
    const accent = style.getPropertyValue("--accent").trim() || "#3b82f6";
    const grid = style.getPropertyValue("--line").trim() || "#8884";

    ctx.clearRect(0, 0, width, height);
    // One bar per second: the data is a count per second, so bars say it as it is.
    const max = Math.max(1, ...series);
    const slot = width / series.length;
    const gap = slot > 4 * ratio ? ratio : 0;
    ctx.fillStyle = accent;
    series.forEach((count, i) => {
      if (count === 0) return;
      const barHeight = Math.max(ratio, (count / max) * (height - ratio));
      ctx.fillRect(i * slot, height - barHeight, slot - gap, barHeight);
    });
    ctx.fillStyle = grid;
    ctx.fillRect(0, height - ratio, width, ratio); // the zero line
  }
}
