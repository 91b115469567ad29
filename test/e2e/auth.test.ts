/**
 * Token auth end to end: a relay with AUTH_SECRET, real sockets and HTTP,
 * tokens minted with the client's own signJwt (and a few forged by hand).
 */
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const SECRET = "test-secret-3f9a0c1d7e5b";
const ALL = "subscribe publish presence history";

const relay = useRelay({ vars: { AUTH_SECRET: SECRET } });

const nowS = () => Math.floor(Date.now() / 1000);

function token(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return signJwt({ sub: "dev-1", scope: ALL, exp: nowS() + 3600, ...claims }, secret);
}

const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** A well-formed JWT signed with the right secret but HS512: the relay takes HS256 only. */
async function signHs512(claims: object, secret: string): Promise<string> {
  const input = `${b64url({ alg: "HS512", typ: "JWT" })}.${b64url(claims)}`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-512" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(mac).toString("base64url")}`;
}

/**
 * Waits for the server's close frame and returns its code. On the local
 * runtime a close sent from an alarm handler reaches the client at once but
 * the server does not end the TCP connection, so a client that answered it
 * waits out its own close timeout (docs/security.md): the test does not.
 */
async function serverClosed(sock: TestSocket): Promise<number> {
  // Polled: a socket turning CLOSING emits no event that until() would wake on.
  for (const deadline = Date.now() + 10_000; sock.closed === null && sock.ws.readyState !== WebSocket.CLOSING; ) {
    if (Date.now() > deadline) throw new Error("the server never closed the socket");
    await sleep(25);
  }
  sock.terminate(); // keeps the code the server's close frame carried
  return (await sock.waitClosed()).code;
}

const wsUrl = (room: string, tok?: string) => `${relay.wsUrl}/rooms/${room}${tok ? `?token=${tok}` : ""}`;
const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });

async function errorOf(res: Response): Promise<{ status: number; code: string }> {
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = await res.json();
  return { status: res.status, code: body.error.code };
}

/** Every room route, as a request without credentials. */
const routes: Array<[string, (room: string, headers: Record<string, string>) => Promise<Response>]> = [
  ["GET /rooms/:room", (r, h) => fetch(`${relay.url}/rooms/${r}`, { headers: h })],
  ["GET /events", (r, h) => fetch(`${relay.url}/rooms/${r}/events`, { headers: h })],
  ["GET /messages", (r, h) => fetch(`${relay.url}/rooms/${r}/messages`, { headers: h })],
  ["POST /messages", (r, h) => fetch(`${relay.url}/rooms/${r}/messages`, { method: "POST", headers: { ...h, "content-type": "application/json" }, body: '{"data":1}' })],
  ["GET /presence", (r, h) => fetch(`${relay.url}/rooms/${r}/presence`, { headers: h })],
];

describe("who may in", () => {
  it.each(routes)("%s without a token is 401 unauthorized", async (_name, call) => {
    const res = await call(uniqueRoom(), {});
    expect(await errorOf(res)).toEqual({ status: 401, code: "unauthorized" });
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("a WebSocket without a token is refused with 401 before the upgrade", async () => {
    await expect(TestSocket.open(wsUrl(uniqueRoom()))).rejects.toMatchObject({ status: 401 });
  });

  it("accepts the token as ?token= and as Authorization: Bearer", async () => {
    const room = uniqueRoom();
    const tok = await token({ rooms: [room] });
    const a = await TestSocket.open(wsUrl(room, tok));
    expect(await a.next("welcome")).toMatchObject({ room, count: 1 });
    const b = await TestSocket.open(wsUrl(room), bearer(tok));
    expect(await b.next("welcome")).toMatchObject({ room, count: 2 });
    const res = await fetch(`${relay.url}/rooms/${room}`, { headers: bearer(tok) });
    expect(res.status).toBe(200);
    a.close();
    b.close();
  });

  it.each([
    ["signed with another secret", async (room: string) => token({ rooms: [room] }, "not-the-secret")],
    ["alg none", async (room: string) => `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub: "x", rooms: [room], scope: ALL, exp: nowS() + 60 })}.`],
    ["HS512 with the right secret", async (room: string) => signHs512({ sub: "x", rooms: [room], scope: ALL, exp: nowS() + 60 }, SECRET)],
    ["a tampered payload", async (room: string) => {
      const [h, , s] = (await token({ rooms: ["other"] })).split(".");
      return `${h}.${b64url({ sub: "x", rooms: [room], scope: ALL, exp: nowS() + 60 })}.${s}`;
    }],
    ["not a JWT", async () => "hello.world"],
    ["nbf in the future", async (room: string) => token({ rooms: [room], nbf: nowS() + 600 })],
    ["no exp", async (room: string) => signJwt({ sub: "x", rooms: [room], scope: ALL }, SECRET)],
    ["rooms not an array", async (room: string) => token({ rooms: room })],
    ["meta over 1 KiB", async (room: string) => token({ rooms: [room], meta: { pad: "x".repeat(1100) } })],
  ])("refuses a token %s with 401 unauthorized (header, query and upgrade)", async (_name, make) => {
    const room = uniqueRoom();
    const tok = await make(room);
    expect(await errorOf(await fetch(`${relay.url}/rooms/${room}`, { headers: bearer(tok) }))).toEqual({ status: 401, code: "unauthorized" });
    expect(await errorOf(await fetch(`${relay.url}/rooms/${room}?token=${encodeURIComponent(tok)}`))).toEqual({ status: 401, code: "unauthorized" });
    await expect(TestSocket.open(wsUrl(room, encodeURIComponent(tok)))).rejects.toMatchObject({ status: 401 });
  });

  it("refuses an Authorization header that is not Bearer", async () => {
    const res = await fetch(`${relay.url}/rooms/${uniqueRoom()}`, { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(await errorOf(res)).toEqual({ status: 401, code: "unauthorized" });
  });

  it("an expired token is 401 token_expired", async () => {
    const room = uniqueRoom();
    const tok = await token({ rooms: [room], exp: nowS() - 5 });
    expect(await errorOf(await fetch(`${relay.url}/rooms/${room}`, { headers: bearer(tok) }))).toEqual({ status: 401, code: "token_expired" });
    const err = await TestSocket.open(wsUrl(room, tok)).catch((e) => e);
    expect(err.status).toBe(401);
    expect(JSON.parse(err.body).error.code).toBe("token_expired");
  });

  it("a token for another room is 403 forbidden", async () => {
    const tok = await token({ rooms: ["kitchen"] });
    expect(await errorOf(await fetch(`${relay.url}/rooms/garage`, { headers: bearer(tok) }))).toEqual({ status: 403, code: "forbidden" });
    await expect(TestSocket.open(wsUrl("garage", tok))).rejects.toMatchObject({ status: 403 });
  });

  it("a trailing * grants a prefix, and only that prefix", async () => {
    const prefix = `${uniqueRoom("sensor")}-`;
    const tok = await token({ rooms: [`${prefix}*`] });
    for (const room of [`${prefix}1`, `${prefix}kitchen:temp`]) {
      expect((await fetch(`${relay.url}/rooms/${room}`, { headers: bearer(tok) })).status).toBe(200);
    }
    for (const room of [prefix.slice(0, -1), `x${prefix}1`]) {
      expect(await errorOf(await fetch(`${relay.url}/rooms/${room}`, { headers: bearer(tok) }))).toEqual({ status: 403, code: "forbidden" });
    }
  });

  it("a room name is checked (400) before the token", async () => {
    const res = await fetch(`${relay.url}/rooms/-bad`);
    expect(await errorOf(res)).toEqual({ status: 400, code: "bad_room_name" });
  });
});

describe("only what they may", () => {
  it("without subscribe: no WebSocket, no SSE (403)", async () => {
    const room = uniqueRoom();
    const tok = await token({ rooms: [room], scope: "publish presence history" });
    await expect(TestSocket.open(wsUrl(room, tok))).rejects.toMatchObject({ status: 403 });
    expect(await errorOf(await fetch(`${relay.url}/rooms/${room}/events`, { headers: bearer(tok) }))).toEqual({ status: 403, code: "forbidden" });
  });

  it("without publish: a frame gets an error frame and reaches nobody; POST is 403", async () => {
    const room = uniqueRoom();
    const reader = await TestSocket.open(wsUrl(room, await token({ rooms: [room], scope: "subscribe", sub: "reader" })));
    await reader.next("welcome");
    const writer = await TestSocket.open(wsUrl(room, await token({ rooms: [room], scope: "subscribe publish", sub: "writer" })));
    await writer.next("welcome");

    reader.publish({ sneaky: true }, "r-1");
    const err = await reader.next("error");
    expect(err.code).toBe("forbidden");
    reader.send(Buffer.from([1, 2, 3]));
    await reader.until((fs) => fs.filter((f) => f.json?.type === "error").length >= 2, "a second error frame");
    expect(reader.all("ack")).toEqual([]);
    expect(reader.closed).toBeNull(); // the connection stays open

    const post = await fetch(`${relay.url}/rooms/${room}/messages`, {
      method: "POST",
      headers: { ...bearer(await token({ rooms: [room], scope: "subscribe" })), "content-type": "application/json" },
      body: '{"data":"nope"}',
    });
    expect(await errorOf(post)).toEqual({ status: 403, code: "forbidden" });

    // The refused publishes took no seq and reached nobody: the first real one is seq 1.
    writer.publish({ ok: true }, "w-1");
    expect(await writer.next("ack")).toEqual({ type: "ack", id: "w-1", seq: 1 });
    const [first] = await reader.messagesUntil(1);
    expect(first).toMatchObject({ seq: 1, data: { ok: true } });
    expect(writer.messages()).toEqual([]);
    reader.close();
    writer.close();
  });

  it("presence and history each need their scope", async () => {
    const room = uniqueRoom();
    const none = await token({ rooms: [room], scope: "subscribe publish" });
    expect(await errorOf(await fetch(`${relay.url}/rooms/${room}/presence`, { headers: bearer(none) }))).toEqual({ status: 403, code: "forbidden" });
    expect(await errorOf(await fetch(`${relay.url}/rooms/${room}/messages`, { headers: bearer(none) }))).toEqual({ status: 403, code: "forbidden" });
    const both = await token({ rooms: [room], scope: "presence history" });
    expect((await fetch(`${relay.url}/rooms/${room}/presence`, { headers: bearer(both) })).status).toBe(200);
    expect((await fetch(`${relay.url}/rooms/${room}/messages`, { headers: bearer(both) })).status).toBe(200);
  });

  it("HTTP publish is `from` the token's sub; meta shows in presence", async () => {
    const room = uniqueRoom();
    const sock = await TestSocket.open(wsUrl(room, await token({ rooms: [room], sub: "dashboard-7", meta: { name: "Lobby screen" } })));
    const welcome = await sock.next("welcome");
    const res = await fetch(`${relay.url}/rooms/${room}/messages`, {
      method: "POST",
      headers: { ...bearer(await token({ rooms: [room], sub: "thermostat-42", scope: "publish" })), "content-type": "application/json" },
      body: '{"data":{"t":21}}',
    });
    expect(res.status).toBe(201);
    const [m] = await sock.messagesUntil(1);
    expect(m).toMatchObject({ from: "thermostat-42", data: { t: 21 } });

    const presence = await (await fetch(`${relay.url}/rooms/${room}/presence`, { headers: bearer(await token({ rooms: [room], scope: "presence" })) })).json();
    expect(presence.clients).toEqual([{ id: welcome.id, meta: { name: "Lobby screen" }, connectedAt: expect.any(Number) }]);
    sock.close();
  });

  it("a client cannot inject an identity with x-roomcast-* headers", async () => {
    const room = uniqueRoom();
    const forged = JSON.stringify({ sub: "root", scopes: ["subscribe", "publish", "presence", "history"], meta: {}, exp: null });
    // No token at all: still 401.
    await expect(TestSocket.open(wsUrl(room), { "x-roomcast-identity": forged, "x-roomcast-room": room })).rejects.toMatchObject({ status: 401 });
    // A subscribe-only token plus a forged identity granting publish: publishing is still refused.
    const sock = await TestSocket.open(wsUrl(room, await token({ rooms: [room], scope: "subscribe" })), { "x-roomcast-identity": forged, "X-Roomcast-Room": "elsewhere" });
    expect((await sock.next("welcome")).room).toBe(room);
    sock.publish("hi");
    expect((await sock.next("error")).code).toBe("forbidden");
    sock.close();
  });
});

describe("tokens that expire during a connection", () => {
  it("a socket that sends after its token expired is closed with 4401 and publishes nothing", async () => {
    const room = uniqueRoom();
    const exp = nowS() + 1;
    const sock = await TestSocket.open(wsUrl(room, await token({ rooms: [room], exp })));
    await sock.next("welcome");
    const watcher = await TestSocket.open(wsUrl(room, await token({ rooms: [room] })));
    await watcher.next("welcome");
    await sleep(exp * 1000 - Date.now() + 50);
    // Whichever comes first, the send check or the sweep, closes it with 4401.
    sock.publish("too late", "late-1");
    expect(await serverClosed(sock)).toBe(4401);
    expect(sock.all("ack")).toEqual([]);
    const info = await (await fetch(`${relay.url}/rooms/${room}`, { headers: bearer(await token({ rooms: [room] })) })).json();
    expect(info.seq).toBe(0);
    expect(watcher.messages()).toEqual([]);
    watcher.close();
  });

  it("a listening socket is closed with 4401 by the expiry sweep; the others stay and see it leave", async () => {
    const room = uniqueRoom();
    const shortLived = await TestSocket.open(wsUrl(room, await token({ rooms: [room], exp: nowS() + 2 })));
    const shortWelcome = await shortLived.next("welcome");
    const longLived = await TestSocket.open(wsUrl(room, await token({ rooms: [room] })));
    await longLived.next("welcome");

    // It sends nothing: only the alarm can close it.
    expect(await serverClosed(shortLived)).toBe(4401);
    const leave = await longLived.next("presence", (p) => p.event === "leave");
    expect(leave).toMatchObject({ id: shortWelcome.id, count: 1 });
    longLived.publish({ still: "here" }, "l-1");
    expect(await longLived.next("ack")).toMatchObject({ id: "l-1", seq: 1 });
    expect(longLived.closed).toBeNull();
    longLived.close();
  });

  it("an SSE stream ends when its token expires", async () => {
    const room = uniqueRoom();
    const res = await fetch(`${relay.url}/rooms/${room}/events`, { headers: bearer(await token({ rooms: [room], exp: nowS() + 1 })) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let cancelledByTest = false;
    const deadline = setTimeout(() => {
      cancelledByTest = true;
      void reader.cancel();
    }, 10_000);
    let text = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    clearTimeout(deadline);
    expect(text).toContain(": roomcast"); // it was open, then the server ended it
    expect(cancelledByTest).toBe(false);
  });

  it("the sweep reschedules for the next socket to expire", async () => {
    const room = uniqueRoom();
    const first = await TestSocket.open(wsUrl(room, await token({ rooms: [room], exp: nowS() + 2 })));
    const second = await TestSocket.open(wsUrl(room, await token({ rooms: [room], exp: nowS() + 4 })));
    expect(await serverClosed(first)).toBe(4401);
    expect(second.ws.readyState).toBe(WebSocket.OPEN);
    expect(await serverClosed(second)).toBe(4401);
  });
});

describe("refusals keep the connection usable", () => {
  // A POST refused before its body is read (here: no token) used to leave the
  // body on the keep-alive connection; the runtime then closed it under the
  // client's next request ("other side closed"). 60 rounds caught it ~3 times.
  it("a request after a refused POST on the same connection succeeds", async () => {
    const failures: string[] = [];
    for (let i = 0; i < 60; i++) {
      const room = uniqueRoom("ka");
      const refused = await fetch(`${relay.url}/rooms/${room}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"data":1}',
      });
      expect(refused.status).toBe(401);
      await refused.text();
      try {
        const next = await fetch(`${relay.url}/rooms/${room}/presence`);
        await next.text();
      } catch (err) {
        failures.push(String((err as Error).cause ?? err));
      }
    }
    expect(failures).toEqual([]);
  });
});
