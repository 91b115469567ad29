/**
 * `tsx tools/bench/report/print.ts tools/bench/results/<date>.json`: prints a saved run's
 * summary and target tables again (targets rechecked with today's
 * targets.ts), e.g. to paste into docs/performance.md.
 */
import { readFile } from "node:fs/promises";
import type { BenchResults } from "./results.js";
import { summaryTable, targetsTable } from "./table.js";
import { checkTargets } from "./targets.js";
import { variantsTable } from "./variants.js";

const file = process.argv[2];
if (!file) throw new Error("usage: tsx bench/report/print.ts <results.json>");
const saved = JSON.parse(await readFile(file, "utf8")) as BenchResults;
const run: BenchResults = { ...saved, wave: saved.wave ?? {}, targets: [] };
run.targets = checkTargets(run);
console.log(`${summaryTable(run)}\n`);
if (run.variants) console.log(`${variantsTable(run)}\n`);
console.log(targetsTable(run));
