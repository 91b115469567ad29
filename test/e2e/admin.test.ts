/**
 * Operator control over real sockets (the `admin` scope, issue 27): the
 * connection list pages every connection of every kind exactly once, also in
 * a sharded room; kicks close with 4403 (MQTT 5: DISCONNECT 0x98 first) and
 * end SSE streams, and the client library stops; revoked tokens are refused
 * and their open connections closed within REVOCATION_DELAY_MS.
 */
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import { RoomcastClient } from "../../client/client";
import { run, type Io } from "../../client/cli-commands";
import { REVOCATION_CACHE_MS } from "../../protocol/revocation";

/** The sweep these tests set (REVOCATION_SWEEP_SECONDS), and so the delay the docs promise for it. */
const SWEEP_SECONDS = 5;
const REVOCATION_DELAY_MS = REVOCATION_CACHE_MS + SWEEP_SECONDS * 1000;
import { RawMqtt } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const SECRET = "test-secret-admin-7c1e4b2a";
const relay = useRelay({ vars: { AUTH_SECRET: SECRET, SHARDS: "wide*=3", REVOCATION_SWEEP_SECONDS: String(SWEEP_SECONDS) } });
const nowS = () => Math.floor(Date.now() / 1000);

function token(sub: string, scope: string, rooms: string[] = ["*"], extra: Record<string, unknown> = {}): Promise<string> {
  return signJwt({ sub, rooms, scope, exp: nowS() + 3600, ...extra }, SECRET);
}
const adminToken = () => token("operator", "admin");
const ws = (room: string, tok: string, q = "") => `${relay.wsUrl}/rooms/${room}?token=${tok}${q}`;
const mqttUrl = (room: string, tok: string) => `${relay.wsUrl}/rooms/${room}/mqtt?token=${tok}`;

/** An SSE stream held open; `ended` settles when the server ends it. */
async function openSse(room: string, tok: string): Promise<{ ended: Promise<void>; cancel: () => void }> {
  const controller = new AbortController();
  const res = await fetch(`${relay.url}/rooms/${room}/events?token=${tok}`, { signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read(); // the opening comment: the stream is registered
  const ended = (async () => {
    for (;;) if ((await reader.read()).done) return;
  })();
  ended.catch(() => {});
  return { ended, cancel: () => controller.abort() };
}

/** The server's close code; a close from an alarm may leave TCP open locally (auth.test.ts says why), so the test does not wait for it. */
async function serverClosed(sock: TestSocket, ms = 10_000): Promise<number> {
  for (const deadline = Date.now() + ms; sock.closed === null && sock.ws.readyState !== WebSocket.CLOSING; ) {
    if (Date.now() > deadline) throw new Error("the server never closed the socket");
    await sleep(25);
  }
  sock.terminate();
  return (await sock.waitClosed()).code;
}

async function mqttConnected(room: string, tok: string, version: 4 | 5 = 5): Promise<RawMqtt> {
  const m = await RawMqtt.open(mqttUrl(room, tok), version);
  m.connect({ clientId: `c-${Math.random().toString(36).slice(2, 8)}` });
  const ack = await m.next("connack");
  expect(ack.reasonCode ?? ack.returnCode ?? 0).toBe(0);
  return m;
}

async function listAll(room: string, limit: number): Promise<Array<{ id: string; sub: string | null; kind: string; connectedAt: number }>> {
  const auth = { authorization: `Bearer ${await adminToken()}` };
  const seen = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const res = await fetch(`${relay.url}/rooms/${room}/connections?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { room: string; connections: any[]; cursor: string | null };
    expect(body.room).toBe(room);
    expect(body.connections.length).toBeLessThanOrEqual(limit);
    seen.push(...body.connections);
    cursor = body.cursor;
    if (cursor === null) return seen;
  }
  throw new Error("the list never ended");
}

async function kick(room: string, body: unknown, tok?: string): Promise<Response> {
  return fetch(`${relay.url}/rooms/${room}/kick`, {
    method: "POST",
    headers: { authorization: `Bearer ${tok ?? (await adminToken())}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function revoke(body: unknown, tok?: string): Promise<Response> {
  return fetch(`${relay.url}/admin/revoke`, {
    method: "POST",
    headers: { authorization: `Bearer ${tok ?? (await adminToken())}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("GET /rooms/:room/connections", () => {
  for (const [name, prefix] of [["a plain room", "plain"], ["a sharded room", "wide"]] as const) {
    it(`pages every connection of every kind exactly once in ${name}`, async () => {
      const room = uniqueRoom(prefix);
      const sockets = await Promise.all([0, 1, 2].map(async (i) => TestSocket.open(ws(room, await token(`json-${i}`, "subscribe")))));
      const raw = await TestSocket.open(ws(room, await token("raw-0", "subscribe"), "&mode=raw"));
      const sse = await openSse(room, await token("sse-0", "subscribe"));
      const mqtt = await mqttConnected(room, await token("mqtt-0", "subscribe publish"));
      const welcomes = await Promise.all(sockets.map((s) => s.next("welcome")));
      const before = Date.now();

      const all = await listAll(room, 2);
      expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
      expect(all.map((c) => `${c.kind}:${c.sub}`).sort()).toEqual(["json:json-0", "json:json-1", "json:json-2", "mqtt:mqtt-0", "raw:raw-0", "sse:sse-0"]);
      for (const w of welcomes) expect(all.some((c) => c.id === w.id)).toBe(true);
      for (const c of all) expect(c.connectedAt).toBeGreaterThan(before - 60_000);
      for (const c of all) expect(c.connectedAt).toBeLessThanOrEqual(Date.now());
      // One page large enough holds the same.
      expect((await listAll(room, 100)).map((c) => c.id).sort()).toEqual(all.map((c) => c.id).sort());

      for (const s of [...sockets, raw]) s.terminate();
      mqtt.ws.terminate();
      sse.cancel();
    });
  }

  it("needs the admin scope: 403 forbidden, and 400 for a bad body", async () => {
    const room = uniqueRoom("noadmin");
    const plain = await token("dev", "subscribe publish presence history");
    const list = await fetch(`${relay.url}/rooms/${room}/connections`, { headers: { authorization: `Bearer ${plain}` } });
    expect(list.status).toBe(403);
    expect(((await list.json()) as any).error.code).toBe("forbidden");
    const kicked = await kick(room, { sub: "dev" }, plain);
    expect(kicked.status).toBe(403);
    expect(((await kicked.json()) as any).error.code).toBe("forbidden");
    for (const body of [{}, { id: "x", sub: "y" }, { sub: "" }, { id: 5 }, ["x"], { other: 1 }]) {
      const res = await kick(room, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.code).toBe("bad_request");
    }
  });
});

describe("POST /rooms/:room/kick", () => {
  it("closes one connection by id with 4403 and leaves the others", async () => {
    const room = uniqueRoom("kick-id");
    const a = await TestSocket.open(ws(room, await token("dev-a", "subscribe")));
    const b = await TestSocket.open(ws(room, await token("dev-b", "subscribe")));
    const { id } = await a.next("welcome");
    await b.next("welcome");
    const res = await kick(room, { id });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ closed: 1 });
    expect(await serverClosed(a)).toBe(4403);
    expect(b.closed).toBeNull();
    expect((await listAll(room, 10)).map((c) => c.sub)).toEqual(["dev-b"]);
    b.terminate();
  });

  for (const prefix of ["kick-sub", "wide-kick"]) {
    it(`closes every connection of a sub, of every kind, on every object (${prefix})`, async () => {
      const room = uniqueRoom(prefix);
      const tok = await token("dev-k", "subscribe publish");
      const j1 = await TestSocket.open(ws(room, tok));
      const j2 = await TestSocket.open(ws(room, tok, "&mode=raw"));
      const sse = await openSse(room, tok);
      const m5 = await mqttConnected(room, tok, 5);
      const other = await TestSocket.open(ws(room, await token("dev-other", "subscribe")));
      await j1.next("welcome");
      await other.next("welcome");

      const res = await kick(room, { sub: "dev-k" });
      expect(await res.json()).toEqual({ closed: 4 });
      expect(await serverClosed(j1)).toBe(4403);
      expect(await serverClosed(j2)).toBe(4403);
      await sse.ended;
      const disconnect = await m5.next("disconnect");
      expect(disconnect.reasonCode).toBe(0x98);
      for (let t = Date.now(); m5.closed === null && Date.now() - t < 10_000; ) await sleep(25);
      expect(m5.closed?.code).toBe(4403);
      expect(other.closed).toBeNull();
      expect((await listAll(room, 10)).map((c) => c.sub)).toEqual(["dev-other"]);
      other.terminate();
    });
  }

  it("stops the client library: no reconnect after 4403", async () => {
    const room = uniqueRoom("kick-client");
    const client = new RoomcastClient({ url: relay.url, room, token: await token("dev-c", "subscribe"), WebSocket: WebSocket as never });
    const disconnects: Array<{ code: number; reconnect: boolean }> = [];
    client.on("disconnect", (d) => disconnects.push(d));
    const closed = new Promise<void>((resolve) => client.on("state", (s) => s === "closed" && resolve()));
    await new Promise<void>((resolve) => client.on("welcome", () => resolve()));
    expect(await (await kick(room, { sub: "dev-c" })).json()).toEqual({ closed: 1 });
    await closed;
    expect(disconnects).toEqual([expect.objectContaining({ code: 4403, reconnect: false })]);
    await sleep(500);
    expect(await listAll(room, 10)).toEqual([]);
  });
});

describe("POST /admin/revoke", () => {
  it("needs admin over every room (rooms *): 403 otherwise, 400 for a bad body", async () => {
    const narrow = await token("op", "admin", ["some-room"]);
    expect((await revoke({ jti: "x" }, narrow)).status).toBe(403);
    expect((await revoke({ jti: "x" }, await token("op", "subscribe"))).status).toBe(403);
    for (const body of [{}, { jti: "" }, { jti: "a", sub: "b" }, { sub: "s", before: "yesterday" }, { sub: "s", extra: 1 }]) {
      expect((await revoke(body)).status).toBe(400);
    }
  });

  it(`refuses a revoked jti (401 token_revoked) and closes its connections within ${REVOCATION_DELAY_MS} ms`, { timeout: 30_000 }, async () => {
    const room = uniqueRoom("revoke-jti");
    const jti = `jti-${Math.random().toString(36).slice(2)}`;
    const tok = await token("dev-r", "subscribe", [room], { jti, iat: nowS() });
    const kept = await token("dev-r", "subscribe", [room], { jti: `${jti}-other`, iat: nowS() });
    const sock = await TestSocket.open(ws(room, tok));
    const sse = await openSse(room, tok);
    const survivor = await TestSocket.open(ws(room, kept));
    await sock.next("welcome");
    await survivor.next("welcome");

    const res = await revoke({ jti });
    expect(res.status).toBe(200);
    const refused = await fetch(`${relay.url}/rooms/${room}`, { headers: { authorization: `Bearer ${tok}` } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as any).error.code).toBe("token_revoked");
    await expect(TestSocket.open(ws(room, tok))).rejects.toMatchObject({ status: 401 });

    expect(await serverClosed(sock, REVOCATION_DELAY_MS + 2_000)).toBe(4403);
    await sse.ended;
    expect(survivor.closed).toBeNull();
    survivor.terminate();
  });

  it("revokes every token of a sub issued before a time, and not a newer one", { timeout: 30_000 }, async () => {
    const room = uniqueRoom("revoke-sub");
    const sub = `dev-${Math.random().toString(36).slice(2)}`;
    const old = await token(sub, "subscribe", [room], { iat: nowS() - 100 });
    const m = await mqttConnected(room, old, 5);
    const sock = await TestSocket.open(ws(room, old));
    await sock.next("welcome");

    expect((await revoke({ sub, before: new Date((nowS() - 10) * 1000).toISOString() })).status).toBe(200);
    expect((await fetch(`${relay.url}/rooms/${room}`, { headers: { authorization: `Bearer ${old}` } })).status).toBe(401);
    const newer = await token(sub, "subscribe", [room], { iat: nowS() });
    expect((await fetch(`${relay.url}/rooms/${room}`, { headers: { authorization: `Bearer ${newer}` } })).status).toBe(200);

    // A token that arrives in an MQTT CONNECT password is checked the same way.
    const late = await RawMqtt.open(`${relay.wsUrl}/rooms/${room}/mqtt`, 5);
    late.connect({ clientId: "late", username: "d", password: Buffer.from(old) });
    expect((await late.next("connack")).reasonCode).toBe(0x87);

    expect(await serverClosed(sock, REVOCATION_DELAY_MS + 2_000)).toBe(4403);
    expect((await m.next("disconnect", REVOCATION_DELAY_MS + 2_000)).reasonCode).toBe(0x98);
  });
});

/** The CLI in-process, as test/client/cli.test.ts runs it, against the real relay. */
function cli(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), env, WebSocket: WebSocket as never };
  return { out, err, io };
}

describe("roomcast connections, kick, revoke", () => {
  it("lists every connection as JSON lines, kicks by id and by sub, and exits 1 without admin", async () => {
    const room = uniqueRoom("cli-admin");
    const admin = await adminToken();
    const socks = await Promise.all(["a", "b", "b"].map(async (sub) => TestSocket.open(ws(room, await token(`cli-${sub}`, "subscribe")))));
    const [{ id }] = await Promise.all(socks.map((s) => s.next("welcome")));

    const listed = cli();
    expect(await run(["connections", "--url", relay.url, "--room", room, "--token", admin, "--limit", "1"], listed.io)).toBe(0);
    const rows = listed.out.map((l) => JSON.parse(l));
    expect(rows.map((r) => r.sub).sort()).toEqual(["cli-a", "cli-b", "cli-b"]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(3);

    const byId = cli({ ROOMCAST_TOKEN: admin });
    expect(await run(["kick", "--url", relay.url, "--room", room, "--id", id], byId.io)).toBe(0);
    expect(JSON.parse(byId.out[0]!)).toEqual({ closed: 1 });
    expect(await serverClosed(socks[0]!)).toBe(4403);
    const bySub = cli();
    expect(await run(["kick", "--url", relay.url, "--room", room, "--token", admin, "--sub", "cli-b"], bySub.io)).toBe(0);
    expect(JSON.parse(bySub.out[0]!)).toEqual({ closed: 2 });
    for (const s of socks.slice(1)) expect(await serverClosed(s)).toBe(4403);

    const refused = cli();
    expect(await run(["connections", "--url", relay.url, "--room", room, "--token", await token("x", "subscribe")], refused.io)).toBe(1);
    expect(refused.err.join("\n")).toMatch(/HTTP 403 forbidden/);
  });

  it("revokes by jti and by sub; bad usage exits 2", { timeout: 30_000 }, async () => {
    const room = uniqueRoom("cli-revoke");
    const made = cli({ ROOMCAST_SECRET: SECRET });
    expect(await run(["token", "--room", room, "--scope", "subscribe", "--sub", "cli-r"], made.io)).toBe(0);
    const tok = made.out[0]!;
    const jti = JSON.parse(Buffer.from(tok.split(".")[1]!, "base64url").toString()).jti as string;
    expect(jti).toMatch(/^[0-9a-f-]{36}$/);
    const sock = await TestSocket.open(ws(room, tok));
    await sock.next("welcome");

    const revoked = cli();
    expect(await run(["revoke", "--url", relay.url, "--token", await adminToken(), "--jti", jti], revoked.io)).toBe(0);
    expect(JSON.parse(revoked.out[0]!)).toEqual({ revoked: { jti } });
    expect((await fetch(`${relay.url}/rooms/${room}?token=${tok}`)).status).toBe(401);
    expect(await serverClosed(sock, REVOCATION_DELAY_MS + 2_000)).toBe(4403);

    const bySub = cli();
    expect(await run(["revoke", "--url", relay.url, "--token", await adminToken(), "--sub", "cli-r", "--before", "2030-01-01T00:00:00Z"], bySub.io)).toBe(0);
    expect(JSON.parse(bySub.out[0]!)).toEqual({ revoked: { sub: "cli-r", before: Date.parse("2030-01-01T00:00:00Z") / 1000 } });

    for (const argv of [
      ["revoke", "--url", relay.url, "--jti", "a", "--sub", "b"],
      ["revoke", "--url", relay.url],
      ["revoke", "--url", relay.url, "--jti", "a", "--before", "2030-01-01T00:00:00Z"],
      ["revoke", "--url", relay.url, "--sub", "b", "--before", "someday"],
      ["kick", "--url", relay.url, "--room", room],
      ["kick", "--url", relay.url, "--room", room, "--id", "x", "--sub", "y"],
      ["connections", "--url", relay.url],
      ["connections", "--url", relay.url, "--room", room, "--limit", "0"],
    ]) {
      const bad = cli();
      expect(await run(argv, bad.io)).toBe(2);
      expect(bad.err[0]).toMatch(/^roomcast: /);
    }
  });
});
