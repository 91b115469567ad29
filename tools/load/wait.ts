/** Polling waits for load runs, whose progress lives in counters rather than events. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Polls `done` every `everyMs` until it holds (true) or `timeoutMs` passes (false). */
export async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
  return true;
}
