/**
 * The relay embedded in a Node program: the deployable bundle (the one
 * `npm run check` builds) run on Miniflare, the same workerd that
 * `wrangler dev` and Cloudflare run. The simulator, the benchmarks and the
 * end-to-end tests use it whenever they need a relay of their own.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const CONFIG = join(ROOT, "wrangler.toml");
const DEFAULT_OUTDIR = join(ROOT, "dist", "worker");

/**
 * Builds the deployable bundle with `wrangler deploy --dry-run` and returns
 * the path of its entry module.
 */
export async function buildBundle(outdir = DEFAULT_OUTDIR, config = CONFIG): Promise<string> {
  const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");
  await promisify(execFile)(wrangler, ["deploy", "--dry-run", "--outdir", outdir, "--config", config], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
  });
  // wrangler names the bundle after the config's `main` (worker/index.ts: index.js).
  const main = /^main\s*=\s*"([^"]+)"/m.exec(await readFile(config, "utf8"))?.[1] ?? "index.ts";
  return join(outdir, `${basename(main).replace(/\.[cm]?[jt]s$/, "")}.js`);
}

export interface RelayOptions {
  /** Entry module of a built bundle; built when omitted. */
  bundle?: string;
  /** The wrangler.toml the bundle was built from (its bindings and vars); the repository's when omitted. */
  config?: string;
  /** Where Durable Object storage lives; a fresh temporary folder when omitted. */
  persistDir?: string;
  /** Loopback port; a free one when omitted (and kept across restarts). */
  port?: number;
  /** Vars and secrets laid over wrangler.toml's `[vars]` (e.g. AUTH_SECRET). */
  vars?: Record<string, string>;
  /** Show the runtime's warnings and the Worker's console output. */
  verbose?: boolean;
  /** Turn on `GET /rooms/:room/diagnostics` (the DIAGNOSTICS var): instance id and wake counters. */
  diagnostics?: boolean;
  /** Replaces wrangler.toml's HTTP publish rate limit (`limit` per `period` seconds, 10 or 60). */
  httpPublishLimit?: { limit: number; period: 10 | 60 };
  /**
   * Workers run beside the relay in the same runtime (their bindings from
   * their own wrangler.toml): a Queue consumer of the relay's sink, with its
   * D1 database, as `wrangler dev -c wrangler.toml -c theirs.toml` runs them.
   */
  auxiliary?: AuxiliaryWorker[];
}

export interface AuxiliaryWorker {
  /** The worker's name (for `d1()`). */
  name: string;
  /** Entry module of its built bundle (buildBundle with its config). */
  bundle: string;
  config: string;
}

export class EmbeddedRelay {
  private mf: Miniflare | null = null;
  private currentPort: number;

  private constructor(
    private readonly bundle: string,
    readonly persistDir: string,
    port: number,
    private readonly vars: Record<string, string>,
    private readonly verbose: boolean,
    private readonly httpPublishLimit: RelayOptions["httpPublishLimit"],
    private readonly config: string,
    private readonly auxiliary: readonly AuxiliaryWorker[],
  ) {
    this.currentPort = port;
  }

  static async start(options: RelayOptions = {}): Promise<EmbeddedRelay> {
    const bundle = options.bundle ?? (await buildBundle());
    await stat(bundle); // a clear ENOENT now rather than a runtime error later
    const persistDir = options.persistDir ?? (await mkdtemp(join(tmpdir(), "roomcast-relay-")));
    const vars = { ...(options.diagnostics ? { DIAGNOSTICS: "1" } : {}), ...options.vars };
    const relay = new EmbeddedRelay(bundle, persistDir, options.port ?? 0, vars, options.verbose ?? false, options.httpPublishLimit, options.config ?? CONFIG, options.auxiliary ?? []);
    await relay.boot();
    return relay;
  }

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return `http://127.0.0.1:${this.currentPort}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.currentPort}`;
  }

  get port(): number {
    return this.currentPort;
  }

  get running(): boolean {
    return this.mf !== null;
  }

  private async boot(): Promise<void> {
    const { workerOptions } = unstable_getMiniflareWorkerOptions(this.config);
    const relay = {
      ...workerOptions,
      name: "roomcast",
      modules: true,
      scriptPath: this.bundle,
      // Module names are paths below this; the default (the working directory) cannot reach a bundle outside it.
      modulesRoot: dirname(this.bundle),
      bindings: { ...workerOptions.bindings, ...this.vars },
      ...(this.httpPublishLimit ? { ratelimits: { ...workerOptions.ratelimits, HTTP_PUBLISH_LIMITER: { simple: this.httpPublishLimit } } } : {}),
    };
    const others = this.auxiliary.map(({ name, bundle, config }) => ({
      ...unstable_getMiniflareWorkerOptions(config).workerOptions,
      name,
      modules: true,
      scriptPath: bundle,
      modulesRoot: dirname(bundle),
    }));
    const mf = new Miniflare({
      // The first worker is the one served on `port`.
      workers: [relay, ...others],
      host: "127.0.0.1",
      port: this.currentPort,
      durableObjectsPersist: join(this.persistDir, "do"),
      d1Persist: join(this.persistDir, "d1"),
      log: new Log(this.verbose ? LogLevel.INFO : LogLevel.ERROR),
    } as ConstructorParameters<typeof Miniflare>[0]);
    const url = await mf.ready;
    this.currentPort = Number(url.port);
    this.mf = mf;
  }

  /** An auxiliary worker's D1 binding, to read what it wrote. */
  async d1(binding: string, worker: string): Promise<D1Like> {
    if (this.mf === null) throw new Error("the relay is not running");
    return (await this.mf.getD1Database(binding, worker)) as unknown as D1Like;
  }

  /** Stops the runtime; storage stays in `persistDir`. */
  async stop(): Promise<void> {
    const mf = this.mf;
    this.mf = null;
    await mf?.dispose();
  }

  /** Stops and starts again on the same port with the same storage. */
  async restart(): Promise<void> {
    await this.stop();
    await this.boot();
  }
}

/** What tests use of a D1 database from Node (Miniflare's proxy of it). */
export interface D1Like {
  prepare(sql: string): { bind(...values: unknown[]): { all<T>(): Promise<{ results: T[] }> }; all<T>(): Promise<{ results: T[] }> };
}
