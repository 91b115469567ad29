/**
 * What a stranger gets: `npm pack` the package (its `prepack` builds it),
 * install the tarball in an empty folder, then use `roomcast/client` (from
 * JavaScript and from TypeScript) and the `roomcast` bin from there.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockRelay, type MockRelay } from "./mock-relay";

const exec = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const env = { ...process.env, npm_config_loglevel: "error", npm_config_fund: "false", npm_config_audit: "false" };

let work: string;
let app: string;
let packed: { filename: string; files: Array<{ path: string }> };
let relay: MockRelay;

beforeAll(async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
  if (!pkg.exports?.["./client"] || !pkg.bin?.roomcast || !pkg.scripts?.prepack) {
    throw new Error("package.json lacks exports['./client'], bin.roomcast or scripts.prepack: see the packaging section of docs/client.md");
  }
  work = await mkdtemp(join(tmpdir(), "roomcast-pack-"));
  const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT, env, maxBuffer: 1 << 24 });
  // npm prints the prepack build's output before the JSON.
  packed = JSON.parse(stdout.slice(stdout.indexOf("[")))[0];
  app = join(work, "app");
  await exec("mkdir", ["-p", app]);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "stranger", private: true, type: "module" }));
  const wsVersion = JSON.parse(await readFile(join(ROOT, "node_modules/ws/package.json"), "utf8")).version;
  // --prefer-offline: the repo's own install has put these versions in npm's cache.
  await exec("npm", ["install", "--prefer-offline", join(work, packed.filename), `ws@${wsVersion}`], { cwd: app, env });
  relay = await startMockRelay();
}, 300_000);

afterAll(async () => {
  await relay?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("ships compiled JavaScript and types, and no sources or tests", () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining(["package.json", "dist/pkg/client/index.js", "dist/pkg/client/index.d.ts", "dist/pkg/client/cli.js"]),
    );
    const unwanted = paths.filter((p) => /\.ts$/.test(p) && !p.endsWith(".d.ts"));
    expect(unwanted).toEqual([]);
    expect(paths.filter((p) => /^(test|worker|durable-objects|server|local)\//.test(p))).toEqual([]);
  });

  it("imports roomcast/client in Node and talks to a relay (loading ws by itself)", async () => {
    const script = `
      import { RoomcastClient, backoffDelay, RoomcastError } from "roomcast/client";
      const c = new RoomcastClient({ url: process.env.RELAY, room: "kitchen" });
      const { seq } = await c.publish({ hello: "stranger" });
      console.log(JSON.stringify({ seq, state: c.state, backoff: typeof backoffDelay, error: typeof RoomcastError }));
      c.close();
    `;
    await writeFile(join(app, "check.mjs"), script);
    const { stdout } = await exec("node", ["check.mjs"], { cwd: app, env: { ...env, RELAY: relay.url } });
    expect(JSON.parse(stdout)).toEqual({ seq: 1, state: "open", backoff: "function", error: "function" });
  });

  it("has types a TypeScript user can compile against", async () => {
    await writeFile(
      join(app, "check.ts"),
      `import { RoomcastClient, type ClientState, type MessageEnvelope } from "roomcast/client";
       import { signJwt } from "roomcast/jwt";
       const c = new RoomcastClient({ url: "ws://127.0.0.1:8787", room: "kitchen", token: async () => signJwt({ sub: "a" }, "s") });
       const off: () => void = c.on("message", (m: MessageEnvelope) => void m.seq);
       c.on("state", (s: ClientState) => void s);
       // @ts-expect-error: not an event
       c.on("nope", () => {});
       off();
       export {};
      `,
    );
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022", "DOM"], noEmit: true, skipLibCheck: false, types: [] },
        files: ["check.ts"],
      }),
    );
    await exec(join(ROOT, "node_modules/.bin/tsc"), ["-p", "."], { cwd: app, env });
  });

  it("keeps Node built-ins out of the browser path", async () => {
    // Walk the import graph of the library's entry and look for node: imports.
    const seen = new Set<string>();
    const walk = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = await readFile(file, "utf8");
      expect(text, file).not.toMatch(/from\s+["']node:|import\(\s*["']node:|require\(/);
      for (const m of text.matchAll(/from\s+["'](\.[^"']+)["']/g)) await walk(resolve(file, "..", m[1]!));
    };
    await walk(join(app, "node_modules/roomcast/dist/pkg/client/index.js"));
    expect(seen.size).toBeGreaterThan(5);
  });

  it("installs the roomcast bin", async () => {
    const bin = join(app, "node_modules/.bin/roomcast");
    const help = await exec(bin, ["--help"], { env });
    expect(help.stdout).toMatch(/Usage: roomcast <command>/);
    const token = await exec(bin, ["token", "--room", "kitchen", "--scope", "subscribe"], { env: { ...env, ROOMCAST_SECRET: "pack-test-secret-0123456789" } });
    expect(token.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const published = await exec(bin, ["publish", "--url", relay.url, "--room", "kitchen", '{"a":1}'], { env });
    expect(JSON.parse(published.stdout)).toEqual({ seq: expect.any(Number), epoch: "mock" });
    await expect(exec(bin, ["publish", "--room", "kitchen"], { env })).rejects.toMatchObject({ code: 2 });
    await expect(exec(bin, ["publish", "--url", "http://127.0.0.1:1", "--room", "kitchen", "x"], { env })).rejects.toMatchObject({ code: 1 });
  });
});
