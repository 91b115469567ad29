/**
 * The one publish pipeline: every door (JSON and raw WebSocket frames, HTTP,
 * MQTT PUBLISH and wills) hands its publish here, and gets one verdict back.
 * The steps, in order:
 *   1. size, rate, scope  (./steps.ts: before anything is parsed)
 *   2. the door's parse    (a bad frame is refused as the door says), then
 *      the room's own topics (`$events/`: ./steps.ts ownTopic)
 *   3. the topic ACL       (./steps.ts PublishAcl: the token's `acl.pub`)
 *   4. the publish hook    (./hook.ts: the deployer's, when there is one)
 *   5. sequencing          (./sequencing.ts: local, or forwarded to the sequencer)
 * The answer comes once the message is committed, or at once for a refusal.
 *
 * Order: a hook may await. While it does, the room serves everyone else, and
 * later publishes of the same connection wait behind it, so one publisher's
 * messages keep their order whatever the hook's timing; the room's seq order
 * is the order in which publishes reach step 5.
 */
import type { Limits } from "../../protocol/limits";
import type { PublishInput } from "../payload";
import { isPromiseLike, runPublishHook, type HookOutcome, type PublishHook } from "./hook";
import type { Sender, Sequencing } from "./sequencing";
import { ENTRY_STEPS, ownTopic, PublishAcl, type Measured, type Publisher } from "./steps";
import type { Answer, Refused } from "./verdict";

export interface PublishJob extends Sender {
  by: Publisher;
  /** What the size rule measures (the frame or the payload). */
  size: Measured;
  /** The door's parse: the publish, or why the frame is refused. Runs after the entry steps. */
  read(): PublishInput | Refused;
  answer: Answer;
}

interface Ready {
  job: PublishJob;
  input: PublishInput;
}

interface Waiting extends Ready {
  done(): void;
}

export class PublishPipeline {
  /** Per connection, the publishes waiting behind a hook that is still awaiting. */
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly acl = new PublishAcl();

  constructor(
    private readonly room: string,
    private readonly limits: Limits,
    private readonly hook: PublishHook | null,
    private readonly sequencing: Sequencing,
  ) {}

  /** Runs `job` through the steps; a promise only while a hook awaits (the caller's event lasts as long). */
  publish(job: PublishJob): void | Promise<void> {
    const now = Date.now();
    for (const step of ENTRY_STEPS) {
      const refusal = step(job.by, job.size, this.limits, now);
      if (refusal !== null) return job.answer(refusal);
    }
    const input = job.read();
    if ("ok" in input) return job.answer(input);
    const reserved = ownTopic(input.topic);
    if (reserved !== null) return job.answer(reserved);
    const denied = this.acl.check(job.by, job.sender, input);
    if (denied !== null) return job.answer(denied);
    return this.decide({ job, input });
  }

  private decide(ready: Ready): void | Promise<void> {
    const key = ready.job.by.id;
    const queue = key === null ? undefined : this.waiting.get(key);
    if (queue !== undefined) return new Promise<void>((done) => queue.push({ ...ready, done }));
    const outcome = this.runHook(ready);
    if (!isPromiseLike(outcome)) return this.finish(ready.job, outcome);
    if (key === null) return Promise.resolve(outcome).then((o) => this.finish(ready.job, o));
    const waiting: Waiting[] = [];
    this.waiting.set(key, waiting);
    return this.serve(key, waiting, ready.job, outcome);
  }

  /** Finishes one connection's publishes in order while its hook calls await; then lets it go straight through again. */
  private async serve(key: string, waiting: Waiting[], job: PublishJob, outcome: PromiseLike<HookOutcome>): Promise<void> {
    this.finish(job, await outcome);
    for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) {
      this.finish(next.job, await this.runHook(next));
      next.done();
    }
    this.waiting.delete(key);
  }

  private runHook({ job, input }: Ready): HookOutcome | PromiseLike<HookOutcome> {
    return this.hook === null ? input : runPublishHook(this.hook, this.room, input, job.by, this.limits.maxMessageBytes);
  }

  private finish(job: PublishJob, outcome: HookOutcome): void {
    if ("ok" in outcome) return job.answer(outcome);
    this.sequencing.sequence(outcome, job, job.answer);
  }
}
