/**
 * Flag parsing the `roomcast` commands share (cli-commands.ts, cli-admin.ts):
 * strict flags, the relay URL and room, the token from the flag or
 * $ROOMCAST_TOKEN. Node-only.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { isValidRoomName } from "../protocol/index.js";
import { UsageError } from "./cli-kit.js";
import type { Io } from "./cli-kit.js";

export const DEFAULT_URL = "http://127.0.0.1:8787";

type Options = NonNullable<ParseArgsConfig["options"]>;

export function parse(argv: string[], options: Options, allowPositionals = false) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals,
      strict: true,
    });
    return { values: values as Record<string, unknown>, positionals, help: values.help === true };
  } catch (error) {
    // parseArgs' messages are already one readable line ("Unknown option '--x'…").
    throw new UsageError(error instanceof Error ? error.message.split("\n")[0]! : String(error));
  }
}

/** `--url` (or $ROOMCAST_URL) and `--token` (or $ROOMCAST_TOKEN): what every command that talks to a relay takes. */
export function relayFlags(values: Record<string, unknown>, io: Io): { url: string; token?: string } {
  const url = str(values.url) ?? io.env.ROOMCAST_URL ?? DEFAULT_URL;
  try {
    const protocol = new URL(url).protocol;
    if (!["http:", "https:", "ws:", "wss:"].includes(protocol)) throw new Error();
  } catch {
    throw new UsageError(`invalid --url ${JSON.stringify(url)}: use e.g. ${DEFAULT_URL}`);
  }
  return { url, token: str(values.token) ?? io.env.ROOMCAST_TOKEN };
}

/** The relay's flags and `--room`, required and valid. */
export function common(values: Record<string, unknown>, io: Io): { url: string; room: string; token?: string } {
  const relay = relayFlags(values, io);
  const room = str(values.room);
  if (room === undefined) throw new UsageError("--room is required");
  if (!isValidRoomName(room)) throw new UsageError(`invalid --room ${JSON.stringify(room)}`);
  return { ...relay, room };
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

