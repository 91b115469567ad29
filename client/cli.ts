#!/usr/bin/env node
/**
 * The `roomcast` executable: wires the commands to the real process
 * (arguments, streams, signals, exit code). Node-only.
 */
import { exitSoon } from "./cli-kit.js";
import { run } from "./cli-commands.js";

const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => controller.abort());

// `roomcast tail | head -3`: a closed pipe is a normal way to stop, not a crash.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const code = await run(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  signal: controller.signal,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
});
// Let buffered output reach a pipe before exiting.
if (code !== 0 || process.argv[2] === "tail" || process.argv[2] === "bridge") exitSoon(code, 50);
else process.exitCode = code;
