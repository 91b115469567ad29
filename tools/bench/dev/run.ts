/**
 * The joins issue's check under `wrangler dev`, as a new user meets the
 * relay: `npm start`'s command (wrangler dev, storage on disk) for Roomcast,
 * the same for the bare hibernating object, side by side. For each: fill
 * one room with N plain `ws` clients, 50 handshakes in flight; then the
 * reconnect wave: wrangler dev stopped and started again on the same port
 * with its state (every socket drops), messages published while the clients
 * are away, every client back at once with `since`/`epoch`, retrying as a
 * well-behaved client does (driver/rejoining-client.ts), for up to two
 * minutes. Traffic goes to 127.0.0.1 only; every process it starts is
 * stopped when it ends.
 *
 *   npm run bench:dev [-- --sockets=2000]
 *
 * The clients offer no permessage-deflate, as in `npm run bench`
 * (docs/performance.md says what it costs when they do).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "../driver/scenarios/connect.js";
import { wave } from "../driver/scenarios/wave.js";
import type { ConnectResult, WaveResult } from "../driver/jobs.js";
import type { SystemEndpoint, SystemName } from "../systems/system.js";
import { freePort } from "../../local/ports.js";
import { childPids } from "../../local/processes.js";

const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const CONFIGS: Record<"roomcast" | "bare", string> = {
  roomcast: join(ROOT, "wrangler.toml"),
  bare: join(ROOT, "tools", "bench", "bare", "wrangler.toml"),
};

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const sockets = Number(flag("sockets") ?? 2000);
if (!Number.isInteger(sockets) || sockets < 1 || sockets > 10_000) {
  console.error("--sockets must be a whole number from 1 to 10000");
  process.exit(2);
}

/** wrangler dev on `port` with its state in `state`; resolves once it is Ready. */
function startDev(config: string, port: number, state: string): Promise<ChildProcess> {
  const child = spawn(WRANGLER, ["dev", "--config", config, "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--log-level", "error"], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error("wrangler dev did not answer within 60 s")), 60_000);
    const poll = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/rooms/probe`);
        await res.arrayBuffer();
        clearTimeout(timer);
        ready(child);
      } catch {
        if (child.exitCode !== null) return fail(new Error(`wrangler dev exited with ${child.exitCode}`));
        setTimeout(poll, 200);
      }
    };
    void poll();
  });
}

function stopDev(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.once("exit", () => done());
    process.kill(-child.pid!, "SIGTERM"); // the whole group: wrangler and its workerd
    setTimeout(() => child.exitCode === null && process.kill(-child.pid!, "SIGKILL"), 5000).unref();
  });
}

/** The workerd below wrangler dev (its grandchild, through Miniflare), for the CPU figures. */
function workerdOf(child: ChildProcess): number {
  const below = (pid: number): number[] => childPids("workerd", pid).concat(childPids("node", pid).flatMap(below));
  return below(child.pid!)[0] ?? -1;
}

async function measure(name: "roomcast" | "bare", port: number): Promise<{ fill: ConnectResult; wave: WaveResult }> {
  const state = await mkdtemp(join(tmpdir(), `roomcast-dev-${name}-`));
  let dev = await startDev(CONFIGS[name], port, state);
  const endpoint: SystemEndpoint = { name: name as SystemName, origin: `http://127.0.0.1:${port}`, roomPathPrefix: "/rooms/", pid: workerdOf(dev) };
  const say = (line: string) => console.log(`  [${name}] ${line}`);
  try {
    const fill = await connect({ scenario: "connect", endpoint, variant: "json", sockets, concurrency: 50, capMs: 120_000 }, say);
    const restart = async () => {
      await stopDev(dev);
      dev = await startDev(CONFIGS[name], port, state);
      endpoint.pid = workerdOf(dev);
      return endpoint.pid;
    };
    const result = await wave(
      { scenario: "wave", endpoint, sockets, concurrency: 50, before: 5, messages: 100, deadlineMs: 120_000, handshakeTimeoutMs: 10_000 },
      say,
      restart,
    );
    return { fill, wave: result };
  } finally {
    await stopDev(dev);
    await rm(state, { recursive: true, force: true });
  }
}

console.log(`wrangler dev, ${sockets} ws clients, 50 handshakes in flight`);
const roomcast = await measure("roomcast", await freePort());
const bare = await measure("bare", await freePort());
const rows: Array<[string, string, string, string]> = [];
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? "–" : `${(a / b).toFixed(2)}×`);
rows.push(["fill rate (upgrades/s)", String(roomcast.fill.upgradesPerSec), String(bare.fill.upgradesPerSec), ratio(roomcast.fill.upgradesPerSec, bare.fill.upgradesPerSec)]);
rows.push(["sockets opened / failed", `${roomcast.fill.opened} / ${roomcast.fill.failed}`, `${bare.fill.opened} / ${bare.fill.failed}`, ""]);
rows.push(["frames per socket while it filled", String(roomcast.fill.framesPerSocket), String(bare.fill.framesPerSocket), ""]);
rows.push(["runtime CPU per upgrade (µs)", String(roomcast.fill.runtimeCpuUsPerUpgrade), String(bare.fill.runtimeCpuUsPerUpgrade), ratio(roomcast.fill.runtimeCpuUsPerUpgrade, bare.fill.runtimeCpuUsPerUpgrade)]);
rows.push(["reconnect wave: s until all back", String(roomcast.wave.seconds ?? `not all (${roomcast.wave.back})`), String(bare.wave.seconds ?? `not all (${bare.wave.back})`), ratio(roomcast.wave.seconds, bare.wave.seconds)]);
rows.push(["wave: 503 / failed / timed out", `${roomcast.wave.refused503} / ${roomcast.wave.failed} / ${roomcast.wave.timedOut}`, `${bare.wave.refused503} / ${bare.wave.failed} / ${bare.wave.timedOut}`, ""]);
rows.push(["wave: not recovered / lost / repeated", `${roomcast.wave.notRecovered} / ${roomcast.wave.lost} / ${roomcast.wave.duplicated}`, "n/a (no resume)", ""]);
console.log("\n| under `wrangler dev` | roomcast | bare | roomcast/bare |\n|---|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
