/**
 * The load process: one per bench run, apart from every server it measures
 * (so the load never shares a CPU queue or a heap with them). It takes jobs
 * over IPC and answers each with its result; several jobs may run at once
 * (the idle scenario waits side by side). Progress goes to stderr.
 */
import type { Job, JobResult } from "./jobs.js";
import { connect } from "./scenarios/connect.js";
import { fanout } from "./scenarios/fanout.js";
import { idle } from "./scenarios/idle.js";
import { latency } from "./scenarios/latency.js";
import { wave, type Restart } from "./scenarios/wave.js";
import { mqttFanout, mqttIdle } from "./scenarios/mqtt.js";

/** Parent → child: a job, or the answer to a job's restart request. */
export type JobRequest = { id: number; job: Job } | { id: number; restarted: true; pid?: number } | { id: number; restartError: string };

/** Child → parent: a job's result or error, or its request to restart the system (the wave's outage). */
export type JobReply = { id: number; result: JobResult } | { id: number; error: string } | { id: number; restart: true };

const restarts = new Map<number, { resolve: (pid: number | undefined) => void; reject: (e: Error) => void }>();

/** Asks the bench (which owns the system's process) to restart it, and waits until it is back up. */
function restartFor(id: number): Restart {
  return () =>
    new Promise<number | undefined>((resolve, reject) => {
      restarts.set(id, { resolve, reject });
      process.send!({ id, restart: true } satisfies JobReply);
    });
}

async function run(id: number, job: Job): Promise<JobResult> {
  const started = Date.now();
  const progress = (line: string) =>
    process.stderr.write(`  [${job.endpoint.name} ${job.scenario} +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  switch (job.scenario) {
    case "fanout":
      return fanout(job, progress);
    case "latency":
      return latency(job, progress);
    case "connect":
      return connect(job, progress);
    case "idle":
      return idle(job, progress);
    case "wave":
      return wave(job, progress, restartFor(id));
    case "mqtt-fanout":
      return mqttFanout(job, progress);
    case "mqtt-idle":
      return mqttIdle(job, progress);
  }
}

process.on("message", (request: JobRequest) => {
  const { id } = request;
  if (!("job" in request)) {
    const waiting = restarts.get(id);
    restarts.delete(id);
    if ("restartError" in request) waiting?.reject(new Error(request.restartError));
    else waiting?.resolve("pid" in request ? request.pid : undefined);
    return;
  }
  run(id, request.job).then(
    (result) => process.send!({ id, result } satisfies JobReply),
    (error: unknown) => process.send!({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies JobReply),
  );
});
process.on("disconnect", () => process.exit(0)); // the bench ended (or died): so do we
