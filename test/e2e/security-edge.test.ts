/**
 * The security review's edge findings, over real sockets against the real
 * bundle: JSON depth at the door, reads that never parse what was published,
 * the DNS-rebinding hole in the self-origin exception, diagnostics kept off
 * public routes, `from` that cannot be forged, the HTTP publish rate limit
 * and the dashboard's security headers.
 */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import { postMessage } from "../support/http";
import { useRelay } from "../support/relay";
import { TestSocket, uniqueRoom } from "../support/socket";

const SECRET = "security-edge-secret-8c1f0a";
const ALL = "subscribe publish presence history";
const nowS = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown> = {}) => signJwt({ sub: "dev-1", rooms: ["*"], scope: ALL, exp: nowS() + 3600, ...claims }, SECRET);
const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });

/** `depth` arrays inside one another around a number. */
const nested = (depth: number) => "[".repeat(depth) + "1" + "]".repeat(depth);

/** A plain HTTP request whose Host header the test chooses (fetch does not let it). */
function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("open relay, default settings", () => {
  const relay = useRelay();

  describe("JSON depth", () => {
    it("a WebSocket frame nested 4100 deep gets bad_frame and the connection stays open", async () => {
      const room = uniqueRoom("depth");
      const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?echo=1`);
      await sock.next("welcome");
      const frame = `{"type":"publish","data":${nested(4100)}}`;
      expect(frame.length).toBeGreaterThan(8000);
      sock.send(frame);
      expect(await sock.next("error")).toMatchObject({ code: "bad_frame" });
      expect(sock.closed).toBeNull();
      // Still served, and the deep frame was never published.
      sock.publish("after");
      const [first] = await sock.messagesUntil(1);
      expect(first).toMatchObject({ seq: 1, data: "after" });
      sock.close();
    });

    it("an HTTP body nested 4100 deep is 400 bad_request", async () => {
      const room = uniqueRoom("depth");
      const res = await postMessage(relay.url, room, `{"data":${nested(4100)}}`);
      expect(res).toMatchObject({ status: 400, json: { error: { code: "bad_request" } } });
    });

    it("64 levels are accepted over both and GET /messages returns them; 65 are refused", async () => {
      const room = uniqueRoom("depth");
      const http = await postMessage(relay.url, room, `{"data":${nested(64)}}`);
      expect(http.status).toBe(201);
      const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?echo=1`);
      await sock.next("welcome");
      sock.send(`{"type":"publish","data":${nested(64)}}`);
      await sock.messagesUntil(1);
      sock.send(`{"type":"publish","data":${nested(65)}}`);
      expect(await sock.next("error")).toMatchObject({ code: "bad_frame" });
      sock.close();
      expect((await postMessage(relay.url, room, `{"data":${nested(65)}}`)).status).toBe(400);

      const res = await fetch(`${relay.url}/rooms/${room}/messages`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("application/json");
      const page = await res.json();
      expect(page).toMatchObject({ room, seq: 2 });
      expect(page.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
      expect(JSON.stringify(page.messages[0].data)).toBe(nested(64));
      expect(JSON.stringify(page.messages[1].data)).toBe(nested(64));
    });

    it("brackets and escaped quotes inside strings do not count as depth", async () => {
      const room = uniqueRoom("depth");
      const data = `"\\"${"[".repeat(200)}"`;
      const res = await postMessage(relay.url, room, `{"data":${data}}`);
      expect(res.status).toBe(201);
    });
  });

  describe("DNS rebinding", () => {
    const evil = () => `rebind.attacker.example:${relay.port}`;
    const evilOrigin = () => `http://${evil()}`;

    it("a POST with a rebound Host and a matching Origin is 403 origin_forbidden", async () => {
      const room = uniqueRoom("rebind");
      const res = await rawRequest(relay.port, "POST", `/rooms/${room}/messages`, { host: evil(), origin: evilOrigin(), "content-type": "application/json" }, '{"data":1}');
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: "origin_forbidden" } });
    });

    it("history and an upgrade with a rebound Host and Origin are refused too", async () => {
      const room = uniqueRoom("rebind");
      expect((await postMessage(relay.url, room, '{"data":"secret"}')).status).toBe(201);
      const history = await rawRequest(relay.port, "GET", `/rooms/${room}/messages`, { host: evil(), origin: evilOrigin() });
      expect(history.status).toBe(403);
      expect(history.body).not.toContain("secret");
      await expect(TestSocket.open(`${relay.wsUrl}/rooms/${room}`, { host: evil(), origin: evilOrigin() })).rejects.toMatchObject({ status: 403 });
    });

    it("a page served on a loopback name (not in ALLOWED_ORIGINS) still reaches its own relay", async () => {
      const room = uniqueRoom("rebind");
      const own = `dash.localhost:${relay.port}`;
      const res = await rawRequest(relay.port, "POST", `/rooms/${room}/messages`, { host: own, origin: `http://${own}`, "content-type": "application/json" }, '{"data":1}');
      expect(res.status).toBe(201);
    });
  });

  describe("diagnostics", () => {
    it("GET /rooms/:room carries no x-roomcast-* header, and /diagnostics is 404 when off", async () => {
      const room = uniqueRoom("diag");
      const res = await fetch(`${relay.url}/rooms/${room}`);
      expect(res.status).toBe(200);
      expect([...res.headers.keys()].filter((h) => h.startsWith("x-roomcast-"))).toEqual([]);
      for (const path of ["/messages", "/presence"]) {
        const other = await fetch(`${relay.url}/rooms/${room}${path}`);
        expect([...other.headers.keys()].filter((h) => h.startsWith("x-roomcast-"))).toEqual([]);
      }
      const diag = await fetch(`${relay.url}/rooms/${room}/diagnostics`);
      expect(diag.status).toBe(404);
      expect(await diag.json()).toMatchObject({ error: { code: "not_found" } });
    });
  });

  describe("the dashboard page", () => {
    it("GET / is served with CSP, frame-ancestors, X-Frame-Options and Referrer-Policy", async () => {
      for (const path of ["/", "/?room=kitchen&token=abc"]) {
        const res = await fetch(`${relay.url}${path}`);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toContain("text/html");
        const csp = res.headers.get("content-security-policy") ?? "";
        expect(csp).toContain("default-src 'self'");
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).toContain("connect-src 'self';");
        expect(res.headers.get("x-frame-options")).toBe("DENY");
        expect(res.headers.get("referrer-policy")).toBe("no-referrer");
        expect(await res.text()).toContain("/app.js");
      }
    });

    it("serves the page's files with their type, the same headers and an ETag that revalidates (304)", async () => {
      for (const [path, type] of [["/app.js", "text/javascript"], ["/app.css", "text/css"], ["/style.css", "text/css"], ["/favicon.svg", "image/svg+xml"]]) {
        const res = await fetch(`${relay.url}${path}`);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toContain(type);
        expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
        const body = await res.arrayBuffer();
        expect(body.byteLength).toBeGreaterThan(0);
        const etag = res.headers.get("etag");
        expect(etag).toMatch(/^".+"$/);
        const again = await fetch(`${relay.url}${path}`, { headers: { "if-none-match": etag! } });
        expect(again.status).toBe(304);
        await again.arrayBuffer();
        const head = await fetch(`${relay.url}${path}`, { method: "HEAD" });
        expect(head.status).toBe(200);
        expect(Number(head.headers.get("content-length"))).toBe(body.byteLength);
      }
    });
  });
});

describe("relay with AUTH_SECRET, diagnostics on and a low HTTP publish limit", () => {
  const relay = useRelay({ vars: { AUTH_SECRET: SECRET }, diagnostics: true, httpPublishLimit: { limit: 3, period: 60 } });

  it("/diagnostics answers the instance and wake counters as JSON, and still needs a token", async () => {
    const room = uniqueRoom("diag");
    expect((await fetch(`${relay.url}/rooms/${room}/diagnostics`)).status).toBe(401);
    const tok = await token();
    const res = await fetch(`${relay.url}/rooms/${room}/diagnostics`, { headers: bearer(tok) });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ instance: expect.any(String), constructed: expect.any(Number), messages: expect.any(Number) });
    expect(body.constructed).toBeGreaterThan(0);
    const again = await (await fetch(`${relay.url}/rooms/${room}/diagnostics`, { headers: bearer(tok) })).json();
    expect(again.instance).toBe(body.instance);
    const described = await fetch(`${relay.url}/rooms/${room}`, { headers: bearer(tok) });
    expect([...described.headers.keys()].filter((h) => h.startsWith("x-roomcast-"))).toEqual([]);
  });

  it("a token whose sub looks like a connection id is refused everywhere", async () => {
    const room = uniqueRoom("from");
    const victim = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token({ sub: "victim" })}`);
    const { id } = await victim.next("welcome");
    expect(id).toMatch(/^c_/);
    const forged = await token({ sub: id });
    const post = await postMessage(relay.url, room, '{"data":"it is me"}', { ...bearer(forged), "content-type": "application/json" });
    expect(post).toMatchObject({ status: 401, json: { error: { code: "unauthorized" } } });
    await expect(TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${forged}`)).rejects.toMatchObject({ status: 401 });
    // Nothing reached the victim; an honest HTTP publish shows its sub, a WS one its connection id.
    const honest = await postMessage(relay.url, room, '{"data":"hi"}', { ...bearer(await token({ sub: "mallory" })), "content-type": "application/json" });
    expect(honest.status).toBe(201);
    const [first] = await victim.messagesUntil(1);
    expect(first).toMatchObject({ seq: 1, from: "mallory", data: "hi" });
    const ws = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token({ sub: "alice" })}`);
    const welcome = await ws.next("welcome");
    ws.publish("from ws");
    const messages = await victim.messagesUntil(2);
    expect(messages[1]).toMatchObject({ seq: 2, from: welcome.id });
    ws.close();
    victim.close();
  });

  it("HTTP publish past the limit is 429 rate_limited with Retry-After, per sub", async () => {
    const room = uniqueRoom("rate");
    const headers = { ...bearer(await token({ sub: "flooder" })), "content-type": "application/json" };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await postMessage(relay.url, room, `{"data":${i}}`, headers)).status);
    expect(statuses).toEqual([201, 201, 201]);
    const res = await fetch(`${relay.url}/rooms/${room}/messages`, { method: "POST", headers, body: '{"data":"one too many"}' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ error: { code: "rate_limited" } });
    // Another publisher has a budget of its own; the refused message was never stored.
    const other = await postMessage(relay.url, room, '{"data":"other"}', { ...bearer(await token({ sub: "calm" })), "content-type": "application/json" });
    expect(other).toMatchObject({ status: 201, json: { seq: 4 } });
  });
});

describe("open relay with a low HTTP publish limit", () => {
  const relay = useRelay({ httpPublishLimit: { limit: 2, period: 60 } });

  it("counts per client IP without a token: the third publish is 429, and none of it reached the room", async () => {
    const room = uniqueRoom("rate-ip");
    expect((await postMessage(relay.url, room, '{"data":1}')).status).toBe(201);
    expect((await postMessage(relay.url, room, '{"data":2}')).status).toBe(201);
    const refused = await postMessage(relay.url, room, '{"data":3}');
    expect(refused).toMatchObject({ status: 429, json: { error: { code: "rate_limited" } } });
    // Reads are not publishes: they stay open, and show only what was accepted.
    const page = await (await fetch(`${relay.url}/rooms/${room}/messages`)).json();
    expect(page.messages.map((m: { data: number }) => m.data)).toEqual([1, 2]);
    // WebSocket publishes have their own per-connection bucket, not this one.
    const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?echo=1`);
    await sock.next("welcome");
    sock.publish(4);
    const [m] = await sock.messagesUntil(1);
    expect(m).toMatchObject({ seq: 3, data: 4 });
    sock.close();
  });
});
