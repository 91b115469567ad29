/**
 * Token refresh and refusal against the real relay with AUTH_SECRET set:
 * a token that expires mid-connection is refreshed after 4401 and the
 * publish that met the expiry still goes through once; a token for another
 * room is refused (HTTP 403 at the upgrade) and the client stops.
 */
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { RoomcastClient } from "../../client/index";
import { signJwt } from "../../client/jwt";
import { useRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";

const SECRET = "client-test-secret";
const relay = useRelay({ vars: { AUTH_SECRET: SECRET } });

const fast = { backoff: { min: 50, max: 300, factor: 2 }, WebSocket };
const token = (rooms: string[], ttl: number) =>
  signJwt({ sub: "dev", rooms, scope: "subscribe publish", exp: Math.floor(Date.now() / 1000) + ttl }, SECRET);

async function waitFor(check: () => boolean, ms = 15_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error("timed out");
    await sleep(10);
  }
}

describe("auth against the relay", () => {
  it("refreshes the token after 4401 and publishes once", async () => {
    const room = uniqueRoom("auth");
    const issued: number[] = [];
    const client = new RoomcastClient({
      url: relay.wsUrl,
      room,
      ...fast,
      token: async () => {
        issued.push(Date.now());
        return token([room], issued.length === 1 ? 2 : 3600); // the first one dies in ~2 s
      },
    });
    const closes: number[] = [];
    client.on("disconnect", (d) => closes.push(d.code));
    await waitFor(() => client.state === "open");
    expect(await client.publish({ n: 1 })).toEqual({ seq: 1 });
    await sleep(3100);
    // The relay notices the expiry on this frame: 4401, new token, resend.
    expect(await client.publish({ n: 2 })).toEqual({ seq: 2 });
    expect(closes).toContain(4401);
    expect(issued).toHaveLength(2);
    expect(client.state).toBe("open");
    const info = (await (await fetch(`${relay.url}/rooms/${room}`, { headers: { authorization: `Bearer ${await token([room], 60)}` } })).json()) as { seq: number };
    expect(info.seq).toBe(2);
    client.close();
  });

  it("stops for good when the relay forbids the room", async () => {
    const room = uniqueRoom("auth");
    let asked = 0;
    const client = new RoomcastClient({
      url: relay.wsUrl,
      room,
      ...fast,
      token: () => {
        asked++;
        return token(["some-other-room"], 3600);
      },
    });
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.code));
    const pending = client.publish("never").catch((e: unknown) => e);
    await waitFor(() => client.state === "closed");
    expect(await pending).toMatchObject({ code: "forbidden", status: 4403 });
    await sleep(1000);
    expect(asked).toBe(1);
    expect(errors).toEqual(["forbidden"]);
  });
});
