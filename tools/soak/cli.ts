/**
 * `npm run soak -- [flags]`: runs the soak (run.ts), prints progress lines and
 * a summary, and exits 1 on any loss, duplicate or failure (2 on bad flags).
 */
import { HELP, parseSoakFlags, UsageError } from "./flags.js";
import { runSoak } from "./run.js";

async function main(): Promise<number> {
  let options;
  try {
    options = parseSoakFlags(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`soak: ${error.message}\n\n${HELP}`);
      return 2;
    }
    throw error;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  console.log(
    `soak: ${options.durationMs / 1000}s, ${options.rooms} rooms, ${options.devices} devices and ${options.dashboards} dashboards per traffic phase ` +
      `(+${options.rooms} sleepers), rate ${options.rate}/s, flaky ${options.flaky}/s, traffic ${options.trafficMs / 1000}s / idle ${options.idleMs / 1000}s`,
  );
  const s = await runSoak(options, (line) => console.log(line));
  const r = s.totals;
  console.log(
    [
      `soak summary: ${s.ok ? "OK" : "FAILED"} after ${s.seconds}s, ${s.trafficPhases} traffic phases, ${s.idleGaps} idle gaps, ${s.connectionsOpened} connections opened`,
      `  messages: published ${r.published}, acked ${r.acked}, expected deliveries ${r.expected}, delivered ${r.delivered} (sleepers: ${s.sleepers.delivered} of ${s.sleepers.expected})`,
      `  lost ${r.lost}, duplicated ${r.duplicated}, out of order ${r.outOfOrder}, mismatched ${r.mismatched}, published twice ${r.doublePublished}`,
      `  latency p99 (worst phase) ${r.p99_ms} ms`,
      `  rooms evicted in each idle gap: ${s.evictedPerGap.map((n) => `${n}/${s.rooms}`).join(", ") || "none (no gap)"}`,
      `  workerd RSS MiB: first ${s.memory.workerd.first}, min ${s.memory.workerd.min}, max ${s.memory.workerd.max}, last ${s.memory.workerd.last}`,
      `  node RSS MiB:    first ${s.memory.node.first}, min ${s.memory.node.min}, max ${s.memory.node.max}, last ${s.memory.node.last}`,
      ...(r.gaps.length ? [`  first gaps: ${JSON.stringify(r.gaps.slice(0, 5))}`] : []),
    ].join("\n"),
  );
  return s.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
