/**
 * The soak's flags. Defaults make a 3-minute run on a laptop: 20 rooms, 40
 * devices and 10 dashboards in each traffic phase, idle gaps of 15 s (workerd
 * evicts an idle Durable Object after about 10 s, so each gap hibernates
 * every room).
 */
import { parseArgs } from "node:util";

export class UsageError extends Error {}

export interface SoakOptions {
  durationMs: number;
  rooms: number;
  /** Devices per traffic phase (mixed json / raw / http). */
  devices: number;
  /** Dashboards per traffic phase; plus one "sleeper" per room that stays for the whole run. */
  dashboards: number;
  /** Readings per second per device. */
  rate: number;
  /** Chance per second that a link is dropped during traffic. */
  flaky: number;
  trafficMs: number;
  idleMs: number;
  /** Seconds between progress lines. */
  everyMs: number;
  help: boolean;
}

export const HELP = `Usage: npm run soak -- [flags]

Runs traffic against an embedded relay (Miniflare) in phases: traffic with
connections opening, dropping and closing, then an idle gap long enough for
every room to hibernate, then traffic again. Prints memory and message counts
as it goes and a summary at the end.

  --duration T   total length of the run: 90s, 3m (default 3m)
  --rooms N      rooms (default 20)
  --devices N    devices per traffic phase (default 40)
  --dashboards N dashboards per traffic phase (default 10)
  --rate R       readings per second per device (default 2)
  --flaky F      chance per second that a link drops (default 0.05)
  --traffic T    length of a traffic phase (default 30s)
  --idle T       length of an idle gap, above 10s to hibernate (default 15s)
  --every T      progress line interval (default 5s)

Exit codes: 0 nothing lost or duplicated, 1 something was (or the run failed), 2 bad flags.`;

export function parseSoakFlags(argv: string[]): SoakOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: "string" },
        rooms: { type: "string" },
        devices: { type: "string" },
        dashboards: { type: "string" },
        rate: { type: "string" },
        flaky: { type: "string" },
        traffic: { type: "string" },
        idle: { type: "string" },
        every: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError(String((error as Error).message).split("\n")[0]);
  }
  const str = (name: string) => (typeof values[name] === "string" ? (values[name] as string) : undefined);
  const options: SoakOptions = {
    durationMs: duration("duration", str("duration"), 180_000),
    rooms: number("rooms", str("rooms"), 20, 1, 1000, true),
    devices: number("devices", str("devices"), 40, 1, 10_000, true),
    dashboards: number("dashboards", str("dashboards"), 10, 1, 10_000, true),
    rate: number("rate", str("rate"), 2, 0.01, 40, false),
    flaky: number("flaky", str("flaky"), 0.05, 0, 1, false),
    trafficMs: duration("traffic", str("traffic"), 30_000),
    idleMs: duration("idle", str("idle"), 15_000),
    everyMs: duration("every", str("every"), 5_000),
    help: values.help === true,
  };
  if (options.idleMs <= 10_000) console.warn(`soak: --idle ${options.idleMs} ms may be too short for workerd to evict a room (about 10 s)`);
  return options;
}

/** `500ms`, `90s`, `3m` or a bare number of seconds, in ms. */
function duration(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? "s") as "ms" | "s" | "m"] : NaN;
  if (!(ms > 0) || ms > 24 * 3_600_000) throw new UsageError(`--${name} must be a duration like 90s or 3m, got ${JSON.stringify(text)}`);
  return Math.round(ms);
}

function number(name: string, text: string | undefined, fallback: number, min: number, max: number, whole: boolean): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${whole ? "an integer" : "a number"} from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}
