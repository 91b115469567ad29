/**
 * The command-line kit every Roomcast tool shares (the `roomcast` CLI, and in
 * a checkout `npm run simulate` and `npm run soak`): exit codes, the one
 * usage error, strict flag parsing, numbers and durations, and the end of a
 * process. Node-only; written once, imported everywhere.
 */
import { parseArgs } from "node:util";
import type { WebSocketConstructor } from "./websocket.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Bad arguments: the message says which and how to mend them. */
export const EXIT_USAGE = 2;

/** A bad argument; the tools print its one line and exit with EXIT_USAGE. */
export class UsageError extends Error {}

/** A string flag's value, or undefined when absent. */
export type FlagReader = (name: string) => string | undefined;

/**
 * Parses `argv` strictly against the `strings` flags plus the `booleans`
 * (`--help`/`-h` always), turning parseArgs' error into a one-line UsageError.
 */
export function parseFlags(
  argv: string[],
  strings: readonly string[],
  booleans: readonly string[] = [],
): { str: FlagReader; bool: (name: string) => boolean } {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const name of strings) options[name] = { type: "string" };
  for (const name of booleans) options[name] = { type: "boolean" };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options }));
  } catch (error) {
    // parseArgs' first line already reads well ("Unknown option '--x'…").
    throw new UsageError(String((error as Error).message).split("\n")[0]);
  }
  return {
    str: (name) => (typeof values[name] === "string" ? (values[name] as string) : undefined),
    bool: (name) => values[name] === true,
  };
}

/** A whole number of at least `min`; `fallback` when the flag is absent. */
export function wholeFlag(name: string, text: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`invalid --${name} ${JSON.stringify(text)}: use a whole number ${range}`);
  }
  return n;
}

/** Any finite number; `fallback` when the flag is absent. Range checks are the caller's. */
export function numberFlag(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) throw new UsageError(`invalid --${name} ${JSON.stringify(text)}: use a number`);
  return n;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `500ms`, `30s`, `2m`, `1h`, `7d`, or bare seconds, to milliseconds; undefined when unreadable or not positive. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? "s") as keyof typeof UNIT_MS]);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

/** A duration flag, in milliseconds. */
export function durationFlag(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`invalid --${name} ${JSON.stringify(text)}: use e.g. 500ms, 30s, 2m`);
  return ms;
}

/**
 * Ends the process with `code` once buffered output had `graceMs` to reach a
 * pipe, even if a socket lingers.
 */
export function exitSoon(code: number, graceMs: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), graceMs).unref();
}

/** What a command may touch: its output, the environment, and (for tests) stdin and a WebSocket. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  /** Aborting ends a running `tail` with exit code 0 (SIGINT in the real CLI). */
  signal?: AbortSignal;
  /** Reads standard input, for `publish -`. */
  readStdin?: () => Promise<string>;
  /** For tests on Node without a global WebSocket. */
  WebSocket?: WebSocketConstructor;
}
