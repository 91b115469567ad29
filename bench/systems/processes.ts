/**
 * Finding and weighing the runtime processes. Miniflare runs workerd as a
 * child of this process; which of those children belongs to the system just
 * started is the one that was not there before (see `newChildPid`).
 */
import { readdirSync, readFileSync } from "node:fs";

/** Pids of this process's children whose command name is `comm`. */
export function childPids(comm: string, parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces, so split after the last ")".
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (name === comm && ppid === parent) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The one child named `comm` that is not in `before`. */
export function newChildPid(comm: string, before: number[]): number {
  const fresh = childPids(comm).filter((pid) => !before.includes(pid));
  if (fresh.length !== 1) throw new Error(`expected one new ${comm} child, found ${fresh.length}`);
  return fresh[0]!;
}

/** Resident memory of `pid` in MiB (VmRSS from /proc). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return Math.round((kib / 1024) * 10) / 10;
}
