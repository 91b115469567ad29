/**
 * The auth middleware inside workerd, on a small Hono app of its own: what
 * identity a token turns into, the open-mode warning, and edge cases that
 * are quicker to pin here than over sockets.
 */
import { Hono } from "hono";
import { signJwt } from "../../client/jwt";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Identity } from "../../handoff/identity";
import { roomAllowed } from "../../protocol/claims";
import { requireScope, tokenAuth, type AuthVariables } from "../../worker/auth";
import { onError } from "../../worker/errors";

type Vars = { SECRET?: string };

function app() {
  const a = new Hono<{ Bindings: Vars; Variables: AuthVariables }>();
  a.onError(onError);
  a.use("/:room/*", async (c, next) => {
    c.set("room", c.req.param("room")!);
    await next();
  });
  a.use("/:room/*", tokenAuth<Vars>({ secret: (env) => env.SECRET }));
  a.get("/:room", (c) => c.json(c.get("identity")));
  a.get("/:room/history", requireScope("history"), (c) => c.json({ ok: true }));
  return a;
}

const nowS = () => Math.floor(Date.now() / 1000);
const sign = (claims: Record<string, unknown>, secret: string) =>
  signJwt({ sub: "d1", rooms: ["r"], scope: "subscribe", exp: nowS() + 60, ...claims }, secret);

async function call(secret: string | undefined, path: string, token?: string, scheme = "Bearer") {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `${scheme} ${token}` };
  const res = await app().request(path, { headers }, { SECRET: secret });
  return { status: res.status, body: (await res.json()) as any };
}

afterEach(() => vi.restoreAllMocks());

describe("tokenAuth", () => {
  it("open mode: everybody gets every scope (admin too: every request is allowed), and the log warns once per isolate", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const a = app();
    for (let i = 0; i < 3; i++) {
      const res = await a.request("/r", {}, {});
      expect(await res.json()).toEqual({ sub: null, scopes: ["subscribe", "publish", "presence", "history", "admin"], meta: {}, exp: null });
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/AUTH_SECRET.*OPEN MODE/);
  });

  it("turns a token into the identity the Room receives", async () => {
    const exp = nowS() + 600;
    const token = await sign({ sub: "sensor-9", scope: "publish  subscribe flying publish", exp, meta: { floor: 2 } }, "s3cret");
    const { status, body } = await call("s3cret", "/r", token);
    expect(status).toBe(200);
    expect(body satisfies Identity).toEqual({ sub: "sensor-9", scopes: ["subscribe", "publish"], meta: { floor: 2 }, exp });
  });

  it("takes the scheme case-insensitively and the query as a fallback", async () => {
    const token = await sign({}, "k");
    expect((await call("k", "/r", token, "bearer")).status).toBe(200);
    const res = await app().request(`/r?token=${token}`, {}, { SECRET: "k" });
    expect(res.status).toBe(200);
  });

  it("works with a secret that looks like a PEM marker (Hono would parse a string key as PEM)", async () => {
    const secret = "-----BEGIN PUBLIC KEY----- not really";
    expect((await call(secret, "/r", await sign({}, secret))).status).toBe(200);
  });

  it("meta: 1 KiB is fine, a byte more is not", async () => {
    const meta = (n: number) => ({ p: "x".repeat(n - '{"p":""}'.length) });
    expect((await call("k", "/r", await sign({ meta: meta(1024) }, "k"))).status).toBe(200);
    expect((await call("k", "/r", await sign({ meta: meta(1025) }, "k"))).body.error.code).toBe("unauthorized");
    expect((await call("k", "/r", await sign({ meta: ["a"] }, "k"))).status).toBe(401);
  });

  it("carries the acl claim in the identity, and only when the token has one", async () => {
    const acl = { pub: ["tel/d1"], sub: ["cmd/d1", "cfg/#"] };
    expect((await call("k", "/r", await sign({ acl }, "k"))).body.acl).toEqual(acl);
    expect("acl" in (await call("k", "/r", await sign({}, "k"))).body).toBe(false);
  });

  it.each([
    ["acl not an object", { acl: ["tel/#"] }],
    ["acl with a bad filter", { acl: { pub: ["tel/#/x"] } }],
    ["acl with an unknown key", { acl: { pub: ["a"], deny: ["b"] } }],
    ["acl larger than 1 KiB", { acl: { sub: Array.from({ length: 6 }, (_, i) => `${i}/`.padEnd(250, "x")) } }],
    ["sub not a string", { sub: 42 }],
    ["sub too long", { sub: "s".repeat(129) }],
    ["scope not a string", { scope: ["publish"] }],
    ["rooms with a non-string", { rooms: ["r", 1] }],
    ["exp not a number", { exp: "soon" }],
    ["nbf not a number", { nbf: "later" }],
  ])("refuses a token with %s (401)", async (_name, claims) => {
    const { status, body } = await call("k", "/r", await sign(claims, "k"));
    expect(status).toBe(401);
    expect(body.error.code).toBe("unauthorized");
  });

  it("checks the signature before believing exp: a forged expired token is unauthorized, not token_expired", async () => {
    const forged = await sign({ exp: nowS() - 10 }, "someone-else");
    expect((await call("k", "/r", forged)).body.error.code).toBe("unauthorized");
    const genuine = await sign({ exp: nowS() - 10 }, "k");
    expect((await call("k", "/r", genuine)).body.error.code).toBe("token_expired");
  });

  it("requireScope refuses with 403 forbidden", async () => {
    const { status, body } = await call("k", "/r/history", await sign({ scope: "subscribe" }, "k"));
    expect(status).toBe(403);
    expect(body.error.code).toBe("forbidden");
    expect((await call("k", "/r/history", await sign({ scope: "history" }, "k"))).status).toBe(200);
  });
});

describe("roomAllowed", () => {
  it.each([
    [["kitchen"], "kitchen", true],
    [["kitchen"], "kitchen2", false],
    [["sensor-*"], "sensor-1", true],
    [["sensor-*"], "sensor-", true],
    [["sensor-*"], "sensor", false],
    [["*"], "anything", true],
    [["a", "b*"], "bee", true],
    [[], "kitchen", false],
    [["kit*chen"], "kitXchen", false],
  ])("%j grants %s: %s", (patterns, room, granted) => {
    expect(roomAllowed(patterns, room)).toBe(granted);
  });
});
