/**
 * Finding and weighing the processes of a relay run on this machine:
 * Miniflare runs workerd as a child of the Node process that started it.
 * Read from /proc, so Linux only; elsewhere the figures are unknown (NaN, or
 * no children found).
 */
import { readdirSync, readFileSync } from "node:fs";

/** Pids of `parent`'s children whose command name is `comm`. */
export function childPids(comm: string, parent = process.pid): number[] {
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

/** CPU time (user + system) of `pid` so far, in ms, from /proc (NaN when it cannot be read). */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after "(comm) ", in clock ticks (100 per second).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** This process's CPU time (user + system) so far, in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Resident memory of `pid` in MiB (VmRSS), or NaN when it cannot be read. */
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
