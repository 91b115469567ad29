/**
 * A tile's sparkline: its numeric fields over the last readings, drawn on a
 * small canvas in the theme's series colours (CSS custom properties
 * --series-1 … --series-6), each field scaled to its own range.
 */
import type { Series } from "./series.js";

export function seriesColours(from: Element): string[] {
  const style = getComputedStyle(from);
  return [1, 2, 3, 4, 5, 6].map((i) => style.getPropertyValue(`--series-${i}`).trim() || "#3b82f6");
}

/**
 * Draws `series` on `canvas`, whose CSS size the caller read beforehand (all
 * tiles' sizes are read in one pass before any is drawn, so drawing never
 * forces a layout per tile).
 */
export function drawSparkline(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number, series: Series, colours: string[]): void {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(cssWidth * ratio));
  const height = Math.max(1, Math.round(cssHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, width, height);
  const pad = 2 * ratio;
  ctx.lineWidth = 1.5 * ratio;
  ctx.lineJoin = "round";
  let f = 0;
  series.eachField((_name, values, count) => {
    const colour = colours[f++ % colours.length]!;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < count; i++) {
      const v = values[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!(max >= min)) return; // no finite value
    const span = max - min || 1;
    const step = (width - 2 * pad) / Math.max(1, count - 1);
    ctx.strokeStyle = colour;
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < count; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) {
        pen = false;
        continue;
      }
      const x = pad + i * step;
      const y = height - pad - ((v - min) / span) * (height - 2 * pad);
      if (pen) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      pen = true;
    }
    ctx.stroke();
  });
}
