/**
 * Weighing the processes of a soak run: this Node process (the load) and the
 * workerd that Miniflare runs as its child (the relay). Read from /proc, so
 * Linux only; elsewhere the workerd figure is reported as unknown.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Pids of this process's children whose command name is `comm`. */
export function childPids(comm: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return pids; // no /proc: not Linux
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces, so split after the last ")".
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (name === comm && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Resident memory of `pid` in MiB, or NaN when it cannot be read. */
export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
    return Math.round((kib / 1024) * 10) / 10;
  } catch {
    return NaN;
  }
}

/** Resident memory of this Node process in MiB. */
export function nodeRssMiB(): number {
  return Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
}

/** Lowest, highest and last of a series of samples. */
export class MemorySeries {
  min = Number.POSITIVE_INFINITY;
  max = 0;
  first = NaN;
  last = NaN;

  add(mib: number): void {
    if (Number.isNaN(mib)) return;
    if (Number.isNaN(this.first)) this.first = mib;
    this.last = mib;
    this.min = Math.min(this.min, mib);
    this.max = Math.max(this.max, mib);
  }

  toJSON(): { first: number; min: number; max: number; last: number } {
    return { first: this.first, min: Number.isFinite(this.min) ? this.min : NaN, max: this.max, last: this.last };
  }
}
