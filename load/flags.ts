/**
 * Flag values for the command-line tools built on the load generator
 * (`npm run simulate`, `npm run soak`): each bad value is a `UsageError`
 * with one readable line, which those CLIs turn into exit code 2.
 */

import { parseArgs } from "node:util";

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

/** `500ms`, `30s`, `2m`, `1h`, or bare seconds, to milliseconds. */
export function durationFlag(name: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"] : NaN;
  if (!(ms > 0)) throw new UsageError(`invalid --${name} ${JSON.stringify(text)}: use e.g. 500ms, 30s, 2m`);
  return Math.round(ms);
}
