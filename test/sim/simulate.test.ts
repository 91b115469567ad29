/**
 * The simulator end to end: real fleets over real sockets against the
 * embedded relay (the bundle that deploys, on Miniflare), flaky links on.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { simulate, type SimIo } from "../../tools/sim/main";
import type { SimReport } from "../../tools/sim/report";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
let out: string;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "roomcast-sim-"));
});
afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

/** Runs `simulate` in this process with the bundle the global setup built. */
async function run(argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string[]; report: SimReport }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: SimIo = { out: (l) => stdout.push(l), err: (l) => stderr.push(l), bundle: inject("bundle") };
  const code = await simulate([...argv, "--json", "--out", out], io);
  const report = JSON.parse(stdout.at(-1) ?? "null") as SimReport;
  return { code, stdout, stderr, report };
}

describe("npm run simulate", () => {
  it("a short flaky run of a mixed fleet loses and repeats nothing", async () => {
    const { code, stdout, report } = await run(["--devices", "30", "--dashboards", "4", "--rooms", "3", "--duration", "10s", "--flaky", "0.1", "--rate", "2"]);
    expect(report).toMatchObject({ devices: 30, dashboards: 4, rooms: 3, mode: "mixed", lost: 0, duplicated: 0, out_of_order: 0, mismatched: 0, double_published: 0, ok: true });
    expect(report.delivered).toBe(report.expected);
    // Every room is watched by at least one dashboard, one of them by two.
    expect(report.expected).toBeGreaterThan(report.published);
    expect(report.published).toBeGreaterThan(200);
    // The links really were flaky, and the clients came back (a drop does not
    // always cost a reconnect: a socket killed twice before its close event, or
    // while it was connecting, is one reconnect).
    expect(report.drops).toBeGreaterThan(0);
    expect(report.reconnects).toBeGreaterThan(0);
    expect(report.p99_ms).toBeGreaterThan(0);
    expect(code).toBe(0);
    expect(stdout.join("\n")).toContain("VERDICT     PASS");

    // The same report, and a chart, are on disk.
    const [, jsonPath, svgPath] = /report\s+(\S+\.json) \(chart: (\S+\.svg)\)/.exec(stdout.join("\n"))!;
    expect(JSON.parse(await readFile(jsonPath!, "utf8"))).toEqual(report);
    const svg = await readFile(svgPath!, "utf8");
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.match(/<rect x=/g)?.length).toBeGreaterThan(5);
  });

  it("a restart of the embedded relay mid-run, with its state, loses nothing", async () => {
    const { code, report } = await run(["--devices", "24", "--dashboards", "3", "--rooms", "2", "--duration", "8s", "--restart-after", "4s", "--flaky", "0"]);
    expect(report.restarts).toBe(1);
    expect(report).toMatchObject({ lost: 0, duplicated: 0, out_of_order: 0, double_published: 0, ok: true });
    expect(report.delivered).toBe(report.expected);
    // Every client lost its link in the restart and came back.
    expect(report.reconnects).toBeGreaterThanOrEqual(24 - 8 + 3);
    expect(code).toBe(0);
  });
});

describe("npm run simulate -- --shards K", () => {
  it("a flaky run with every room sharded 4 wide, and a restart, loses and repeats nothing", async () => {
    const { code, stdout, report } = await run(["--devices", "24", "--dashboards", "4", "--rooms", "2", "--duration", "8s", "--flaky", "0.1", "--shards", "4", "--restart-after", "4s"]);
    expect(report).toMatchObject({ shards: 4, restarts: 1, lost: 0, duplicated: 0, out_of_order: 0, mismatched: 0, double_published: 0, ok: true });
    expect(report.delivered).toBe(report.expected);
    expect(report.published).toBeGreaterThan(100);
    expect(stdout.join("\n")).toContain("(4 shards each)");
    expect(code).toBe(0);
  });
});

describe("bad flags", () => {
  it.each([
    [["--devices", "lots"], /invalid --devices "lots"/],
    [["--devices", "0"], /invalid --devices "0"/],
    [["--flaky", "2"], /invalid --flaky 2/],
    [["--mode", "carrier-pigeon"], /invalid --mode "carrier-pigeon"/],
    [["--duration", "soon"], /invalid --duration "soon"/],
    [["--rate", "500"], /invalid --rate 500/],
    [["--url", "ftp://x"], /invalid --url/],
    [["--token", "t", "--secret", "s"], /--token or --secret, not both/],
    [["--shards", "1"], /invalid --shards "1"/],
    [["--shards", "65"], /invalid --shards "65"/],
    [["--shards", "4", "--url", "http://127.0.0.1:1"], /--shards configures the embedded relay/],
    [["--frobnicate"], /Unknown option '--frobnicate'/],
  ])("%j exits 2 with one line", async (argv, message) => {
    const stderr: string[] = [];
    const code = await simulate(argv, { out: () => {}, err: (l) => stderr.push(l) });
    expect(code).toBe(2);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(message);
  });

  it("the real command exits 2 with one line and no stack trace", async () => {
    const result = await promisify(execFile)("npm", ["run", "--silent", "simulate", "--", "--devices", "-3"], { cwd: ROOT }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(2);
    const lines = result.stderr.split("\n").filter((l) => l.trim() && !l.startsWith("npm warn"));
    expect(lines).toEqual([expect.stringMatching(/^roomcast simulate: .*--devices/)]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
