/**
 * The `roomcast` commands, run in-process against a local mock relay: output,
 * readable errors and the exit codes scripts rely on (0 ok, 1 failure, 2 usage).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { run, type Io } from "../../client/cli-commands";
import { verifyJwt } from "../../client/jwt";
import { startMockRelay, type MockRelay } from "./mock-relay";

/** A secret long enough for the CLI. */
const LONG = "a-long-enough-test-secret";

function io(extra: Partial<Io> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {}, WebSocket, ...extra } };
}

describe("roomcast token", () => {
  it("prints an HS256 token with the requested claims", async () => {
    const t = io();
    const code = await run(
      ["token", "--secret", "cli-test-secret-0123456789", "--room", "kitchen", "--room", "team-*", "--scope", "subscribe publish", "--ttl", "2h", "--sub", "dev-7", "--meta", '{"name":"K"}'],
      t.io,
    );
    expect(code).toBe(0);
    expect(t.out).toHaveLength(1);
    const claims = await verifyJwt(t.out[0]!, "cli-test-secret-0123456789");
    expect(claims).toMatchObject({ sub: "dev-7", rooms: ["kitchen", "team-*"], scope: "subscribe publish", meta: { name: "K" } });
    expect(claims.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(7190);
    expect(claims.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(7200);
  });

  it("puts repeated --acl-pub and --acl-sub in the acl claim, and no acl without them", async () => {
    const t = io();
    const argv = ["token", "--secret", LONG, "--room", "r", "--scope", "subscribe publish", "--acl-pub", "tel/d1/#", "--acl-sub", "cmd/d1", "--acl-sub", "cfg/#"];
    expect(await run(argv, t.io)).toBe(0);
    expect((await verifyJwt(t.out[0]!, LONG)).acl).toEqual({ pub: ["tel/d1/#"], sub: ["cmd/d1", "cfg/#"] });
    const onlySub = io();
    expect(await run(["token", "--secret", LONG, "--room", "r", "--scope", "subscribe", "--acl-sub", "cmd/d1"], onlySub.io)).toBe(0);
    expect((await verifyJwt(onlySub.out[0]!, LONG)).acl).toEqual({ sub: ["cmd/d1"] });
    const none = io();
    expect(await run(["token", "--secret", LONG, "--room", "r", "--scope", "subscribe"], none.io)).toBe(0);
    expect("acl" in (await verifyJwt(none.out[0]!, LONG))).toBe(false);
  });

  it("sets iat and a random jti, a different one for each token (roomcast revoke names it)", async () => {
    const a = io();
    const b = io();
    for (const t of [a, b]) expect(await run(["token", "--secret", LONG, "--room", "r", "--scope", "admin"], t.io)).toBe(0);
    const [ca, cb] = [await verifyJwt(a.out[0]!, LONG), await verifyJwt(b.out[0]!, LONG)];
    expect(ca.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(cb.jti).not.toBe(ca.jti);
    expect(Math.abs(ca.iat! - Math.floor(Date.now() / 1000))).toBeLessThanOrEqual(1);
    expect(ca.scope).toBe("admin");
  });

  it("defaults the ttl to an hour and the sub to a random cli id; reads the secret from the environment", async () => {
    const t = io({ env: { ROOMCAST_SECRET: "env-secret-0123456789" } });
    expect(await run(["token", "--room", "kitchen", "--scope", "subscribe"], t.io)).toBe(0);
    const claims = await verifyJwt(t.out[0]!, "env-secret-0123456789");
    expect(claims.sub).toMatch(/^cli-/);
    expect(claims.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(3590);
  });

  it.each([
    [["token", "--room", "r", "--scope", "subscribe"], /set ROOMCAST_SECRET/],
    [["token", "--secret", "short-secret", "--room", "r", "--scope", "subscribe"], /shorter than 16 characters/],
    [["token", "--secret", LONG, "--room", "r", "--scope", "subscribe", "--ttl", "367d"], /longer than 366d/],
    [["token", "--secret", LONG, "--room", "r", "--scope", "subscribe", "--sub", "c_1234abcd"], /--sub must not start with "c_"/],
    [["token", "--secret", LONG, "--scope", "subscribe"], /--room is required/],
    [["token", "--secret", LONG, "--room", "r"], /--scope is required/],
    [["token", "--secret", LONG, "--room", "r", "--scope", "read"], /invalid --scope/],
    [["token", "--secret", LONG, "--room", "r", "--scope", "publish", "--ttl", "soon"], /invalid --ttl/],
    [["token", "--secret", LONG, "--room", "bad room", "--scope", "publish"], /invalid --room/],
    [["token", "--secret", LONG, "--room", "r", "--scope", "publish", "--meta", "[1]"], /--meta must be a JSON object/],
    [["token", "--secret", LONG, "--room", "r", "--scope", "publish", "--acl-pub", "a/#/b"], /invalid --acl-pub\/--acl-sub: acl.pub must be an array of topic filters/],
    [["token", "--secret", LONG, "--room", "r", "--scope", "publish", "--bogus"], /Unknown option '--bogus'/],
    [["frobnicate"], /unknown command 'frobnicate'/],
  ])("exits 2 with one readable line for %j", async (argv, message) => {
    const t = io();
    expect(await run(argv, t.io)).toBe(2);
    expect(t.out).toEqual([]);
    expect(t.err[0]).toMatch(/^roomcast: /);
    expect(t.err[0]).toMatch(message);
    expect(t.err[1]).toMatch(/--help/);
  });

  it("prints the version; with no command prints help to stderr and exits 2", async () => {
    const v = io();
    expect(await run(["--version"], v.io)).toBe(0);
    expect(v.out).toEqual([expect.stringMatching(/^\d+\.\d+\.\d+/)]);
    const none = io();
    expect(await run([], none.io)).toBe(2);
    expect(none.out).toEqual([]);
    expect(none.err[0]).toMatch(/Usage: roomcast <command>/);
  });

  it("has --help for every command, exit 0", async () => {
    for (const cmd of ["token", "publish", "tail"]) {
      const t = io();
      expect(await run([cmd, "--help"], t.io)).toBe(0);
      expect(t.out.join("\n")).toMatch(new RegExp(`^Usage: roomcast ${cmd}`));
    }
    const t = io();
    expect(await run(["--help"], t.io)).toBe(0);
    expect(t.out[0]).toMatch(/token.*\n.*publish.*\n.*tail/s);
  });
});

describe("roomcast publish and tail (mock relay)", () => {
  let relay: MockRelay;
  beforeEach(async () => {
    relay = await startMockRelay();
  });
  afterEach(async () => {
    await relay.close();
  });

  it("publishes JSON when DATA parses, text otherwise, with an Idempotency-Key, and prints {seq, epoch}", async () => {
    const t = io();
    expect(await run(["publish", "--url", relay.url, "--room", "kitchen", "--token", "T", '{"t":21.5}'], t.io)).toBe(0);
    expect(await run(["publish", "--url", relay.url, "--room", "kitchen", "hello world"], t.io)).toBe(0);
    expect(await run(["publish", "--url", relay.url, "--room", "kitchen", "--id", "job-42", "42"], t.io)).toBe(0);
    expect(t.out.map((l) => JSON.parse(l))).toEqual([
      { seq: 1, epoch: "mock" },
      { seq: 2, epoch: "mock" },
      { seq: 3, epoch: "mock" },
    ]);
    const [a, b, c] = relay.posts;
    expect(a).toMatchObject({ url: "/rooms/kitchen/messages", body: '{"data":{"t":21.5}}' });
    expect(a!.headers["content-type"]).toBe("application/json");
    expect(a!.headers.authorization).toBe("Bearer T");
    expect(a!.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(b).toMatchObject({ body: "hello world" });
    expect(b!.headers["content-type"]).toMatch(/^text\/plain/);
    expect(c!.headers["idempotency-key"]).toBe("job-42");
    expect(c!.body).toBe('{"data":42}');
  });

  it("reads DATA from standard input with '-'", async () => {
    const t = io({ readStdin: async () => '{"from":"stdin"}\n' });
    expect(await run(["publish", "--url", relay.url, "--room", "kitchen", "-"], t.io)).toBe(0);
    expect(relay.posts[0]!.body).toBe('{"data":{"from":"stdin"}}');
  });

  it("exits 1 with one line when the relay cannot be reached", async () => {
    const t = io();
    expect(await run(["publish", "--url", "http://127.0.0.1:1", "--room", "kitchen", "x"], t.io)).toBe(1);
    expect(t.err).toHaveLength(1);
    expect(t.err[0]).toMatch(/^roomcast: cannot reach http:\/\/127\.0\.0\.1:1\/rooms\/kitchen\/messages/);
  });

  it("exits 2 without DATA or with a bad room", async () => {
    expect(await run(["publish", "--url", relay.url, "--room", "kitchen"], io().io)).toBe(2);
    expect(await run(["publish", "--url", relay.url, "--room", "a/b", "x"], io().io)).toBe(2);
    expect(await run(["publish", "--url", "nope", "--room", "kitchen", "x"], io().io)).toBe(2);
  });

  it("tail prints each envelope as one JSON line and exits 0 when stopped", async () => {
    relay.onConnection = (conn) => {
      relay.welcome(conn, 0);
      for (const seq of [1, 2]) {
        conn.socket.send(JSON.stringify({ type: "message", room: "kitchen", seq, from: "x", ts: 1, data: { seq } }));
      }
    };
    const stop = new AbortController();
    const t = io({ signal: stop.signal });
    const done = run(["tail", "--url", relay.url, "--room", "kitchen", "--since", "0"], t.io);
    while (t.out.length < 2) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    expect(await done).toBe(0);
    expect(t.out.map((l) => JSON.parse(l).seq)).toEqual([1, 2]);
    expect(relay.connections[0]!.url.searchParams.get("since")).toBe("0");
  });

  it("tail exits 1 when the relay refuses it for good", async () => {
    relay.onConnection = (conn) => conn.socket.close(4403, "forbidden");
    const t = io();
    expect(await run(["tail", "--url", relay.url, "--room", "kitchen"], t.io)).toBe(1);
    expect(t.err.join("\n")).toMatch(/refused this client \(close 4403: forbidden\)/);
  });
});
