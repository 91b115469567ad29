/**
 * `npm run simulate` and `roomcast simulate`: flags in, verdict out.
 * Exit codes: 0 nothing lost or duplicated, 1 something was or the run
 * failed, 2 bad flags (one line on stderr, no stack trace).
 */
import { HELP, parseSimFlags, UsageError, type SimOptions } from "./flags.js";
import type { ProgressSink } from "./progress.js";
import { summaryLines } from "./report.js";
import { runSimulation } from "./run.js";

export interface SimIo {
  out(line: string): void;
  err(line: string): void;
  signal?: AbortSignal;
  /** Where the live progress line goes; stderr-like plain lines through `err` when absent. */
  progress?: ProgressSink;
  /** A prebuilt relay bundle (tests). */
  bundle?: string;
}

import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../../client/cli-kit.js";

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE };

export async function simulate(argv: string[], io: SimIo): Promise<number> {
  let options: SimOptions;
  try {
    options = parseSimFlags(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`roomcast simulate: ${error.message} (see --help)`);
    return EXIT_USAGE;
  }
  if (options.help) {
    io.out(HELP);
    return EXIT_OK;
  }
  try {
    const progress = io.progress ?? { tty: false, write: (text: string) => io.err(text.replace(/\n$/, "")) };
    const { report, files } = await runSimulation(options, { progress, signal: io.signal, bundle: io.bundle });
    for (const line of summaryLines(report)) io.out(line);
    io.out(`  report      ${files.json} (chart: ${files.svg})`);
    if (options.json) io.out(JSON.stringify(report));
    return report.ok ? EXIT_OK : EXIT_FAILURE;
  } catch (error) {
    io.err(`roomcast simulate: ${oneLine(error)}`);
    return EXIT_FAILURE;
  }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
  return text.replace(/\s+/g, " ").trim();
}
