/**
 * The run as one SVG: fan-out throughput by room size, latency quantiles,
 * idle memory and connection setup, each grouped by system (and Roomcast's
 * socket variant). vega-lite compiles the spec; vega
 * renders it to SVG with no canvas (fine on Node 20).
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { speaksRoomcast } from "../systems/system.js";
import type { BenchResults } from "./results.js";

export async function chartSvg(r: BenchResults): Promise<string> {
  const fanout = r.systems.flatMap((system) => (r.fanout[system] ?? []).map((p) => ({ system, N: p.subscribers, value: p.msgsPerSec })));
  const latency = r.systems.flatMap((system) => {
    const l = r.latency[system];
    return l ? [["p50", l.p50_ms], ["p99", l.p99_ms], ["p99.9", l.p999_ms]].map(([q, value]) => ({ system, q, value })) : [];
  });
  const idle = r.systems.flatMap((system) =>
    (r.idle[system]?.points ?? []).flatMap((p) => [
      { system, state: `${p.sockets} awake`, value: p.rssBeforeMiB },
      { system, state: `${p.sockets} hibernated`, value: p.rssAfterMiB },
    ]),
  );
  const connect = r.systems.flatMap((system) =>
    (r.connect[system] ?? []).map((p) => ({ system: speaksRoomcast(system) && p.variant !== "json" ? `${system} ${p.variant}` : system, N: p.sockets, value: p.upgradesPerSec })),
  );
  const connectSystems = [...new Set(connect.map((p) => p.system))];
  const color = { field: "system", type: "nominal", sort: r.systems, legend: { orient: "bottom" } } as const;
  const grouped = (title: string, data: object[], x: string, y: string) =>
    ({
      title,
      width: 220,
      height: 200,
      data: { values: data },
      mark: "bar",
      encoding: {
        x: { field: x, type: "ordinal", title: null },
        xOffset: { field: "system", sort: r.systems },
        y: { field: "value", type: "quantitative", title: y },
        color,
        tooltip: [{ field: "system" }, { field: "value" }],
      },
    }) as const;
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `Roomcast bench ${r.date} (${r.mode})`,
    hconcat: [
      grouped("Fan-out burst: delivered msg/s", fanout, "N", "messages / s"),
      grouped("Steady latency (ms)", latency, "q", "ms"),
      grouped("Idle runtime RSS (MiB)", idle, "state", "MiB"),
      {
        ...grouped("Connection setup: upgrades/s", connect, "N", "upgrades / s"),
        encoding: {
          ...grouped("", connect, "N", "upgrades / s").encoding,
          xOffset: { field: "system", sort: connectSystems },
          color: { ...color, sort: connectSystems },
        },
      },
    ],
    config: { background: "white" },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}
