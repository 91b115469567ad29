/**
 * The msgs/sec sparkline: a canvas redrawn once a second (and on resize),
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
    const pad = 2 * ratio;
    const max = Math.max(1, ...series);
    const x = (i: number) => (i / (series.length - 1)) * width;
    const y = (v: number) => height - pad - (v / max) * (height - 2 * pad);

    ctx.strokeStyle = grid;
    ctx.lineWidth = ratio;
    ctx.beginPath();
    ctx.moveTo(0, height - ratio / 2);
    ctx.lineTo(width, height - ratio / 2);
    ctx.stroke();

    ctx.beginPath();
    series.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
    ctx.lineJoin = "round";
    ctx.lineWidth = 1.5 * ratio;
    ctx.strokeStyle = accent;
    ctx.stroke();
    ctx.lineTo(width, height);
    ctx.lineTo(0, height);
    ctx.closePath();
    ctx.globalAlpha = 0.18;
    ctx.fillStyle = accent;
    ctx.fill();
    ctx.globalAlpha = 1;
  }
}
