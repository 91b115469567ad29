/**
 * The library's side of the security review: the Node client sends its token
 * in an Authorization header rather than the URL (against the real relay,
 * whose token check takes either), a class without headers (a browser's)
 * still gets `?token=`, and `verifyJwt` requires `exp` unless told otherwise.
 */
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { RoomcastClient } from "../../client/index";
import { signJwt, verifyJwt } from "../../client/jwt";
import { canSendHeaders } from "../../client/websocket";
import { useRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";
import { FakeSocket } from "./fake-socket";

const SECRET = "client-security-secret-42";
const relay = useRelay({ vars: { AUTH_SECRET: SECRET } });

async function waitFor(check: () => boolean, ms = 15_000): Promise<void> {
  for (const started = Date.now(); !check(); await sleep(10)) {
    if (Date.now() - started > ms) throw new Error("timed out");
  }
}

describe("the token on the wire", () => {
  it("the ws class is known to send headers; a browser-like class is not", () => {
    expect(canSendHeaders(WebSocket)).toBe(true);
    expect(canSendHeaders(FakeSocket)).toBe(false);
  });

  it("connects to the real relay with the token in Authorization, none in the URL", async () => {
    const room = uniqueRoom("hdr");
    const token = await signJwt({ sub: "dev", rooms: [room], scope: "subscribe publish", exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);
    const urls: string[] = [];
    // Records the URL each socket is opened with, then opens a real `ws` socket.
    class Recording extends WebSocket {
      constructor(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions) {
        super(url, protocols, options);
        urls.push(url);
      }
    }
    const client = new RoomcastClient({ url: relay.wsUrl, room, token, WebSocket: Recording as never });
    await waitFor(() => client.state === "open");
    expect(await client.publish({ n: 1 })).toMatchObject({ seq: 1 });
    expect(urls).toHaveLength(1);
    expect(new URL(urls[0]!).searchParams.has("token")).toBe(false);
    client.close();
  });

  it("a class that cannot send headers gets the token in the URL", async () => {
    FakeSocket.reset();
    const client = new RoomcastClient({ url: "ws://127.0.0.1:9", room: "kitchen", token: "tok-1", WebSocket: FakeSocket });
    await waitFor(() => FakeSocket.all.length > 0);
    expect(new URL(FakeSocket.last.url).searchParams.get("token")).toBe("tok-1");
    client.close();
  });
});

describe("verifyJwt and exp", () => {
  const base = { sub: "dev-1", rooms: ["kitchen"], scope: "subscribe" };
  const secret = "verify-secret-0123456789";

  it("refuses a token without exp by default", async () => {
    const token = await signJwt(base, secret);
    await expect(verifyJwt(token, secret)).rejects.toMatchObject({ code: "malformed", message: expect.stringMatching(/exp/) });
    await expect(verifyJwt(token, secret, 1)).rejects.toMatchObject({ code: "malformed" });
  });

  it("accepts one only when asked to", async () => {
    const token = await signJwt(base, secret);
    expect(await verifyJwt(token, secret, { allowMissingExp: true })).toEqual(base);
  });

  it("refuses a non-numeric exp and nbf, and still checks a numeric one", async () => {
    await expect(verifyJwt(await signJwt({ ...base, exp: "never" }, secret), secret)).rejects.toMatchObject({ code: "malformed" });
    await expect(verifyJwt(await signJwt({ ...base, exp: 2_000_000_000, nbf: "soon" }, secret), secret, 1)).rejects.toMatchObject({ code: "malformed" });
    const token = await signJwt({ ...base, exp: 2_000_000_000 }, secret);
    expect(await verifyJwt(token, secret, { now: 1_999_999_999 })).toMatchObject(base);
    await expect(verifyJwt(token, secret, { now: 2_000_000_000 })).rejects.toMatchObject({ code: "expired" });
  });
});
