/**
 * The `/rooms/:room…` routes. They validate input, then hand the request to the
 * room's Durable Object: upgrades and SSE with the hand-off (handoff/request.ts:
 * who, what and which kind of stream), everything else by RPC.
 */
import { Hono, type Context } from "hono";
import { isValidRoomName, MAX_PUBLISH_ID_LENGTH } from "../protocol";
import { readableFilters } from "../protocol/claims";
import { encodeHandoff, type MqttHandoff, type StreamKind } from "../handoff/request";
import { DEFAULT_HISTORY_PAGE, DEFAULT_PRESENCE_PAGE, DEFAULT_RETAINED_PAGE, MAX_HISTORY_PAGE, MAX_PRESENCE_PAGE, MAX_RETAINED_PAGE, readLimits } from "../protocol/limits";
import { parseCursor, parseSeq, parseStreamOptions, parseTopic, parseTopicsParam } from "../handoff/options";
import type { PublishInput } from "../durable-objects/payload";
import { assertScope, requireScope, tokenAuth, tokenMayFollow, type AuthVariables } from "./auth";
import { readPayload } from "./body";
import { checkPublishRate, publisherKey } from "./publish-rate";
import { apiError, errorResponse, methodNotAllowed } from "./errors";
import { connectionsAcross, describeRoom, kickAcross, presenceAcross, sequencer, shardObject, streamObject } from "./shards";
import { readKickTarget, tokenRevoked } from "./admin";
import { parseProperties } from "../protocol/properties";

export type RoomVariables = AuthVariables;

type RoomEnv = { Bindings: Env; Variables: RoomVariables };

export const rooms = new Hono<RoomEnv>();

/** Every room route: a valid name, checked before any object is touched. */
rooms.use("/:room/*", async function roomNameGate(c, next) {
  const room = c.req.param("room");
  if (!isValidRoomName(room)) {
    throw apiError(400, "bad_room_name", "room names are 1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit");
  }
  c.set("room", room);
  await next();
});

/** Then the token (open mode without AUTH_SECRET): still before any object is touched. */
// An MQTT client may carry its token in CONNECT instead (the Room checks it
// there): the `/:room/mqtt` route says so, not a path ending in "mqtt" (that
// is also `GET /rooms/mqtt`, the room named `mqtt`).
rooms.use("/:room/mqtt", tokenMayFollow);
// AUTH_SECRET is optional in the Env (worker-secrets.d.ts): a secret that was
// never put is undefined at runtime, which means open mode.
rooms.use("/:room/*", tokenAuth<Env>({ secret: (env): string | undefined => env.AUTH_SECRET, revoked: tokenRevoked }));

/** The room's own object (for a sharded room, its sequencer: see ./shards.ts). */
function stub(c: Context<RoomEnv>) {
  return sequencer(c.env, c.get("room"));
}

/**
 * A JSON body of `fields` plus `"messages":[…]` built from stored envelope
 * texts, joined as text and never parsed: what a client published cannot make
 * a read fail.
 */
function envelopesBody(c: Context<RoomEnv>, fields: Record<string, unknown>, envelopes: string[], after: Record<string, unknown> = {}): Response {
  const head = JSON.stringify(fields).slice(0, -1);
  const tail = Object.keys(after).length === 0 ? "}" : `,${JSON.stringify(after).slice(1)}`;
  return c.body(`${head},"messages":[${envelopes.join(",")}]${tail}`, 200, { "content-type": "application/json" });
}

function isUpgrade(c: Context<RoomEnv>): boolean {
  return c.req.header("upgrade")?.toLowerCase() === "websocket";
}

/**
 * The filters a reader gets under its token's `acl.sub` (protocol/claims.ts):
 * the ones it asked for if they fit inside the ACL, the ACL's own if it asked
 * for none; 403 `forbidden` for one that reaches outside. What comes out is
 * the reader's whole filter, on every path that reads messages.
 */
function readable(c: Context<RoomEnv>, requested: string[] | null): string[] | null {
  const narrowed = readableFilters(c.get("identity").acl, requested);
  if (!narrowed.ok) throw apiError(403, "forbidden", `this token may not read topic filter ${JSON.stringify(narrowed.outside.slice(0, 64))}`);
  return narrowed.value;
}

/** Upgrades and SSE go to the object with the hand-off: the Room decodes it and trusts it. */
function forward(c: Context<RoomEnv>, kind: StreamKind, mqtt?: MqttHandoff): Promise<Response> {
  const options = parseStreamOptions(new URL(c.req.url), c.req.header("last-event-id") ?? null);
  if (!options.ok) throw apiError(400, "bad_since", options.message);
  // MQTT asks for its filters in SUBSCRIBE, checked there against the same ACL.
  if (kind !== "mqtt") options.value.topics = readable(c, options.value.topics);
  const handoff = { kind, identity: c.get("identity"), options: options.value, sentAt: Date.now(), mqtt };
  // WebSockets and SSE spread over a sharded room's shards; MQTT sessions
  // live with the room's sequencer (its session store and retained values).
  const target = kind === "mqtt" ? stub(c) : streamObject(c.env, c.get("room"));
  return target.fetch(encodeHandoff(c.req.raw, handoff));
}

rooms.get("/:room", async (c) => {
  if (isUpgrade(c)) {
    assertScope(c.get("identity"), "subscribe");
    return forward(c, "socket");
  }
  return c.json(await describeRoom(c.env, c.get("room")));
});

/**
 * Which object instance answered and its wake counters, for tests and the
 * benchmark: only with the DIAGNOSTICS var on (never in production), a 404
 * like any unknown path otherwise. Diagnostics never ride on public routes.
 */
rooms.get("/:room/diagnostics", async (c) => {
  if (c.env.DIAGNOSTICS !== "1" && c.env.DIAGNOSTICS !== "true") return c.notFound();
  // `?shard=i`: one shard of a sharded room instead of its sequencer.
  const shard = c.req.query("shard");
  const room = c.get("room");
  const target = shard !== undefined && /^\d{1,2}$/.test(shard) ? shardObject(c.env, room, Number(shard)) : stub(c);
  return c.json(await target.diagnostics());
});

rooms.get("/:room/events", requireScope("subscribe"), (c) => forward(c, "sse"));

/** WebSocket subprotocols an MQTT client may offer (the 101 names the first one offered that is here). */
const MQTT_SUBPROTOCOLS: readonly string[] = ["mqtt", "mqttv3.1", "mqtt-v5"];

/**
 * MQTT over WebSocket. No scope is needed to connect: SUBSCRIBE needs
 * `subscribe` and PUBLISH `publish`, checked per packet by the Room.
 */
rooms.get("/:room/mqtt", (c) => {
  if (!isUpgrade(c)) throw apiError(426, "upgrade_required", "this path serves MQTT over WebSocket only");
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const subprotocol = offered.find((p) => MQTT_SUBPROTOCOLS.includes(p));
  if (subprotocol === undefined) {
    throw apiError(400, "bad_request", `an MQTT upgrade must offer the WebSocket subprotocol ${MQTT_SUBPROTOCOLS.join(", ")}`);
  }
  return forward(c, "mqtt", { subprotocol, tokenPending: c.get("tokenPending") === true });
});

/** `limit` and `cursor` of a presence or connections page: the page's size (bounded) and where it starts. */
function memberPage(c: { req: { query(name: string): string | undefined } }): { size: number; cursor: string | null } {
  const limit = parseSeq(c.req.query("limit"), "limit");
  if (!limit.ok) throw apiError(400, "bad_request", limit.message);
  const cursor = parseCursor(c.req.query("cursor"));
  if (!cursor.ok) throw apiError(400, "bad_request", cursor.message);
  return { size: Math.min(Math.max(limit.value ?? DEFAULT_PRESENCE_PAGE, 1), MAX_PRESENCE_PAGE), cursor: cursor.value };
}

rooms.get("/:room/presence", requireScope("presence"), async (c) => {
  const page = memberPage(c);
  return c.json(await presenceAcross(c.env, c.get("room"), page.size, page.cursor));
});

/** Every connection of the room, a page at a time (the `admin` scope; docs/protocol.md). */
rooms.get("/:room/connections", requireScope("admin"), async (c) => {
  const page = memberPage(c);
  return c.json(await connectionsAcross(c.env, c.get("room"), page.size, page.cursor));
});

/** Closes one connection or every connection of a sub, on every object of the room (4403; docs/protocol.md). */
rooms.post("/:room/kick", requireScope("admin"), async (c) => {
  const target = await readKickTarget(c.req.raw);
  return c.json({ closed: await kickAcross(c.env, c.get("room"), target) });
});

rooms.get("/:room/messages", requireScope("history"), async (c) => {
  const after = parseSeq(c.req.query("after"), "after");
  if (!after.ok) throw apiError(400, "bad_request", after.message);
  const limit = parseSeq(c.req.query("limit"), "limit");
  if (!limit.ok) throw apiError(400, "bad_request", limit.message);
  const size = Math.min(Math.max(limit.value ?? DEFAULT_HISTORY_PAGE, 1), MAX_HISTORY_PAGE);
  const topics = parseTopicsParam(c.req.query("topics"));
  if (!topics.ok) throw apiError(400, "bad_topic", topics.message);
  const page = await stub(c).history(after.value ?? 0, size, readable(c, topics.value));
  return envelopesBody(c, { room: page.room, epoch: page.epoch, seq: page.seq }, page.messages);
});

rooms.get("/:room/retained", requireScope("subscribe"), async (c) => {
  const topics = parseTopicsParam(c.req.query("topics"));
  if (!topics.ok) throw apiError(400, "bad_topic", topics.message);
  const limit = parseSeq(c.req.query("limit"), "limit");
  if (!limit.ok) throw apiError(400, "bad_request", limit.message);
  const cursor = parseSeq(c.req.query("cursor"), "cursor");
  if (!cursor.ok) throw apiError(400, "bad_request", "cursor is not one this relay gave out");
  const size = Math.min(Math.max(limit.value ?? DEFAULT_RETAINED_PAGE, 1), MAX_RETAINED_PAGE);
  const { room, messages, cursor: next } = await stub(c).retained(readable(c, topics.value), size, cursor.value);
  // The cursor after the messages: a client reading the body as a stream meets it last.
  return envelopesBody(c, { room }, messages, { cursor: next });
});

// The publish scope, like every rule of a publish, is the Room's pipeline's to check (durable-objects/publish/).
rooms.post("/:room/messages", async (c) => {
  const key = c.req.header("idempotency-key") ?? null;
  if (key !== null && (key.length === 0 || key.length > MAX_PUBLISH_ID_LENGTH)) {
    throw apiError(400, "bad_request", `Idempotency-Key must be 1 to ${MAX_PUBLISH_ID_LENGTH} characters`);
  }
  const identity = c.get("identity");
  await checkPublishRate(c.env.HTTP_PUBLISH_LIMITER, publisherKey(identity, c.req.header("cf-connecting-ip")));
  const body = await readPayload(c.req.raw, readLimits(c.env).maxMessageBytes);
  // A JSON body carries its topic and retain flag; a text or binary one, the query.
  const topic = parseTopic(body.topic ?? c.req.query("topic"));
  if (!topic.ok) throw apiError(400, "bad_topic", topic.message);
  const retainQuery = c.req.query("retain");
  if (body.retain !== undefined && typeof body.retain !== "boolean") throw apiError(400, "bad_request", "retain must be true or false");
  const retain = body.retain === true || retainQuery === "1" || retainQuery === "true";
  if (retain && topic.value === null) throw apiError(400, "bad_topic", "a retained publish needs a topic");
  // `"history": false` (JSON body) or `?history=0`: delivered live, not stored (docs/protocol.md).
  if (body.history !== undefined && typeof body.history !== "boolean") throw apiError(400, "bad_request", "history must be true or false");
  const historyQuery = c.req.query("history");
  const live = body.history === false || historyQuery === "0" || historyQuery === "false";
  if (live && retain) throw apiError(400, "bad_request", "a publish that skips history cannot be retained");
  const properties = parseProperties(body.properties);
  if (!properties.ok) throw apiError(400, "bad_request", properties.message);
  // With a token, `from` is who signed in (its sub); in open mode, "http".
  const input: PublishInput = {
    payload: body.payload,
    from: identity.sub ?? "http",
    publisher: identity.sub,
    publishId: key,
    topic: topic.value,
    retain,
    ...(live ? { live: true as const } : {}),
    ...(properties.value ? { properties: properties.value } : {}),
  };
  const answer = await stub(c).publishMessage(input, identity);
  if ("refused" in answer) return errorResponse(answer.refused.status, answer.refused.code, answer.refused.message);
  return c.json({ seq: answer.seq, epoch: answer.epoch }, 201);
});

// Known paths, other methods.
rooms.all("/:room", () => methodNotAllowed(["GET"]));
rooms.all("/:room/events", () => methodNotAllowed(["GET"]));
rooms.all("/:room/presence", () => methodNotAllowed(["GET"]));
rooms.all("/:room/messages", () => methodNotAllowed(["GET", "POST"]));
rooms.all("/:room/retained", () => methodNotAllowed(["GET"]));
rooms.all("/:room/mqtt", () => methodNotAllowed(["GET"]));
rooms.all("/:room/connections", () => methodNotAllowed(["GET"]));
rooms.all("/:room/kick", () => methodNotAllowed(["POST"]));
