/** The bench's side of the load process: start it once, send it jobs, stop it. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { JobReply, JobRequest } from "./child.js";
import type { Job, JobResult } from "./jobs.js";
import type { Restart } from "./scenarios/wave.js";

const CHILD = fileURLToPath(new URL("./child.ts", import.meta.url));

export class LoadProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: JobResult) => void; reject: (e: Error) => void }>();
  private readonly restarters = new Map<number, Restart>();

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (reply: JobReply) => {
      if ("restart" in reply) {
        this.restart(reply.id);
        return;
      }
      this.restarters.delete(reply.id);
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ("error" in reply) w?.reject(new Error(reply.error));
      else w?.resolve(reply.result);
    });
    child.on("exit", (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load process exited with ${code}`));
      this.waiting.clear();
    });
  }

  static start(): LoadProcess {
    return new LoadProcess(fork(CHILD, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  }

  /** Restarts the system for job `id` (its `restart` hook) and tells the load process how that went. */
  private restart(id: number): void {
    const restart = this.restarters.get(id);
    const answer = (request: JobRequest) => this.child.connected && this.child.send(request);
    if (!restart) {
      answer({ id, restartError: "this job's system cannot restart" });
      return;
    }
    restart().then(
      (pid) => answer({ id, restarted: true, ...(pid === undefined ? {} : { pid }) }),
      (error: unknown) => answer({ id, restartError: error instanceof Error ? error.message : String(error) }),
    );
  }

  /**
   * Runs `job`; a job still running after `timeoutMs` fails the run (the load
   * process is killed). `restart` serves the job's requests to restart its
   * system (the reconnect wave).
   */
  run<R extends JobResult>(job: Job, timeoutMs: number, restart?: Restart): Promise<R> {
    const id = this.nextId++;
    if (restart) this.restarters.set(id, restart);
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        reject(new Error(`${job.endpoint.name} ${job.scenario}: no result after ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const done = <T>(settle: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        settle(v);
      };
      this.waiting.set(id, { resolve: done(resolve as (r: JobResult) => void), reject: done(reject) });
      this.child.send({ id, job } satisfies JobRequest);
    });
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }
}
