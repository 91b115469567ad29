/**
 * A small hand-drawn SVG of a run: delivered messages per second (bars) and
 * p50 / p99 latency (lines) over time. No dependency: two axes and a few
 * paths are all it takes.
 */
import type { TimelinePoint } from "../load/index.js";

const WIDTH = 800;
const PANEL = 180;
const MARGIN = { left: 64, right: 16, top: 52, gap: 48, bottom: 32 };

export function chartSvg(title: string, points: TimelinePoint[]): string {
  const n = Math.max(1, points.length);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const x = (i: number) => MARGIN.left + (i / n) * plotW;
  const barW = Math.max(1, plotW / n - 1);
  const rateTop = MARGIN.top;
  const latTop = MARGIN.top + PANEL + MARGIN.gap;
  const height = latTop + PANEL + MARGIN.bottom;

  const maxRate = niceMax(Math.max(1, ...points.map((p) => p.delivered)));
  const maxLat = niceMax(Math.max(1, ...points.map((p) => p.p99_ms)));
  const yRate = (v: number) => rateTop + PANEL - (v / maxRate) * PANEL;
  const yLat = (v: number) => latTop + PANEL - (v / maxLat) * PANEL;

  const bars = points
    .map((p, i) => `<rect x="${fmt(x(i))}" y="${fmt(yRate(p.delivered))}" width="${fmt(barW)}" height="${fmt(rateTop + PANEL - yRate(p.delivered))}"/>`)
    .join("");
  const line = (key: "p50_ms" | "p99_ms") =>
    points.map((p, i) => `${i === 0 ? "M" : "L"}${fmt(x(i) + barW / 2)},${fmt(yLat(p[key]))}`).join("");

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${MARGIN.left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>
${axes(rateTop, maxRate, "delivered msgs/s", n, x)}
<g fill="#4c78a8">${bars}</g>
${axes(latTop, maxLat, "latency ms", n, x)}
<path d="${line("p50_ms")}" fill="none" stroke="#54a24b" stroke-width="1.5"/>
<path d="${line("p99_ms")}" fill="none" stroke="#e45756" stroke-width="1.5"/>
<text x="${WIDTH - 150}" y="${latTop - 8}" fill="#54a24b">p50</text><text x="${WIDTH - 110}" y="${latTop - 8}" fill="#e45756">p99</text>
<text x="${WIDTH / 2}" y="${height - 6}" text-anchor="middle">seconds</text>
</svg>
`;

  function axes(top: number, max: number, label: string, count: number, xAt: (i: number) => number): string {
    const parts = [`<text x="${MARGIN.left}" y="${top - 8}">${label}</text>`];
    for (const f of [0, 0.5, 1]) {
      const y = top + PANEL - f * PANEL;
      parts.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fmt(y)}" y2="${fmt(y)}" stroke="#ddd"/>`);
      parts.push(`<text x="${MARGIN.left - 6}" y="${fmt(y + 4)}" text-anchor="end">${Math.round(max * f)}</text>`);
    }
    const step = Math.max(1, Math.ceil(count / 10));
    for (let i = 0; i <= count; i += step) {
      parts.push(`<text x="${fmt(xAt(i))}" y="${top + PANEL + 14}" text-anchor="middle">${i}</text>`);
    }
    return parts.join("");
  }
}

/** 1, 2 or 5 times a power of ten, at or above `v`. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v)!;
}

function fmt(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}
