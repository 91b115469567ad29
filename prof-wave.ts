// Temporary profiling script (not committed): the reconnect wave against the embedded relay with V8's CPU profiler on workerd.
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import WebSocket from "ws";
import { wave } from "./tools/bench/driver/scenarios/wave.js";
import { ROOMCAST_BENCH_VARS } from "./tools/bench/systems/workerd.js";

const bundle = join(process.cwd(), "dist/bench/roomcast/index.js");
const config = join(process.cwd(), "wrangler.toml");
const persist = await mkdtemp(join(tmpdir(), "prof-"));
const batch = process.argv[2] === "batch";
let port = 0;
let mf: Miniflare;
async function boot() {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  mf = new Miniflare({
    workers: [{ ...workerOptions, name: "roomcast", modules: true, scriptPath: bundle, modulesRoot: dirname(bundle), bindings: { ...workerOptions.bindings, ...ROOMCAST_BENCH_VARS } }],
    host: "127.0.0.1", port, inspectorPort: 9230,
    durableObjectsPersist: join(persist, "do"), log: new Log(LogLevel.ERROR),
  } as any);
  const url = await mf.ready;
  port = Number(url.port);
}
await boot();
let profiler: WebSocket | null = null;
let id = 0;
const call = (ws: WebSocket, method: string, params = {}) => new Promise<any>((resolve) => {
  const my = ++id;
  const on = (d: WebSocket.RawData) => { const m = JSON.parse(String(d)); if (m.id === my) { ws.off("message", on); resolve(m.result); } };
  ws.on("message", on);
  ws.send(JSON.stringify({ id: my, method, params }));
});
const endpoint = { name: "roomcast" as const, origin: `http://127.0.0.1:${port}`, roomPathPrefix: "/rooms/", pid: 0, ...(batch ? { batch: true } : {}) };
const r = await wave({ scenario: "wave", endpoint, sockets: 5000, concurrency: 50, before: 5, messages: 100, deadlineMs: 120_000, handshakeTimeoutMs: 10_000 }, (l) => console.log(l), async () => {
  await mf.dispose();
  await boot();
  const list = await (await fetch("http://127.0.0.1:9230/json")).json() as any[];
  console.log(list.map((t) => t.id + " " + t.title).join("\n"));
  const target = list.find((t) => /roomcast/.test(t.id)) ?? list[0];
  profiler = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((res) => profiler!.once("open", res));
  await call(profiler, "Profiler.enable");
  await call(profiler, "Profiler.setSamplingInterval", { interval: 200 });
  await call(profiler, "Profiler.start");
  return undefined;
});
console.log(JSON.stringify({ seconds: r.seconds, back: r.back, lost: r.lost }));
const { profile } = await call(profiler!, "Profiler.stop");
await writeFile(`/tmp/wave-${batch ? "batch" : "plain"}.cpuprofile`, JSON.stringify(profile));
// Self time by function.
const self = new Map<string, number>();
const dt = profile.timeDeltas as number[];
const byId = new Map((profile.nodes as any[]).map((n) => [n.id, n]));
profile.samples.forEach((s: number, i: number) => {
  const n = byId.get(s)!; const f = n.callFrame;
  const key = `${f.functionName || "(anon)"} ${f.url.split("/").pop()}:${f.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${(v / 1000).toFixed(0).padStart(6)} ms ${((v / total) * 100).toFixed(1).padStart(5)}% ${k}`);
profiler!.close();
await mf!.dispose();
process.exit(0);
