/**
 * What a fresh clone prints in its first minutes, checked on a clean view of
 * this tree: a temp dir with every top-level entry linked except the local
 * state a clone does not have (.dev.vars, .env*, .wrangler, dist, .git), so
 * a developer's own secrets cannot change the result. The committed Env must
 * be exactly what `npm run cf-typegen` writes (so npm test fails when it is
 * stale), `npm start` must come up without wrangler's "types might be out of
 * date", and the `roomcast` bin must run after install.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { freePort } from "../../tools/local/ports";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const TYPES = "worker-configuration.d.ts";
/** Present in a working tree, absent from a fresh clone. */
const LOCAL_STATE = /^(\.dev\.vars|\.env.*|\.wrangler|dist|\.git)$/;
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

let clean: string;

beforeAll(async () => {
  clean = await mkdtemp(join(tmpdir(), "roomcast-clean-"));
  for (const entry of await readdir(ROOT)) {
    if (LOCAL_STATE.test(entry)) continue;
    // A copy, not a link: cf-typegen rewrites this one.
    if (entry === TYPES) await copyFile(join(ROOT, entry), join(clean, entry));
    else await symlink(join(ROOT, entry), join(clean, entry));
  }
});
afterAll(async () => {
  if (clean) await rm(clean, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  output: string;
}

/** Runs a shell command to its end, stdout and stderr together. */
function run(command: string, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { cwd, env });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** Wrangler's only expected notice offline: it cannot fetch Request.cf. */
function warnings(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => /warn|might be out of date/i.test(line))
    .filter((line) => !line.includes("Unable to fetch the `Request.cf` object"));
}

describe("a fresh clone", () => {
  it("has the Env that `npm run cf-typegen` writes", async () => {
    const typegen = await run("npm run cf-typegen", clean);
    expect(typegen.code, typegen.output).toBe(0);
    const written = await readFile(join(clean, TYPES), "utf8");
    const committed = await readFile(join(ROOT, TYPES), "utf8");
    // Not toBe on the whole file: the message says what to do.
    if (written !== committed) {
      expect.fail(`${TYPES} is stale: run \`npm run cf-typegen\` and commit it.\nExpected:\n${written}`);
    }
  });

  it("starts with `npm start` and no warning about its types", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
    const start: string = pkg.scripts.start;
    expect(start).toMatch(/--port 8787\b/);
    const port = await freePort();
    // The start script as written, on a port of this test's own.
    const child = spawn("sh", ["-c", start.replace(/--port 8787\b/, `--port ${port}`)], {
      cwd: clean,
      env: { ...env, PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}` },
      detached: true,
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
    try {
      await expect.poll(() => output, { timeout: 90_000, interval: 250 }).toContain(`Ready on http://127.0.0.1:${port}`);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
    } finally {
      process.kill(-child.pid!, "SIGTERM");
      await exited;
    }
    expect(output).not.toContain("types might be out of date");
    expect(warnings(output), output).toEqual([]);
  });
});

describe("after npm ci", () => {
  it("runs the `roomcast` bin (built by `prepare`)", async () => {
    const help = await run("npx roomcast --help", ROOT);
    expect(help.code, help.output).toBe(0);
    expect(help.output).toContain("Usage: roomcast <command>");
    expect(warnings(help.output)).toEqual([]);
  });

  it("has every dependency's install script allowed or denied in allowScripts", async () => {
    // What npm warns about (and will one day refuse to run): packages the
    // lockfile marks as having install scripts, with no allowScripts entry.
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
    const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8"));
    const reviewed = new Set(Object.keys(pkg.allowScripts ?? {}).map((key) => key.replace(/(?<=.)@.*$/, "")));
    const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => !reviewed.has(name))).toEqual([]);
  });
});
