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

export function drawSparkline(canvas: HTMLCanvasElement, series: Series, colours: string[]): void {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, width, height);
  const { fields } = series.snapshot();
  const pad = 2 * ratio;
  ctx.lineWidth = 1.5 * ratio;
  ctx.lineJoin = "round";
  let f = 0;
  for (const values of fields.values()) {
    const finite = values.filter(Number.isFinite);
    if (finite.length < 2) {
      f++;
      continue;
    }
    const min = Math.min(...finite);
    const span = Math.max(...finite) - min || 1;
    const step = (width - 2 * pad) / Math.max(1, values.length - 1);
    ctx.strokeStyle = colours[f++ % colours.length]!;
    ctx.beginPath();
    let pen = false;
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) return void (pen = false);
      const x = pad + i * step;
      const y = height - pad - ((v - min) / span) * (height - 2 * pad);
      if (pen) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  }
}
