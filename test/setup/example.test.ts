/**
 * The example deployer project (examples/hooks-worker) as a deployer gets
 * it: `npm pack` this package, install the tarball into a copy of the
 * example (its own package.json), bundle it with wrangler as `wrangler
 * deploy` would, run it on workerd and talk to it over real sockets. So the
 * published `roomcast/server` is what is tested, not the source tree.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle, EmbeddedRelay } from "../../tools/local/relay";
import { getJson, postMessage } from "../support/http";
import { TestSocket } from "../support/socket";

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", npm_config_loglevel: "error", npm_config_fund: "false", npm_config_audit: "false" };

let work: string;
let relay: EmbeddedRelay;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "roomcast-example-"));
  const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT, env, maxBuffer: 1 << 24 });
  const tarball = join(work, JSON.parse(stdout.slice(stdout.indexOf("[")))[0].filename);
  const app = join(work, "app");
  await cp(join(ROOT, "examples", "hooks-worker"), app, { recursive: true, filter: (src) => !/node_modules|\.wrangler/.test(src) });
  // The example's own dependencies, with roomcast from the tarball; wrangler
  // (its dev dependency) is this repository's, the same pinned version.
  await exec("npm", ["install", "--prefer-offline", "--omit=dev", tarball], { cwd: app, env });
  const pkg = JSON.parse(await readFile(join(app, "package.json"), "utf8"));
  expect(pkg.dependencies.roomcast).toMatch(/^file:/);
  const config = join(app, "wrangler.toml");
  // Inside the project: workerd loads modules relative to its wrangler.toml.
  const bundle = await buildBundle(join(app, "dist"), config);
  relay = await EmbeddedRelay.start({ bundle, config });
}, 300_000);

afterAll(async () => {
  await relay?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("examples/hooks-worker, installed from npm pack", () => {
  it("serves the relay", async () => {
    const health = await getJson(`${relay.url}/health`);
    expect(health).toMatchObject({ status: 200, json: { ok: true } });
  });

  it("refuses a publish on admin/… on a WebSocket (error frame) and over HTTP (403)", async () => {
    const ws = await TestSocket.open(`${relay.wsUrl}/rooms/example-refuse`);
    await ws.next("welcome");
    ws.send({ type: "publish", topic: "admin/reboot", data: 1, id: "a" });
    expect(await ws.next("error")).toMatchObject({ code: "forbidden_topic" });
    const http = await postMessage(relay.url, "example-refuse", JSON.stringify({ data: 1, topic: "admin/reboot" }));
    expect(http).toMatchObject({ status: 403, json: { error: { code: "forbidden_topic" } } });
    expect((await getJson(`${relay.url}/rooms/example-refuse`)).json.seq).toBe(0);
    ws.close();
  });

  it("redacts the password field for every reader and in history", async () => {
    const reader = await TestSocket.open(`${relay.wsUrl}/rooms/example-redact`);
    await reader.next("welcome");
    const posted = await postMessage(relay.url, "example-redact", JSON.stringify({ data: { user: "ann", password: "hunter2" } }));
    expect(posted.status).toBe(201);
    const [m] = await reader.messagesUntil(1);
    expect(m.data).toEqual({ user: "ann", password: "***" });
    const history = await getJson(`${relay.url}/rooms/example-redact/messages`);
    expect(history.json.messages.map((e: any) => e.data)).toEqual([{ user: "ann", password: "***" }]);
    reader.close();
  });
});
