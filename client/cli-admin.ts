/**
 * The operator's `roomcast` commands (the `admin` scope, docs/security.md):
 * `connections`, `kick` and `revoke`. Same conventions as the others
 * (cli-commands.ts): JSON on standard output, one readable line on error,
 * exit 0 ok, 1 failure (network, refused), 2 bad usage. Node-only.
 */
import { roomHttpUrl, type ConnectionInfo, type ConnectionList } from "../protocol/index.js";
import { common, DEFAULT_URL, parse, relayFlags, str } from "./cli-args.js";
import { EXIT_OK, UsageError } from "./cli-kit.js";
import type { Io } from "./cli-kit.js";
import { requestJson } from "./http.js";

export const ADMIN_HELP: Record<string, string> = {
  connections: `Usage: roomcast connections --url U --room R [--token T] [--limit N]

Prints every connection of room R as one JSON line each
({"id","sub","kind","connectedAt"}), reading every page. Needs a token with
the admin scope for R.

  --url U      the relay (default: $ROOMCAST_URL or ${DEFAULT_URL})
  --room R     the room
  --token T    access token (default: $ROOMCAST_TOKEN)
  --limit N    connections per request (default 100)`,
  kick: `Usage: roomcast kick --url U --room R [--token T] (--id ID | --sub SUB)

Closes one connection (--id) or every connection of a token subject (--sub)
in room R with 4403 (clients do not reconnect) and prints {"closed":N}.
Needs a token with the admin scope for R.`,
  revoke: `Usage: roomcast revoke --url U [--token T] (--jti J | --sub S [--before ISO])

Revokes one token (--jti), or every token of S issued before ISO (default:
now). New connections with it are refused (401 token_revoked) and open ones
closed with 4403 within 10 s. Prints {"revoked":…}. Needs a token with the
admin scope and rooms ["*"].`,
};

const bearer = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

async function connectionsCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(argv, { url: { type: "string" }, room: { type: "string" }, token: { type: "string" }, limit: { type: "string" } });
  if (help) return printHelp("connections", io);
  const { url, room, token } = common(values, io);
  const limit = str(values.limit) ?? "100";
  if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1) throw new UsageError(`invalid --limit ${JSON.stringify(limit)}: use 1 to 1000`);
  // Every page in turn: the relay's cursor guarantees each connection once.
  for (let cursor: string | null = ""; cursor !== null; ) {
    const page = `${roomHttpUrl(url, room, "/connections")}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const { json } = await requestJson(page, { headers: bearer(token) });
    const list = json as ConnectionList;
    for (const c of list.connections as ConnectionInfo[]) io.out(JSON.stringify(c));
    cursor = list.cursor;
  }
  return EXIT_OK;
}

async function kickCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(argv, { url: { type: "string" }, room: { type: "string" }, token: { type: "string" }, id: { type: "string" }, sub: { type: "string" } });
  if (help) return printHelp("kick", io);
  const { url, room, token } = common(values, io);
  const id = str(values.id);
  const sub = str(values.sub);
  if ((id === undefined) === (sub === undefined)) throw new UsageError("give exactly one of --id or --sub");
  const body = JSON.stringify(id !== undefined ? { id } : { sub });
  const { json } = await requestJson(roomHttpUrl(url, room, "/kick"), { method: "POST", headers: { ...bearer(token), "content-type": "application/json" }, body });
  io.out(JSON.stringify(json));
  return EXIT_OK;
}

async function revokeCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(argv, { url: { type: "string" }, token: { type: "string" }, jti: { type: "string" }, sub: { type: "string" }, before: { type: "string" } });
  if (help) return printHelp("revoke", io);
  const { url, token } = relayFlags(values, io);
  const jti = str(values.jti);
  const sub = str(values.sub);
  const before = str(values.before);
  if ((jti === undefined) === (sub === undefined)) throw new UsageError("give exactly one of --jti or --sub");
  if (before !== undefined && sub === undefined) throw new UsageError("--before goes with --sub");
  if (before !== undefined && Number.isNaN(Date.parse(before))) throw new UsageError(`invalid --before ${JSON.stringify(before)}: use an ISO 8601 time, e.g. 2030-01-01T00:00:00Z`);
  const body = JSON.stringify(jti !== undefined ? { jti } : { sub, ...(before !== undefined ? { before: new Date(before).toISOString() } : {}) });
  const { json } = await requestJson(adminUrl(url, "/revoke"), { method: "POST", headers: { ...bearer(token), "content-type": "application/json" }, body });
  io.out(JSON.stringify(json));
  return EXIT_OK;
}

/** `/admin/…` on the relay, from an http(s) or ws(s) base. */
function adminUrl(base: string, path: string): string {
  const url = new URL(roomHttpUrl(base, "x"));
  url.pathname = url.pathname.replace(/\/rooms\/x$/, `/admin${path}`);
  return url.toString();
}

function printHelp(command: string, io: Io): number {
  io.out(ADMIN_HELP[command]!);
  return EXIT_OK;
}

export const ADMIN_COMMANDS: Readonly<Record<string, (argv: string[], io: Io) => Promise<number>>> = {
  connections: connectionsCommand,
  kick: kickCommand,
  revoke: revokeCommand,
};
