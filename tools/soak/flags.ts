/**
 * The soak's flags. Defaults make a 3-minute run on a laptop: 20 rooms, 40
 * devices and 10 dashboards in each traffic phase, idle gaps of 15 s (workerd
 * evicts an idle Durable Object after about 10 s, so each gap hibernates
 * every room).
 */
import { durationFlag, numberFlag, parseFlags, UsageError, wholeFlag } from "../load/flags.js";

export { UsageError };

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
  const { str, bool } = parseFlags(argv, ["duration", "rooms", "devices", "dashboards", "rate", "flaky", "traffic", "idle", "every"]);
  const options: SoakOptions = {
    durationMs: duration("duration", str("duration"), 180_000),
    rooms: wholeFlag("rooms", str("rooms"), 20, 1, 1000),
    devices: wholeFlag("devices", str("devices"), 40, 1, 10_000),
    dashboards: wholeFlag("dashboards", str("dashboards"), 10, 1, 10_000),
    rate: ranged("rate", str("rate"), 2, 0.01, 40),
    flaky: ranged("flaky", str("flaky"), 0.05, 0, 1),
    trafficMs: duration("traffic", str("traffic"), 30_000),
    idleMs: duration("idle", str("idle"), 15_000),
    everyMs: duration("every", str("every"), 5_000),
    help: bool("help"),
  };
  if (options.idleMs <= 10_000) console.warn(`soak: --idle ${options.idleMs} ms may be too short for workerd to evict a room (about 10 s)`);
  return options;
}

/** A duration flag with a default. */
function duration(name: string, text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : durationFlag(name, text);
}

/** A number from `min` to `max`. */
function ranged(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  const n = numberFlag(name, text, fallback);
  if (n < min || n > max) throw new UsageError(`invalid --${name} ${JSON.stringify(text)}: use a number from ${min} to ${max}`);
  return n;
}
