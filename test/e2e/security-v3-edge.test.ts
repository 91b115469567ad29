/**
 * The third security review's edge findings, over real sockets against the
 * real bundle: DNS rebinding in open mode (finding 9: the Host gate),
 * `GET /rooms/mqtt` without a token (finding 10), the page's `connect-src`
 * (finding 11), and stock clients: origins with their default port spelled
 * out, and the MQTT upgrade exactly as Python's paho-mqtt opens it.
 */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { signJwt } from "../../client/jwt";
import { postJson } from "../support/http";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { TestSocket, uniqueRoom } from "../support/socket";

const SECRET = "security-v3-edge-secret-5b2e91";
const nowS = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown> = {}) =>
  signJwt({ sub: "dev-1", rooms: ["*"], scope: "subscribe publish presence history", exp: nowS() + 3600, ...claims }, SECRET);

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A plain HTTP request to 127.0.0.1 whose Host header the test chooses (fetch
 * does not let it): what a DNS-rebinding page's request looks like to the
 * relay. A 200 answer is read for at most `readMs` (an SSE stream never ends).
 */
function rawRequest(port: number, method: string, path: string, headers: Record<string, string>, body?: string, readMs = 1000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let text = "";
      const done = () => {
        clearTimeout(timer);
        res.destroy();
        resolve({ status: res.statusCode!, headers: res.headers, body: text });
      };
      const timer = setTimeout(done, readMs);
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", done);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Every read an open relay serves, and the page. */
const READS = (room: string) => [`/rooms/${room}`, `/rooms/${room}/messages`, `/rooms/${room}/presence`, `/rooms/${room}/retained`, `/rooms/${room}/events?since=0`, "/", "/app.js"];

describe("open relay, default settings", () => {
  const relay = useRelay();

  describe("finding 9: DNS rebinding, same-origin GETs with no Origin", () => {
    const rebound = () => `rebind.attacker.example:${relay.port}`;

    it("a rebound Host reads nothing: every read, the SSE stream and the page are 403 host_forbidden", async () => {
      const room = uniqueRoom("rebind");
      expect((await postJson(relay.url, room, "secret-history")).status).toBe(201);
      const retained = await fetch(`${relay.url}/rooms/${room}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data: "secret-retained", topic: "t/1", retain: true }),
      });
      expect(retained.status).toBe(201);
      for (const path of READS(room)) {
        const res = await rawRequest(relay.port, "GET", path, { host: rebound() });
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
        const body = JSON.parse(res.body);
        expect(body).toMatchObject({ error: { code: "host_forbidden" } });
        expect(body.error.message).toContain("ALLOWED_HOSTS");
        expect(res.body).not.toContain("secret");
      }
      // Writes and upgrades too, whether or not an Origin comes along.
      const post = await rawRequest(relay.port, "POST", `/rooms/${room}/messages`, { host: rebound(), "content-type": "application/json" }, '{"data":"x"}');
      expect(post.status).toBe(403);
      await expect(TestSocket.open(`${relay.wsUrl}/rooms/${room}?since=0`, { host: rebound() })).rejects.toMatchObject({ status: 403 });
      // Nothing was published by the refused POST.
      const history = await (await fetch(`${relay.url}/rooms/${room}/messages`)).json();
      expect(history.seq).toBe(2);
    });

    it("a rebound name with a trailing dot or in capitals is refused as well", async () => {
      const room = uniqueRoom("rebind");
      for (const host of [`rebind.attacker.example.:${relay.port}`, `REBIND.Attacker.Example:${relay.port}`, `localhost.attacker.example:${relay.port}`, `127.0.0.1.nip.io:${relay.port}`]) {
        const res = await rawRequest(relay.port, "GET", `/rooms/${room}/messages`, { host });
        expect({ host, status: res.status }).toEqual({ host, status: 403 });
      }
    });

    it("loopback names and addresses are answered, on any port", async () => {
      const room = uniqueRoom("loop");
      expect((await postJson(relay.url, room, "mine")).status).toBe(201);
      for (const host of [`localhost:${relay.port}`, `LocalHost:${relay.port}`, `dash.localhost:${relay.port}`, `127.0.0.1:${relay.port}`, `127.3.2.1:${relay.port}`, `[::1]:${relay.port}`, "localhost", "127.0.0.1:1"]) {
        const res = await rawRequest(relay.port, "GET", `/rooms/${room}/messages`, { host });
        expect({ host, status: res.status }).toEqual({ host, status: 200 });
        expect(res.body).toContain("mine");
      }
      const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`, { host: `localhost:${relay.port}` });
      await sock.next("welcome");
      sock.close();
    });

    it("/health stays open on any Host (a version, no data)", async () => {
      const res = await rawRequest(relay.port, "GET", "/health", { host: rebound() });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ ok: true });
    });
  });

  describe("stock clients: the https:// forms of the loopback origins", () => {
    it("the MQTT upgrade exactly as Python's paho-mqtt opens it (Origin https://<host>:<port> on ws://, subprotocol mqtt) connects, subscribes and publishes", async () => {
      const room = uniqueRoom("paho-py");
      const url = `ws://127.0.0.1:${relay.port}/rooms/${room}/mqtt`;
      // paho-mqtt's handshake: Host and Origin both with the port, https:// whatever the scheme.
      const headers = { host: `127.0.0.1:${relay.port}`, origin: `https://127.0.0.1:${relay.port}` };
      // The handshake alone first: a refusal shows here as its status, not as an MQTT timeout.
      const handshake = await new Promise<{ status: number; protocol?: string }>((resolve, reject) => {
        const ws = new WebSocket(url, ["mqtt"], { headers });
        ws.once("open", () => {
          resolve({ status: 101, protocol: ws.protocol });
          ws.terminate();
        });
        ws.once("unexpected-response", (_req, res) => {
          resolve({ status: res.statusCode! });
          res.resume();
        });
        ws.once("error", reject);
      });
      expect(handshake).toEqual({ status: 101, protocol: "mqtt" });
      const sub = await connectCollecting(url, { protocolVersion: 4, clientId: "paho-sub", wsOptions: { headers } });
      const pub = await connectCollecting(url, { protocolVersion: 4, clientId: "paho-pub", wsOptions: { headers } });
      await sub.client.subscribeAsync("sensors/#", { qos: 1 });
      await pub.client.publishAsync("sensors/t1", "21.5", { qos: 1 });
      await until(() => sub.got.length === 1);
      expect(sub.got[0]).toMatchObject({ topic: "sensors/t1", payload: "21.5" });
      await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
    });

    it("https://localhost:<port> and the default port spelled out pass; another scheme or host does not", async () => {
      const room = uniqueRoom("origin");
      const status = async (origin: string, host = `localhost:${relay.port}`) =>
        (await rawRequest(relay.port, "POST", `/rooms/${room}/messages`, { host, origin, "content-type": "application/json" }, '{"data":1}')).status;
      expect(await status(`https://localhost:${relay.port}`)).toBe(201);
      expect(await status(`https://127.0.0.1:${relay.port}`, `127.0.0.1:${relay.port}`)).toBe(201);
      expect(await status("https://localhost:443")).toBe(201);
      expect(await status(`ftp://localhost:${relay.port}`)).toBe(403);
      expect(await status(`https://app.example.com:${relay.port}`)).toBe(403);
    });
  });

  describe("finding 11: the page connects to its own origin only", () => {
    it("its CSP has connect-src 'self' and no scheme-wide ws:/wss: source", async () => {
      const res = await fetch(`${relay.url}/`);
      expect(res.status).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      const connect = csp.split(";").map((d) => d.trim()).find((d) => d.startsWith("connect-src"));
      expect(connect).toBe("connect-src 'self'");
      expect(csp).not.toMatch(/(^|\s)(ws|wss|https?):(\s|;|$)/);
      await res.arrayBuffer();
    });
  });
});

describe("open relay with ALLOWED_HOSTS", () => {
  const relay = useRelay({ vars: { ALLOWED_HOSTS: "relay.lan, *.devices.lan" } });

  it("answers the listed names (and their subdomains for *.), still refuses the others", async () => {
    const room = uniqueRoom("hosts");
    const status = async (host: string) => (await rawRequest(relay.port, "GET", `/rooms/${room}/messages`, { host })).status;
    expect(await status(`relay.lan:${relay.port}`)).toBe(200);
    expect(await status(`Relay.LAN`)).toBe(200);
    expect(await status(`pi.devices.lan:${relay.port}`)).toBe(200);
    expect(await status(`127.0.0.1:${relay.port}`)).toBe(200);
    expect(await status(`devices.lan:${relay.port}`)).toBe(403);
    expect(await status(`relay.lan.attacker.example:${relay.port}`)).toBe(403);
  });
});

describe("open relay with no ALLOWED_ORIGINS entry", () => {
  const relay = useRelay({ vars: { ALLOWED_ORIGINS: "" } });

  it("a page on a loopback host reaches its own relay when its Origin spells out the default port", async () => {
    const room = uniqueRoom("self");
    const post = (origin: string) => rawRequest(relay.port, "POST", `/rooms/${room}/messages`, { host: "localhost", origin, "content-type": "application/json" }, '{"data":1}');
    expect((await post("http://localhost")).status).toBe(201);
    expect((await post("http://localhost:80")).status).toBe(201);
    expect((await post("http://LOCALHOST:80")).status).toBe(201);
    expect((await post("http://localhost:8080")).status).toBe(403);
    expect((await post("https://localhost")).status).toBe(403);
  });
});

describe("relay with AUTH_SECRET", () => {
  const relay = useRelay({ vars: { AUTH_SECRET: SECRET, ALLOWED_ORIGINS: "https://relay.example.com" } });

  it("finding 10: GET /rooms/mqtt (the room named mqtt) needs a token like any room", async () => {
    const none = await fetch(`${relay.url}/rooms/mqtt`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: "unauthorized" } });
    await expect(TestSocket.open(`${relay.wsUrl}/rooms/mqtt`)).rejects.toMatchObject({ status: 401 });
    const described = await fetch(`${relay.url}/rooms/mqtt`, { headers: { authorization: `Bearer ${await token()}` } });
    expect(described.status).toBe(200);
    expect(await described.json()).toMatchObject({ room: "mqtt" });
  });

  it("the MQTT endpoint still takes its token in CONNECT, in a room named mqtt too", async () => {
    for (const room of [uniqueRoom("mqtt-late"), "mqtt"]) {
      const raw = await RawMqtt.open(`${relay.wsUrl}/rooms/${room}/mqtt`);
      raw.connect({ clientId: "late", username: "device", password: Buffer.from(await token()) });
      expect((await raw.next("connack")).returnCode).toBe(0);
      raw.close();
    }
  });

  it("the Host gate stands aside: a token is needed, whatever the Host", async () => {
    const room = uniqueRoom("auth-host");
    const host = `relay.example.com:${relay.port}`;
    expect((await rawRequest(relay.port, "GET", `/rooms/${room}`, { host })).status).toBe(401);
    expect((await rawRequest(relay.port, "GET", `/rooms/${room}`, { host, authorization: `Bearer ${await token()}` })).status).toBe(200);
  });

  it("a deployed relay's origin matches with :443 spelled out (as paho-mqtt sends it)", async () => {
    const room = uniqueRoom("deployed");
    const headers = { host: "relay.example.com", origin: "https://relay.example.com:443" };
    const client = await connectCollecting(`${relay.wsUrl}/rooms/${room}/mqtt`, {
      protocolVersion: 4,
      clientId: "paho-deployed",
      username: "device",
      password: await token(),
      wsOptions: { headers },
    });
    await client.client.subscribeAsync("a/#");
    await client.client.publishAsync("a/b", "hi");
    await until(() => client.got.length === 1);
    await client.client.endAsync();
    const foreign = await rawRequest(relay.port, "GET", `/rooms/${room}`, { host: "relay.example.com", origin: "https://relay.example.com:8443" });
    expect(foreign.status).toBe(403);
  });
});
