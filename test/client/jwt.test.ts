import { verify as honoVerify } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { hasScope, roomAllowed, signJwt, verifyJwt } from "../../client/jwt";

const claims = { sub: "dev-1", rooms: ["kitchen", "team-*"], scope: "subscribe publish", exp: 2_000_000_000 };

describe("signJwt / verifyJwt", () => {
  it("round-trips the claims", async () => {
    const token = await signJwt(claims, "s3cret");
    expect(token.split(".")).toHaveLength(3);
    expect(await verifyJwt(token, "s3cret", 1_900_000_000)).toEqual(claims);
  });

  it("makes tokens that Hono's jwt helper accepts", async () => {
    const token = await signJwt(claims, "s3cret");
    expect(await honoVerify(token, "s3cret", "HS256")).toMatchObject(claims);
  });

  it("refuses a wrong secret, a tampered payload, alg none, expiry and nbf", async () => {
    const token = await signJwt(claims, "s3cret");
    await expect(verifyJwt(token, "other", 1)).rejects.toMatchObject({ code: "bad_signature" });
    const [h, , s] = token.split(".");
    const forged = btoa(JSON.stringify({ ...claims, rooms: ["*"] })).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    await expect(verifyJwt(`${h}.${forged}.${s}`, "s3cret", 1)).rejects.toMatchObject({ code: "bad_signature" });
    const none = btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "");
    await expect(verifyJwt(`${none}.${token.split(".")[1]}.`, "s3cret", 1)).rejects.toMatchObject({ code: "malformed" });
    await expect(verifyJwt(token, "s3cret", 2_000_000_000)).rejects.toMatchObject({ code: "expired" });
    const early = await signJwt({ ...claims, nbf: 100 }, "k");
    await expect(verifyJwt(early, "k", 99)).rejects.toMatchObject({ code: "not_yet_valid" });
    await expect(verifyJwt("a.b", "k")).rejects.toMatchObject({ code: "malformed" });
    await expect(verifyJwt("a.b!.c", "k")).rejects.toMatchObject({ code: "malformed" });
  });

  it("handles non-ASCII claims", async () => {
    const token = await signJwt({ ...claims, meta: { name: "Zoë 🍕" } }, "k");
    expect((await verifyJwt(token, "k", 1)).meta).toEqual({ name: "Zoë 🍕" });
  });
});

describe("claim helpers", () => {
  it("matches rooms exactly or by a trailing * prefix", () => {
    expect(roomAllowed(claims.rooms, "kitchen")).toBe(true);
    expect(roomAllowed(claims.rooms, "kitchen2")).toBe(false);
    expect(roomAllowed(claims.rooms, "team-blue")).toBe(true);
    expect(roomAllowed(["*"], "anything")).toBe(true);
  });
  it("reads space-separated scopes", () => {
    expect(hasScope("subscribe  publish", "publish")).toBe(true);
    expect(hasScope("subscribe", "history")).toBe(false);
  });
});
