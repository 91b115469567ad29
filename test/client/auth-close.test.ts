/**
 * 4401 and 4403 over real sockets, against a local `ws` server that closes
 * with those codes (the real relay's auth is built separately).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { RoomcastClient, type ClientState } from "../../client/index";
import { startMockRelay, type MockRelay } from "./mock-relay";

let relay: MockRelay;
beforeEach(async () => {
  relay = await startMockRelay();
});
afterEach(async () => {
  await relay.close();
});

const fast = { backoff: { min: 20, max: 100, factor: 2 } };

function waitFor<T>(check: () => T | undefined, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const v = check();
      if (v !== undefined && v !== false) return resolve(v);
      if (Date.now() - started > ms) return reject(new Error("timed out"));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe("close codes over a real socket", () => {
  it("asks for a new token after 4401 and reconnects with it", async () => {
    relay.onConnection = (conn, i) => {
      if (i === 0) conn.socket.close(4401, "token expired");
      else relay.welcome(conn);
    };
    let n = 0;
    const client = new RoomcastClient({ url: relay.url, room: "kitchen", token: async () => `token-${++n}`, WebSocket, ...fast });
    await waitFor(() => client.state === "open");
    // With the `ws` class the token travels in a header, never in the URL.
    expect(relay.connections.map((c) => c.headers.authorization)).toEqual(["Bearer token-1", "Bearer token-2"]);
    expect(relay.connections.map((c) => c.url.searchParams.get("token"))).toEqual([null, null]);
    await expect(client.publish({ hello: 1 })).resolves.toEqual({ seq: 1 });
    client.close();
  });

  it("does not reconnect after 4403", async () => {
    relay.onConnection = (conn) => conn.socket.close(4403, "forbidden");
    const states: ClientState[] = [];
    const errors: string[] = [];
    const client = new RoomcastClient({ url: relay.url, room: "kitchen", token: async () => "t", WebSocket, ...fast });
    client.on("state", (s) => states.push(s));
    client.on("error", (e) => errors.push(e.code));
    await waitFor(() => client.state === "closed");
    await new Promise((r) => setTimeout(r, 500)); // plenty of time for a wrong retry
    expect(relay.connections).toHaveLength(1);
    expect(states).toEqual(["closed"]);
    expect(errors).toEqual(["forbidden"]);
  });

  it("treats an upgrade refused with HTTP 403 like 4403", async () => {
    relay.refuseWith = 403;
    const client = new RoomcastClient({ url: relay.url, room: "kitchen", WebSocket, ...fast });
    await waitFor(() => client.state === "closed");
  });

  it("treats an upgrade refused with HTTP 401 like 4401", async () => {
    relay.refuseWith = 401;
    let asked = 0;
    const client = new RoomcastClient({
      url: relay.url,
      room: "kitchen",
      WebSocket,
      ...fast,
      token: () => {
        if (++asked === 2) relay.refuseWith = undefined;
        return `t${asked}`;
      },
    });
    await waitFor(() => client.state === "open");
    expect(asked).toBe(2);
    client.close();
  });

  it("loads `ws` by itself when there is no global WebSocket", async () => {
    expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined(); // Node 20
    const client = new RoomcastClient({ url: relay.url, room: "kitchen" });
    await waitFor(() => client.state === "open");
    client.close();
  });
});
