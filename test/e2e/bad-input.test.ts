/**
 * The bad-input sweep: whatever a client sends, the relay answers with the
 * protocol's 4xx JSON error or an error frame, never a 500, a crash or a
 * 1011, and the room keeps serving its other clients.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedRelay } from "../../tools/local/relay";
import { postMessage } from "../support/http";
import { startRelay } from "../support/relay";
import { TestSocket, uniqueRoom } from "../support/socket";

let relay: EmbeddedRelay;
let room: string;
/** Watches the shared room all along: it must keep receiving. */
let watcher: TestSocket;
let published = 0;

beforeAll(async () => {
  relay = await startRelay();
  room = uniqueRoom("bad");
  watcher = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
  await watcher.next("welcome");
});
afterAll(async () => {
  watcher?.close();
  await relay?.stop();
});

/** The room still works: a fresh publish reaches the watcher, in order. */
async function roomStillServes(): Promise<void> {
  const res = await postMessage(relay.url, room, JSON.stringify({ data: { n: published + 1 } }));
  expect(res.status).toBe(201);
  published += 1;
  const messages = await watcher.messagesUntil(published);
  expect(messages.at(-1)).toMatchObject({ data: { n: published } });
  expect(watcher.closed).toBeNull();
}

interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

/** A GET whose path is written byte for byte (fetch would refuse non-ASCII bytes). */
function rawGet(path: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(relay.port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const finish = () => {
      const text = received.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const headers = end < 0 ? text : text.slice(0, end);
      socket.destroy();
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? "0"),
        contentType: /\r\ncontent-type: *([^\r]*)/i.exec(headers)?.[1] ?? "",
        body: end < 0 ? "" : text.slice(end + 4),
      });
    };
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? "NaN");
      // Keep-alive keeps the connection open: stop once the declared body is in.
      if (end >= 0 && received.length - (end + 4) >= length) finish();
    });
    socket.on("end", finish);
    socket.on("error", reject);
    socket.write(Buffer.concat([Buffer.from("GET "), path, Buffer.from(" HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")]));
  });
}

/** fetch sends percent-encoding as written; only dot segments are resolved. */
async function get(path: string): Promise<RawResponse> {
  const res = await fetch(`${relay.url}${path}`);
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: await res.text() };
}

function expectClientError(res: RawResponse, code?: string): void {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.contentType).toContain("application/json");
  const body = JSON.parse(res.body);
  expect(body.error).toEqual({ code: code ?? expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) });
}

describe("room names", () => {
  it.each([
    ["invalid UTF-8 (%FF)", "/rooms/%FF"],
    ["invalid UTF-8 (%C3%28)", "/rooms/%C3%28"],
    ["truncated UTF-8 (%E2%82)", "/rooms/a%E2%82"],
    ["a right-to-left override", "/rooms/%E2%80%AEroom"],
    ["broken percent-encoding", "/rooms/%ZZroom"],
    ["an encoded slash", "/rooms/a%2Fb"],
    ["an encoded backslash", "/rooms/a%5Cb"],
    ["encoded traversal", "/rooms/..%2F..%2Fetc"],
    ["a NUL byte", "/rooms/a%00b"],
    ["a leading dot", "/rooms/.hidden"],
    ["129 characters", `/rooms/${"a".repeat(129)}`],
    ["a space", "/rooms/a%20b"],
  ])("%s is 400 bad_room_name, on every route", async (_name, path) => {
    for (const suffix of ["", "/messages", "/presence", "/events"]) {
      expectClientError(await get(`${path}${suffix}`), "bad_room_name");
    }
  });

  it("encoded dot segments are resolved by the URL parser and never name a room", async () => {
    // WHATWG URL parsing treats %2E%2E as "..": /rooms/%2E%2E is /, and
    // /rooms/%2E%2E/messages is /messages, which no route serves.
    const api = await get("/rooms/%2E%2E/messages");
    expectClientError(api, "not_found");
    const other = await get("/rooms/%2e%2E/presence");
    expectClientError(other, "not_found");
    const root = await get("/rooms/%2E%2E");
    expect(root.status).toBeLessThan(500);
    expect(root.body).not.toContain('"seq"'); // not a room description
  });

  it("raw non-UTF-8 bytes in the path get a 4xx, not a 500", async () => {
    const res = await rawGet(Buffer.from([...Buffer.from("/rooms/"), 0xff, 0xfe, 0x41]));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it("a WebSocket upgrade to a bad name is refused with 400", async () => {
    for (const name of ["%FF", "a%2Fb", "..%2Fx"]) {
      await expect(TestSocket.open(`${relay.wsUrl}/rooms/${name}`)).rejects.toMatchObject({ status: 400 });
    }
    await roomStillServes();
  });
});

describe("query strings", () => {
  it("a 10 KB query string is served or refused with a 4xx, never a 500", async () => {
    const junk = "x".repeat(10_000);
    const plain = await fetch(`${relay.url}/rooms/${room}?junk=${junk}`);
    expect(plain.status).toBe(200);
    const since = await fetch(`${relay.url}/rooms/${room}/events?since=${"9".repeat(10_000)}`);
    expect(since.status).toBe(400);
    expect((await since.json()).error.code).toBe("bad_since");
    const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?pad=${junk}`);
    expect((await sock.next("welcome")).room).toBe(room);
    sock.close();
    await roomStillServes();
  });

  it.each(["-1", "1e3", "1.5", "0x10", "abc", "NaN", "Infinity", " 1", "99999999999999999999", "%00", "1;2"])(
    "since=%s is 400 bad_since on upgrades and SSE",
    async (since) => {
      const q = `since=${encodeURIComponent(since)}`;
      await expect(TestSocket.open(`${relay.wsUrl}/rooms/${room}?${q}`)).rejects.toMatchObject({ status: 400 });
      const sse = await fetch(`${relay.url}/rooms/${room}/events?${q}`);
      expect(sse.status).toBe(400);
      expect((await sse.json()).error.code).toBe("bad_since");
      // Header values are trimmed on the way, so " 1" would be a valid id there.
      if (!/^\d+$/.test(since.trim())) {
        const lastEventId = await fetch(`${relay.url}/rooms/${room}/events`, { headers: { "last-event-id": since } });
        expect(lastEventId.status).toBe(400);
        await lastEventId.body?.cancel();
      }
    },
  );

  it("a since far past the room's seq is served without a replay", async () => {
    const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?since=9007199254740991`);
    expect(await sock.next("welcome")).toMatchObject({ recovered: false });
    sock.close();
  });

  it("bad after, limit, epoch and mode are 400", async () => {
    for (const q of ["after=-5", "after=abc", "limit=-1", "limit=1e9999", "after=1.5"]) {
      const res = await fetch(`${relay.url}/rooms/${room}/messages?${q}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("bad_request");
    }
    for (const q of ["epoch=%00", `epoch=${"e".repeat(200)}`, "mode=binary", "since=0&epoch=..%2F"]) {
      await expect(TestSocket.open(`${relay.wsUrl}/rooms/${room}?${q}`)).rejects.toMatchObject({ status: 400 });
    }
    await roomStillServes();
  });
});

describe("HTTP bodies", () => {
  it.each([
    ["an empty body", "", "application/json", 400],
    ["an empty text body", "", "text/plain", 400],
    ["malformed JSON", "{data: 1", "application/json", 400],
    ["JSON that is not an object", "[1,2,3]", "application/json", 400],
    ["JSON null", "null", "application/json", 400],
    ["JSON without data", '{"payload":1}', "application/json", 400],
    ["invalid UTF-8 declared as JSON", Buffer.from([0x7b, 0xff, 0x7d]), "application/json", 400],
    ["invalid UTF-8 declared as text", Buffer.from([0x68, 0xc3, 0x28]), "text/plain; charset=utf-8", 400],
    ["oversized JSON", JSON.stringify({ data: "x".repeat(70_000) }), "application/json", 413],
    ["an oversized text body", "x".repeat(70_000), "text/plain", 413],
    ["a garbage content type", "hello", ";;;", 201],
    ["XML", "<a>1</a>", "application/xml", 201],
    ["a form", "a=1&b=2", "application/x-www-form-urlencoded", 201],
  ] as const)("%s is answered %i", async (_name, body, type, status) => {
    const res = await postMessage(relay.url, room, body, { "content-type": type });
    expect(res.status).toBe(status);
    if (status >= 400) expect(res.json.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    else published += 1; // accepted as a payload: the watcher receives it
    await roomStillServes();
  });

  it("an Idempotency-Key that is too long is 400", async () => {
    const res = await postMessage(relay.url, room, '{"data":1}', { "content-type": "application/json", "idempotency-key": "k".repeat(1000) });
    expect(res.status).toBe(400);
  });
});

describe("WebSocket frames", () => {
  it("malformed and unknown frames get error frames; the socket and the room stay up", async () => {
    const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await sock.next("welcome");
    const cases: Array<[string, string]> = [
      ["{not json", "bad_json"],
      ["", "bad_json"],
      ["[]", "bad_frame"],
      ["null", "bad_frame"],
      ["42", "bad_frame"],
      ['"publish"', "bad_frame"],
      ['{"type":"subscribe","room":"other"}', "unknown_type"],
      ['{"type":"__proto__"}', "unknown_type"],
      ['{"data":1}', "unknown_type"],
      ['{"type":"publish"}', "bad_frame"],
      ['{"type":"publish","data":1,"id":42}', "bad_frame"],
      ['{"type":"publish","data":1,"id":""}', "bad_frame"],
      [JSON.stringify({ type: "publish", data: 1, id: "i".repeat(500) }), "bad_frame"],
      ['{"__proto__":{"type":"publish"},"data":1}', "unknown_type"],
    ];
    for (const [i, [frame, code]] of cases.entries()) {
      sock.send(frame);
      await sock.until((fs) => fs.filter((f) => f.json?.type === "error").length > i, `error frame for ${frame.slice(0, 40)}`);
      expect(sock.all("error")[i]).toEqual({ type: "error", code, message: expect.any(String) });
    }
    expect(sock.closed).toBeNull();
    await roomStillServes();
    sock.close();
  });

  it("binary garbage is a binary message, not a crash", async () => {
    const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await sock.next("welcome");
    const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256));
    sock.send(garbage);
    published += 1;
    const messages = await watcher.messagesUntil(published);
    expect(messages.at(-1)).toMatchObject({ binary: true, data: garbage.toString("base64") });
    expect(sock.closed).toBeNull();
    await roomStillServes();
    sock.close();
  });

  it("deeply nested JSON is refused or relayed, never a 1011", async () => {
    const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await sock.next("welcome");
    const depth = 20_000;
    sock.send(`{"type":"publish","id":"deep","data":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    await sock.until((fs) => fs.some((f) => f.json?.type === "error" || f.json?.type === "ack") || sock.closed !== null, "an answer");
    expect(sock.closed?.code).not.toBe(1011);
    if (sock.all("ack").length > 0) published += 1;
    await roomStillServes();
    sock.close();
  });

  it("a text frame with invalid UTF-8 gets an error frame (or a protocol close), never a 1011", async () => {
    const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await sock.next("welcome");
    sock.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    await sock.until(() => sock.closed ?? sock.all("error")[0], "an error frame or a close");
    if (sock.closed) expect([1002, 1007]).toContain(sock.closed.code);
    else expect(sock.all("error")[0].code).toBe("bad_json"); // workerd decodes it with U+FFFD
    await roomStillServes();
    sock.close();
  });

  it("a frame over the size limit closes only that socket with 1009", async () => {
    const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await sock.next("welcome");
    sock.send(JSON.stringify({ type: "publish", data: "x".repeat(70_000) }));
    expect((await sock.waitClosed()).code).toBe(1009);
    await roomStillServes();
  });
});
