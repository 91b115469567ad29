/**
 * The simulator's flags: parsing, defaults and validation. Every mistake is a
 * `UsageError` with one readable line; the CLI turns it into exit code 2.
 */
import { isValidRoomName, ROOM_NAME } from "../../protocol/index.js";
import type { FleetMode } from "../load/index.js";
import { durationFlag, numberFlag, parseFlags, UsageError, wholeFlag } from "../load/flags.js";
import { MAX_SHARDS, MIN_SHARDS } from "../../protocol/limits.js";

export { UsageError };

export interface SimOptions {
  devices: number;
  dashboards: number;
  rooms: number;
  /** Rooms are `<prefix>-0` … `<prefix>-(rooms-1)`. */
  prefix: string | undefined;
  /** Readings per second per device. */
  rate: number;
  durationMs: number;
  /** Chance per second that a link is dropped. */
  flaky: number;
  mode: FleetMode;
  /** A running relay to drive instead of the embedded one. */
  url: string | undefined;
  token: string | undefined;
  secret: string | undefined;
  /** Shard every room of the run this many objects wide (the embedded relay's SHARDS var); 1: not sharded. */
  shards: number;
  /** Restart the embedded relay (with its state) this long into the run. */
  restartAfterMs: number | undefined;
  json: boolean;
  /** json devices publish on `sensors/d<N>/reading` topics, retained. */
  topics: boolean;
  /** Where the report and chart go. */
  outDir: string;
  help: boolean;
}

export const DEFAULT_OUT_DIR = "tools/sim/results";
/** The client library paces publishes at 40/s to stay under the relay's 50/s limit. */
export const MAX_RATE = 40;
const MODES: readonly FleetMode[] = ["json", "raw", "http", "mixed"];

export const HELP = `Usage: npm run simulate -- [flags]     (or: roomcast simulate [flags])

Runs a fleet of simulated IoT devices and dashboards against a relay (by
default one embedded on Miniflare) and reports what was lost.

  --devices N        devices publishing readings (default 100)
  --dashboards N     dashboards watching the rooms (default 3; every third reads over SSE)
  --rooms N          rooms the devices are spread over (default: one per 10 devices)
  --prefix P         rooms are named P-0 … P-(N-1) (default: a fresh random prefix)
  --rate R           readings per second per device, up to ${MAX_RATE} (default 1)
  --duration T       how long devices publish: 30s, 2m, 500ms (default 30s)
  --flaky F          chance per second that a link drops, 0 to 1 (default 0.02)
  --mode M           how devices publish: json, raw, http or mixed (default mixed)
  --restart-after T  restart the embedded relay, with its state, T into the run
  --shards K         shard every room K objects wide, 2 to 64 (the embedded relay's SHARDS var)
  --url U            drive a relay that is already running or deployed
  --token T          token for that relay (scopes: subscribe publish)
  --secret S         sign a token with S (and, embedded, run the relay with AUTH_SECRET=S)
  --out DIR          where the JSON report and SVG chart go (default ${DEFAULT_OUT_DIR})
  --topics           json devices publish on sensors/d<N>/reading, retained
                     (what the dashboard's fleet view shows as tiles)
  --json             print the report as one JSON object on the last line

Exit codes: 0 nothing lost or duplicated, 1 something was (or the run failed), 2 bad flags.`;

export function parseSimFlags(argv: string[]): SimOptions {
  const { str, bool } = parseFlags(
    argv,
    ["devices", "dashboards", "rooms", "prefix", "rate", "duration", "flaky", "mode", "restart-after", "shards", "url", "token", "secret", "out"],
    ["json", "topics"],
  );

  const devices = wholeFlag("devices", str("devices"), 100, 1);
  const dashboards = wholeFlag("dashboards", str("dashboards"), 3, 1);
  const rooms = wholeFlag("rooms", str("rooms"), Math.ceil(devices / 10), 1);
  const rate = numberFlag("rate", str("rate"), 1);
  if (!(rate > 0 && rate <= MAX_RATE)) throw new UsageError(`invalid --rate ${rate}: use a number above 0, up to ${MAX_RATE}`);
  const flaky = numberFlag("flaky", str("flaky"), 0.02);
  if (!(flaky >= 0 && flaky <= 1)) throw new UsageError(`invalid --flaky ${flaky}: use a chance per second from 0 to 1`);
  const mode = (str("mode") ?? "mixed") as FleetMode;
  if (!MODES.includes(mode)) throw new UsageError(`invalid --mode ${JSON.stringify(mode)}: use ${MODES.join(", ")}`);

  const prefix = str("prefix");
  if (prefix !== undefined && !isValidRoomName(`${prefix}-${rooms - 1}`)) {
    throw new UsageError(`invalid --prefix ${JSON.stringify(prefix)}: room names must match ${ROOM_NAME.source}`);
  }
  const url = str("url");
  if (url !== undefined) {
    let ok = false;
    try {
      ok = ["http:", "https:", "ws:", "wss:"].includes(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`invalid --url ${JSON.stringify(url)}: use e.g. http://127.0.0.1:8787`);
  }
  const token = str("token");
  const secret = str("secret");
  if (token !== undefined && secret !== undefined) throw new UsageError("give --token or --secret, not both");
  const restartAfter = str("restart-after");
  if (restartAfter !== undefined && url !== undefined) throw new UsageError("--restart-after needs the embedded relay (drop --url)");
  const shardsFlag = str("shards");
  const shards = wholeFlag("shards", shardsFlag, 1, MIN_SHARDS, MAX_SHARDS);
  if (shardsFlag !== undefined && url !== undefined) throw new UsageError("--shards configures the embedded relay (drop --url, or set SHARDS on that relay)");

  return {
    devices,
    dashboards,
    rooms,
    prefix,
    rate,
    durationMs: durationFlag("duration", str("duration") ?? "30s"),
    flaky,
    mode,
    url,
    token,
    secret,
    shards,
    restartAfterMs: restartAfter === undefined ? undefined : durationFlag("restart-after", restartAfter),
    json: bool("json"),
    topics: bool("topics"),
    outDir: str("out") ?? DEFAULT_OUT_DIR,
    help: bool("help"),
  };
}
