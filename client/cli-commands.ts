/**
 * The `roomcast` commands, written against a small `Io` so tests can run them
 * in-process. Node-only (the library itself never imports this file).
 *
 * Exit codes scripts can rely on: 0 ok, 1 runtime failure (network, refused,
 * server error), 2 bad usage (unknown flag, missing or malformed argument).
 */
import { readFileSync } from "node:fs";
import { CONNECTION_ID_PREFIX, isValidRoomName } from "../protocol/index.js";
import { parseListen, startBridge } from "./bridge.js";
import { RoomcastClient } from "./client.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseDuration, UsageError, type Io } from "./cli-kit.js";
import { common, DEFAULT_URL, parse, str } from "./cli-args.js";
import { ADMIN_COMMANDS, ADMIN_HELP } from "./cli-admin.js";
import { publishHttp } from "./http.js";
import { MAX_META_BYTES, parseAclClaim, type Acl } from "../protocol/claims.js";
import { MAX_TTL_SECONDS, MIN_SECRET_LENGTH, SCOPES, signJwt } from "./jwt.js";

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE };
export type { Io };


const HELP: Record<string, string> = {
  main: `roomcast: command-line client of a Roomcast relay

Usage: roomcast <command> [flags]

Commands:
  token     print a signed access token (JWT)
  publish   publish one message over HTTP
  tail      print a room's messages as JSON lines, live
  bridge    let TCP-only MQTT devices reach a room (one WebSocket each)
  connections  list a room's connections (admin scope)
  kick      close a connection, or every connection of a sub (admin scope)
  revoke    revoke a token by jti, or a sub's tokens issued before a time

Run 'roomcast <command> --help' for a command's flags.
Exit codes: 0 ok, 1 failure, 2 bad usage.`,
  token: `Usage: roomcast token --room R [--room R2 …] --scope "…" [--ttl 1h] [--sub ID] [--meta JSON] [--acl-pub F …] [--acl-sub F …] [--secret S]

Prints an HS256 JWT for the relay whose AUTH_SECRET is $ROOMCAST_SECRET (or S),
at least ${MIN_SECRET_LENGTH} characters. It carries iat and a random jti, so
\`roomcast revoke\` can name it (--jti) or its sub's older tokens (--sub).

  --secret S   the relay's AUTH_SECRET, instead of $ROOMCAST_SECRET (visible to
               other users in the process list: prefer the variable)
  --room R     a room the token opens; repeat for more; a trailing * matches a prefix
  --scope "…"  space-separated, from: ${SCOPES.join(" ")}
  --ttl T      lifetime: 90, 90s, 15m, 1h, 7d (default 1h, at most ${MAX_TTL_SECONDS / 86400}d)
  --sub ID     client id shown in presence (default: a random cli-… id)
  --meta JSON  an object shown in presence (at most 1 KiB)
  --acl-pub F  a topic filter the token may publish on; repeat for more. With
               any, a publish outside them (or without a topic) is refused
  --acl-sub F  a topic filter the token may receive; repeat for more. With any,
               the token receives only topics they match (docs/security.md)`,
  publish: `Usage: roomcast publish --url U --room R [--token T] [--id KEY] DATA

Publishes DATA with POST /rooms/R/messages and prints {"seq","epoch"}.
DATA is sent as JSON when it parses as JSON, else as text; '-' reads standard input.

  --url U      the relay (default: $ROOMCAST_URL or ${DEFAULT_URL})
  --room R     the room
  --token T    access token (default: $ROOMCAST_TOKEN)
  --id KEY     Idempotency-Key, to retry without publishing twice (default: random)`,
  tail: `Usage: roomcast tail --url U --room R [--token T] [--since N] [--presence] [--verbose]

Prints every message envelope of room R as one JSON line, reconnecting and
resuming so that none is missed or repeated. Stop with Ctrl-C.

  --url U      the relay (default: $ROOMCAST_URL or ${DEFAULT_URL})
  --room R     the room
  --token T    access token (default: $ROOMCAST_TOKEN)
  --since N    start after seq N (0: the whole history kept) instead of now
  --presence   also print presence frames
  --verbose    report connection state on standard error`,
  bridge: `Usage: roomcast bridge --listen HOST:PORT --url ws(s)://…/rooms/R/mqtt [--verbose]

Listens for MQTT over TCP (3.1.1 or 5.0) and gives each TCP connection its own
WebSocket to the room's MQTT endpoint, piping bytes both ways. The device's
CONNECT, token (as its password, or ?token= on --url), session and will are its
own. Stop with Ctrl-C.

  --listen A   HOST:PORT to listen on (PORT alone: 127.0.0.1; 0.0.0.0:1883 for every interface)
  --url U      the room's MQTT endpoint, ws:// or wss:// (TLS to the relay)
  --verbose    one line per connection opened and closed, on standard error`,
  ...ADMIN_HELP,
};

/** Each command and its runner; its help is `HELP[name]`. */
const COMMANDS: Readonly<Record<string, (argv: string[], io: Io) => Promise<number>>> = {
  token: tokenCommand,
  publish: publishCommand,
  tail: tailCommand,
  bridge: bridgeCommand,
  ...ADMIN_COMMANDS,
};

export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command !== undefined && Object.hasOwn(COMMANDS, command)) return await COMMANDS[command]!(rest, io);
    switch (command) {
      case undefined:
        io.err(HELP.main!);
        return EXIT_USAGE;
      case "help":
      case "-h":
      case "--help":
        io.out(HELP.main!);
        return EXIT_OK;
      case "-v":
      case "--version":
        io.out(version());
        return EXIT_OK;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`roomcast: ${error.message}`);
      io.err(`Try 'roomcast ${command && HELP[command] ? `${command} ` : ""}--help'.`);
      return EXIT_USAGE;
    }
    io.err(oneLine(error));
    return EXIT_FAILURE;
  }
}

// ---- bridge ---------------------------------------------------------------------

async function bridgeCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(argv, { listen: { type: "string" }, url: { type: "string" }, verbose: { type: "boolean" } });
  if (help) return printHelp("bridge", io);
  const listenText = str(values.listen);
  if (listenText === undefined) throw new UsageError("--listen is required, e.g. --listen 0.0.0.0:1883");
  const listen = parseListen(listenText);
  if (listen === null) throw new UsageError(`invalid --listen ${JSON.stringify(listenText)}: use HOST:PORT, e.g. 127.0.0.1:1883`);
  const url = str(values.url);
  if (url === undefined) throw new UsageError("--url is required, e.g. --url wss://relay.example/rooms/kitchen/mqtt");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`invalid --url ${JSON.stringify(url)}: use e.g. ws://127.0.0.1:8787/rooms/R/mqtt`);
  }
  if (!["ws:", "wss:"].includes(parsed.protocol) || !/^\/rooms\/[^/]+\/mqtt$/.test(parsed.pathname)) {
    throw new UsageError(`invalid --url ${JSON.stringify(url)}: a room's MQTT endpoint, ws(s)://HOST/rooms/R/mqtt`);
  }
  const bridge = await startBridge({ ...listen, url, log: values.verbose ? (line) => io.err(`roomcast bridge: ${line}`) : undefined });
  const { address, port } = bridge.address;
  io.out(`roomcast bridge: mqtt://${address.includes(":") ? `[${address}]` : address}:${port} -> ${parsed.origin}${parsed.pathname}`);
  if (io.signal !== undefined && !io.signal.aborted) await new Promise((resolve) => io.signal!.addEventListener("abort", resolve, { once: true }));
  await bridge.close();
  return EXIT_OK;
}

// ---- token ----------------------------------------------------------------------

async function tokenCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(argv, {
    secret: { type: "string" },
    room: { type: "string", multiple: true },
    scope: { type: "string" },
    ttl: { type: "string", default: "1h" },
    sub: { type: "string" },
    meta: { type: "string" },
    "acl-pub": { type: "string", multiple: true },
    "acl-sub": { type: "string", multiple: true },
  });
  if (help) return printHelp("token", io);
  const secret = str(values.secret) ?? io.env.ROOMCAST_SECRET;
  if (!secret) throw new UsageError("set ROOMCAST_SECRET (or pass --secret, which other users of this machine can read in the process list)");
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new UsageError(`the secret is shorter than ${MIN_SECRET_LENGTH} characters: use a long random one, e.g. \`openssl rand -base64 32\``);
  }
  const rooms = (values.room as string[] | undefined) ?? [];
  if (rooms.length === 0) throw new UsageError("at least one --room is required");
  for (const room of rooms) {
    const name = room.endsWith("*") ? room.slice(0, -1) : room;
    // A bare "*" (every room) and prefixes such as "team-*" are allowed.
    if (name !== "" && !isValidRoomName(name) && !(room.endsWith("*") && /^[A-Za-z0-9._:-]+$/.test(name))) {
      throw new UsageError(`invalid --room ${JSON.stringify(room)}`);
    }
  }
  const scopeText = str(values.scope);
  if (scopeText === undefined) throw new UsageError(`--scope is required, e.g. --scope "subscribe publish"`);
  const scopes = scopeText.split(/\s+/).filter(Boolean);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(`invalid --scope ${JSON.stringify(scopeText)}: use words from "${SCOPES.join(" ")}"`);
  }
  const ttlMs = parseDuration(str(values.ttl) ?? "1h");
  const ttl = ttlMs === undefined || ttlMs < 1000 ? undefined : Math.floor(ttlMs / 1000);
  if (ttl === undefined) throw new UsageError(`invalid --ttl ${JSON.stringify(values.ttl)}: use e.g. 90s, 15m, 1h, 7d`);
  if (ttl > MAX_TTL_SECONDS) throw new UsageError(`--ttl ${values.ttl} is longer than ${MAX_TTL_SECONDS / 86400}d: a token cannot be revoked, keep it short`);
  const sub = str(values.sub);
  if (sub !== undefined && sub.startsWith(CONNECTION_ID_PREFIX)) {
    throw new UsageError(`--sub must not start with "${CONNECTION_ID_PREFIX}": that prefix belongs to connection ids, and the relay refuses such a token`);
  }
  let meta: Record<string, unknown> | undefined;
  const metaText = str(values.meta);
  if (metaText !== undefined) {
    try {
      meta = JSON.parse(metaText) as Record<string, unknown>;
    } catch {
      throw new UsageError("--meta must be a JSON object");
    }
    if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw new UsageError("--meta must be a JSON object");
    if (new TextEncoder().encode(JSON.stringify(meta)).length > MAX_META_BYTES) throw new UsageError(`--meta is larger than ${MAX_META_BYTES} bytes`);
  }
  const acl = aclOf(values["acl-pub"] as string[] | undefined, values["acl-sub"] as string[] | undefined);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: sub ?? `cli-${crypto.randomUUID().slice(0, 8)}`,
    rooms,
    scope: scopes.join(" "),
    iat: now,
    exp: now + ttl,
    // A random jti: `roomcast revoke --jti` can name this token alone.
    jti: crypto.randomUUID(),
    ...(meta ? { meta } : {}),
    ...(acl ? { acl } : {}),
  };
  io.out(await signJwt(claims, secret));
  return EXIT_OK;
}

/** The `acl` claim from the repeated flags, checked by the relay's own rule (protocol/claims.ts) so it never signs one the relay refuses. */
function aclOf(pub: string[] | undefined, sub: string[] | undefined): Acl | undefined {
  if (pub === undefined && sub === undefined) return undefined;
  const checked = parseAclClaim({ ...(pub ? { pub } : {}), ...(sub ? { sub } : {}) });
  if (!checked.ok) throw new UsageError(`invalid --acl-pub/--acl-sub: ${checked.message.replace(/^token /, "")}`);
  return checked.value;
}

// ---- publish --------------------------------------------------------------------

async function publishCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(
    argv,
    { url: { type: "string" }, room: { type: "string" }, token: { type: "string" }, id: { type: "string" } },
    true,
  );
  if (help) return printHelp("publish", io);
  const { url, room, token } = common(values, io);
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? "DATA is required" : "give exactly one DATA argument (quote it)");
  }
  let text = positionals[0]!;
  if (text === "-") {
    if (!io.readStdin) throw new UsageError("cannot read standard input here");
    text = (await io.readStdin()).replace(/\r?\n$/, "");
  }
  let json: { value: unknown } | undefined;
  try {
    json = { value: JSON.parse(text) };
  } catch {
    json = undefined;
  }
  const result = await publishHttp({
    url,
    room,
    token,
    idempotencyKey: str(values.id),
    ...(json ? { data: json.value } : { text }),
  });
  io.out(JSON.stringify({ seq: result.seq, epoch: result.epoch }));
  return EXIT_OK;
}

// ---- tail -----------------------------------------------------------------------

async function tailCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(argv, {
    url: { type: "string" },
    room: { type: "string" },
    token: { type: "string" },
    since: { type: "string" },
    presence: { type: "boolean" },
    verbose: { type: "boolean" },
  });
  if (help) return printHelp("tail", io);
  const { url, room, token } = common(values, io);
  let since: number | undefined;
  const sinceText = str(values.since);
  if (sinceText !== undefined) {
    since = Number(sinceText);
    if (!/^\d+$/.test(sinceText) || !Number.isSafeInteger(since)) throw new UsageError(`invalid --since ${JSON.stringify(sinceText)}: use a seq number`);
  }
  if (io.signal?.aborted) return EXIT_OK;

  const client = new RoomcastClient({ url, room, token, since, WebSocket: io.WebSocket });
  return await new Promise<number>((resolve) => {
    let stopping = false;
    client.on("message", (m) => io.out(JSON.stringify(m)));
    if (values.presence) client.on("presence", (p) => io.out(JSON.stringify(p)));
    client.on("error", (e) => io.err(oneLine(e)));
    if (values.verbose) {
      client.on("welcome", (w) =>
        io.err(`roomcast: joined ${w.room} at seq ${w.seq}, epoch ${w.epoch}${w.recovered ? ", resumed" : ""}`),
      );
      client.on("disconnect", (d) =>
        io.err(`roomcast: disconnected (${d.code}${d.reason ? ` ${d.reason}` : ""})${d.reconnect ? `, retrying in ${d.delay} ms` : ""}`),
      );
    }
    client.on("state", (s) => {
      if (s !== "closed") return;
      io.signal?.removeEventListener("abort", stop);
      resolve(stopping ? EXIT_OK : EXIT_FAILURE);
    });
    function stop(): void {
      stopping = true;
      client.close();
    }
    io.signal?.addEventListener("abort", stop, { once: true });
  });
}

// ---- helpers ----------------------------------------------------------------------

function printHelp(command: string, io: Io): number {
  io.out(HELP[command]!);
  return EXIT_OK;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.replace(/\s+/g, " ").trim();
  return line.startsWith("roomcast:") ? line : `roomcast: ${line}`;
}

function version(): string {
  // dist/pkg/client/ and client/ sit at different depths below package.json.
  for (const rel of ["../../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "roomcast" && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return "unknown";
}
