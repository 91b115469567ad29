#!/usr/bin/env node
/** The executable behind `npm run simulate`: the real process around tools/sim/main.ts. */
import { exitSoon } from "../../client/cli-kit.js";
import { simulate } from "./main.js";

const controller = new AbortController();
// The first Ctrl-C stops publishing and still reports; a second one quits.
process.once("SIGINT", () => {
  controller.abort();
  process.once("SIGINT", () => process.exit(130));
});

const code = await simulate(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  signal: controller.signal,
  progress: process.stdout.isTTY
    ? { tty: true, write: (text) => process.stdout.write(text) }
    : { tty: false, write: (text) => process.stderr.write(text) },
});
// Let buffered output reach a pipe, then leave even if a socket lingers.
exitSoon(code, 100);
