/** The `shards` scenario's summary: the widths side by side, then docs/scale.md's projection from them. */
import type { ShardsResult } from "./scenario.js";

export function shardsTable(r: ShardsResult): string {
  const label = (k: number) => (k === 1 ? "unsharded" : `K=${k}`);
  const cols = r.points.map((p) => label(p.shards));
  const row = (name: string, cell: (i: number) => string | number) => [name, ...r.points.map((_, i) => String(cell(i)))];
  const measured = [
    ["shards scenario (same room, same subscribers)", ...cols],
    row("subscribers", (i) => r.points[i]!.subscribers),
    row("messages in the burst", (i) => r.points[i]!.messages),
    row("fan-out msg/s (local, one thread)", (i) => r.points[i]!.msgsPerSec.toLocaleString("en-US")),
    row("frames per socket", (i) => r.points[i]!.framesPerSocket),
    row("sequencer batches", (i) => r.points[i]!.batches || "–"),
    row("sequencer pushes", (i) => r.points[i]!.pushes),
    row("pushes per batch per shard", (i) => r.points[i]!.pushesPerBatchPerShard || "–"),
    row("messages per batch", (i) => r.points[i]!.messagesPerBatch),
    row("pushes applied by shards (gaps fetched)", (i) => `${r.points[i]!.shardPushes} (${r.points[i]!.shardGaps})`),
    row("workerd CPU ms per message", (i) => r.points[i]!.cpuMsPerMessage),
    row("lost / duplicated / out of order", (i) => `${r.points[i]!.lost} / ${r.points[i]!.duplicated} / ${r.points[i]!.outOfOrder}`),
  ];
  const projected = [
    [`projection for ${r.readers.toLocaleString("en-US")} readers (docs/scale.md)`, "readers/shard", "fan-out msg/s", "sequencer msg/s", "room msg/s", "bound by"],
    ...r.projection.map((p) => [
      label(p.shards),
      p.readersPerShard.toLocaleString("en-US"),
      p.fits ? String(p.fanoutRate) : "–",
      p.fits ? String(p.sequencerRate) : "–",
      p.fits ? String(p.messageRate) : "does not fit",
      p.bound,
    ]),
  ];
  const inputs =
    `model inputs: ${r.framesPerObjectPerSecond.toLocaleString("en-US")} frames/s per object (1 / CPU per frame, unsharded), ` +
    "sequencer at its worst (one message per batch, one push per shard per batch) under 1000 requests/s, 32,768 sockets per object";
  return `${render(measured)}\n\n${render(projected)}\n${inputs}`;
}

function render(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(" | ")} |`;
  return [line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}
